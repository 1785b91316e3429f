import ExcelJS from 'exceljs';
import { type Fen, formatYuan, parseYuan } from '../../core/money.ts';
import { createPdf, drawTable, pdfToBuffer, type TableColumn, type TableRow } from '../../core/pdf.ts';
import { freeTextProblem } from '../../core/fields.ts';
import { type ImportError, type SubmittedTable, type TableSpec, exportCell, readTable, sortErrors, titledSheet, writeErrorReport } from '../../core/spreadsheet.ts';

/**
 * The county's published policy list (一张清单管制度) as files: the printed PDF, the Excel export, and the Excel
 * import, whose format is the export's. Pure functions: no database, no personal data.
 */

export type PolicyLevel = 'central' | 'province' | 'city' | 'county';
export const LEVEL_LABELS: Record<PolicyLevel, string> = { central: '中央', province: '省级', city: '市级', county: '县级' };
export type Payee = 'person' | 'household';
export const PAYEE_LABELS: Record<Payee, string> = { person: '到人', household: '到户' };
export type Frequency = 'once' | 'monthly' | 'quarterly' | 'yearly';
export const FREQUENCY_LABELS: Record<Frequency, string> = { once: '一次性', monthly: '按月', quarterly: '按季', yearly: '按年' };

/** One rate of a policy, in fen per unit: { name: '标准', standardFen: 10550 }, or 低保 A类/B类/C类. */
export interface PolicyTier {
  name: string;
  standardFen: Fen;
}

/** What a policy says, in every form it takes: a version, a form's input, a line of the list, an imported row. */
export interface PolicyFields {
  name: string;
  legalBasisTitle: string;
  legalBasisNumber: string;
  payee: Payee;
  frequency: Frequency;
  /** 亩, 人, 户, 月 … */
  unit: string;
  tiers: PolicyTier[];
  fromYear: number;
  toYear: number | null;
}

export interface PolicyListLine extends PolicyFields {
  code: string;
  level: PolicyLevel;
  settingRegion: string;
  department: string;
  exclusiveGroup: string | null;
  /** 救助类: public employees may not receive it. */
  meansTested: boolean;
  versionNo: number;
}

export interface PolicyListDocument {
  county: string;
  year: number;
  /** YYYY-MM-DD */
  generatedOn: string;
  lines: PolicyListLine[];
}

export interface PolicyImportRow extends PolicyFields {
  rowNumber: number;
  code: string;
  department: string;
  exclusiveGroup: string | null;
  /** 救助类 as the file says; null: the file has no such column (an export older than the column). */
  meansTested: boolean | null;
}

export type PolicyImportResult = { ok: true; rows: PolicyImportRow[]; table: SubmittedTable } | { ok: false; errors: ImportError[]; report: Buffer };

const LIST_BASIS = '《关于进一步加强惠民惠农财政补贴资金“一卡通”管理的指导意见》（财办〔2020〕37号）';
const MAX_TIERS = 10;
const MAX_TIER_NAME = 20;
const MAX_GROUPS = 5;
const MAX_GROUP_NAME = 40;
const CODE_PATTERN = /^[A-Za-z0-9-]{2,40}$/;

const collator = new Intl.Collator('zh-Hans-CN', { numeric: true });

/** Characters as a reader counts them (a rare character outside the BMP is one, not two). */
const textLength = (text: string) => [...text].length;

function listTitle(list: PolicyListDocument): string {
  return `${list.county}${list.year}年惠民惠农财政补贴政策清单`;
}

/** By department, then code: the order of both the PDF and the Excel file. */
function sortedLines(lines: PolicyListLine[]): PolicyListLine[] {
  return [...lines].sort((a, b) => collator.compare(a.department, b.department) || collator.compare(a.code, b.code));
}

// ---------------------------------------------------------------------------------------------------------------
// Tiers as text: "标准:105.50" or "A类:635.00;B类:500.00;C类:300.00" (the Excel column and the edit form).

/** Tiers as one text in 元 with two decimals and no thousands separators, exact to the fen. */
export function formatTierText(tiers: PolicyTier[]): string {
  return tiers.map((t) => `${t.name}:${formatYuan(t.standardFen).replace(/,/g, '')}`).join(';');
}

/**
 * Read tiers written as name:amount pairs separated by ; or ；(full-width colon allowed). A lone amount is the
 * tier 标准. Amounts go through parseYuan (exact to the fen) and must be above zero; names are unique, at most 10 tiers.
 */
