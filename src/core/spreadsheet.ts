import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import { scrubPersonalData } from './mask.ts';
import { readInWorker } from './table-pool.ts';
import { type HeaderGap, type TableRow, type TableSpec, numberText } from './table-reader.ts';

/**
 * Tables that county staff fill in and upload: an Excel workbook (.xlsx) or a CSV file (UTF-8 with or without a
 * BOM, or GB18030, as Chinese Excel saves it). The header row is found by its texts, so a title row above it or
 * columns in another order do no harm. They are read in a worker thread, part by part and row by row
 * (table-reader.ts), so that a 50,000-row file is read in bounded memory. Errors are reported in a workbook of the
 * bad rows as submitted, with the column 错误原因.
 */

/** rowNumber is the file's row (Excel row or CSV line); 0 with field '文件' for a whole-file error. */
export interface ImportError {
  rowNumber: number;
  field: string;
  message: string;
}

export type { HeaderGap, TableRow, TableSpec } from './table-reader.ts';

export interface SubmittedTable {
  header: string[];
  /** 0-based column index of each header text. */
  columns: Map<string, number>;
  rows: TableRow[];
  /** The non-blank rows above the header (a title, a file's summary), cells in the file's column order. */
  above: TableRow[];
}

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

export function formatImportError(error: ImportError): string {
  return error.rowNumber === 0 ? error.message : `第 ${error.rowNumber} 行「${error.field}」：${error.message}`;
}

/**
 * Called with each data row as it is read (the header known); returns whether the table should keep the row.
 * A large import validates as it reads and keeps only its bad rows (for the report), so that tens of thousands
 * of rows are never held twice.
 */
export type RowConsumer = (row: TableRow, columns: Map<string, number>) => boolean;

/**
 * The table of an uploaded .xlsx or CSV file, or the reason in Chinese why the whole file is refused: not a
 * workbook or CSV (a picture, an old .xls, a damaged zip), a quote not closed, a limit passed (TABLE_LIMITS), no
 * header row, a missing column, no rows. The file is read in a worker thread (table-pool.ts, table-reader.ts), so
 * that however large it inflates, other users' requests keep being answered. With a consumer, the table holds
 * only the rows it kept.
 */
