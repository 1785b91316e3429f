import type { MessagePort } from 'node:worker_threads';
import { Unzip, UnzipInflate, unzipSync } from 'fflate';
import { SaxesParser } from 'saxes';
import { ValidationError } from './errors.ts';
import { readCsv } from './textfile.ts';

/**
 * The reading of an uploaded table (.xlsx or CSV), as the table worker (bundled and started by
 * table-pool.ts) does it, away from the event loop that answers every user's requests: what kind of file it is
 * (by its first bytes, not its name), then its rows, within hard limits (TABLE_LIMITS). The header row is found by
 * its texts, so that a title row above it or columns in another order do no harm. Rows are handed on as they are
 * read, never all held: a 50,000-row file is read in bounded memory.
 */

/** One data row of a table. */
export interface TableRow {
  rowNumber: number;
  /** The cells' texts in the header's column order (trimmed, '' when blank). */
  cells: string[];
  /** Column indexes whose cell Excel stored as a number (an ID number typed as a number has lost its last digits). */
  numeric: number[];
}

export interface TableSpec {
  /** Columns (canonical names) that all appear in the header row, under their name or an alias. */
  headerHas: string[];
  /** Columns (canonical names) the file must have, under their name or an alias. */
  required: readonly string[];
  /**
   * Other names a column goes by in the files counties keep (身份证号 for 身份证号码 …): canonical name → its aliases,
   * the likelier first. Plain data, since the spec goes to the worker. A header cell with the canonical name is
   * taken before one with an alias, an earlier alias before a later one, and the file's first such cell before
   * the others.
   */
  aliases?: Readonly<Record<string, readonly string[]>>;
  /** What a row is, for messages: 补贴项目, 受益对象 … */
  rowNoun: string;
  /** Where the format is described, for messages: 格式同导出的政策清单 … */
  formatHint: string;
}

/**
 * What reading a file may cost at most. The upload is at most 20 MB (http/upload.ts); these bound what it expands
 * to. The first limit reached stops the reading and refuses the file with a message naming it. For scale: a
 * 50,000-row registry workbook of 11 columns inflates to 23 MB, a 200,000-row result workbook of 6 columns to 58 MB.
 */
export const TABLE_LIMITS = {
  /** Bytes inflated from a workbook's zip, all the parts read counted together (where a zip bomb is stopped). */
  inflatedBytes: 64 * 1024 * 1024,
  /** Entries in a workbook's zip (Excel writes a dozen or so). */
  parts: 1000,
  /** Worksheets in a workbook. */
  sheets: 100,
  /** Entries of a workbook's shared string table (each distinct text once). */
  sharedStrings: 1_000_000,
  /** Rows read, blank and header rows included. */
  rows: 500_000,
  /** Characters in one cell: Excel's own limit. */
  cellChars: 32_767,
  /** Columns of a row: Excel's own limit (column XFD). */
  columns: 16_384,
};

/** A file refused whole: the message says why, in Chinese. */
class TableRefusal extends Error {}

/** Thrown to stop reading a sheet or a CSV file once the header scan has given up: the rest is not read. */
class StopReading extends Error {}

/**
 * Why a table's header did not fit its spec, when a saved column mapping could make it fit (core/column-mapping.ts):
 * the spec's columns it lacks (canonical names), and the header's texts that name none of the spec's columns. Given
 * only with a refusal for a missing column (or no header row, when a row of the first ones named some of the
 * spec's columns), and only when there is something to map: a column missing and a text unknown.
 */
export interface HeaderGap {
  missing: string[];
  unknown: string[];
}

/** What the reader hands on: the header once found (with the rows above it: a title, a summary), then each data row under it. */
export interface TableSink {
  /** columns: each column's index, under its canonical name for the spec's columns (headerNames), under the header's text for the others. */
  header(header: string[], columns: Map<string, number>, above: TableRow[]): void;
  row(row: TableRow): void;
  /** With a refusal for the header (a column missing, no header row): what a column mapping could fill. */
  gap?(gap: HeaderGap): void;
}

const HEADER_SCAN_ROWS = 20;
const MB = 1024 * 1024;

