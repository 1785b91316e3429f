import ExcelJS from 'exceljs';
import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { businessDate } from '../../core/dates.ts';
import { inTransaction } from '../../core/db.ts';
import { XLSX_TYPE } from '../../core/downloads.ts';
import { type Fen, addFen, fen, formatYuan } from '../../core/money.ts';
import { type TableColumn, type TableRow, createPdf, drawTable, pdfToBuffer } from '../../core/pdf.ts';
import { THIN_BORDER, neutraliseFormula, titledSheet } from '../../core/spreadsheet.ts';
import { standardText, versionsById } from '../policy/index.ts';
import { formatQuantity, parsePeriod, rosterStateLabel } from './model.ts';
import { printedLines } from './queries.ts';
import { rosterInScope } from './repo.ts';

/**
 * A roster printed or downloaded whole (PDF and Excel): every active line, village by village with a subtotal
 * after each, the grand total, and the spaces for the signatures. ID numbers are the masked ones the roster page
 * shows; nothing about accounts. The layout of both files is here; rosterFile loads the roster in the actor's
 * scope and audits the download.
 */

export interface RosterFileLine {
  village: string;
  name: string;
  idMasked: string;
  tier: string;
  standardFen: number;
  quantityMilli: number;
  amountFen: number;
}

export interface RosterDocument {
  /** 2026年耕地地力保护补贴资金发放清册（城关镇） */
  title: string;
  /** The lines under the title: policy, basis, period, standards, state, print date, totals. */
  facts: string[];
  /** 亩, 人·月 … (the quantity column's unit) */
  unit: string;
  /** In line order; the files group them by village. */
  lines: RosterFileLine[];
}

export type RosterFormat = 'pdf' | 'xlsx';

const CONTENT_TYPES: Record<RosterFormat, string> = { pdf: 'application/pdf', xlsx: XLSX_TYPE };
const SIGNATURES = ['经办人', '复核人（财政所）', '审核人（主管部门）', '日期'];
const collator = new Intl.Collator('zh-Hans-CN', { numeric: true });

interface Totals {
  count: number;
  quantityMilli: number;
  amountFen: Fen;
}

/** One row of the table as both files lay it out: a line with its number, a village's subtotal, the grand total. */
type Entry = { kind: 'line'; no: number; line: RosterFileLine } | { kind: 'subtotal'; village: string; totals: Totals } | { kind: 'total'; totals: Totals };

const add = (t: Totals, line: RosterFileLine): Totals => ({ count: t.count + 1, quantityMilli: t.quantityMilli + line.quantityMilli, amountFen: addFen(t.amountFen, fen(line.amountFen)) });
const NONE: Totals = { count: 0, quantityMilli: 0, amountFen: fen(0) };

/** Villages in Chinese collation order, each village's lines in line order, numbered through; totals in fen. */
function entries(lines: RosterFileLine[]): { rows: Entry[]; total: Totals } {
  const byVillage = new Map<string, RosterFileLine[]>();
  for (const line of lines) {
    const group = byVillage.get(line.village);
    if (group) group.push(line);
    else byVillage.set(line.village, [line]);
  }
  const out: Entry[] = [];
  let no = 0;
  let all = NONE;
  for (const village of [...byVillage.keys()].sort(collator.compare)) {
    let sub = NONE;
    for (const line of byVillage.get(village)!) {
      out.push({ kind: 'line', no: ++no, line });
      sub = add(sub, line);
      all = add(all, line);
    }
    out.push({ kind: 'subtotal', village, totals: sub });
  }
  out.push({ kind: 'total', totals: all });
  return { rows: out, total: all };
}

const COLUMNS = (unit: string) =>
  [
    { header: '序号', pdf: 30, xlsx: 7, align: 'center' },
    { header: '村（社区）', pdf: 84, xlsx: 18 },
    { header: '姓名', pdf: 56, xlsx: 10 },
    { header: '身份证号码', pdf: 108, xlsx: 22 },
    { header: '档次', pdf: 52, xlsx: 10 },
    { header: '标准（元）', pdf: 60, xlsx: 12, align: 'right' },
    { header: `数量（${unit}）`, pdf: 60, xlsx: 12, align: 'right' },
    { header: '金额（元）', pdf: 72, xlsx: 15, align: 'right' },
  ] as const;