export function parseTierText(text: string): { ok: true; tiers: PolicyTier[] } | { ok: false; error: string } {
  const parts = text
    .split(/[;；]/)
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) return { ok: false, error: '请填写补贴标准，如“标准:105.50”或“A类:635.00;B类:500.00”' };
  if (parts.length > MAX_TIERS) return { ok: false, error: `最多 ${MAX_TIERS} 档标准，现有 ${parts.length} 档` };
  const problems: string[] = [];
  const tiers: PolicyTier[] = [];
  for (const part of parts) {
    const pair = /^([^:：]*)[:：](.*)$/.exec(part);
    if (!pair && parts.length > 1) {
      problems.push(`“${part}”应写成“名称:金额”`);
      continue;
    }
    const name = pair ? pair[1]!.trim() : '标准';
    const amount = parseYuan(pair ? pair[2]! : part);
    const label = pair ? `「${name}」` : '';
    if (name === '') problems.push(`“${part}”缺少档次名称`);
    else if (textLength(name) > MAX_TIER_NAME) problems.push(`档次名称「${name}」不能超过 ${MAX_TIER_NAME} 个字符`);
    else if (tiers.some((t) => t.name === name)) problems.push(`档次名称「${name}」重复`);
    else if (freeTextProblem(name)) problems.push(`档次名称「${name}」${freeTextProblem(name)}`);
    if (!amount.ok) problems.push(`${label}${amount.error}`);
    else if (amount.fen <= 0) problems.push(`${label}金额必须大于 0`);
    else tiers.push({ name, standardFen: amount.fen });
  }
  return problems.length ? { ok: false, error: problems.join('；') } : { ok: true, tiers };
}

// ---------------------------------------------------------------------------------------------------------------
// PDF

const PDF_COLUMNS: TableColumn[] = [
  { header: '序号', width: 30, align: 'center' },
  { header: '补贴项目', width: 130 },
  { header: '层级', width: 36, align: 'center' },
  { header: '政策依据（文件名、文号）', width: 210 },
  { header: '发放方式', width: 46, align: 'center' },
  { header: '补贴标准', width: 150 },
  { header: '发放频次', width: 46, align: 'center' },
  { header: '执行年度', width: 66, align: 'center' },
];

/** The standard as people read it: "105.50 元/亩", or one "A类：635.00 元/人·月" per tier, joined by separator. */
export function standardText(tiers: PolicyTier[], unit: string, separator = '\n'): string {
  const [only] = tiers;
  if (tiers.length === 1 && only!.name === '标准') return `${formatYuan(only!.standardFen)} 元/${unit}`;
  return tiers.map((t) => `${t.name}：${formatYuan(t.standardFen)} 元/${unit}`).join(separator);
}

/** "2021 年起", "2026 年" or "2021–2027 年". */
export function yearsText(fromYear: number, toYear: number | null): string {
  if (toYear === null) return `${fromYear} 年起`;
  return toYear === fromYear ? `${fromYear} 年` : `${fromYear}–${toYear} 年`;
}

function basisText(line: PolicyListLine): string {
  const title = line.legalBasisTitle.replace(/^《(.*)》$/, '$1');
  return line.legalBasisNumber ? `《${title}》\n${line.legalBasisNumber}` : `《${title}》`;
}

/** Landscape A4: title, a table grouped by department (heading rows), the publication note, page numbers. */
export async function writePolicyListPdf(list: PolicyListDocument): Promise<Buffer> {
  const title = listTitle(list);
  const pdf = createPdf({ title, landscape: true });
  pdf.font('zh-bold').fontSize(16).text(title, { align: 'center' });
  pdf.font('zh').fontSize(9).text(`共 ${list.lines.length} 项`, { align: 'right' });
  pdf.moveDown(0.3);

  const rows: TableRow[] = [];
  let department: string | null = null;
  sortedLines(list.lines).forEach((line, i) => {
    if (line.department !== department) {
      department = line.department;
      rows.push({ group: department });
    }
    rows.push([
      String(i + 1),
      line.name,
      LEVEL_LABELS[line.level],
      basisText(line),
      PAYEE_LABELS[line.payee],
      standardText(line.tiers, line.unit),
      FREQUENCY_LABELS[line.frequency],
      yearsText(line.fromYear, line.toYear),
    ]);
  });
  drawTable(pdf, { columns: PDF_COLUMNS, rows, repeatHeader: true });

  const note = `生成日期：${list.generatedOn}\n本清单依据${LIST_BASIS}公开；涉密补贴项目不予公开。`;
  const left = pdf.page.margins.left;
  const width = pdf.page.width - left - pdf.page.margins.right;
  pdf.font('zh').fontSize(9);
  let y = pdf.y + 8;
  if (y + pdf.heightOfString(note, { width }) > pdf.page.height - pdf.page.margins.bottom) {
    pdf.addPage();
    y = pdf.page.margins.top;
  }
  pdf.text(note, left, y, { width });
  return pdfToBuffer(pdf);
}

// ---------------------------------------------------------------------------------------------------------------
// Excel export, which is also the import format

