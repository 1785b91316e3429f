import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { fen } from '../../src/core/money.ts';
import {
  parsePolicyImport,
  policyImportReport,
  writePolicyListPdf,
  writePolicyListXlsx,
  type PolicyImportRow,
  type PolicyListDocument,
  type PolicyListLine,
} from '../../src/modules/policy/files.ts';

const HEADER = ['编码', '补贴项目名称', '层级', '制定地区', '主管部门', '政策依据文件名', '文号', '发放方式', '发放频次', '计量单位', '补贴标准', '起始年度', '截止年度', '互斥组', '救助类'];
const RESULTS_DIR = join(import.meta.dirname, '../../test-results');

function line(overrides: Partial<PolicyListLine>): PolicyListLine {
  return {
    code: 'NY-001',
    name: '耕地地力保护补贴',
    level: 'central',
    settingRegion: '中央',
    department: '农业农村局',
    legalBasisTitle: '财政部 农业部关于全面推开农业“三项补贴”改革工作的通知',
    legalBasisNumber: '财农〔2016〕26号',
    payee: 'household',
    frequency: 'yearly',
    unit: '亩',
    tiers: [{ name: '标准', standardFen: fen(10550) }],
    fromYear: 2016,
    toYear: null,
    exclusiveGroup: null,
    meansTested: false,
    versionNo: 1,
    ...overrides,
  };
}

const LINES: PolicyListLine[] = [
  line({}),
  line({
    code: 'MZ-010',
    name: '困难群众救助补助——城乡居民最低生活保障金（农村）',
    level: 'province',
    settingRegion: '青海省',
    department: '民政局',
    legalBasisTitle: '青海省最低生活保障办法',
    legalBasisNumber: '青政〔2021〕12号',
    payee: 'person',
    frequency: 'monthly',
    unit: '人·月',
    tiers: [
      { name: 'A类', standardFen: fen(63500) },
      { name: 'B类', standardFen: fen(50000) },
      { name: 'C类', standardFen: fen(30000) },
    ],
    fromYear: 2021,
    toYear: 2025,
    exclusiveGroup: '特困与低保',
    meansTested: true,
    versionNo: 3,
  }),
  line({
    code: '007',
    name: '新一轮退耕还林直补（𠮷岭、㙟坪、鿰溪片区）',
    level: 'county',
    settingRegion: '青禾县',
    department: '林业局',
    legalBasisTitle: '关于做好“一卡通”发放退耕还林补助的通知',
    legalBasisNumber: '青林〔2023〕7号',
    payee: 'person',
    frequency: 'once',
    unit: '亩',
    tiers: [{ name: '标准', standardFen: fen(1) }],
    fromYear: 2023,
    toYear: 2023,
    exclusiveGroup: '退耕还林;生态补偿',
  }),
  line({ code: 'YJ-2', name: '自然灾害生活补助', department: '应急管理局', frequency: 'quarterly', unit: '户', tiers: [{ name: '重灾户', standardFen: fen(123456) }, { name: '一般户', standardFen: fen(20000) }] }),
];

const DOC: PolicyListDocument = { county: '青禾县', year: 2026, generatedOn: '2026-11-23', lines: LINES };

function expectedRow(l: PolicyListLine): Omit<PolicyImportRow, 'rowNumber'> {
  const { code, name, department, legalBasisTitle, legalBasisNumber, payee, frequency, unit, tiers, fromYear, toYear, exclusiveGroup, meansTested } = l;
  return { code, name, department, legalBasisTitle, legalBasisNumber, payee, frequency, unit, tiers, fromYear, toYear, exclusiveGroup, meansTested };
}

async function readSheet(file: Buffer): Promise<ExcelJS.Worksheet> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(file as unknown as Parameters<ExcelJS.Xlsx['load']>[0]);
  return workbook.worksheets[0]!;
}

async function toBuffer(workbook: ExcelJS.Workbook): Promise<Buffer> {
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** An import file as a clerk makes it: optional title row, the header, then the rows as given. */
async function importFile(rows: ExcelJS.CellValue[][], options: { header?: string[]; title?: boolean } = {}): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Sheet1');
  if (options.title !== false) sheet.addRow(['青禾县补贴项目']);
  sheet.addRow(options.header ?? HEADER);
  for (const row of rows) sheet.addRow(row);
  return toBuffer(workbook);
}

