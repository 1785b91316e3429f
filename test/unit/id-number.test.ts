import { describe, expect, it } from 'vitest';
import { checkCharacter, parseIdNumber } from '../../src/modules/beneficiary/id-number.ts';

describe('resident ID numbers (GB 11643)', () => {
  it('accepts a number whose check character is right, and reads birth date and sex from it', () => {
    // The standard's own example: 11010519491231002X.
    expect(parseIdNumber('11010519491231002x')).toEqual({ ok: true, value: { idNumber: '11010519491231002X', birthDate: '1949-12-31', sex: 'female', convertedFrom: null }, warnings: [] });
    expect(checkCharacter('44030819800101001')).toBe('2');
    expect(parseIdNumber(' 440308 19800101 0012 ')).toMatchObject({ ok: true, value: { sex: 'male', birthDate: '1980-01-01' } });
  });

  it('converts a legacy 15-digit number to 18 digits, with a warning', () => {
    expect(parseIdNumber('110105491231002')).toEqual({
      ok: true,
      value: { idNumber: '11010519491231002X', birthDate: '1949-12-31', sex: 'female', convertedFrom: '110105491231002' },
      warnings: ['15 位旧身份证号码，已按规则转换为 18 位，请核对'],
    });
  });

  it('reads full-width digits and letters and drops invisible characters, with a warning for each', () => {
    expect(parseIdNumber('１１０１０５１９４９１２３１００２Ｘ')).toMatchObject({ ok: true, value: { idNumber: '11010519491231002X' }, warnings: ['身份证号码含全角数字，已转换'] });
    expect(parseIdNumber('11010519491231002ｘ')).toMatchObject({ ok: true, value: { idNumber: '11010519491231002X' }, warnings: ['身份证号码含全角字符，已转换'] });
    expect(parseIdNumber('\u200b110105\u200d19491231002X\u2060')).toMatchObject({ ok: true, value: { idNumber: '11010519491231002X' }, warnings: ['身份证号码含不可见字符（零宽空格等），已删除'] });
    expect(parseIdNumber('110105　19491231002X')).toMatchObject({ ok: true, warnings: [] }); // a full-width space is only a space
  });

  it('refuses a number Excel turned into scientific notation, naming it', () => {
    expect(parseIdNumber('1.10105E+17')).toEqual({ ok: false, error: '身份证号码是科学计数法（1.10105E+17），Excel 已丢失末尾数字：请将该列设为文本后重新输入' });
  });

  it('refuses, with the reason in Chinese, a wrong check character, an impossible birth date, a wrong length or characters', () => {
    expect(parseIdNumber('110105194912310021')).toEqual({ ok: false, error: '身份证号码校验位不正确（可能有数字录入错误）' });
    expect(parseIdNumber('110105194902300025')).toEqual({ ok: false, error: '身份证号码中的出生日期 19490230 不是有效日期' });
    expect(parseIdNumber('110105203001010023', '2026-11-23')).toEqual({ ok: false, error: '身份证号码中的出生日期 20300101 不是有效日期' });
    expect(parseIdNumber('1101051949123100')).toEqual({ ok: false, error: '身份证号码应为 18 位，当前为 16 位' });
    expect(parseIdNumber('11010519491231A02X')).toEqual({ ok: false, error: '身份证号码前 17 位应为数字，最后一位为数字或 X' });
    expect(parseIdNumber('11010549123100X')).toEqual({ ok: false, error: '15 位旧身份证号码应全部为数字' });
    expect(parseIdNumber('010105194912310021').ok).toBe(false);
    expect(parseIdNumber('')).toEqual({ ok: false, error: '请填写身份证号码' });
  });
});