const XLSX_COLUMNS = [
  { header: '编码', width: 16, imported: true },
  { header: '补贴项目名称', width: 32, imported: true },
  { header: '层级', width: 8, imported: false },
  { header: '制定地区', width: 14, imported: false },
  { header: '主管部门', width: 18, imported: true },
  { header: '政策依据文件名', width: 44, imported: true },
  { header: '文号', width: 22, imported: true },
  { header: '发放方式', width: 10, imported: true },
  { header: '发放频次', width: 10, imported: true },
  { header: '计量单位', width: 10, imported: true },
  { header: '补贴标准', width: 36, imported: true },
  { header: '起始年度', width: 10, imported: true },
  { header: '截止年度', width: 10, imported: true },
  { header: '互斥组', width: 14, imported: true },
  // Read when present: files exported before the column existed are still imported, 救助类 then left as it was.
  { header: '救助类', width: 8, imported: true, optional: true },
] as const;

const MEANS_TESTED_LABELS = { yes: '是', no: '否' } as const;

type Header = (typeof XLSX_COLUMNS)[number]['header'];

async function workbookBuffer(workbook: ExcelJS.Workbook): Promise<Buffer> {
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** One sheet 政策清单: title row, header row, one row per line (see XLSX_COLUMNS), sorted by department and code; texts neutralised (exportCell). */
export async function writePolicyListXlsx(list: PolicyListDocument): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = '一卡通平台';
  const sheet = titledSheet(
    workbook,
    '政策清单',
    listTitle(list),
    XLSX_COLUMNS.map((c) => c.header),
    XLSX_COLUMNS.map((c) => c.width),
  );
  // 编码 is text: a code such as 007 keeps its zeros, also in rows the clerk adds.
  sheet.getColumn(1).numFmt = '@';
  for (const line of sortedLines(list.lines)) {
    const cells = [
      line.code,
      line.name,
      LEVEL_LABELS[line.level],
      line.settingRegion,
      line.department,
      line.legalBasisTitle,
      line.legalBasisNumber,
      PAYEE_LABELS[line.payee],
      FREQUENCY_LABELS[line.frequency],
      line.unit,
      formatTierText(line.tiers),
      line.fromYear,
      line.toYear,
      line.exclusiveGroup,
      line.meansTested ? MEANS_TESTED_LABELS.yes : MEANS_TESTED_LABELS.no,
    ];
    const row = sheet.addRow(cells.map(exportCell));
    row.alignment = { vertical: 'top', wrapText: true };
  }
  sheet.autoFilter = { from: { row: 2, column: 1 }, to: { row: 2, column: XLSX_COLUMNS.length } };
  return workbookBuffer(workbook);
}

// ---------------------------------------------------------------------------------------------------------------
// Excel import

function labelKey<K extends string>(labels: Record<K, string>, text: string): K | undefined {
  return (Object.keys(labels) as K[]).find((key) => labels[key] === text);
}

function parseYear(text: string): number | null {
  const m = /^(\d{4})\s*年?$/.exec(text);
  const year = m ? Number(m[1]) : NaN;
  return year >= 2000 && year <= 2100 ? year : null;
}

const YEAR_MESSAGE = '应为 2000–2100 之间的年份，如 2024';

