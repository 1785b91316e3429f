/**
 * What was typed into an ID, account or phone number (a form field, a spreadsheet cell, an API field), made plain
 * before it is checked: full-width characters (１２３, Ｘ) become their ASCII forms (Unicode NFKC) and invisible
 * characters copied in from web pages or chat messages (zero-width spaces, direction marks, soft hyphens) are
 * removed, each with a warning saying so, for the clerk to check the source. A number Excel turned into scientific
 * notation (5.00101E+17) has lost its last digits for good: it is refused, naming that cause.
 */
export type PlainNumber = { ok: true; text: string; warnings: string[] } | { ok: false; error: string };

const INVISIBLE = /[\u00AD\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/gu;
const FULL_WIDTH_DIGIT = /[\uFF10-\uFF19]/u;
const SCIENTIFIC = /^[+-]?\d+(?:\.\d+)?E[+-]?\d+$/iu;

/** `label` names the field in the messages: 身份证号码, 账号, 手机号码. */
export function plainNumberText(input: string, label: string): PlainNumber {
  const warnings: string[] = [];
  let text = input.replace(INVISIBLE, '');
  if (text !== input) warnings.push(`${label}含不可见字符（零宽空格等），已删除`);
  const normalised = text.normalize('NFKC');
  // A full-width space alone changes nothing that matters: spaces are dropped anyway.
  if (normalised.replace(/\s/g, '') !== text.replace(/\s/g, '')) warnings.push(FULL_WIDTH_DIGIT.test(text) ? `${label}含全角数字，已转换` : `${label}含全角字符，已转换`);
  text = normalised.trim();
  if (SCIENTIFIC.test(text)) return { ok: false, error: `${label}是科学计数法（${text}），Excel 已丢失末尾数字：请将该列设为文本后重新输入` };
  return { ok: true, text, warnings };
}

const MOBILE = /^1[3-9]\d{9}$/;

export type PhoneResult = { ok: true; phone: string; warnings: string[] } | { ok: false; error: string };

/** A mobile number (11 digits, starting 13–19), spaces and hyphens ignored; '' is refused (the caller decides whether one is required). */
export function parsePhone(input: string): PhoneResult {
  const typed = plainNumberText(input, '手机号码');
  if (!typed.ok) return typed;
  const phone = typed.text.replace(/[\s-]/g, '');
  if (!MOBILE.test(phone)) return { ok: false, error: '手机号码应为 11 位数字' };
  return { ok: true, phone, warnings: typed.warnings };
}