const countText = (t: Totals) => `${t.count} 人`;

// ---------------------------------------------------------------------------------------------------------------
// PDF

/**
 * Portrait A4: the title and facts, one table (header repeated on every page; rows never split), the signature
 * spaces kept together after it; from the second page on, the title in small type at the top, so that a loose
 * page still says which roster it is; "第 N 页 / 共 M 页" on every page.
 */
export async function writeRosterPdf(doc: RosterDocument): Promise<Buffer> {
  const pdf = createPdf({ title: doc.title });
  const left = pdf.page.margins.left;
  const width = pdf.page.width - left - pdf.page.margins.right;
  pdf.font('zh-bold').fontSize(15).text(doc.title, { align: 'center' });
  pdf.moveDown(0.3);
  pdf.font('zh').fontSize(9);
  for (const fact of doc.facts) pdf.text(fact, { width });
  pdf.moveDown(0.4);

  const columns: TableColumn[] = COLUMNS(doc.unit).map((c) => ({ header: c.header, width: c.pdf, align: 'align' in c ? c.align : 'left' }));
  const { rows: table, total } = entries(doc.lines);
  const rows: TableRow[] = table.map((e) => {
    if (e.kind === 'line') {
      const l = e.line;
      return [String(e.no), l.village, l.name, l.idMasked, l.tier, formatYuan(l.standardFen), formatQuantity(l.quantityMilli), formatYuan(l.amountFen)];
    }
    const t = e.totals;
    return { total: ['', e.kind === 'total' ? '合计' : `${e.village} 小计`, countText(t), '', '', '', formatQuantity(t.quantityMilli), formatYuan(t.amountFen)] };
  });
  drawTable(pdf, { columns, rows, repeatHeader: true });

  // What is signed for, then the signature spaces: kept together, on a page of their own if the table filled the last.
  const rowHeight = 34;
  const half = width / 2;
  let y = pdf.y + 12;
  if (y + 20 + rowHeight * 2 > pdf.page.height - pdf.page.margins.bottom) {
    pdf.addPage();
    y = pdf.page.margins.top;
  }
  pdf.font('zh').fontSize(10).fillColor('black').strokeColor('black').lineWidth(0.5);
  pdf.text(`本清册共 ${total.count} 人，金额合计 ${formatYuan(total.amountFen)} 元。`, left, y, { width });
  y += 20;
  SIGNATURES.forEach((label, i) => {
    const x = left + (i % 2) * half;
    const lineY = y + Math.floor(i / 2) * rowHeight + 14;
    const text = `${label}：`;
    pdf.text(text, x, lineY - 12, { lineBreak: false });
    pdf.moveTo(x + pdf.widthOfString(text) + 2, lineY).lineTo(x + half - 24, lineY).stroke();
  });

  const { start, count } = pdf.bufferedPageRange();
  for (let i = start + 1; i < start + count; i++) {
    pdf.switchToPage(i);
    pdf.font('zh').fontSize(8).fillColor('#333333');
    // Inside the top margin; without a width pdfkit writes the line as is and opens no page.
    pdf.text(doc.title, left, pdf.page.margins.top - 16, { lineBreak: false });
  }
  return pdfToBuffer(pdf);
}

// ---------------------------------------------------------------------------------------------------------------
// Excel

/**
 * One sheet 发放清册: the title with the facts beneath it (row 1), the header (row 2, repeated on printed
 * pages), the lines and totals, the signature row. Every cell holds a value (amounts and quantities as numbers,
 * the rest as text, a text that would start a formula neutralised); printed on A4 fitted to the width with
 * "第 N 页 共 M 页" in the footer.
 */