const good = (code: string): ExcelJS.CellValue[] => [code, '耕地地力保护补贴', '中央', '中央', '农业农村局', '关于全面推开农业“三项补贴”改革工作的通知', '财农〔2016〕26号', '到户', '按年', '亩', '标准:105.50', 2016, null, null];

function hasPoppler(): boolean {
  return spawnSync('pdftotext', ['-v']).status === 0;
}

describe('policy list Excel export and import', () => {
  it('the xlsx export round-trips through parsePolicyImport unchanged', async () => {
    const result = await parsePolicyImport(await writePolicyListXlsx(DOC));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const byCode = (a: { code: string }, b: { code: string }) => a.code.localeCompare(b.code);
    expect(result.rows.map(({ rowNumber: _, ...row }) => row).sort(byCode)).toEqual(LINES.map(expectedRow).sort(byCode));
    expect(result.rows.map((r) => r.rowNumber)).toEqual([3, 4, 5, 6]);
  });

  it('the export has the title row, the header in the import column order, labels in Chinese and 编码 as text', async () => {
    const sheet = await readSheet(await writePolicyListXlsx(DOC));
    expect(sheet.name).toBe('政策清单');
    expect(sheet.getCell('A1').value).toBe('青禾县2026年惠民惠农财政补贴政策清单');
    expect(sheet.getRow(2).values).toEqual([undefined, ...HEADER]);
    expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 2 });
    const rows = [3, 4, 5, 6].map((n) => sheet.getRow(n));
    const forest = rows.find((r) => r.getCell(1).value === '007')!;
    expect(forest.getCell(1).numFmt).toBe('@');
    expect(forest.getCell(3).value).toBe('县级');
    expect(forest.getCell(8).value).toBe('到人');
    expect(forest.getCell(9).value).toBe('一次性');
    const relief = rows.find((r) => r.getCell(1).value === 'MZ-010')!;
    expect(relief.getCell(11).value).toBe('A类:635.00;B类:500.00;C类:300.00');
    expect(relief.getCell(12).value).toBe(2021);
    expect(relief.getCell(13).value).toBe(2025);
    const open = rows.find((r) => r.getCell(1).value === 'NY-001')!;
    expect(open.getCell(13).value).toBeNull();
    // Sorted by department (pinyin), then code.
    expect(rows.map((r) => r.getCell(5).value)).toEqual(['林业局', '民政局', '农业农村局', '应急管理局']);
  });

  it('amounts stay exact to the fen, written with two decimals and no separators', async () => {
    const doc = { ...DOC, lines: [line({ code: 'A1', tiers: [{ name: '标准', standardFen: fen(10550) }] }), line({ code: 'A2', tiers: [{ name: '标准', standardFen: fen(1) }] }), line({ code: 'A3', tiers: [{ name: '甲', standardFen: fen(123456) }, { name: '乙', standardFen: fen(29) }] })] };
    const file = await writePolicyListXlsx(doc);
    const sheet = await readSheet(file);
    expect([3, 4, 5].map((n) => sheet.getRow(n).getCell(11).value)).toEqual(['标准:105.50', '标准:0.01', '甲:1234.56;乙:0.29']);
    const result = await parsePolicyImport(file);
    expect(result.ok && result.rows.map((r) => r.tiers)).toEqual([[{ name: '标准', standardFen: 10550 }], [{ name: '标准', standardFen: 1 }], [{ name: '甲', standardFen: 123456 }, { name: '乙', standardFen: 29 }]]);
  });

  it('reads amounts as Excel shows them: number cells, full-width separators, thousands separators, 元', async () => {
    const tiers: ExcelJS.CellValue[] = [1234.56, 105.55000000000001, 0.1 + 0.2, 'A类：635；B类:1,234.5元', '￥0.01'];
    const file = await importFile(tiers.map((t, i) => {
      const row = good(`N-${i}`);
      row[10] = t;
      return row;
    }));
    const result = await parsePolicyImport(file);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.rows.map((r) => r.tiers)).toEqual([
      [{ name: '标准', standardFen: 123456 }],
      [{ name: '标准', standardFen: 10555 }],
      [{ name: '标准', standardFen: 30 }],
      [{ name: 'A类', standardFen: 63500 }, { name: 'B类', standardFen: 123450 }],
      [{ name: '标准', standardFen: 1 }],
    ]);
  });

  it('normalises cells given as numbers, rich text, formulas and hyperlinks to trimmed text', async () => {
    const row: ExcelJS.CellValue[] = [
      { richText: [{ text: ' NY-' }, { text: '9 ', font: { bold: true } }] },
      { formula: 'CONCAT("耕地","补贴")', result: '耕地补贴' },
      null,
      null,
      '　农业农村局　',
      { text: '关于全面推开农业“三项补贴”改革工作的通知', hyperlink: 'https://www.moa.gov.cn/' },
      '财农〔2016〕26号',
      '到户',
      '按年',
      '亩',
      { formula: 'ROUND(105.5,2)', result: 105.5 },
      2016,
      { formula: 'L3+9', result: 2025 },
      null,
    ];
    const result = await parsePolicyImport(await importFile([row]));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.rows[0]).toEqual({
      rowNumber: 3,
      code: 'NY-9',
      name: '耕地补贴',
      department: '农业农村局',
      legalBasisTitle: '关于全面推开农业“三项补贴”改革工作的通知',
      legalBasisNumber: '财农〔2016〕26号',
      payee: 'household',
      frequency: 'yearly',
      unit: '亩',
      tiers: [{ name: '标准', standardFen: 10550 }],
      fromYear: 2016,
      toYear: 2025,
      exclusiveGroup: null,
      meansTested: false,
    });
  });

  it('reads 救助类 as 是 or 否 (blank: 否), refuses any other word, and leaves it unsaid when an older file has no such column', async () => {
    const yes = good('MZ-1');
    yes[14] = '是';
    const result = await parsePolicyImport(await importFile([yes, good('MZ-2')]));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.rows.map((r) => r.meansTested)).toEqual([true, false]);
    const odd = good('MZ-3');
    odd[14] = '低保';
    const refused = await parsePolicyImport(await importFile([odd]));
    expect(refused.ok ? [] : refused.errors.map((e) => `${e.field}：${e.message}`)).toEqual(['救助类：应为「是」或「否」']);
    const older = await parsePolicyImport(await importFile([good('MZ-4').slice(0, 14)], { header: HEADER.filter((h) => h !== '救助类') }));
    if (!older.ok) throw new Error(JSON.stringify(older.errors));
    expect(older.rows[0]!.meansTested).toBeNull();
  });

  it('a file with several bad rows returns every error with row numbers and field names, and a report whose rows carry 错误原因', async () => {
    const bad1 = good('X');
    bad1[7] = '到村';
    bad1[10] = 'A类:635.005;B类:0';
    const bad2 = good('NY-002');
    bad2[1] = '';
    bad2[11] = 1999;
    const dup = good('NY-001');
    dup[11] = 2021;
    dup[12] = 2020;
    const bad3 = good('NY-003');
    bad3[8] = '每月';
    bad3[9] = '亩（按二轮承包地面积）';
    bad3[10] = Array.from({ length: 11 }, (_, i) => `档${i}:1`).join(';');
    bad3[13] = '长'.repeat(41);
    const file = await importFile([good('NY-001'), bad1, bad2, dup, [], bad3, good('NY-004')]);

    const result = await parsePolicyImport(file);
    if (result.ok) throw new Error('expected errors');
    expect(result.errors.map((e) => [e.rowNumber, e.field])).toEqual([
      [3, '编码'],
      [4, '编码'],
      [4, '发放方式'],
      [4, '补贴标准'],
      [5, '补贴项目名称'],
      [5, '起始年度'],
      [6, '编码'],
      [6, '截止年度'],
      [8, '发放频次'],
      [8, '计量单位'],
      [8, '补贴标准'],
      [8, '互斥组'],
    ]);
    const message = (row: number, field: string) => result.errors.find((e) => e.rowNumber === row && e.field === field)!.message;
    expect(message(3, '编码')).toBe('「NY-001」与第 6 行的编码重复');
    expect(message(6, '编码')).toBe('「NY-001」与第 3 行的编码重复');
    expect(message(4, '编码')).toBe('应由 2–40 位字母、数字或短横线组成');
    expect(message(4, '发放方式')).toBe('应为「到人」或「到户」');
    expect(message(4, '补贴标准')).toBe('「A类」金额最多两位小数（精确到分）；「B类」金额必须大于 0');
    expect(message(5, '补贴项目名称')).toBe('不能为空');
    expect(message(5, '起始年度')).toBe('应为 2000–2100 之间的年份，如 2024');
    expect(message(6, '截止年度')).toBe('不能早于起始年度');
    expect(message(8, '发放频次')).toBe('应为「一次性」「按月」「按季」「按年」之一');
    expect(message(8, '计量单位')).toBe('不能超过 10 个字符');
    expect(message(8, '补贴标准')).toBe('最多 10 档标准，现有 11 档');
    expect(message(8, '互斥组')).toContain('不能超过 40 个字符');

    const report = await readSheet(result.report);
    expect(report.getRow(2).values).toEqual([undefined, ...HEADER, '错误原因']);
    const reported = [3, 4, 5, 6, 7].map((n) => report.getRow(n));
    expect(reported.map((r) => r.getCell(1).value)).toEqual(['NY-001', 'X', 'NY-002', 'NY-001', 'NY-003']);
    expect(report.getRow(8).getCell(1).value).toBeNull();
    const reasons = reported.map((r) => String(r.getCell(HEADER.length + 1).value));
    expect(reasons[1]).toBe(['第 4 行「编码」：应由 2–40 位字母、数字或短横线组成', '第 4 行「发放方式」：应为「到人」或「到户」', '第 4 行「补贴标准」：「A类」金额最多两位小数（精确到分）；「B类」金额必须大于 0'].join('\n'));
    expect(reasons[3]).toContain('第 6 行「截止年度」：不能早于起始年度');
    // As submitted: the bad value itself, as the text Excel showed; the cell in error is shaded.
    expect(reported[1]!.getCell(8).value).toBe('到村');
    expect(reported[2]!.getCell(12).value).toBe('1999');
    expect(reported[1]!.getCell(8).fill).toMatchObject({ type: 'pattern', fgColor: { argb: 'FFFFC7CE' } });

    // The clerk corrects the report and uploads it again: the extra 错误原因 column is ignored.
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(result.report as unknown as Parameters<ExcelJS.Xlsx['load']>[0]);
    const sheet = workbook.worksheets[0]!;
    for (const [n, fixed] of [[3, good('NY-001')], [4, good('NY-011')], [5, good('NY-002')], [6, good('NY-006')], [7, good('NY-003')]] as const) {
      fixed.forEach((value, i) => (sheet.getRow(n).getCell(i + 1).value = value));
    }
    const again = await parsePolicyImport(await toBuffer(workbook));
    expect(again.ok && again.rows.map((r) => r.code)).toEqual(['NY-001', 'NY-011', 'NY-002', 'NY-006', 'NY-003']);
  });

  it('policyImportReport turns errors found later (against the database) into the same report', async () => {
    const parsed = await parsePolicyImport(await importFile([good('NY-001'), good('NY-002')]));
    if (!parsed.ok) throw new Error('expected a valid file');
    const report = await readSheet(await policyImportReport([{ rowNumber: 4, field: '主管部门', message: '只能导入本单位（民政局）的补贴项目' }], parsed.table));
    expect(report.getRow(3).getCell(1).value).toBe('NY-002');
    expect(report.getRow(3).getCell(HEADER.length + 1).value).toBe('第 4 行「主管部门」：只能导入本单位（民政局）的补贴项目');
    expect(report.getRow(3).getCell(5).fill).toMatchObject({ fgColor: { argb: 'FFFFC7CE' } });
    expect(report.getRow(4).getCell(1).value).toBeNull();
  });

  it('refuses a broken or old-format workbook, a file with no header row, a missing column or no data rows, as a whole-file error', async () => {
    const cases: [Buffer, string][] = [
      [Buffer.concat([Buffer.from('PK\u0003\u0004', 'latin1'), Buffer.alloc(64, 7)]), 'Excel 文件不完整（压缩包已损坏或被截断）'],
      [Buffer.from('d0cf11e0a1b11ae1000000', 'hex'), '不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx'],
      [Buffer.from('编码,补贴项目名称\nNY-001,耕地地力保护补贴\n'), '表头缺少列'],
      [Buffer.alloc(0), '未找到表头行'],
      [await importFile([good('NY-001')], { header: ['代码', '名称'] }), '未找到表头行'],
      [await importFile([good('NY-001')], { header: HEADER.filter((h) => h !== '文号') }), '表头缺少列：「文号」'],
      [await importFile([[], [null, '  ']]), '文件中没有数据行'],
    ];
    for (const [file, text] of cases) {
      const result = await parsePolicyImport(file);
      if (result.ok) throw new Error(`expected a whole-file error: ${text}`);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatchObject({ rowNumber: 0, field: '文件' });
      expect(result.errors[0]!.message).toContain(text);
      const report = await readSheet(result.report);
      expect(report.getRow(2).values).toEqual([undefined, '错误原因']);
      expect(String(report.getRow(3).getCell(1).value)).toContain(text);
    }
  });

  it('finds the header without a title row', async () => {
    const result = await parsePolicyImport(await importFile([good('NY-001')], { title: false }));
    expect(result.ok && result.rows.map((r) => [r.rowNumber, r.code])).toEqual([[2, 'NY-001']]);
  });
});

