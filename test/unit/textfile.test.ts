import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import { decodeText, parseCsv } from '../../src/core/textfile.ts';

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
      ['村（社区）', '姓名', '身份证号码'],
      ['西街村', '张𠮷祥', '11010519491231002X'],
      ['南河村', '欧阳小明, 长子', '110105491231002'],
    ];
    expect(parseCsv(Buffer.from(SAMPLE, 'utf8'))).toEqual({ rows: expected, encoding: 'utf-8' });
    expect(parseCsv(iconv.encode(SAMPLE, 'gb18030'))).toEqual({ rows: expected, encoding: 'gb18030' });
  });

  it('refuses a malformed CSV with a Chinese message', () => {
    expect(() => parseCsv(Buffer.from('a,b\n"unterminated,c\n'))).toThrow(ValidationError);
  });
});