export async function writeRosterXlsx(doc: RosterDocument): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = '一卡通平台';
  const columns = COLUMNS(doc.unit);
  const sheet = titledSheet(
    workbook,
    '发放清册',
    doc.title,
    columns.map((c) => c.header),
    columns.map((c) => c.xlsx),
  );
  sheet.getCell(1, 1).value = { richText: [{ text: doc.title, font: { bold: true, size: 14 } }, ...doc.facts.map((f) => ({ text: `\n${f}`, font: { size: 10 } }))] };
  sheet.getCell(1, 1).alignment = { horizontal: 'left', vertical: 'top', wrapText: true };
  sheet.getRow(1).height = 24 + 15 * doc.facts.length;
  sheet.getColumn(4).numFmt = '@';
  for (const c of [6, 8]) sheet.getColumn(c).numFmt = '#,##0.00';

  for (const e of entries(doc.lines).rows) {
    let row: ExcelJS.Row;
    if (e.kind === 'line') {
      const l = e.line;
      row = sheet.addRow([e.no, neutraliseFormula(l.village), neutraliseFormula(l.name), l.idMasked, neutraliseFormula(l.tier), l.standardFen / 100, l.quantityMilli / 1000, l.amountFen / 100]);
    } else {
      const t = e.totals;
      row = sheet.addRow([null, e.kind === 'total' ? '合计' : neutraliseFormula(`${e.village} 小计`), countText(t), null, null, null, t.quantityMilli / 1000, t.amountFen / 100]);
      row.font = { bold: true };
    }
    for (let c = 1; c <= columns.length; c++) row.getCell(c).border = THIN_BORDER;
  }

  const signatures = sheet.addRow([SIGNATURES.map((s) => `${s}：`).join('　　　　　　　　')]);
  sheet.mergeCells(signatures.number, 1, signatures.number, columns.length);
  signatures.height = 40;
  signatures.alignment = { vertical: 'bottom' };

  sheet.pageSetup = { paperSize: 9, orientation: 'portrait', fitToPage: true, fitToWidth: 1, fitToHeight: 0, printTitlesRow: '2:2' };
  sheet.headerFooter = { oddFooter: '&C第 &P 页 共 &N 页' };
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

// ---------------------------------------------------------------------------------------------------------------
// The download

/** The roster's facts and lines, read in the actor's scope (a roster out of scope: 403, audited, as on its page). */
async function rosterDocument(core: Core, actor: Actor, rosterId: number) {
  const { roster, round } = await rosterInScope(core.db, actor, rosterId);
  const [version] = await versionsById(core.db, [round.policy_version_id]);
  const lines = await printedLines(core.db, roster.id);
  const period = parsePeriod(version!.frequency, round.period);
  const totalFen = lines.reduce((sum, l) => addFen(sum, l.amount_fen), fen(0));
  const document: RosterDocument = {
    title: `${round.title}发放清册（${roster.township_name}）`,
    facts: [
      `补贴项目：${version!.name}　　主管部门：${round.department_name}`,
      `政策依据：《${version!.legalBasisTitle.replace(/^《(.*)》$/, '$1')}》${version!.legalBasisNumber}`,
      `发放期间：${'label' in period ? period.label : round.period}　　补贴标准：${standardText(version!.tiers, round.unit, '；')}`,
      `乡镇：${roster.township_name}　　清册状态：${rosterStateLabel(roster.state, round.expedited)}　　打印日期：${businessDate()}`,
      `合计：${lines.length} 人，金额 ${formatYuan(totalFen)} 元`,
      // A paid 应急救助 roster's sheet is its publicity after payment: said on the sheet itself.
      ...(round.expedited ? [`事后公示：突发灾害应急救助，先行发放、发放后公示${roster.publicity_start ? `，公示期 ${roster.publicity_start} 至 ${roster.publicity_end}` : ''}`] : []),
    ],
    unit: round.unit,
    lines: lines.map((l) => ({ village: l.village_name, name: l.person_name, idMasked: l.id_masked, tier: l.tier_name, standardFen: l.standard_fen, quantityMilli: l.quantity_milli, amountFen: l.amount_fen })),
  };
  return { roster, round, document, totalFen };
}

/** The whole roster as a PDF or Excel file for whoever may read it; each download is audited (batch.roster.print). */
export async function rosterFile(core: Core, actor: Actor, rosterId: number, format: RosterFormat): Promise<{ fileName: string; contentType: string; body: Buffer }> {
  const { roster, round, document, totalFen } = await rosterDocument(core, actor, rosterId);
  const body = format === 'pdf' ? await writeRosterPdf(document) : await writeRosterXlsx(document);
  await inTransaction(core.db, (trx) => recordAudit(trx, actor, { action: 'batch.roster.print', objectType: 'roster', objectId: roster.id, summary: { format, lines: document.lines.length, totalFen } }));
  return { fileName: `${round.title}发放清册-${roster.township_name}.${format}`, contentType: CONTENT_TYPES[format], body };
}