/** Excel keeps 15 significant digits and shows them: 105.55000000000001 in the file is the 105.55 the clerk typed. */
export const numberText = (value: number) => String(Number(value.toPrecision(15)));

/** A header cell's text as compared: spaces and required-column asterisks removed. */
const headerText = (text: string) => text.replace(/[\s*＊]/g, '');

/** A header text as matched against the spec's names: also full-width brackets as half-width, so that 村(社区) is 村（社区）. */
const headerKey = (text: string) => headerText(text).replace(/（/g, '(').replace(/）/g, ')');

/** For each name a column of the spec goes by (as headerKey), its canonical name and rank: 0 for the canonical name, 1 + i for its i-th alias. */
function headerNames(spec: TableSpec): Map<string, { column: string; rank: number }> {
  const names = new Map<string, { column: string; rank: number }>();
  const add = (name: string, column: string, rank: number) => {
    const key = headerKey(name);
    const known = names.get(key);
    if (!known || rank < known.rank) names.set(key, { column, rank });
  };
  for (const column of [...spec.headerHas, ...spec.required, ...Object.keys(spec.aliases ?? {})]) add(column, column, 0);
  for (const [column, aliases] of Object.entries(spec.aliases ?? {})) aliases.forEach((alias, i) => add(alias, column, i + 1));
  return names;
}

/**
 * The columns of a header row: the spec's columns under their canonical names (the best-ranked cell of each, the
 * first of equals), the other cells under their own texts (the first of equals).
 */
function headerColumns(header: string[], names: Map<string, { column: string; rank: number }>): Map<string, number> {
  const columns = new Map<string, number>();
  const ranks = new Map<string, number>();
  header.forEach((text, i) => {
    if (text === '') return;
    const known = names.get(headerKey(text));
    const column = known?.column ?? text;
    const rank = known?.rank ?? 0;
    if (!columns.has(column) || rank < ranks.get(column)!) {
      columns.set(column, i);
      ranks.set(column, rank);
    }
  });
  return columns;
}

/** Finds the header row, then hands on the data rows (blank ones skipped); the same for both formats. */
class TableBuilder {
  header: string[] | null = null;
  private columns = new Map<string, number>();
  private dataRows = 0;
  /** The non-blank rows read before the header (at most HEADER_SCAN_ROWS). */
  private above: TableRow[] = [];
  private names: Map<string, { column: string; rank: number }>;
  /** Before the header is found: the scanned row naming most of the spec's columns (the likeliest header), if any. */
  private likeliest: { texts: string[]; columns: Map<string, number>; known: number } | null = null;

  constructor(
    private spec: TableSpec,
    private sink: TableSink,
    private rowsRead: { count: number },
  ) {
    this.names = headerNames(spec);
  }

  /** Feed one row (texts, and which were numbers); returns false once the header scan has given up. */
  add(rowNumber: number, texts: string[], numeric: number[]): boolean {
    if (++this.rowsRead.count > TABLE_LIMITS.rows) throw new TableRefusal(`文件超过 ${TABLE_LIMITS.rows} 行的上限：请分成几个文件上传`);
    if (texts.length > TABLE_LIMITS.columns) throw new TableRefusal(`第 ${rowNumber} 行超过 ${TABLE_LIMITS.columns} 列的上限`);
    if (texts.some((text) => text.length > TABLE_LIMITS.cellChars)) throw new TableRefusal(cellTooLong(rowNumber));
    if (!this.header) {
      const candidate = texts.map(headerText);
      const columns = headerColumns(candidate, this.names);
      if (this.spec.headerHas.every((h) => columns.has(h))) {
        while (candidate.at(-1) === '') candidate.pop();
        this.header = candidate;
        this.columns = columns;
        this.sink.header(this.header, this.columns, this.above);
      } else if (texts.some((t) => t !== '')) {
        this.above.push({ rowNumber, cells: texts, numeric });
        const known = this.specColumns().filter((c) => columns.has(c)).length;
        if (known > 0 && known > (this.likeliest?.known ?? 0)) this.likeliest = { texts: candidate, columns, known };
      }
      return this.header !== null || rowNumber < HEADER_SCAN_ROWS;
    }
    const cells = Array.from({ length: this.header.length }, (_, i) => texts[i] ?? '');
    if (cells.every((c) => c === '')) return true;
    this.dataRows++;
    this.sink.row({ rowNumber, cells, numeric: numeric.filter((i) => i < cells.length) });
    return true;
  }

