import { describe, expect, it } from 'vitest';
import { parsePhone, plainNumberText } from '../../src/modules/beneficiary/typed-number.ts';

describe('typed numbers made plain before they are checked', () => {
  it('converts full-width digits (NFKC) and says so, naming the field', () => {
    expect(plainNumberText('１３８００００００００', '手机号码')).toEqual({ ok: true, text: '13800000000', warnings: ['手机号码含全角数字，已转换'] });
    expect(plainNumberText('6228－4804', '账号')).toEqual({ ok: true, text: '6228-4804', warnings: ['账号含全角字符，已转换'] });
  });

  it('removes zero-width and other invisible characters and says so', () => {
    for (const invisible of ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u200e', '\u202d']) {
      expect(plainNumberText(`6228${invisible}4804`, '账号'), JSON.stringify(invisible)).toEqual({ ok: true, text: '62284804', warnings: ['账号含不可见字符（零宽空格等），已删除'] });
    }
    expect(plainNumberText('\u200b６２２８', '账号')).toEqual({ ok: true, text: '6228', warnings: ['账号含不可见字符（零宽空格等），已删除', '账号含全角数字，已转换'] });
  });

  it('leaves plain text alone, without warnings', () => {
    expect(plainNumberText(' 6228 4804 ', '账号')).toEqual({ ok: true, text: '6228 4804', warnings: [] });
  });

  it('refuses scientific notation (Excel dropped the last digits), naming it and showing it as typed', () => {
    expect(plainNumberText('5.00101E+17', '账号')).toEqual({ ok: false, error: '账号是科学计数法（5.00101E+17），Excel 已丢失末尾数字：请将该列设为文本后重新输入' });
    expect(plainNumberText('6.22848e18', '账号')).toMatchObject({ ok: false });
    expect(plainNumberText('５.００１０１Ｅ＋１７', '身份证号码')).toEqual({ ok: false, error: '身份证号码是科学计数法（5.00101E+17），Excel 已丢失末尾数字：请将该列设为文本后重新输入' });
  });

  it('reads a mobile number with spaces, hyphens or full-width digits; refuses one that is not 11 digits from 13–19', () => {
    expect(parsePhone('138-0000 0000')).toEqual({ ok: true, phone: '13800000000', warnings: [] });
    expect(parsePhone('１３８００００００００')).toEqual({ ok: true, phone: '13800000000', warnings: ['手机号码含全角数字，已转换'] });
    expect(parsePhone('12800000000')).toEqual({ ok: false, error: '手机号码应为 11 位数字' });
    expect(parsePhone('1380000000')).toEqual({ ok: false, error: '手机号码应为 11 位数字' });
  });
});
