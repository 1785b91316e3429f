import { describe, expect, it } from 'vitest';
import { luhnCheckDigit, luhnValid, parseAccountNumber } from '../../src/modules/beneficiary/account-number.ts';

describe('payout account numbers', () => {
  it('checks card numbers with Luhn and only warns when it fails', () => {
    expect(luhnValid('79927398713')).toBe(true); // the classic example
    expect(luhnValid('79927398710')).toBe(false);
    expect(luhnCheckDigit('622848040256489001')).toBe('8');
    expect(parseAccountNumber('sscard', '6228 4804 0256 4890 018')).toEqual({ ok: true, accountNumber: '6228480402564890018', warning: null });
    const warned = parseAccountNumber('bankcard', '6228480402564890011');
    expect(warned).toMatchObject({ ok: true, accountNumber: '6228480402564890011' });
    expect(warned.ok && warned.warning).toContain('卡号校验位不符');
  });

  it('accepts passbook numbers of other lengths without the card check', () => {
    expect(parseAccountNumber('passbook', '12345678901234567890123')).toEqual({ ok: true, accountNumber: '12345678901234567890123', warning: null });
  });

  it('refuses what cannot be an account number, saying why in Chinese', () => {
    expect(parseAccountNumber('sscard', '')).toEqual({ ok: false, error: '请填写账号' });
    expect(parseAccountNumber('bankcard', '6228-4804-0256-489O')).toEqual({ ok: false, error: '账号只能由数字组成' });
    expect(parseAccountNumber('sscard', '622848040')).toEqual({ ok: false, error: '社会保障卡卡号应为 16–19 位数字，当前为 9 位' });
    expect(parseAccountNumber('passbook', '1234567')).toEqual({ ok: false, error: '存折账号应为 8–25 位数字，当前为 7 位' });
  });
});
