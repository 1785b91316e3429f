import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import { Unzip, UnzipInflate, unzipSync } from 'fflate';
import { SaxesParser } from 'saxes';
import { scrubPersonalData } from './mask.ts';
import { parseCsv } from './textfile.ts';

/**
 * Tables that county staff fill in and upload: an Excel workbook (.xlsx) or a CSV file (UTF-8 with or without a
 * BOM, or GB18030, as Chinese Excel saves it). The header row is found by its texts, so a title row above it or
 * columns in another order do no harm. Workbooks are read part by part (readXlsx), so that a 50,000-row file is
 * read in bounded memory. Errors are reported in a workbook of the bad rows as
 * submitted, with the column 错误原因.
 */

/** rowNumber is the file's row (Excel row or CSV line); 0 with field '文件' for a whole-file error. */
export interface ImportError {
  rowNumber: number;
  field: string;
  message: string;
}

export interface TableRow {
  rowNumber: number;
  /** The cells' texts in the header's column order (trimmed, '' when blank). */
  cells: string[];
  /** Column indexes whose cell Excel stored as a number (an ID number typed as a number has lost its last digits). */
  numeric: number[];
}

export interface SubmittedTable {
  header: string[];
  /** 0-based column index of each header text. */
  columns: Map<string, number>;
  rows: TableRow[];
}

export interface TableSpec {
  /** Header texts that all appear in the header row (spaces and asterisks ignored). */
  headerHas: string[];
  /** Columns the file must have. */
  required: readonly string[];
  /** What a row is, for messages: 补贴项目, 受益对象 … */
  rowNoun: string;
  /** Where the format is described, for messages: 格式同导出的政策清单 … */
  formatHint: string;
}

const HEADER_SCAN_ROWS = 20;
const XLSX_MAGIC = Buffer.from('PK\u0003\u0004', 'latin1');

/** Excel keeps 15 significant digits and shows them: 105.55000000000001 in the file is the 105.55 the clerk typed. */
const numberText = (value: number) => String(Number(value.toPrecision(15)));

/** Any cell value (number, rich text, formula, hyperlink …) as the trimmed text Excel shows. */
export function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if ('richText' in value) return value.richText.map((run) => run.text).join('').trim();
  if ('error' in value) return value.error;
  if ('formula' in value || 'sharedFormula' in value) return cellText(value.result);
  return cellText(value.text as ExcelJS.CellValue);
}

const headerText = (text: string) => text.replace(/[\s*＊]/g, '');

export function formatImportError(error: ImportError): string {
  return error.rowNumber === 0 ? error.message : `第 ${error.rowNumber} 行「${error.field}」：${error.message}`;
}

/** Collects rows once the header has been seen; the same for both formats. */
/**
 * Called with each data row as it is read (the header known); returns whether the table should keep the row.
 * A large import validates as it reads and keeps only its bad rows (for the report), so that tens of thousands
 * of rows are never held twice.
 */
export type RowConsumer = (row: TableRow, columns: Map<string, number>) => boolean;

class TableBuilder {
  header: string[] | null = null;
  columns = new Map<string, number>();
  rows: TableRow[] = [];
  private dataRows = 0;

  constructor(
    private spec: TableSpec,
    private consume?: RowConsumer,
  ) {}

  /** Feed one row (texts, and which were numbers); returns false once the header scan has given up. */
  add(rowNumber: number, texts: string[], numeric: number[]): boolean {
    if (!this.header) {
      const candidate = texts.map(headerText);
      if (this.spec.headerHas.every((h) => candidate.includes(h))) {
        while (candidate.at(-1) === '') candidate.pop();
        this.header = candidate;
        candidate.forEach((text, i) => {
          if (text !== '' && !this.columns.has(text)) this.columns.set(text, i);
        });
      }
      return this.header !== null || rowNumber < HEADER_SCAN_ROWS;
    }
    const cells = Array.from({ length: this.header.length }, (_, i) => texts[i] ?? '');
    if (cells.every((c) => c === '')) return true;
    this.dataRows++;
    const row = { rowNumber, cells, numeric: numeric.filter((i) => i < cells.length) };
    if (!this.consume || this.consume(row, this.columns)) this.rows.push(row);
    return true;
  }