  /** The spec's columns the header must name: those that find it and the required ones. */
  private specColumns(): string[] {
    return [...new Set([...this.spec.headerHas, ...this.spec.required])];
  }

  /** What a column mapping could fill, when the header is refused (see HeaderGap); null otherwise. */
  gap(): HeaderGap | null {
    const found = this.header ? { texts: this.header, columns: this.columns } : this.likeliest;
    if (!found) return null;
    const missing = this.header ? this.spec.required.filter((h) => !found.columns.has(h)) : this.specColumns().filter((h) => !found.columns.has(h));
    const unknown = [...new Set(found.texts.filter((t) => t !== '' && !this.names.has(headerKey(t))))];
    return missing.length && unknown.length ? { missing: [...missing], unknown } : null;
  }

  /** Why the file is refused whole, or null if its table is good to check row by row. */
  refusal(): string | null {
    if (!this.header) return `未找到表头行：表头应含${this.spec.headerHas.map((h) => `「${h}」`).join('')}等列，${this.spec.formatHint}`;
    const missing = this.spec.required.filter((h) => !this.columns.has(h)).map((h) => `「${h}」`);
    if (missing.length) return `表头缺少列：${missing.join('')}`;
    if (this.dataRows === 0) return `文件中没有数据行：请在表头下方逐行填写${this.spec.rowNoun}`;
    return null;
  }
}

const cellTooLong = (rowNumber: number) => `第 ${rowNumber} 行有单元格超过 ${TABLE_LIMITS.cellChars} 个字符的上限（Excel 单元格最多 ${TABLE_LIMITS.cellChars} 个字符）`;

// ---------------------------------------------------------------------------------------------------------------
// What kind of file it is

const startsWith = (file: Buffer, hex: string) => file.subarray(0, hex.length / 2).equals(Buffer.from(hex, 'hex'));

/** Files that people pick by mistake, by their first bytes (hex) and what to call them. */
const NOT_TABLES: [string, string][] = [
  ['89504e470d0a1a0a', 'PNG 图片'],
  ['ffd8ff', 'JPEG 图片'],
  ['47494638', 'GIF 图片'],
  ['255044462d', 'PDF 文档'],
  ['526172211a07', 'RAR 压缩包'],
  ['377abcaf271c', '7z 压缩包'],
  ['1f8b', 'gzip 压缩包'],
];

/** Why a file that is neither a workbook nor text is refused, or null (it may be a CSV). */
function notATable(file: Buffer): string | null {
  if (startsWith(file, 'd0cf11e0a1b11ae1')) {
    // An OLE2 compound file: an old .xls, or a workbook saved with a password (Excel encrypts it into one).
    return file.includes(Buffer.from('EncryptedPackage', 'utf16le'))
      ? '文件设有打开密码，无法读取：请在 Excel 中取消密码，另存为 .xlsx 后上传'
      : '不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx 后上传';
  }
  if (startsWith(file, 'fffe') || startsWith(file, 'feff')) return '文件是 UTF-16 编码的文本（Excel 的“Unicode 文本”）：请在 Excel 中另存为 .xlsx 或“CSV UTF-8（逗号分隔）”后上传';
  const known = NOT_TABLES.find(([magic]) => startsWith(file, magic));
  if (known) return looksLike(known[1]);
  // Text (UTF-8 or GB18030) never holds a NUL byte; anything else that does is some other binary file.
  if (file.subarray(0, 4096).includes(0)) return '文件不是 Excel 或 CSV：其中不是文字内容';
  return null;
}

/** What a zip that holds no worksheet is instead. */
function otherZip(names: string[]): string {
  const has = (prefix: string) => names.some((n) => n.startsWith(prefix));
  return looksLike(has('word/') ? 'Word 文档' : has('ppt/') ? 'PowerPoint 演示文稿' : has('content.xml') ? 'OpenDocument 文档（如 .ods，请另存为 .xlsx）' : '压缩包，其中没有 Excel 工作表');
}

