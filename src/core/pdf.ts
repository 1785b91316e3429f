import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';

/**
 * Printed sheets (policy list, publicity sheets …): A4 documents in Noto Sans SC, with a table helper that wraps
 * cell text, measures row heights, breaks pages between rows and repeats the header, and page numbers
 * "第 N 页 / 共 M 页" added when the document is finished. pdfkit embeds only the glyphs used (a subset).
 * Noto Sans SC lacks most CJK Extension B characters that names use (𠮷, 𡘙 …; GB 18030-2022 asks systems to handle
 * them): a text with a character Noto cannot draw is written in Source Han Sans SC ('zh-ext', from the registry
 * package node-source-han-sans-sc), read from disk only when a document needs it.
 */

const require = createRequire(import.meta.url);
const FONT_FILES = {
  zh: require.resolve('@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf'),
  'zh-bold': require.resolve('@expo-google-fonts/noto-sans-sc/700Bold/NotoSansSC_700Bold.ttf'),
} as const;

const FALLBACK_FONT_FILE = require.resolve('node-source-han-sans-sc/SourceHanSansSC-Regular.otf');

let fontData: Record<keyof typeof FONT_FILES, Buffer> | undefined;
let fallbackData: Buffer | undefined;
let notoCoverage: fontkit.Font | undefined;
/** Code points Noto Sans SC cannot draw, found so far (a name's rare character is looked up once). */
const uncovered = new Map<number, boolean>();

/** The TTF files (10 MB each) are read once per process, not once per document. */
function fonts(): Record<keyof typeof FONT_FILES, Buffer> {
  fontData ??= { zh: readFileSync(FONT_FILES.zh), 'zh-bold': readFileSync(FONT_FILES['zh-bold']) };
  return fontData;
}

/** Whether Noto Sans SC lacks a character of the text (then it is written in the fallback font). */
export function needsFallbackFont(text: string): boolean {
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x2e80) continue;
    let missing = uncovered.get(cp);
    if (missing === undefined) {
      notoCoverage ??= fontkit.create(fonts().zh);
      missing = !notoCoverage.hasGlyphForCodePoint(cp);
      uncovered.set(cp, missing);
    }
    if (missing) return true;
  }
  return false;
}

/** The font to write a text in: the one asked for, or the fallback when Noto cannot draw one of its characters. */
export function fontFor(doc: PDFKit.PDFDocument, text: string, font: 'zh' | 'zh-bold'): string {
  if (!needsFallbackFont(text)) return font;
  fallbackData ??= readFileSync(FALLBACK_FONT_FILE);
  // Registered on first use in each document, so that a sheet without rare characters embeds nothing of it.
  const registered = doc as PDFKit.PDFDocument & { _registeredFonts: Record<string, unknown> };
  if (!registered._registeredFonts['zh-ext']) doc.registerFont('zh-ext', fallbackData);
  return 'zh-ext';
}

const MARGINS = { top: 36, bottom: 42, left: 36, right: 36 };
const BORDER_COLOR = '#444444';
const HEADER_FILL = '#e6e6e6';
const GROUP_FILL = '#f3f3f3';
const PAD_X = 4;
const PAD_Y = 3;
const LINE_GAP = 1;

/** An A4 document (portrait unless `landscape`) with the fonts 'zh' and 'zh-bold' registered and 'zh' selected. */
export function createPdf(options: { title: string; landscape?: boolean }): PDFKit.PDFDocument {
  const doc = new PDFDocument({
    size: 'A4',
    layout: options.landscape ? 'landscape' : 'portrait',
    margins: MARGINS,
    bufferPages: true,
    lang: 'zh-CN',
    displayTitle: true,
    info: { Title: options.title, Creator: '一卡通平台' },
  });
  const data = fonts();
  doc.registerFont('zh', data.zh);
  doc.registerFont('zh-bold', data['zh-bold']);
  doc.font('zh');
  return doc;
}

export interface TableColumn {
  header: string;
  /** Relative width: the columns are scaled together to fill the width between the page margins. */
  width: number;
  align?: 'left' | 'right' | 'center';
}

/**
 * A data row (one text per column; '\n' starts a new line in a cell), a totals row (the same, in bold on a shade)
 * or a group heading across the table.
 */
export type TableRow = string[] | { total: string[] } | { group: string };

export interface TableOptions {
  columns: TableColumn[];
  rows: TableRow[];
  /** Draw the header row again at the top of every page the table continues on. */
  repeatHeader: boolean;
  fontSize?: number;
}

interface Cell {
  text: string;
  width: number;
  align: 'left' | 'right' | 'center';
  /** Set by measuring: the row's font, or the fallback for a text with a character the row's font lacks. */
  font?: string;
}

/** A row's cells with the height of each cell's text, measured once (the costly part of a table). */
interface MeasuredRow {
  cells: Cell[];
  textHeights: number[];
  height: number;
  font: string;
  fill?: string;
}

/**
 * Draw a table from the current position (doc.y) down, adding pages as needed. A row never splits across pages;
 * a group heading is kept with the row after it and repeated as "…（续）" when its group continues on a new page.
 * A row taller than a whole page (only with absurdly long text) is cut with an ellipsis. Leaves doc.y below the table.
 */
