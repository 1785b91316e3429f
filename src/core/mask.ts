/**
 * Masking of personal data for every output outside the screens that need the full value.
 * docs/architecture.md: ID numbers hide the birth date by default (110105********002X); a county may mask more
 * ("strict": 110***********1234). Account numbers show only their last four digits. Names per county setting.
 */
export type IdMaskMode = 'birth' | 'strict';
export type NameMaskMode = 'full' | 'middle';

export function maskIdNumber(id: string, mode: IdMaskMode = 'birth'): string {
  const v = id.trim();
  if (v.length < 8) return '*'.repeat(v.length);
  if (mode === 'strict') return v.slice(0, 3) + '*'.repeat(v.length - 7) + v.slice(-4);
  // 18 digits: 6 region + 8 birth date + 4; 15 digits: 6 region + 6 birth date + 3.
  const birth = v.length === 15 ? 6 : 8;
  return v.slice(0, 6) + '*'.repeat(birth) + v.slice(6 + birth);
}

export function maskAccount(account: string): string {
  const digits = account.replace(/\s+/g, '');
  if (digits.length <= 4) return '*'.repeat(digits.length);
  return `****${digits.slice(-4)}`;
}

/** 张三 → 张*, 张小三 → 张*三, 欧阳小明 → 欧**明. */
export function maskName(name: string, mode: NameMaskMode = 'middle'): string {
  const chars = Array.from(name.trim());
  if (mode === 'full' || chars.length === 0) return name.trim();
  if (chars.length === 1) return chars[0]!;
  if (chars.length === 2) return `${chars[0]}*`;
  return chars[0] + '*'.repeat(chars.length - 2) + chars[chars.length - 1];
}

export function maskPhone(phone: string): string {
  const v = phone.trim();
  if (v.length < 7) return '*'.repeat(v.length);
  return v.slice(0, 3) + '*'.repeat(v.length - 7) + v.slice(-4);
}

// An 18-character resident ID (17 digits and a digit or X), a 15-digit legacy ID, and any run of 12–19 digits
// (bank card and passbook numbers) or an 11-digit mobile number, anywhere in free text.
const ID18 = /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/g;
const LONG_DIGITS = /(?<!\d)\d{12,19}(?!\d)/g;
const MOBILE = /(?<!\d)1[3-9]\d{9}(?!\d)/g;

/**
 * Last line of defence for text that leaves the trusted screens (audit summaries, logs): masks anything that
 * looks like an ID number, an account number or a mobile number.
 */
export function scrubPersonalData(text: string): string {
  return text
    .replace(ID18, (m) => maskIdNumber(m, 'strict'))
    .replace(LONG_DIGITS, (m) => (m.length === 15 ? maskIdNumber(m, 'strict') : maskAccount(m)))
    .replace(MOBILE, (m) => maskPhone(m));
}