  result(): SubmittedTable | string {
    if (!this.header) return `未找到表头行：表头应含${this.spec.headerHas.map((h) => `「${h}」`).join('')}等列，${this.spec.formatHint}`;
    const missing = this.spec.required.filter((h) => !this.columns.has(h)).map((h) => `「${h}」`);
    if (missing.length) return `表头缺少列：${missing.join('')}`;
    if (this.dataRows === 0) return `文件中没有数据行：请在表头下方逐行填写${this.spec.rowNoun}`;
    return { header: this.header, columns: this.columns, rows: this.rows };
  }
}

/** Decompressed parts larger than this are refused (a small upload can hide a zip bomb). */
const MAX_PART_BYTES = 256 * 1024 * 1024;
const SHEET_PART = /^xl\/worksheets\/sheet(\d+)\.xml$/;

class TooLarge extends Error {}

/**
 * Stream one part of the zip through a saxes parser: inflated chunk by chunk (fflate's synchronous Unzip) and
 * decoded as a UTF-8 stream (a character may span two chunks), so that a 20 MB sheet is never held whole.
 * Returns false if the zip has no such part.
 */
function parseXmlPart(zip: Buffer, name: string, handlers: (parser: SaxesParser) => void): boolean {
  let found = false;
  const unzip = new Unzip((entry) => {
    if (entry.name !== name) return;
    found = true;
    const parser = new SaxesParser({ position: false });
    handlers(parser);
    const decoder = new TextDecoder('utf-8');
    let inflated = 0;
    entry.ondata = (err, chunk, final) => {
      if (err) throw err;
      inflated += chunk.length;
      if (inflated > MAX_PART_BYTES) throw new TooLarge();
      parser.write(decoder.decode(chunk, { stream: !final }));
      if (final) parser.close();
    };
    entry.start();
  });
  unzip.register(UnzipInflate);
  // Pushed in slices: the inflater emits what each slice yields, so the part arrives in small chunks.
  const SLICE = 64 * 1024;
  for (let i = 0; i < zip.length || i === 0; i += SLICE) unzip.push(zip.subarray(i, i + SLICE), i + SLICE >= zip.length);
  return found;
}

/** The names of the zip's parts (from its central directory, nothing inflated). */
function partNames(zip: Buffer): string[] {
  const names: string[] = [];
  unzipSync(zip, { filter: (entry) => (names.push(entry.name), false) });
  return names;
}