export function drawTable(doc: PDFKit.PDFDocument, options: TableOptions): void {
  const { columns, rows, repeatHeader, fontSize = 9 } = options;
  const left = doc.page.margins.left;
  const tableWidth = doc.page.width - left - doc.page.margins.right;
  const totalWeight = columns.reduce((sum, c) => sum + c.width, 0);
  const widths = columns.map((c) => (c.width / totalWeight) * tableWidth);
  const bottom = () => doc.page.height - doc.page.margins.bottom;

  const measure = (cells: Cell[], font: 'zh' | 'zh-bold', fill?: string): MeasuredRow => {
    const textHeights = cells.map((c) => {
      c.font = fontFor(doc, c.text, font);
      doc.font(c.font).fontSize(fontSize);
      return doc.heightOfString(c.text || ' ', { width: c.width - 2 * PAD_X, lineGap: LINE_GAP });
    });
    return { cells, textHeights, height: Math.max(...textHeights) + 2 * PAD_Y, font, fill };
  };
  const groupRow = (text: string) => measure([{ text, width: tableWidth, align: 'left' }], 'zh-bold', GROUP_FILL);
  const header = measure(
    columns.map((c, i) => ({ text: c.header, width: widths[i]!, align: 'center' })),
    'zh-bold',
    HEADER_FILL,
  );
  const body = rows.map((row) => {
    if ('group' in row) return groupRow(row.group);
    const [cells, font, fill] = Array.isArray(row) ? [row, 'zh' as const, undefined] : [row.total, 'zh-bold' as const, GROUP_FILL];
    return measure(
      columns.map((c, i) => ({ text: cells[i] ?? '', width: widths[i]!, align: c.align ?? 'left' })),
      font,
      fill,
    );
  });

  let y = doc.y;
  const draw = (row: MeasuredRow, height = row.height) => {
    if (row.fill) doc.rect(left, y, tableWidth, height).fill(row.fill);
    doc.fillColor('black').lineWidth(0.5).strokeColor(BORDER_COLOR).font(row.font).fontSize(fontSize);
    const inner = height - 2 * PAD_Y;
    let x = left;
    row.cells.forEach((cell, i) => {
      doc.rect(x, y, cell.width, height).stroke();
      const textHeight = Math.min(row.textHeights[i]!, inner);
      doc.font(cell.font ?? row.font);
      doc.text(cell.text, x + PAD_X, y + PAD_Y + (inner - textHeight) / 2, {
        width: cell.width - 2 * PAD_X,
        height: textHeight + 1,
        align: cell.align,
        lineGap: LINE_GAP,
        ellipsis: true,
      });
      x += cell.width;
    });
    y += height;
  };

  let continued: MeasuredRow | null = null;
  const newPage = () => {
    doc.addPage();
    y = doc.page.margins.top;
    if (repeatHeader) draw(header);
  };
  /** A data row's height, cut to what a fresh page holds below the header and a continued group heading. */
  const heightOf = (row: MeasuredRow) =>
    Math.min(row.height, bottom() - doc.page.margins.top - (repeatHeader ? header.height : 0) - (continued?.height ?? 0));

  /** Room that row i needs on the page: a group heading is kept with the row after it. */
  const needed = (i: number) => {
    const row = rows[i];
    if (row === undefined) return 0;
    if (!('group' in row)) return heightOf(body[i]!);
    const next = rows[i + 1];
    return body[i]!.height + (next && !('group' in next) ? heightOf(body[i + 1]!) : 0);
  };

  if (y + header.height + needed(0) > bottom()) {
    doc.addPage();
    y = doc.page.margins.top;
  }
  draw(header);
  rows.forEach((row, i) => {
    const measured = body[i]!;
    if ('group' in row) {
      continued = groupRow(`${row.group}（续）`);
      if (y + needed(i) > bottom()) newPage();
      draw(measured);
      return;
    }
    if (y + needed(i) > bottom()) {
      newPage();
      if (continued) draw(continued);
    }
    draw(measured, heightOf(measured));
  });

  doc.x = left;
  doc.y = y;
}

/**
 * Add "第 N 页 / 共 M 页" to every page's footer, finish the document and return its bytes. A document made of
 * several sheets (one per village, printed together) numbers each sheet's pages on their own: `sectionStarts` are
 * the indexes of the pages that begin a sheet.
 */
export function pdfToBuffer(doc: PDFKit.PDFDocument, sectionStarts: number[] = [0]): Promise<Buffer> {
  const { start, count } = doc.bufferedPageRange();
  const starts = [...new Set([0, ...sectionStarts])].sort((a, b) => a - b);
  for (let i = start; i < start + count; i++) {
    doc.switchToPage(i);
    const page = i - start;
    let k = 0;
    while (k + 1 < starts.length && starts[k + 1]! <= page) k++;
    const first = starts[k]!;
    const next = starts[k + 1] ?? count;
    const label = `第 ${page - first + 1} 页 / 共 ${next - first} 页`;
    doc.font('zh').fontSize(8).fillColor('#333333');
    // Without a width pdfkit writes the line as is, so text inside the bottom margin does not open a new page.
    doc.text(label, (doc.page.width - doc.widthOfString(label)) / 2, doc.page.height - doc.page.margins.bottom + 16, { lineBreak: false });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    doc.end();
  });
}