const looksLike = (kind: string) => `文件不是 Excel 或 CSV：看起来是${/^[A-Za-z0-9]/.test(kind) ? ' ' : ''}${kind}`;

// ---------------------------------------------------------------------------------------------------------------
// Workbooks

const SHEET_PART = /^xl\/worksheets\/sheet(\d+)\.xml$/;
const SHARED_STRINGS = 'xl/sharedStrings.xml';
const DAMAGED = 'Excel 文件不完整（压缩包已损坏或被截断）：请在 Excel 中重新保存后上传';

/** fflate's errors carry a numeric code (invalid zip data, unexpected end, bad deflate block …). */
const isZipError = (err: unknown) => typeof (err as { code?: unknown }).code === 'number';

/**
 * Stream one part of the zip through a saxes parser: inflated chunk by chunk (fflate's Unzip) and decoded as a
 * UTF-8 stream (a character may span two chunks), so that a 20 MB sheet is never held whole. Every inflated byte
 * counts towards the file's limit, which stops the inflating as soon as it is passed (`label` names the part in
 * the message). Returns false if the zip has no such part.
 */
function parseXmlPart(zip: Buffer, name: string, label: string, inflated: { bytes: number }, handlers: (parser: SaxesParser) => void): boolean {
  let found = false;
  const unzip = new Unzip((entry) => {
    if (entry.name !== name) return;
    found = true;
    const parser = new SaxesParser({ position: false });
    handlers(parser);
    const decoder = new TextDecoder('utf-8');
    entry.ondata = (err, chunk, final) => {
      if (err) throw err;
      inflated.bytes += chunk.length;
      if (inflated.bytes > TABLE_LIMITS.inflatedBytes) throw new TableRefusal(`文件解压后超过 ${TABLE_LIMITS.inflatedBytes / MB} MB 上限（${label}）：请分成几个文件上传`);
      parser.write(decoder.decode(chunk, { stream: !final }));
      if (final) parser.close();
    };
    entry.start();
  });
  unzip.register(UnzipInflate);
  // Pushed in slices: the inflater emits what each slice yields, so the part arrives in small chunks.
  const SLICE = 64 * 1024;
  try {
    for (let i = 0; i < zip.length || i === 0; i += SLICE) unzip.push(zip.subarray(i, i + SLICE), i + SLICE >= zip.length);
  } catch (err) {
    if (!(err instanceof StopReading)) throw err;
  }
  return found;
}

/** The names of the zip's parts (from its central directory, nothing inflated), at most TABLE_LIMITS.parts. */
function partNames(zip: Buffer): string[] {
  const names: string[] = [];
  unzipSync(zip, {
    filter: (entry) => {
      if (names.push(entry.name) > TABLE_LIMITS.parts) throw new TableRefusal(`Excel 文件结构异常：压缩包内的部件超过 ${TABLE_LIMITS.parts} 个的上限`);
      return false;
    },
  });
  return names;
}

/** The shared string table: each <si>'s text (rich-text runs joined; phonetic runs left out). */
function sharedStrings(zip: Buffer, inflated: { bytes: number }): string[] {
  const label = '共享字符串部分';
  const strings: string[] = [];
  let current: string[] | null = null;
  let length = 0;
  let inText = false;
  let phonetic = 0;
  parseXmlPart(zip, SHARED_STRINGS, label, inflated, (parser) => {
    parser.on('opentag', (tag) => {
      if (tag.name === 'si') {
        current = [];
        length = 0;
      } else if (tag.name === 'rPh') phonetic++;
      else if (tag.name === 't') inText = phonetic === 0;
    });
    parser.on('closetag', (tag) => {
      if (tag.name === 'si') {
        if (strings.push((current ?? []).join('')) > TABLE_LIMITS.sharedStrings) throw new TableRefusal(`文件中不同的文字超过 ${TABLE_LIMITS.sharedStrings} 条的上限（${label}）：请分成几个文件上传`);
      } else if (tag.name === 'rPh') phonetic--;
      else if (tag.name === 't') inText = false;
    });
    parser.on('text', (text) => {
      if (!inText || !current) return;
      length += text.length;
      if (length > TABLE_LIMITS.cellChars) throw new TableRefusal(`${label}有一段文字超过 ${TABLE_LIMITS.cellChars} 个字符的上限（Excel 单元格最多 ${TABLE_LIMITS.cellChars} 个字符）`);
      current.push(text);
    });
  });
  return strings;
}