/** The shared string table: each <si>'s text (rich-text runs joined; phonetic runs left out). */
function sharedStrings(zip: Buffer): string[] {
  const strings: string[] = [];
  let current: string[] | null = null;
  let inText = false;
  let phonetic = 0;
  parseXmlPart(zip, 'xl/sharedStrings.xml', (parser) => {
    parser.on('opentag', (tag) => {
      if (tag.name === 'si') current = [];
      else if (tag.name === 'rPh') phonetic++;
      else if (tag.name === 't') inText = phonetic === 0;
    });
    parser.on('closetag', (tag) => {
      if (tag.name === 'si') strings.push((current ?? []).join(''));
      else if (tag.name === 'rPh') phonetic--;
      else if (tag.name === 't') inText = false;
    });
    parser.on('text', (text) => {
      if (inText && current) current.push(text);
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
  }
  return n - 1;
}

/** Walk one worksheet's rows into the builder: cell texts as Excel shows them (dates stay Excel serial numbers). */
function readSheet(zip: Buffer, name: string, strings: string[], builder: TableBuilder): void {
  let rowNumber = 0;
  let texts: string[] = [];
  let numeric: number[] = [];
  let column = -1;
  let type = 'n';
  let value: string[] | null = null;
  let scanning = true;
  parseXmlPart(zip, name, (parser) => {
    parser.on('opentag', (tag) => {
      if (!scanning) return;
      if (tag.name === 'row') {
        rowNumber = Number(tag.attributes.r) || rowNumber + 1;
        texts = [];
        numeric = [];
        column = -1;
      } else if (tag.name === 'c') {
        const ref = tag.attributes.r as string | undefined;
        column = ref ? columnIndex(ref) : column + 1;
        type = (tag.attributes.t as string | undefined) ?? 'n';
        value = null;
      } else if (tag.name === 'v' || (tag.name === 't' && type === 'inlineStr')) {
        value ??= [];
      }
    });
    parser.on('text', (text) => {
      if (value) value.push(text);
    });
    parser.on('closetag', (tag) => {
      if (!scanning) return;
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
        scanning = builder.add(rowNumber, Array.from(texts, (t) => t ?? ''), numeric);
      }
    });
  });
}

/**
 * An .xlsx is a zip of XML parts: unzipped with fflate and read with saxes, so that a 50,000-row workbook takes
 * well under a second and a fraction of the memory of a full workbook model (exceljs's readers build one object
 * per cell; its streaming reader also garbles a Chinese character split across two chunks, exceljs #2063).
 */
function readXlsx(file: Buffer, spec: TableSpec, consume?: RowConsumer): SubmittedTable | string {
  const unreadable = `文件无法读取：请上传 Excel 工作簿（.xlsx）或 CSV 文件，${spec.formatHint}`;
  try {
    const sheets = partNames(file)
      .filter((name) => SHEET_PART.test(name))
      .sort((a, b) => Number(SHEET_PART.exec(a)![1]) - Number(SHEET_PART.exec(b)![1]));
    if (sheets.length === 0) return unreadable;
    const strings = sharedStrings(file);
    let first: string | null = null;
    for (const name of sheets) {
      const builder = new TableBuilder(spec, consume);
      readSheet(file, name, strings, builder);
      const result = builder.result();
      if (typeof result !== 'string' || builder.header) return result;
      first ??= result;
    }
    return first!;
  } catch (err) {
    return err instanceof TooLarge ? `文件过大：解压后超过 ${MAX_PART_BYTES / 1048576} MB，请分成几个文件上传` : unreadable;
  }
}

function readCsvTable(file: Buffer, spec: TableSpec, consume?: RowConsumer): SubmittedTable | string {
  const builder = new TableBuilder(spec, consume);
  const { rows } = parseCsv(file);
  rows.forEach((texts, i) => builder.add(i + 1, texts, []));
  return builder.result();
}

/**
 * The table of an uploaded .xlsx or CSV file (told apart by the file's first bytes, not its name), or the
 * reason in Chinese why the whole file is refused. A malformed CSV throws ValidationError from parseCsv. With a
 * consumer, the table holds only the rows it kept.
 */
export async function readTable(file: Buffer, spec: TableSpec, consume?: RowConsumer): Promise<SubmittedTable | string> {
  if (file.subarray(0, 4).equals(XLSX_MAGIC)) return readXlsx(file, spec, consume);
  if (file.subarray(0, 8).equals(Buffer.from('d0cf11e0a1b11ae1', 'hex'))) return `这是旧版 Excel（.xls）文件：请在 Excel 中“另存为” .xlsx 后上传，${spec.formatHint}`;
  return readCsvTable(file, spec, consume);
}

// ---------------------------------------------------------------------------------------------------------------
// Workbooks we write

export const HEADER_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFE6E6E6' } };
const ERROR_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFC7CE' } };
export const THIN_BORDER: Partial<ExcelJS.Borders> = {
  top: { style: 'thin' },
  left: { style: 'thin' },
  bottom: { style: 'thin' },
  right: { style: 'thin' },
};

/** Row 1: a merged title; row 2: bold header on grey; frozen below the header. */
export function titledSheet(workbook: ExcelJS.Workbook | ExcelJS.stream.xlsx.WorkbookWriter, name: string, title: string, headers: string[], widths: number[]): ExcelJS.Worksheet {
  const sheet = workbook.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 2 }] });
  sheet.columns = widths.map((width) => ({ width }));
  sheet.mergeCells(1, 1, 1, headers.length);
  const titleCell = sheet.getCell(1, 1);
  titleCell.value = title;
  titleCell.font = { bold: true, size: 14 };
  titleCell.alignment = { horizontal: 'center', vertical: 'middle', wrapText: true };
  sheet.getRow(1).height = 30;
  const header = sheet.getRow(2);
  header.values = headers;
  header.eachCell((cell) => {
    cell.font = { bold: true };
    cell.fill = HEADER_FILL;
    cell.border = THIN_BORDER;
    cell.alignment = { horizontal: 'center', vertical: 'middle' };
  });
  return sheet;
}

/** By row, then in the file's column order (whole-file errors first). */
export function sortErrors(errors: ImportError[], columns: Map<string, number> | undefined): ImportError[] {
  const order = (field: string) => columns?.get(field) ?? -1;
  return [...errors].sort((a, b) => a.rowNumber - b.rowNumber || order(a.field) - order(b.field));
}

/**
 * The bad rows as submitted, with the column 错误原因 listing every reason; cells in error are shaded red.
 * Written with the streaming writer, so that a report of tens of thousands of rows stays small in memory.
 * `what` names the import in the title (受益对象导入, 政策清单导入 …).
 */
