import QRCode from 'qrcode';
import { type TableColumn, type TableRow, createPdf, drawTable, fontFor, pdfToBuffer } from '../../core/pdf.ts';
import { type SheetContent, type SheetLine, type SummaryLine, formatSheetCode } from './model.ts';

/**
 * The printed publicity sheets (公示表): A4 portrait, one sheet per village or the township's summary, several
 * printed as one PDF (each sheet starting on a new page and numbered on its own, "第 x 页 / 共 y 页"). Each page
 * carries the sheet's title and verification code at the top, so that a loose page still says what it belongs to;
 * the header row repeats on every page; after the table come the totals, how to object, the supervision telephones,
 * the spaces for signatures and stamps, and the verification block: the QR code of the sheet's page on the portal,
 * its code and the SM3 digest of its content.
 */
export interface PrintedSheet {
  content: SheetContent;
  code: string;
  digest: string;
  /** The portal's page of this sheet, for the QR code and the printed address. */
  verifyUrl: string;
}

const VILLAGE_COLUMNS = (unit: string): TableColumn[] => [
  { header: '序号', width: 30, align: 'center' },
  { header: '姓名', width: 64 },
  { header: '身份证号码', width: 120 },
  { header: '补贴档次', width: 64 },
  { header: '补贴标准（元）', width: 70, align: 'right' },
  { header: `补贴数量（${unit}）`, width: 70, align: 'right' },
  { header: '补贴金额（元）', width: 80, align: 'right' },
];

const SUMMARY_COLUMNS = (unit: string): TableColumn[] => [
  { header: '序号', width: 30, align: 'center' },
  { header: '村（社区）', width: 150 },
  { header: '人数', width: 60, align: 'right' },
  { header: `补贴数量（${unit}）`, width: 90, align: 'right' },
  { header: '补贴金额（元）', width: 100, align: 'right' },
];

const SIGNATURES = { village: ['村（居）委会（盖章）', '经办人', '乡镇经办站所（盖章）', '张贴日期'], township: ['乡镇经办站所（盖章）', '经办人', '乡镇财政所（盖章）', '张贴日期'] } as const;

function tableRows(content: SheetContent): TableRow[] {
  const t = content.total;
  if (content.kind === 'village') {
    const rows: TableRow[] = (content.lines as SheetLine[]).map((l) => [String(l.no), l.name, l.id, l.tier, l.standard, l.quantity, l.amount]);
    rows.push({ total: ['', '合计', `${t.people} 人`, '', '', t.quantity, t.amount] });
    return rows;
  }
  const rows: TableRow[] = (content.lines as SummaryLine[]).map((l) => [String(l.no), l.village, String(l.people), l.quantity, l.amount]);
  rows.push({ total: ['', '合计', String(t.people), t.quantity, t.amount] });
  return rows;
}

/** The facts under the title: what the sheet is about, on what basis, for how long. */
function facts(c: SheetContent): string[] {
  return [
    `补贴项目：${c.subsidy}　　主管部门：${c.department}`,
    `政策依据：${c.basis}`,
    `发放期间：${c.period}　　补贴标准：${c.standard}`,
    `公示地点：${c.township}${c.village}　　公示期：${c.publicityStart} 至 ${c.publicityEnd}（不少于 7 天）${c.afterPayment ? '　　事后公示（突发灾害应急救助，先行发放）' : ''}`,
  ];
}

/** Write a text in the font the characters need (a rare character in a name: the fallback font). */
function write(doc: PDFKit.PDFDocument, text: string, font: 'zh' | 'zh-bold', size: number, options: PDFKit.Mixins.TextOptions & { x?: number; y?: number } = {}) {
  const { x, y, ...rest } = options;
  doc.font(fontFor(doc, text, font)).fontSize(size);
  if (x !== undefined && y !== undefined) doc.text(text, x, y, rest);
  else doc.text(text, rest);
}

function drawQr(doc: PDFKit.PDFDocument, text: string, x: number, y: number, size: number): void {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const quiet = 2;
  const cell = size / (n + 2 * quiet);
  doc.save().fillColor('black');
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      if (qr.modules.get(row, col)) doc.rect(x + (col + quiet) * cell, y + (row + quiet) * cell, cell, cell);
    }
  }
  doc.fill().restore();
}