/** Column index (0-based) of a cell reference such as "AB12". */
function columnIndex(ref: string): number {
  let n = 0;
  for (const ch of ref) {
    const code = ch.charCodeAt(0);
    if (code < 65 || code > 90) break;
    n = n * 26 + (code - 64);
    if (n > TABLE_LIMITS.columns) break;
  }
  return n - 1;
}

/** Walk one worksheet's rows into the builder: cell texts as Excel shows them (dates stay Excel serial numbers). */
function readSheet(zip: Buffer, name: string, label: string, strings: string[], builder: TableBuilder, inflated: { bytes: number }): void {
  let rowNumber = 0;
  let texts: string[] = [];
  let numeric: number[] = [];
  let column = -1;
  let type = 'n';
  let value: string[] | null = null;
  let length = 0;
  parseXmlPart(zip, name, label, inflated, (parser) => {
    parser.on('opentag', (tag) => {
      if (tag.name === 'row') {
        rowNumber = Number(tag.attributes.r) || rowNumber + 1;
        texts = [];
        numeric = [];
        column = -1;
      } else if (tag.name === 'c') {
        const ref = tag.attributes.r as string | undefined;
        column = ref ? columnIndex(ref) : column + 1;
        if (column >= TABLE_LIMITS.columns) throw new TableRefusal(`第 ${rowNumber} 行超过 ${TABLE_LIMITS.columns} 列的上限`);
        type = (tag.attributes.t as string | undefined) ?? 'n';
        value = null;
      } else if (tag.name === 'v' || (tag.name === 't' && type === 'inlineStr')) {
        if (!value) {
          value = [];
          length = 0;
        }
      }
    });
    parser.on('text', (text) => {
      if (!value) return;
      length += text.length;
      if (length > TABLE_LIMITS.cellChars) throw new TableRefusal(cellTooLong(rowNumber));
      value.push(text);
    });
    parser.on('closetag', (tag) => {
      if (tag.name === 'c' && value) {
        const raw = value.join('');
        if (type === 's') texts[column] = (strings[Number(raw)] ?? '').trim();
        else if (type === 'b') texts[column] = raw === '1' ? 'TRUE' : 'FALSE';
        else if (type === 'n') {
          texts[column] = raw === '' ? '' : numberText(Number(raw));
          numeric.push(column);
        } else texts[column] = raw.trim();
        value = null;
      } else if (tag.name === 'v' || tag.name === 't') {
        // keep collecting until the cell closes (rich inline strings have several <t>)
      } else if (tag.name === 'row') {
        if (!builder.add(rowNumber, Array.from(texts, (t) => t ?? ''), numeric)) throw new StopReading();
      }
    });
  });
}

/**
 * An .xlsx is a zip of XML parts: unzipped with fflate and read with saxes, so that a 50,000-row workbook takes
 * well under a second and a fraction of the memory of a full workbook model (exceljs's readers build one object
 * per cell; its streaming reader also garbles a Chinese character split across two chunks, exceljs #2063). The
 * first sheet whose header row is found is the table.
 */
function readXlsx(file: Buffer, spec: TableSpec, sink: TableSink): string | null {
  const unreadable = `文件无法读取：请上传 Excel 工作簿（.xlsx）或 CSV 文件，${spec.formatHint}`;
  try {
    const names = partNames(file);
    const sheets = names.filter((name) => SHEET_PART.test(name)).sort((a, b) => Number(SHEET_PART.exec(a)![1]) - Number(SHEET_PART.exec(b)![1]));
    if (sheets.length === 0) return names.some((n) => n.startsWith('xl/')) ? unreadable : otherZip(names);
    if (sheets.length > TABLE_LIMITS.sheets) return `工作表超过 ${TABLE_LIMITS.sheets} 个的上限：请只保留要导入的工作表`;
    const inflated = { bytes: 0 };
    const rowsRead = { count: 0 };
    const strings = sharedStrings(file, inflated);
    let first: { refusal: string | null; builder: TableBuilder } | null = null;
    for (const [i, name] of sheets.entries()) {
      const builder = new TableBuilder(spec, sink, rowsRead);
      readSheet(file, name, `第 ${i + 1} 个工作表`, strings, builder, inflated);
      if (builder.header) return withGap(builder.refusal(), builder, sink);
      first ??= { refusal: builder.refusal(), builder };
    }
    return first ? withGap(first.refusal, first.builder, sink) : null;
  } catch (err) {
    if (err instanceof TableRefusal) return err.message;
    return isZipError(err) ? DAMAGED : unreadable;
  }
}