export function writeErrorReport(what: string, errors: ImportError[], table: SubmittedTable | null): Promise<Buffer> {
  const byRow = new Map<number, ImportError[]>();
  for (const error of sortErrors(errors, table?.columns)) byRow.set(error.rowNumber, [...(byRow.get(error.rowNumber) ?? []), error]);
  const rowsByNumber = new Map(table?.rows.map((r) => [r.rowNumber, r]));
  const headers = [...(table?.header ?? []), '错误原因'];
  const title = table
    ? `${what}未通过：${byRow.size} 行有误，共 ${errors.length} 处。请按「错误原因」改正后重新上传（整个文件通过检查才会导入）。`
    : `${what}未通过：文件无法导入。`;
  return streamedWorkbook({ useStyles: true, useSharedStrings: false }, (workbook) => {
    const sheet = streamedTitledSheet(workbook, '错误报告', title, headers, headers.map((_, i) => (i === headers.length - 1 ? 70 : 16)));
    for (const [rowNumber, rowErrors] of byRow) {
      const cells = rowsByNumber.get(rowNumber)?.cells ?? [];
      const row = sheet.addRow([...headers.slice(0, -1).map((_, i) => cells[i] ?? ''), rowErrors.map(formatImportError).join('\n')]);
      row.alignment = { vertical: 'top', wrapText: true };
      for (const error of rowErrors) {
        const column = table?.columns.get(error.field);
        if (column !== undefined) row.getCell(column + 1).fill = ERROR_FILL;
      }
      row.commit();
    }
    sheet.commit();
  });
}

/** A plain workbook of one sheet (header row, then rows), written with the streaming writer and shared strings as Excel does. */
export function writeTableXlsx(sheetName: string, header: string[], rows: Iterable<(string | number | null)[]>): Promise<Buffer> {
  return streamedWorkbook({ useStyles: false, useSharedStrings: true }, (workbook) => {
    const sheet = workbook.addWorksheet(sheetName);
    sheet.addRow(header).commit();
    for (const row of rows) sheet.addRow(row).commit();
    sheet.commit();
  });
}

/** A workbook written with exceljs's streaming writer into memory: `fill` adds and commits its sheets and rows. */
async function streamedWorkbook(options: { useStyles: boolean; useSharedStrings: boolean }, fill: (workbook: ExcelJS.stream.xlsx.WorkbookWriter) => void): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, ...options });
  fill(workbook);
  await workbook.commit();
  return Buffer.concat(chunks);
}

/** A streamed sheet under a title row (titledSheet), its two first rows committed: the caller adds the data rows. */
function streamedTitledSheet(workbook: ExcelJS.stream.xlsx.WorkbookWriter, name: string, title: string, headers: string[], widths: number[]): ExcelJS.Worksheet {
  workbook.creator = '一卡通平台';
  const sheet = titledSheet(workbook, name, title, headers, widths);
  sheet.getRow(1).height = 40;
  sheet.getRow(1).commit();
  sheet.getRow(2).commit();
  return sheet;
}

/**
 * A text that starts with = + - @ (or a tab or carriage return) becomes a formula when someone types it into a cell
 * again or opens the workbook saved as CSV: it gets an apostrophe in front (OWASP, CSV injection).
 */
export function neutraliseFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/**
 * The export of a list (core/lists.ts): row 1 the heading that says what the file holds, row 2 the header, then the
 * rows. Every cell is a shared-string text cell, which Excel shows as it is and never computes (exceljs writes a
 * formula only from a { formula } value, never from a string); a text that would start a formula is neutralised all
 * the same (neutraliseFormula), and ID, account and phone numbers that reached a text are masked
 * (scrubPersonalData): the last line of defence, the callers give masked values.
 */
export function writeListXlsx(sheetName: string, heading: string, columns: { header: string; width: number }[], rows: Iterable<(string | number | null)[]>): Promise<Buffer> {
  return streamedWorkbook({ useStyles: true, useSharedStrings: true }, (workbook) => {
    const sheet = streamedTitledSheet(workbook, sheetName, heading, columns.map((c) => c.header), columns.map((c) => c.width));
    for (const row of rows) sheet.addRow(row.map((cell) => (cell === null ? '' : neutraliseFormula(scrubPersonalData(String(cell)))))).commit();
    sheet.commit();
  });
}
