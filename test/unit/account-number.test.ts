import { describe, expect, it } from 'vitest';
import { LUHN_WARNING, NOT_UNIONPAY_WARNING, luhnCheckDigit, luhnValid, parseAccountNumber } from '../../src/modules/beneficiary/account-number.ts';

describe('payout account numbers', () => {
  it('checks card numbers with Luhn and only warns when it fails', () => {
    expect(luhnValid('79927398713')).toBe(true); // the classic example
    expect(luhnValid('79927398710')).toBe(false);
    expect(luhnCheckDigit('622848040256489001')).toBe('8');
    expect(parseAccountNumber('sscard', '6228 4804 0256 4890 018')).toEqual({ ok: true, accountNumber: '6228480402564890018', luhnFailed: false, warnings: [] });
    expect(parseAccountNumber('bankcard', '6228480402564890011')).toEqual({ ok: true, accountNumber: '6228480402564890011', luhnFailed: true, warnings: [LUHN_WARNING] });
  });

  it('warns about a card number outside the UnionPay prefix 62 (bank and social-security cards; passbooks are exempt)', () => {
    const visa = `453201511283036${luhnCheckDigit('453201511283036')}`;
    expect(parseAccountNumber('bankcard', visa)).toEqual({ ok: true, accountNumber: visa, luhnFailed: false, warnings: [NOT_UNIONPAY_WARNING] });
    expect(parseAccountNumber('sscard', '9559980210373015411')).toMatchObject({ ok: true, warnings: [NOT_UNIONPAY_WARNING, LUHN_WARNING] });
    expect(parseAccountNumber('passbook', '12345678901234567890123')).toEqual({ ok: true, accountNumber: '12345678901234567890123', luhnFailed: false, warnings: [] });
  });

  it('refuses one digit repeated, and the holder\'s own ID number (18 or 15 digits) typed as the account', () => {
    expect(parseAccountNumber('sscard', '0000000000000000')).toEqual({ ok: false, error: '账号不能是同一个数字的重复：请填写真实账号' }); // passes Luhn
    expect(parseAccountNumber('passbook', '88888888')).toEqual({ ok: false, error: '账号不能是同一个数字的重复：请填写真实账号' });
    const sameAsId = { ok: false, error: '账号与本人的身份证号码相同：请填写银行卡、社会保障卡或存折的账号，不是身份证号码' };
    expect(parseAccountNumber('passbook', '440308198001010012', '440308198001010012')).toEqual(sameAsId);
    expect(parseAccountNumber('passbook', '440308800101001', '440308198001010012')).toEqual(sameAsId);
    expect(parseAccountNumber('passbook', '440308198001010012', '11010519491231002X')).toMatchObject({ ok: true });
    expect(parseAccountNumber('passbook', '440308198001010012')).toMatchObject({ ok: true });
  });

  it('reads full-width digits and drops invisible characters, saying so; refuses a number in scientific notation, naming it', () => {
    expect(parseAccountNumber('sscard', '６２２８４８０４０２５６４８９００１８')).toEqual({ ok: true, accountNumber: '6228480402564890018', luhnFailed: false, warnings: ['账号含全角数字，已转换'] });
    expect(parseAccountNumber('sscard', '6228480402\u200b564890018\ufeff')).toEqual({ ok: true, accountNumber: '6228480402564890018', luhnFailed: false, warnings: ['账号含不可见字符（零宽空格等），已删除'] });
    expect(parseAccountNumber('sscard', '5.00101E+17')).toEqual({ ok: false, error: '账号是科学计数法（5.00101E+17），Excel 已丢失末尾数字：请将该列设为文本后重新输入' });
  });

  it('refuses what cannot be an account number, saying why in Chinese', () => {
    expect(parseAccountNumber('sscard', '')).toEqual({ ok: false, error: '请填写账号' });
    expect(parseAccountNumber('bankcard', '6228-4804-0256-489O')).toEqual({ ok: false, error: '账号只能由数字组成' });
    expect(parseAccountNumber('sscard', '622848040')).toEqual({ ok: false, error: '社会保障卡卡号应为 16–19 位数字，当前为 9 位' });
    expect(parseAccountNumber('passbook', '1234567')).toEqual({ ok: false, error: '存折账号应为 8–25 位数字，当前为 7 位' });
  });
});
