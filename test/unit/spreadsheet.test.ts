import ExcelJS from 'exceljs';
import { strToU8, zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type TableSpec, readTable, writeErrorReport, writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { OLD_XLS, PNG_PICTURE, truncated, zipBombWorkbook } from '../bad-files.ts';

const SPEC: TableSpec = { headerHas: ['姓名', '身份证号码'], required: ['姓名', '身份证号码', '村（社区）'], rowNoun: '受益对象', formatHint: '格式见模板' };
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方';

describe('uploaded tables (.xlsx and CSV)', () => {
  it('reads 50,000 Chinese names from a workbook without garbling one (multi-byte characters across chunk boundaries)', async () => {
    const names = Array.from({ length: 50_000 }, (_, i) => `${SURNAMES[i % SURNAMES.length]}${SURNAMES[(i * 7) % SURNAMES.length]}𠮷${i}`);
    const file = await writeTableXlsx('受益对象', ['村（社区）', '姓名', '身份证号码'], names.map((n, i) => ['东关社区', n, `99010219700101${String(i).padStart(4, '0')}`]));
    const table = await readTable(file, SPEC);
    if (typeof table === 'string') throw new Error(table);
    expect(table.rows).toHaveLength(50_000);
    expect(table.rows.map((r) => r.cells[1])).toEqual(names);
    expect(table.rows[49_999]).toMatchObject({ rowNumber: 50_001, numeric: [] });
  });

  it('finds the header under a title row, on a later sheet, in any column order; blank rows are skipped; numbers are flagged', async () => {
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('说明').addRow(['填写说明']);
    const sheet = workbook.addWorksheet('花名册');
    sheet.addRow(['城关镇受益对象花名册']);
    sheet.addRow(['身份证号码', ' 姓名 *', '村（社区）']);
    sheet.addRow([990102197001010016, { richText: [{ text: '张' }, { text: '三' }] }, '东关社区']);
    sheet.addRow([]);
    sheet.addRow(['99010219700101001X', '李四', { formula: 'A1', result: '西街村' }]);
    const table = await readTable(Buffer.from(await workbook.xlsx.writeBuffer()), SPEC);
    if (typeof table === 'string') throw new Error(table);
    expect(table.header).toEqual(['身份证号码', '姓名', '村（社区）']);
    expect(table.rows).toEqual([
      { rowNumber: 3, cells: ['990102197001010000', '张三', '东关社区'], numeric: [0] },
      { rowNumber: 5, cells: ['99010219700101001X', '李四', '西街村'], numeric: [] },
    ]);
  });

  it('reads CSV in UTF-8 with a BOM and in GB18030, quoted fields included', async () => {
    const text = '村（社区）,姓名,身份证号码\r\n东关社区,"欧阳,娜娜",99010219700101001X\r\n';
    for (const bytes of [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), iconv.encode(text, 'gb18030')]) {
      const table = await readTable(bytes, SPEC);
      if (typeof table === 'string') throw new Error(table);
      expect(table.rows).toEqual([{ rowNumber: 2, cells: ['东关社区', '欧阳,娜娜', '99010219700101001X'], numeric: [] }]);
    }
  });

  it('refuses a whole file with the reason: not a workbook, old .xls, no header, a missing column, no rows', async () => {
    const cases: [Buffer, string][] = [
      [Buffer.concat([Buffer.from('PK\u0003\u0004', 'latin1'), Buffer.alloc(100, 1)]), 'Excel 文件不完整（压缩包已损坏或被截断）'],
      [Buffer.from('d0cf11e0a1b11ae100', 'hex'), '不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx'],
      [Buffer.from('a,b\n1,2\n'), '未找到表头行：表头应含「姓名」「身份证号码」等列，格式见模板'],
      [Buffer.from('姓名,身份证号码\n张三,1\n'), '表头缺少列：「村（社区）」'],
      [Buffer.from('村（社区）,姓名,身份证号码\n,,\n'), '文件中没有数据行：请在表头下方逐行填写受益对象'],
    ];
    for (const [file, message] of cases) expect(await readTable(file, SPEC)).toContain(message);
  });

  it('finds columns under their aliases (brackets full- or half-width, spaces and asterisks ignored), keyed by the canonical name; the canonical name beats an alias, an earlier alias a later one', async () => {
    const spec: TableSpec = { ...SPEC, aliases: { 身份证号码: ['身份证号', '公民身份号码', '户主身份证号'], '村（社区）': ['村', '行政村'] } };
    const table = await readTable(Buffer.from('户主身份证号,备注（说明）, 公民身份 号码 *,行政村,姓名\n990102197001010016,无,99010219700101001X,东关社区,张三\n'), spec);
    if (typeof table === 'string') throw new Error(table);
    expect(table.header).toEqual(['户主身份证号', '备注（说明）', '公民身份号码', '行政村', '姓名']);
    expect(Object.fromEntries(table.columns)).toEqual({ 身份证号码: 2, '备注（说明）': 1, '村（社区）': 3, 姓名: 4 });
    const exact = await readTable(Buffer.from('身份证号,姓名,身份证号码,村(社区),村\n1,张三,99010219700101001X,东关社区,西街村\n'), spec);
    if (typeof exact === 'string') throw new Error(exact);
    expect([exact.columns.get('身份证号码'), exact.columns.get('村（社区）')]).toEqual([2, 3]);
    expect(await readTable(Buffer.from('姓名,公民身份号码\n张三,1\n'), spec)).toBe('表头缺少列：「村（社区）」');
  });

  it('numbers CSV rows by their line in the file, blank lines and line breaks inside quotes counted', async () => {
    const table = await readTable(Buffer.from('村（社区）,姓名,身份证号码\n\n东关社区,"张\n三",1\n西街村,李四,2\n'), SPEC);
    if (typeof table === 'string') throw new Error(table);
    expect(table.rows.map((r) => r.rowNumber)).toEqual([3, 5]);
  });

  it('says what a file is when it is not a table: a picture renamed .xlsx, a cut-off workbook, an old or locked .xls, a Word file, UTF-16 text, a quote not closed', async () => {
    const workbook = await writeTableXlsx('花名册', ['村（社区）', '姓名', '身份证号码'], [['东关社区', '张三', '99010219700101001X']]);
    const cases: [Buffer, string][] = [
      [PNG_PICTURE, '文件不是 Excel 或 CSV：看起来是 PNG 图片'],
      [Buffer.from('%PDF-1.7\n'), '文件不是 Excel 或 CSV：看起来是 PDF 文档'],
      [truncated(workbook), 'Excel 文件不完整（压缩包已损坏或被截断）：请在 Excel 中重新保存后上传'],
      [OLD_XLS, '不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx 后上传'],
      [Buffer.concat([OLD_XLS, Buffer.from('EncryptedPackage', 'utf16le')]), '文件设有打开密码，无法读取：请在 Excel 中取消密码，另存为 .xlsx 后上传'],
      [Buffer.from(zipSync({ 'word/document.xml': strToU8('<w:document/>') })), '文件不是 Excel 或 CSV：看起来是 Word 文档'],
      [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('村（社区）\t姓名\n', 'utf16le')]), '文件是 UTF-16 编码的文本'],
      [Buffer.from('村（社区）,姓名,身份证号码\n东关社区,张三,1\n西街村,"李四,2\n南河村,王五,3\n'), 'CSV 文件第 3 行引号不成对：该行的引号直到文件末尾都没有结束'],
    ];
    for (const [file, message] of cases) expect(await readTable(file, SPEC)).toContain(message);
  });

  it('stops a zip bomb (a 1 MB workbook whose shared strings inflate to 250 MB) at the inflated-size limit, read off the event loop', async () => {
    const bomb = zipBombWorkbook(250);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    // The read runs in a worker thread: timers on this thread keep firing while it is stopped.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const result = await readTable(bomb, SPEC);
    clearInterval(timer);
    expect(result).toBe('文件解压后超过 64 MB 上限（共享字符串部分）：请分成几个文件上传');
    expect(ticks).toBeGreaterThan(0);
  });

  it('stops at the first hard limit passed, naming it: parts, sheets, shared strings, rows, cell length, columns', async () => {
    const sheet = (cells: string) => strToU8(`<worksheet><sheetData><row r="1">${cells}</row></sheetData></worksheet>`);
    const workbook = (parts: Record<string, Uint8Array>) => Buffer.from(zipSync(parts, { level: 1 }));
    const header = '<c r="A1" t="inlineStr"><is><t>姓名</t></is></c><c r="B1" t="inlineStr"><is><t>身份证号码</t></is></c>';
    const many = (count: number, name: (i: number) => string) => Object.fromEntries(Array.from({ length: count }, (_, i) => [name(i), sheet(header)]));
    const cases: [Buffer, string][] = [
      [workbook(many(1001, (i) => `xl/media/image${i}.png`)), 'Excel 文件结构异常：压缩包内的部件超过 1000 个的上限'],
      [workbook(many(101, (i) => `xl/worksheets/sheet${i + 1}.xml`)), '工作表超过 100 个的上限：请只保留要导入的工作表'],
      [workbook({ 'xl/worksheets/sheet1.xml': sheet(header), 'xl/sharedStrings.xml': strToU8(`<sst>${'<si><t>同</t></si>'.repeat(1_000_001)}</sst>`) }), '文件中不同的文字超过 1000000 条的上限（共享字符串部分）'],
      [Buffer.from(`姓名,身份证号码\n${'张三,1\n'.repeat(500_000)}`), '文件超过 500000 行的上限：请分成几个文件上传'],
      [Buffer.from(`姓名,身份证号码\n张三,${'1'.repeat(32_768)}\n`), '第 2 行有单元格超过 32767 个字符的上限'],
      [workbook({ 'xl/worksheets/sheet1.xml': sheet(`<c r="A1" t="inlineStr"><is><t>${'长'.repeat(32_768)}</t></is></c>`) }), '第 1 行有单元格超过 32767 个字符的上限'],
      [workbook({ 'xl/worksheets/sheet1.xml': sheet(header), 'xl/sharedStrings.xml': strToU8(`<sst><si><t>${'长'.repeat(32_768)}</t></si></sst>`) }), '共享字符串部分有一段文字超过 32767 个字符的上限'],
      [workbook({ 'xl/worksheets/sheet1.xml': sheet('<c r="XFE1" t="inlineStr"><is><t>姓名</t></is></c>') }), '第 1 行超过 16384 列的上限'],
    ];
    for (const [file, message] of cases) expect(await readTable(file, SPEC)).toContain(message);
  });

  it('fails only the read whose row consumer throws; the next file is read as usual', async () => {
    const file = Buffer.from('村（社区）,姓名,身份证号码\n东关社区,张三,1\n');
    await expect(readTable(file, SPEC, () => { throw new Error('consumer failed'); })).rejects.toThrow('consumer failed');
    expect(await readTable(file, SPEC)).toMatchObject({ rows: [{ rowNumber: 2, cells: ['东关社区', '张三', '1'] }] });
  });

  it('writes an error report of the bad rows as submitted, reasons in the last column, bad cells shaded', async () => {
    const table = await readTable(Buffer.from('村（社区）,姓名,身份证号码\n东关社区,张三,1\n西街村,李四,2\n'), SPEC);
    if (typeof table === 'string') throw new Error(table);
    const report = await writeErrorReport('受益对象导入', [{ rowNumber: 3, field: '身份证号码', message: '应为 18 位' }], table);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(report as never);
    const sheet = workbook.worksheets[0]!;
    expect(String(sheet.getCell(1, 1).value)).toContain('受益对象导入未通过：1 行有误，共 1 处');
    expect(sheet.getRow(3).values).toEqual([undefined, '西街村', '李四', '2', '第 3 行「身份证号码」：应为 18 位']);
    expect(sheet.getRow(3).getCell(3).fill).toMatchObject({ fgColor: { argb: 'FFFFC7CE' } });
    expect(sheet.rowCount).toBe(3);
  });

  it('writes the same rows with the same stamp to the same bytes at any moment (a signature fetched apart from its file matches it); the stamp is the date the file shows', async () => {
    const stamp = new Date('2026-11-02T01:30:00Z');
    const write = () => writeTableXlsx('开卡名单', ['序号', '姓名'], [[1, '钱开卡']], stamp);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-07T08:00:00Z'));
    const first = await write();
    vi.setSystemTime(new Date('2026-12-07T08:00:03Z'));
    const second = await write();
    expect(second.equals(first)).toBe(true);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(first as never);
    expect(workbook.created.toISOString()).toBe(stamp.toISOString());
  });
});

afterEach(() => {
  vi.useRealTimers();
});