export async function readTable(file: Buffer, spec: TableSpec, consume?: RowConsumer, onGap?: (gap: HeaderGap) => void): Promise<SubmittedTable | string> {
  const table: SubmittedTable = { header: [], columns: new Map(), rows: [], above: [] };
  const refusal = await readInWorker(file, spec, {
    header(header, columns, above) {
      table.header = header;
      table.columns = columns;
      table.above = above;
    },
    rows(rows) {
      for (const row of rows) if (!consume || consume(row, table.columns)) table.rows.push(row);
    },
    gap: (gap) => onGap?.(gap),
  });
  return refusal ?? table;
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
 * The bad rows as submitted (a text that would start a formula neutralised, exportCell), with the column 错误原因
 * listing every reason; cells in error are shaded red.
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
  return streamedWorkbook({ useStyles: true, useSharedStrings: false }, new Date(), (workbook) => {
    const sheet = streamedTitledSheet(workbook, '错误报告', title, headers, headers.map((_, i) => (i === headers.length - 1 ? 70 : 16)));
    for (const [rowNumber, rowErrors] of byRow) {
      const cells = rowsByNumber.get(rowNumber)?.cells ?? [];
      const row = sheet.addRow([...headers.slice(0, -1).map((_, i) => exportCell(cells[i] ?? '')), rowErrors.map(formatImportError).join('\n')]);
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

/**
 * A plain workbook of one sheet (header row, then rows), written with the streaming writer and shared strings as
 * Excel does; its texts neutralised (exportCell). `stamp` is the file's date (its properties and every entry of its
 * zip): a file that is signed and fetched apart from its signature passes its document's own date, so that the same
 * content gives the same bytes on every download.
 */
export function writeTableXlsx(sheetName: string, header: string[], rows: Iterable<(string | number | null)[]>, stamp = new Date()): Promise<Buffer> {
  return streamedWorkbook({ useStyles: false, useSharedStrings: true }, stamp, (workbook) => {
    const sheet = workbook.addWorksheet(sheetName);
    sheet.addRow(header).commit();
    for (const row of rows) sheet.addRow(row.map(exportCell)).commit();
    sheet.commit();
  });
}

/**
 * A workbook written with exceljs's streaming writer into memory: `fill` adds and commits its sheets and rows. The
 * workbook's properties and each zip entry carry `stamp`.
 */
async function streamedWorkbook(options: { useStyles: boolean; useSharedStrings: boolean }, stamp: Date, fill: (workbook: ExcelJS.stream.xlsx.WorkbookWriter) => void): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, ...options });
  workbook.created = stamp;
  workbook.modified = stamp;
  fill(workbook);
  await workbook.commit();
  return stampZipEntries(Buffer.concat(chunks), stamp);
}

/**
 * Sets the date and time of every entry of a zip (its local header and its central-directory record, MS-DOS format,
 * UTC as archiver writes them) to `stamp`. exceljs stamps each entry with the moment it is added, two of them while
 * the writer is built, so the date cannot be passed in. The zip's end record points to the directory; each record
 * points to its local header (APPNOTE 4.3.7, 4.3.12, 4.3.16).
 */
function stampZipEntries(zip: Buffer, stamp: Date): Buffer {
  const end = zip.length - 22;
  if (zip.readUInt32LE(end) !== 0x06054b50) throw new Error('zip end record not where expected');
  const time = (stamp.getUTCHours() << 11) | (stamp.getUTCMinutes() << 5) | (stamp.getUTCSeconds() >> 1);
  const date = ((stamp.getUTCFullYear() - 1980) << 9) | ((stamp.getUTCMonth() + 1) << 5) | stamp.getUTCDate();
  let record = zip.readUInt32LE(end + 16);
  for (let n = zip.readUInt16LE(end + 10); n > 0; n--) {
    if (zip.readUInt32LE(record) !== 0x02014b50) throw new Error('zip directory record not where expected');
    zip.writeUInt16LE(time, record + 12);
    zip.writeUInt16LE(date, record + 14);
    const local = zip.readUInt32LE(record + 42);
    zip.writeUInt16LE(time, local + 10);
    zip.writeUInt16LE(date, local + 12);
    record += 46 + zip.readUInt16LE(record + 28) + zip.readUInt16LE(record + 30) + zip.readUInt16LE(record + 32);
  }
  return zip;
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
 * A cell or field of a file that leaves the platform (a workbook, a CSV file, a fixed-width text): a text is
 * neutralised (neutraliseFormula), a number (an amount in fen, a count, a year) is written as it is. The forms and
 * the imports refuse such texts in the first place (core/fields.ts); this holds for what reached the database
 * another way.
 */
export function exportCell(value: string | number | null): string | number | null {
  return typeof value === 'string' ? neutraliseFormula(value) : value;
}

/** One line of a CSV file that leaves the platform, without its line break: each cell as exportCell, quoted when it holds a quote, comma or line break. */
export function csvLine(cells: readonly (string | number | null)[]): string {
  return cells
    .map((cell) => {
      const text = String(exportCell(cell) ?? '');
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    })
    .join(',');
}

/**
 * The export of a list (core/lists.ts): row 1 the heading that says what the file holds, row 2 the header, then the
 * rows. Every cell is a shared-string text cell, which Excel shows as it is and never computes (exceljs writes a
 * formula only from a { formula } value, never from a string); a text that would start a formula is neutralised all
 * the same (neutraliseFormula), and ID, account and phone numbers that reached a text are masked
 * (scrubPersonalData): the last line of defence, the callers give masked values.
 */
export function writeListXlsx(sheetName: string, heading: string, columns: { header: string; width: number }[], rows: Iterable<(string | number | null)[]>): Promise<Buffer> {
  return streamedWorkbook({ useStyles: true, useSharedStrings: true }, new Date(), (workbook) => {
    const sheet = streamedTitledSheet(workbook, sheetName, heading, columns.map((c) => c.header), columns.map((c) => c.width));
    for (const row of rows) sheet.addRow(row.map((cell) => (cell === null ? '' : neutraliseFormula(scrubPersonalData(String(cell)))))).commit();
    sheet.commit();
  });
}
