import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { freeTextProblem, personName, personNameProblem, text } from '../../src/core/fields.ts';
import { csvLine, exportCell } from '../../src/core/spreadsheet.ts';

const messageOf = (schema: z.ZodType, value: unknown) => {
  const result = schema.safeParse(value);
  return result.success ? null : result.error.issues[0]!.message;
};

describe('the rules of names and free text', () => {
  it('takes names as on the ID card (rare characters, the middle dot, letters) and refuses anything else with the registry import’s message', () => {
    for (const name of ['张三', '买买提·艾力', '𠈌小明', '䶮', 'Smith', '阿依古丽•吐尔逊']) expect(personNameProblem(name), name).toBeNull();
    for (const name of ['=HYPERLINK("x")', '<b>张三</b>', '张三1', '张 三', '+张三', '@张三', '-张三']) expect(personNameProblem(name), name).toBe('只能包含汉字、间隔号“·”或字母，请与身份证一致');
    expect(personNameProblem('')).toBe('不能为空');
    expect(personNameProblem('张'.repeat(41))).toBe('不能超过 40 个字');
    const schema = personName('户名');
    expect(messageOf(schema, ' 张三 ')).toBeNull();
    expect(schema.parse(' 张三 ')).toBe('张三');
    expect(messageOf(schema, '=HYPERLINK("x")')).toBe('户名只能包含汉字、间隔号“·”或字母，请与身份证一致');
    expect(messageOf(schema, '')).toBe('请填写户名');
  });

  it('refuses in free text angle brackets, control characters and a leading = + - @, saying why; takes the rest, line breaks and brackets of document numbers included', () => {
    const schema = text('说明', 500);
    for (const ok of ['青政办发〔2024〕12号', '关于印发《补贴资金管理办法》的通知', '第一行\r\n第二行', '1+1=2', 'a-b', '联系 x@y.cn', '（一）已核实', '100%']) expect(messageOf(schema, ok), ok).toBeNull();
    for (const start of ['=1+1', '+86 13800000000', '-已核实', '@SUM(A1)', ' =1+1']) expect(messageOf(schema, start), start).toBe('说明不能以 = + - @ 开头（表格软件会把它当作公式）');
    expect(messageOf(schema, '<b>加粗</b>')).toBe('说明不能包含尖括号 < >');
    expect(messageOf(schema, '已核实\u0007')).toBe('说明不能包含控制字符');
    expect(messageOf(schema, '已\t核实')).toBe('说明不能包含控制字符');
    expect(freeTextProblem('')).toBeNull();
  });

  it('neutralises every text cell of a file that leaves the platform, never a number', () => {
    expect(['=1', '+1', '-1', '@A1', '\tx', '\rx', '张三', '2026-10'].map(exportCell)).toEqual(["'=1", "'+1", "'-1", "'@A1", "'\tx", "'\rx", '张三', '2026-10']);
    expect(exportCell(-500)).toBe(-500);
    expect(exportCell(null)).toBeNull();
    expect(csvLine(['R1-2', '=HYPERLINK("x","y")', 'a,b', 12345, null])).toBe(`R1-2,"'=HYPERLINK(""x"",""y"")","a,b",12345,`);
  });
});
