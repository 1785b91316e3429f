/**
 * Money is integer fen (分) everywhere. `Fen` is a branded number: only the functions here make one, and each
 * refuses anything that is not a safe integer, so a float cannot slip into an amount.
 */
export type Fen = number & { readonly __brand: 'Fen' };

export class MoneyError extends Error {}

export function fen(value: number): Fen {
  if (!Number.isSafeInteger(value)) throw new MoneyError(`金额必须是整数分，收到 ${String(value)}`);
  return value as Fen;
}

export function addFen(...values: Fen[]): Fen {
  return fen(values.reduce<number>((sum, v) => sum + v, 0));
}

/**
 * standard × quantity, the one way a payment's amount is made. The quantity is in thousandths of a unit (12.5 亩
 * = 12500), so no floating point is involved; the product is rounded half away from zero to the fen (0.5 分 → 1,
 * −0.5 分 → −1), in BigInt (10^7 fen × 10^9 thousandths passes 2^53).
 */
export function multiplyFen(standard: Fen, quantityMilli: number): Fen {
  if (!Number.isSafeInteger(quantityMilli) || quantityMilli < 0) throw new MoneyError('数量必须是非负的千分之一单位整数');
  const product = BigInt(fen(standard)) * BigInt(quantityMilli);
  const magnitude = ((product < 0n ? -product : product) + 500n) / 1000n;
  return fen(Number(product < 0n ? -magnitude : magnitude));
}

const YUAN_PATTERN = /^(-)?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$/;

/**
 * Parse an amount in 元 as typed by a person or written in a file: "1234.5", "1,234.50", "¥1,234.50", "0.01".
 * Refuses more than two decimals, exponents, stray characters, negative amounts unless allowed.
 * Returns a Chinese reason on failure (for the field's error message).
 */
export function parseYuan(input: string, options: { allowNegative?: boolean } = {}): { ok: true; fen: Fen } | { ok: false; error: string } {
  const text = input.trim().replace(/^[¥￥]/, '').replace(/元$/, '').trim();
  if (text === '') return { ok: false, error: '请填写金额' };
  const m = YUAN_PATTERN.exec(text);
  if (!m) {
    if (/^-?[\d,]*\.\d{3,}$/.test(text)) return { ok: false, error: '金额最多两位小数（精确到分）' };
    return { ok: false, error: '金额格式不正确，应为如 1,234.50 的元金额' };
  }
  const [, minus, intPart, decimals = ''] = m;
  if (minus && !options.allowNegative) return { ok: false, error: '金额不能为负数' };
  const yuan = Number(intPart!.replace(/,/g, ''));
  const cents = Number(decimals.padEnd(2, '0'));
  const total = yuan * 100 + cents;
  if (!Number.isSafeInteger(total)) return { ok: false, error: '金额过大' };
  return { ok: true, fen: fen(minus ? -total : total) };
}

/** 123450 → "1,234.50" (元, thousands separated, always two decimals). */
export function formatYuan(amount: Fen | number): string {
  const value = fen(amount);
  const negative = value < 0;
  const abs = Math.abs(value);
  const yuan = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cents = String(abs % 100).padStart(2, '0');
  return `${negative ? '-' : ''}${yuan}.${cents}`;
}
