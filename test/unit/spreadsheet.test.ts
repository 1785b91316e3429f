import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { type TableSpec, readTable, writeErrorReport, writeTableXlsx } from '../../src/core/spreadsheet.ts';

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
      [Buffer.concat([Buffer.from('PK\u0003\u0004', 'latin1'), Buffer.alloc(100, 1)]), '文件无法读取'],
      [Buffer.from('d0cf11e0a1b11ae100', 'hex'), '旧版 Excel（.xls）'],
      [Buffer.from('a,b\n1,2\n'), '未找到表头行：表头应含「姓名」「身份证号码」等列，格式见模板'],
      [Buffer.from('姓名,身份证号码\n张三,1\n'), '表头缺少列：「村（社区）」'],
      [Buffer.from('村（社区）,姓名,身份证号码\n,,\n'), '文件中没有数据行：请在表头下方逐行填写受益对象'],
    ];
    for (const [file, message] of cases) expect(await readTable(file, SPEC)).toContain(message);
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
});
