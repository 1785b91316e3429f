import { randomBytes } from 'node:crypto';
import { sm3Hex } from '../../core/crypto.ts';

/**
 * The publicity module's vocabulary: the kinds of printed sheet (公示表), their content as printed, its digest and
 * the verification code. Pure: no database.
 */
export const SHEET_KINDS = { village: '村（社区）公示表', township: '乡镇汇总表' } as const;
export type SheetKind = keyof typeof SHEET_KINDS;

/** Settings (core_setting, per region): the supervision telephone of a county or township, and how to object. */
export const SUPERVISION_PHONE_KEY = 'publicity.supervision_phone';
export const OBJECTION_NOTE_KEY = 'publicity.objection_note';
export const DEFAULT_OBJECTION_NOTE = '对公示内容有异议的，请在公示期内向村（居）委会、乡镇（街道）经办站所或财政所实名反映，也可拨打监督电话。';

/** A line of a village sheet, every value as printed (masked, 元 with two decimals). */
export interface SheetLine {
  no: number;
  name: string;
  id: string;
  tier: string;
  standard: string;
  quantity: string;
  amount: string;
}

/** A line of a township summary: one village. */
export interface SummaryLine {
  no: number;
  village: string;
  people: number;
  quantity: string;
  amount: string;
}

/**
 * A sheet exactly as printed: what Qinghai 二(四)11 lists (subsidy, basis, recipients, standard, quantity, amount,
 * the county and township supervision telephones) and the publicity period. Masked public data only. Its digest is
 * the SM3 of this object's JSON, so that a paper and the portal's copy can be compared.
 */
export interface SheetContent {
  kind: SheetKind;
  rosterId: number;
  title: string;
  county: string;
  township: string;
  /** The village of a village sheet; empty on the township summary. */
  village: string;
  subsidy: string;
  basis: string;
  department: string;
  period: string;
  standard: string;
  unit: string;
  publicityStart: string;
  publicityEnd: string;
  /** 应急救助 paid first and publicised after payment (Qinghai 二(一)2). */
  afterPayment: boolean;
  phones: { county: string; township: string };
  objection: string;
  lines: SheetLine[] | SummaryLine[];
  total: { people: number; quantity: string; amount: string; amountFen: number };
}

export function sheetDigest(content: SheetContent): string {
  return sm3Hex(Buffer.from(JSON.stringify(content), 'utf8'));
}

/** Crockford's base32: no I, L, O or U, so that a code read off paper is typed right. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 10;

/** A new verification code: 10 random characters (50 bits), printed as XXXXX-XXXXX. */
export function newSheetCode(): string {
  const bytes = randomBytes(CODE_LENGTH);
  return Array.from(bytes, (b) => ALPHABET[b & 31]).join('');
}

export const formatSheetCode = (code: string) => `${code.slice(0, 5)}-${code.slice(5)}`;

/** A code as someone typed it (lower case, spaces, dashes, O for 0, I or L for 1), or null if it cannot be one. */
export function normaliseSheetCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return code.length === CODE_LENGTH && [...code].every((c) => ALPHABET.includes(c)) ? code : null;
}

/** A published notice's two kinds: the publicity before payment, and an 应急救助 roster's after it (事后公示). */
export const NOTICE_KINDS = { before: '发放前公示', after: '事后公示（应急救助，先发放后公示）' } as const;
export type NoticeKind = keyof typeof NOTICE_KINDS;

/**
 * Where a notice stands, derived from its roster (never stored, so it cannot drift): in its period, its period over
 * (waiting for or past the finance office's confirmation), withdrawn with the roster returned for changes, or
 * replaced by a later publication of the same roster.
 */
export const NOTICE_STATUSES = { open: '公示中', ended: '公示期满', withdrawn: '已撤回（清册退回修改）', superseded: '已重新公示' } as const;
export type NoticeStatus = keyof typeof NOTICE_STATUSES;

/** The days a publicity may be set to: at least the documents' seven (both ends counted), at most a month. */
export const MAX_PUBLICITY_DAYS = 30;

/** Where staff posted the paper. */
export const POSTING_PLACES = { village_board: '村务公开栏', township_board: '乡镇（街道）公示栏', other: '其他地点' } as const;
export type PostingPlace = keyof typeof POSTING_PLACES;