function validateRow(rowNumber: number, get: (header: Header) => string | undefined): { row: PolicyImportRow | null; errors: ImportError[] } {
  const errors: ImportError[] = [];
  const fail = (field: Header, message: string) => errors.push({ rowNumber, field, message });
  const text = (field: Header, max: number): string => {
    const value = get(field) ?? '';
    if (value === '') fail(field, '不能为空');
    else if (textLength(value) > max) fail(field, `不能超过 ${max} 个字符`);
    else if (freeTextProblem(value)) fail(field, freeTextProblem(value)!);
    return value;
  };

  const code = get('编码') ?? '';
  if (code === '') fail('编码', '不能为空');
  else if (!CODE_PATTERN.test(code)) fail('编码', '应由 2–40 位字母、数字或短横线组成');
  const name = text('补贴项目名称', 100);
  const department = text('主管部门', 80);
  const legalBasisTitle = text('政策依据文件名', 200);
  const legalBasisNumber = text('文号', 60);
  const unit = text('计量单位', 10);

  const payeeText = get('发放方式') ?? '';
  const payee = labelKey(PAYEE_LABELS, payeeText);
  if (payeeText === '') fail('发放方式', '不能为空');
  else if (!payee) fail('发放方式', `应为${Object.values(PAYEE_LABELS).map((l) => `「${l}」`).join('或')}`);

  const frequencyText = get('发放频次') ?? '';
  const frequency = labelKey(FREQUENCY_LABELS, frequencyText);
  if (frequencyText === '') fail('发放频次', '不能为空');
  else if (!frequency) fail('发放频次', `应为${Object.values(FREQUENCY_LABELS).map((l) => `「${l}」`).join('')}之一`);

  const tierText = get('补贴标准') ?? '';
  const tiers = tierText === '' ? null : parseTierText(tierText);
  if (!tiers) fail('补贴标准', '不能为空');
  else if (!tiers.ok) fail('补贴标准', tiers.error);

  const fromText = get('起始年度') ?? '';
  const fromYear = parseYear(fromText);
  if (fromText === '') fail('起始年度', '不能为空');
  else if (fromYear === null) fail('起始年度', YEAR_MESSAGE);
  const toText = get('截止年度') ?? '';
  const toYear = parseYear(toText);
  if (toText !== '' && toYear === null) fail('截止年度', YEAR_MESSAGE);
  else if (toYear !== null && fromYear !== null && toYear < fromYear) fail('截止年度', '不能早于起始年度');

  const groups = (get('互斥组') ?? '')
    .split(/[;；,，]/)
    .map((g) => g.trim())
    .filter((g) => g !== '');
  const longGroup = groups.find((g) => textLength(g) > MAX_GROUP_NAME);
  if (longGroup) fail('互斥组', `互斥组名称「${longGroup}」不能超过 ${MAX_GROUP_NAME} 个字符`);
  else if (groups.length > MAX_GROUPS) fail('互斥组', `最多 ${MAX_GROUPS} 个互斥组`);
  const oddGroup = groups.find((g) => freeTextProblem(g));
  if (oddGroup) fail('互斥组', `互斥组名称「${oddGroup}」${freeTextProblem(oddGroup)}`);

  // 救助类: 是 or 否 (blank: 否); a file without the column leaves it as it was (undefined here).
  const meansText = get('救助类');
  const meansTested = meansText === undefined ? null : meansText === MEANS_TESTED_LABELS.yes;
  if (meansText !== undefined && meansText !== '' && meansText !== MEANS_TESTED_LABELS.yes && meansText !== MEANS_TESTED_LABELS.no) fail('救助类', '应为「是」或「否」');

  if (errors.length || !payee || !frequency || !tiers?.ok || fromYear === null) return { row: null, errors };
  return {
    row: {
      rowNumber,
      code,
      name,
      department,
      legalBasisTitle,
      legalBasisNumber,
      payee,
      frequency,
      unit,
      tiers: tiers.tiers,
      fromYear,
      toYear,
      exclusiveGroup: groups.length ? groups.join(';') : null,
      meansTested,
    },
    errors,
  };
}

const IMPORT_SPEC: TableSpec = {
  headerHas: ['编码', '补贴项目名称'],
  required: XLSX_COLUMNS.filter((c) => c.imported && !('optional' in c)).map((c) => c.header),
  rowNoun: '补贴项目',
  formatHint: '格式同导出的政策清单（可先导出作为模板）',
};

/** The error report of the policy list import, for errors found by parsePolicyImport or later by the database. */
export const policyImportReport = (errors: ImportError[], table: SubmittedTable | null) => writeErrorReport('政策清单导入', errors, table);

/**
 * Read an .xlsx (or CSV) in the export's format (the header row is found by its texts; 层级 and 制定地区 are
 * ignored). All rows are valid, or every error is returned with a report workbook of the bad rows.
 */
export async function parsePolicyImport(file: Buffer): Promise<PolicyImportResult> {
  const table = await readTable(file, IMPORT_SPEC);
  if (typeof table === 'string') {
    const errors = [{ rowNumber: 0, field: '文件', message: table }];
    return { ok: false, errors, report: await policyImportReport(errors, null) };
  }
  const { columns } = table;
  const rows: PolicyImportRow[] = [];
  const errors: ImportError[] = [];
  const codeRows = new Map<string, number[]>();
  for (const { rowNumber, cells } of table.rows) {
    const result = validateRow(rowNumber, (h) => {
      const column = columns.get(h);
      return column === undefined ? undefined : (cells[column] ?? '');
    });
    if (result.row) rows.push(result.row);
    errors.push(...result.errors);
    const code = cells[columns.get('编码')!]!;
    if (code !== '') codeRows.set(code, [...(codeRows.get(code) ?? []), rowNumber]);
  }
  for (const [code, numbers] of codeRows) {
    if (numbers.length < 2) continue;
    for (const rowNumber of numbers) {
      const others = numbers.filter((n) => n !== rowNumber).join('、');
      errors.push({ rowNumber, field: '编码', message: `「${code}」与第 ${others} 行的编码重复` });
    }
  }
  if (errors.length === 0) return { ok: true, rows, table };
  return { ok: false, errors: sortErrors(errors, columns), report: await policyImportReport(errors, table) };
}