function drawSheet(doc: PDFKit.PDFDocument, sheet: PrintedSheet): void {
  const { content: c, code } = sheet;
  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;
  const bottom = () => doc.page.height - doc.page.margins.bottom;

  write(doc, c.title, 'zh-bold', 16, { align: 'center', width, x: left, y: doc.page.margins.top });
  write(doc, `${c.county}${c.township}${c.village}${c.kind === 'township' ? '　各村（社区）汇总' : ''}`, 'zh', 11, { align: 'center', width });
  doc.moveDown(0.4);
  for (const fact of facts(c)) write(doc, fact, 'zh', 9, { width });
  doc.moveDown(0.4);
  drawTable(doc, { columns: c.kind === 'village' ? VILLAGE_COLUMNS(c.unit) : SUMMARY_COLUMNS(c.unit), rows: tableRows(c), repeatHeader: true, fontSize: 9 });

  // Totals, objections and telephones, signatures and stamps, then the verification block: kept together.
  const blockHeight = 44 + 40 + 2 * 34 + 86;
  let y = doc.y + 10;
  if (y + blockHeight > bottom()) {
    doc.addPage();
    y = doc.page.margins.top;
  }
  doc.fillColor('black').strokeColor('black').lineWidth(0.5);
  const scope = c.kind === 'village' ? `本村（社区）` : '本乡镇';
  write(doc, `${scope}共 ${c.total.people} 人，补贴数量合计 ${c.total.quantity}（${c.unit}），补贴金额合计 ${c.total.amount} 元。`, 'zh', 10, { x: left, y, width });
  write(doc, c.objection, 'zh', 9, { width });
  write(doc, `监督电话：县（区）${c.phones.county || '（未设置）'}　　乡镇（街道）${c.phones.township || '（未设置）'}`, 'zh-bold', 10, { width });
  y = doc.y + 16;
  const half = width / 2;
  SIGNATURES[c.kind].forEach((label, i) => {
    const x = left + (i % 2) * half;
    const lineY = y + Math.floor(i / 2) * 34 + 14;
    const text = `${label}：`;
    write(doc, text, 'zh', 10, { x, y: lineY - 12, lineBreak: false });
    doc.moveTo(x + doc.widthOfString(text) + 2, lineY).lineTo(x + half - 24, lineY).stroke();
  });
  y += 2 * 34 + 8;
  const qrSize = 76;
  drawQr(doc, sheet.verifyUrl, left, y, qrSize);
  const textX = left + qrSize + 8;
  const textWidth = width - qrSize - 8;
  write(doc, `验证码：${formatSheetCode(code)}`, 'zh-bold', 11, { x: textX, y: y + 6, width: textWidth });
  write(doc, `扫描二维码，或在 ${sheet.verifyUrl.replace(/\/[^/]*$/, '')} 输入验证码，可查看系统中保存的本公示内容并核对本表是否为最新版本。`, 'zh', 8.5, { width: textWidth });
  write(doc, `内容摘要（SM3）：${sheet.digest}`, 'zh', 7, { width: textWidth });
}

/**
 * One PDF of the sheets, each starting on a new page and numbered on its own; the title and code of its sheet in
 * small type at the top of each page.
 */
export async function writeSheetsPdf(sheets: PrintedSheet[]): Promise<Buffer> {
  const title = sheets.length === 1 ? `${sheets[0]!.content.title}（${sheets[0]!.content.township}${sheets[0]!.content.village}）` : `${sheets[0]!.content.title}（${sheets[0]!.content.township}）`;
  const doc = createPdf({ title });
  const starts: number[] = [];
  const owner: PrintedSheet[] = [];
  sheets.forEach((sheet, i) => {
    if (i > 0) doc.addPage();
    const first = doc.bufferedPageRange().count - 1;
    starts.push(first);
    drawSheet(doc, sheet);
    for (let p = first; p < doc.bufferedPageRange().count; p++) owner[p] = sheet;
  });
  const { start, count } = doc.bufferedPageRange();
  for (let i = start; i < start + count; i++) {
    const sheet = owner[i - start]!;
    doc.switchToPage(i);
    const top = `${sheet.content.title}（${sheet.content.township}${sheet.content.village}）　验证码 ${formatSheetCode(sheet.code)}`;
    doc.fillColor('#333333');
    write(doc, top, 'zh', 8, { x: doc.page.margins.left, y: doc.page.margins.top - 16, lineBreak: false });
  }
  return pdfToBuffer(doc, starts);
}
