import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import { decodeText, readCsv } from '../../src/core/textfile.ts';

const SAMPLE = '村（社区）,姓名,身份证号码\n西街村,张𠮷祥,11010519491231002X\n"南河村","欧阳小明, 长子",110105491231002\n';

describe('text files from outside: UTF-8 with or without BOM, or GB18030', () => {
  it('reads UTF-8 with and without a BOM, rare characters included', () => {
    expect(decodeText(Buffer.from(SAMPLE, 'utf8'))).toEqual({ text: SAMPLE, encoding: 'utf-8' });
    expect(decodeText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SAMPLE, 'utf8')]))).toEqual({ text: SAMPLE, encoding: 'utf-8' });
  });

  it('detects GB18030 as county Excel saves it, four-byte characters included', () => {
    const bytes = iconv.encode(SAMPLE, 'gb18030');
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toThrow();
    expect(decodeText(bytes)).toEqual({ text: SAMPLE, encoding: 'gb18030' });
  });

  it('parses CSV rows with quotes and embedded commas, in either encoding', () => {
    const expected = [
      [1, ['村（社区）', '姓名', '身份证号码']],
      [2, ['西街村', '张𠮷祥', '11010519491231002X']],
      [3, ['南河村', '欧阳小明, 长子', '110105491231002']],
    ];
    for (const [bytes, encoding] of [[Buffer.from(SAMPLE, 'utf8'), 'utf-8'], [iconv.encode(SAMPLE, 'gb18030'), 'gb18030']] as const) {
      const rows: [number, string[]][] = [];
      expect(readCsv(bytes, (line, cells) => rows.push([line, cells]))).toBe(encoding);
      expect(rows).toEqual(expected);
    }
  });

  it('numbers each row by the line of the file it starts on: blank lines, CRLF and line breaks inside quotes counted', () => {
    const lines: number[] = [];
    for (const eol of ['\r\n', '\n']) readCsv(Buffer.from(['a,b', '', '', '1,"多行', '文字"', '2,3', '  ', '4,5'].join(eol)), (line) => lines.push(line));
    expect(lines).toEqual([1, 4, 6, 8, 1, 4, 6, 8]);
  });

  it('reads back any table as Excel writes it: quoted cells with commas, quotes and line breaks, each row numbered by its first line', () => {
    const cell = fc.stringMatching(/^[a-z张王李 ,"\r\n]{0,8}$/);
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }), fc.constantFrom('\r\n', '\n'), (table, eol) => {
        // Every cell quoted when it must be (Excel's rule), quotes doubled; a row's first line counted as written.
        const quote = (text: string) => (/[,"\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
        const expected: [number, string[]][] = [];
        let line = 1;
        for (const row of table) {
          const cells = row.map((text) => text.trim());
          if (cells.length > 1 || cells[0] !== '') expected.push([line, cells]);
          line += 1 + row.reduce((breaks, text) => breaks + text.split(/\r\n|\r|\n/).length - 1, 0);
        }
        const read: [number, string[]][] = [];
        readCsv(Buffer.from(table.map((row) => row.map(quote).join(',')).join(eol)), (at, cells) => read.push([at, cells]));
        expect(read).toEqual(expected);
      }),
    );
  });

  it('refuses a quote never closed, or a quote inside a field, naming the row it is on', () => {
    const refusal = (text: string) => {
      try {
        readCsv(Buffer.from(text), () => {});
      } catch (err) {
        if (err instanceof ValidationError) return err.fieldErrors.file;
        throw err;
      }
      return null;
    };
    expect(refusal('a,b\n1,2\n\n"unterminated,c\nx,y\n')).toBe('CSV 文件第 4 行引号不成对：该行的引号直到文件末尾都没有结束，请检查该行的英文双引号');
    expect(refusal('a,b\n1,2\n3,ab"c\n')).toContain('CSV 文件第 3 行引号位置有误');
    expect(refusal('a,b\n"3"x,c\n')).toContain('CSV 文件第 2 行引号位置有误');
  });
});
