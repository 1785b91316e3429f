import { plainNumberText } from './typed-number.ts';

/**
 * Payout account numbers: the social-security card's financial account (preferred, 一人一卡), a bank card, or a
 * passbook. Refused: what is not digits, a length no such account has, one digit repeated (000000…), the holder's
 * own ID number typed in the account column. Warned, since some genuine accounts do it: a card number outside
 * UnionPay's 62 prefix, a failed Luhn check digit (passbooks and some cards of rural banks do not follow it).
 * What was typed is made plain first (typed-number.ts: full-width digits, invisible characters, scientific notation).
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

/** A valid number comes with its warnings (in Chinese, for the page or the import report); `luhnFailed` is the one kept with the account. */
export type AccountNumberResult = { ok: true; accountNumber: string; luhnFailed: boolean; warnings: string[] } | { ok: false; error: string };

export const LUHN_WARNING = '卡号校验位不符（请核对是否录入有误；部分农村金融机构的卡不遵循此规则）';
export const NOT_UNIONPAY_WARNING = '卡号不以 62 开头，不是银联卡号：请核对卡号，并确认该卡能接收代发资金';

/** The holder's ID number as the digits it may have been typed as: the 18-digit number, and the legacy 15-digit one. */
function idNumberForms(idNumber: string): string[] {
  return idNumber.slice(6, 8) === '19' ? [idNumber, idNumber.slice(0, 6) + idNumber.slice(8, 17)] : [idNumber];
}

/** `holderIdNumber`: the holder's (18-character) ID number, when known, which the account must not be. */
export function parseAccountNumber(kind: AccountKind, input: string, holderIdNumber: string | null = null): AccountNumberResult {
  const typed = plainNumberText(input, '账号');
  if (!typed.ok) return typed;
  const digits = typed.text.replace(/[\s-]/g, '');
  if (digits === '') return { ok: false, error: '请填写账号' };
  if (!/^\d+$/.test(digits)) return { ok: false, error: '账号只能由数字组成' };
  if (/^(\d)\1+$/.test(digits)) return { ok: false, error: '账号不能是同一个数字的重复：请填写真实账号' };
  if (holderIdNumber && idNumberForms(holderIdNumber).includes(digits)) return { ok: false, error: '账号与本人的身份证号码相同：请填写银行卡、社会保障卡或存折的账号，不是身份证号码' };
  if (kind === 'passbook') {
    if (digits.length < 8 || digits.length > 25) return { ok: false, error: `存折账号应为 8–25 位数字，当前为 ${digits.length} 位` };
    return { ok: true, accountNumber: digits, luhnFailed: false, warnings: typed.warnings };
  }
  if (digits.length < 16 || digits.length > 19) return { ok: false, error: `${ACCOUNT_KIND_LABELS[kind]}卡号应为 16–19 位数字，当前为 ${digits.length} 位` };
  const luhnFailed = !luhnValid(digits);
  const warnings = [...typed.warnings, ...(digits.startsWith('62') ? [] : [NOT_UNIONPAY_WARNING]), ...(luhnFailed ? [LUHN_WARNING] : [])];
  return { ok: true, accountNumber: digits, luhnFailed, warnings };
}