describe('policy list PDF', () => {
  const departments = ['农业农村局', '民政局', '林业局', '卫生健康委', '残疾人联合会', '应急管理局', '住房城乡建设局', '水利局'];
  const many: PolicyListDocument = {
    ...DOC,
    lines: Array.from({ length: 120 }, (_, i) =>
      line({
        code: `P-${String(i + 1).padStart(3, '0')}`,
        name: i % 7 === 0 ? `困难群众救助补助——城乡居民最低生活保障金（第 ${i + 1} 项）` : `补贴项目第 ${i + 1} 项`,
        level: (['central', 'province', 'city', 'county'] as const)[i % 4]!,
        department: departments[i % departments.length]!,
        legalBasisTitle: i % 5 === 0 ? '财政部 农业部关于全面推开农业“三项补贴”改革工作的通知及其配套实施细则和有关问题的补充说明' : '关于印发耕地地力保护补贴实施方案的通知',
        legalBasisNumber: `财农〔${2010 + (i % 15)}〕${i + 1}号`,
        frequency: (['once', 'monthly', 'quarterly', 'yearly'] as const)[i % 4]!,
        tiers: i % 7 === 0 ? LINES[1]!.tiers : [{ name: '标准', standardFen: fen(10550 + i) }],
        toYear: i % 3 ? null : 2025,
      }),
    ),
  };

  it('is a small multi-page PDF with the title, the header on every page, page numbers and the publication note', async () => {
    const pdf = await writePolicyListPdf(many);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.length).toBeLessThan(300 * 1024);
    const title = '青禾县2026年惠民惠农财政补贴政策清单';
    // The document title (Info dictionary) in UTF-16BE with its byte-order mark, as pdfkit writes it.
    expect(pdf.includes(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(title, 'utf16le').swap16()]))).toBe(true);

    mkdirSync(RESULTS_DIR, { recursive: true });
    const path = join(RESULTS_DIR, 'policy-list.pdf');
    writeFileSync(path, pdf);
    if (!hasPoppler()) return; // poppler-utils absent: the text checks below need pdftotext.

    const pages = spawnSync('pdftotext', [path, '-'], { encoding: 'utf8' }).stdout.split('\f').filter((p) => p.trim() !== '');
    expect(pages.length).toBeGreaterThan(1);
    expect(pages[0]).toContain(title);
    // pdftotext puts table cells on lines of their own: compare without white space.
    const compact = pages.map((page) => page.replace(/\s/g, ''));
    compact.forEach((page, i) => {
      for (const header of ['序号', '补贴项目', '层级', '政策依据（文件名、文号）', '发放方式', '补贴标准', '发放频次', '执行年度']) expect(page).toContain(header);
      expect(page).toContain(`第${i + 1}页/共${pages.length}页`);
    });
    const text = compact.join('');
    for (const standard of ['A类：635.00元/亩', 'B类：500.00元/亩', 'C类：300.00元/亩', '105.51元/亩']) expect(text).toContain(standard);
    expect(text).toContain('2016年起');
    expect(text).toContain('2016–2025年');
    expect(text).toContain('《关于印发耕地地力保护补贴实施方案的通知》财农〔2011〕2号');
    // A department that runs over a page break is named again at the top of the next page.
    expect(compact.slice(1).some((page) => /执行年度[^序]*（续）/.test(page))).toBe(true);
    const last = compact.at(-1)!;
    expect(last).toContain('生成日期：2026-11-23');
    expect(last).toContain('本清单依据《关于进一步加强惠民惠农财政补贴资金“一卡通”管理的指导意见》（财办〔2020〕37号）公开；涉密补贴项目不予公开。');
    spawnSync('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', path, join(RESULTS_DIR, 'policy-list')]);
  });
});
