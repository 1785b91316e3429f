import { businessDate, isBusinessDate } from '../../core/dates.ts';
import { plainNumberText } from './typed-number.ts';

/**
 * Resident identity numbers (公民身份号码, GB 11643-1999): 6 digits of the issuing region, the birth date
 * YYYYMMDD, a 3-digit sequence whose last digit is odd for men and even for women, and a check character
 * (ISO 7064 MOD 11-2: 0–9 or X). Legacy 15-digit numbers (YYMMDD, no check character, all born in the 1900s)
 * are converted to 18 digits, with a warning. What was typed is made plain first (typed-number.ts: full-width
 * digits, invisible characters, scientific notation).
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

export function checkCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

export interface IdNumberInfo {
  /** The 18-character number, upper-case X. */
  idNumber: string;
  birthDate: string;
  sex: 'male' | 'female';
  /** The legacy 15-digit number it was converted from, if any. */
  convertedFrom: string | null;
}

/** A valid number comes with the warnings about how it was typed (full-width digits converted, a 15-digit number converted …). */
export type IdNumberResult = { ok: true; value: IdNumberInfo; warnings: string[] } | { ok: false; error: string };

/** Validate (and normalise) an ID number as typed or read from a file; the error names what is wrong, in Chinese. */
export function parseIdNumber(input: string, today = businessDate()): IdNumberResult {
  const typed = plainNumberText(input, '身份证号码');
  if (!typed.ok) return typed;
  const raw = typed.text.replace(/\s+/g, '').toUpperCase();
  if (raw === '') return { ok: false, error: '请填写身份证号码' };
  let id = raw;
  let convertedFrom: string | null = null;
  if (/^\d{15}$/.test(raw)) {
    const body = `${raw.slice(0, 6)}19${raw.slice(6)}`;
    id = body + checkCharacter(body);
    convertedFrom = raw;
  } else if (raw.length === 15) {
    return { ok: false, error: '15 位旧身份证号码应全部为数字' };
  } else if (raw.length !== 18) {
    return { ok: false, error: `身份证号码应为 18 位，当前为 ${raw.length} 位` };
  } else if (!/^\d{17}[\dX]$/.test(raw)) {
    return { ok: false, error: '身份证号码前 17 位应为数字，最后一位为数字或 X' };
  }
  if (!/^[1-9]\d{5}$/.test(id.slice(0, 6))) return { ok: false, error: '身份证号码的地区码不正确' };
  const birthDate = `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`;
  if (!isBusinessDate(birthDate) || birthDate < '1900-01-01' || birthDate > today) {
    return { ok: false, error: `身份证号码中的出生日期 ${id.slice(6, 14)} 不是有效日期` };
  }
  if (!convertedFrom && checkCharacter(id.slice(0, 17)) !== id[17]) {
    return { ok: false, error: '身份证号码校验位不正确（可能有数字录入错误）' };
  }
  const warnings = convertedFrom ? [...typed.warnings, '15 位旧身份证号码，已按规则转换为 18 位，请核对'] : typed.warnings;
  return { ok: true, value: { idNumber: id, birthDate, sex: Number(id[16]) % 2 === 1 ? 'male' : 'female', convertedFrom }, warnings };
}
