/**
 * Payout account numbers: the social-security card's financial account (preferred, 一人一卡), a bank card, or a
 * passbook. Card numbers carry a Luhn check digit; a failure is only a warning, since passbooks and some
 * cards of rural banks do not follow it.
 */
export type AccountKind = 'sscard' | 'bankcard' | 'passbook';

export const ACCOUNT_KIND_LABELS: Record<AccountKind, string> = { sscard: '社会保障卡', bankcard: '银行卡', passbook: '存折' };

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The check digit that makes a card number pass Luhn (for generated test and demo cards). */
export function luhnCheckDigit(body: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(`${body}${d}`)) return String(d);
  throw new Error('unreachable');
}

export type AccountNumberResult = { ok: true; accountNumber: string; warning: string | null } | { ok: false; error: string };

export function parseAccountNumber(kind: AccountKind, input: string): AccountNumberResult {
  const digits = input.replace(/[\s-]/g, '');
  if (digits === '') return { ok: false, error: '请填写账号' };
  if (!/^\d+$/.test(digits)) return { ok: false, error: '账号只能由数字组成' };
  if (kind === 'passbook') {
    if (digits.length < 8 || digits.length > 25) return { ok: false, error: `存折账号应为 8–25 位数字，当前为 ${digits.length} 位` };
    return { ok: true, accountNumber: digits, warning: null };
  }
  if (digits.length < 16 || digits.length > 19) return { ok: false, error: `${ACCOUNT_KIND_LABELS[kind]}卡号应为 16–19 位数字，当前为 ${digits.length} 位` };
  return { ok: true, accountNumber: digits, warning: luhnValid(digits) ? null : '卡号校验位不符（请核对是否录入有误；部分农村金融机构的卡不遵循此规则）' };
}