function readCsvTable(file: Buffer, spec: TableSpec, sink: TableSink): string | null {
  const builder = new TableBuilder(spec, sink, { count: 0 });
  try {
    readCsv(file, (line, cells) => {
      if (!builder.add(line, cells, [])) throw new StopReading();
    });
  } catch (err) {
    if (err instanceof TableRefusal || err instanceof ValidationError) return err.message;
    if (!(err instanceof StopReading)) throw err;
  }
  return withGap(builder.refusal(), builder, sink);
}

/** A refusal for the header tells the sink what a column mapping could fill (a file refused for anything else does not). */
function withGap(refusal: string | null, builder: TableBuilder, sink: TableSink): string | null {
  const gap = refusal === null ? null : builder.gap();
  if (gap) sink.gap?.(gap);
  return refusal;
}

/**
 * Read an uploaded .xlsx or CSV file (told apart by its first bytes, not its name): the header and data rows go to
 * the sink as they are read; returns the reason in Chinese why the whole file is refused, or null. Rows handed on
 * before a refusal are to be dropped.
 */
export function readTableFile(file: Buffer, spec: TableSpec, sink: TableSink): string | null {
  if (startsWith(file, '504b0304') || startsWith(file, '504b0506')) return readXlsx(file, spec, sink);
  return notATable(file) ?? readCsvTable(file, spec, sink);
}

// ---------------------------------------------------------------------------------------------------------------
// The worker's side of table-pool.ts

export interface ReadRequest {
  bytes: Uint8Array;
  spec: TableSpec;
  /** Over shared memory: [0] how many batches of rows the main thread has taken in (it counts them as they arrive). */
  taken: Int32Array;
}

export type ReadMessage =
  | { kind: 'header'; header: string[]; columns: [string, number][]; above: TableRow[] }
  | { kind: 'rows'; rows: TableRow[] }
  | { kind: 'gap'; gap: HeaderGap }
  | { kind: 'done'; refusal: string | null };

/** Rows go to the main thread in batches of this many. */
const ROWS_PER_MESSAGE = 1000;
/**
 * Batches the reader may be ahead of the main thread, which checks each row (an ID number, an account …) more slowly
 * than the rows are read: without a bound the rest of the file waits in the main thread's message queue as
 * serialized rows (measured: some 6 MB more resident memory for a 50,000-row registry workbook read by a slow
 * consumer; in proportion for a file at the row limit). Issue 18.
 */
const BATCHES_AHEAD = 4;

/** Answer the pool's requests, one at a time: the rows in batches as they are read, then the outcome. */
export function serveTableReads(port: MessagePort): void {
  port.on('message', ({ bytes, spec, taken }: ReadRequest) => {
    const post = (message: ReadMessage) => port.postMessage(message);
    let posted = 0;
    /** Wait (the reading is synchronous, and this is its own thread) until the main thread is at most BATCHES_AHEAD behind. */
    const keepPace = () => {
      for (let seen = Atomics.load(taken, 0); posted - seen > BATCHES_AHEAD; seen = Atomics.load(taken, 0)) Atomics.wait(taken, 0, seen, 1000);
    };
    let batch: TableRow[] = [];
    const refusal = readTableFile(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), spec, {
      header: (header, columns, above) => post({ kind: 'header', header, columns: [...columns], above }),
      row: (row) => {
        if (batch.push(row) < ROWS_PER_MESSAGE) return;
        post({ kind: 'rows', rows: batch });
        posted++;
        batch = [];
        keepPace();
      },
      gap: (gap) => post({ kind: 'gap', gap }),
    });
    if (batch.length > 0) post({ kind: 'rows', rows: batch });
    post({ kind: 'done', refusal });
  });
}
