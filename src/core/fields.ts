import { z } from 'zod';
import { businessDate as today, isBusinessDate } from './dates.ts';
import { type Fen, parseYuan } from './money.ts';

/**
 * The field builders every module's schemas.ts is made of, so that the same kind of input gets the same rule and
 * the same Chinese message on every route that takes it (a form, a query string, an API body). Cross-field rules
 * (an end after a start) are refinements on the schema that holds both fields.
 */

/** '' and a missing field both mean "not given". */
const blankToUndefined = (v: unknown) => (v === '' || v === undefined || v === null ? undefined : v);

/** An optional field: not given is null. */
export const optional = <S extends z.ZodType>(schema: S) => z.preprocess((v) => blankToUndefined(v) ?? null, schema.nullable());

/** A record chosen from a list (a select, a hidden id): a positive integer. */
export const id = (label: string) => z.coerce.number({ error: `请选择${label}` }).int({ error: `请选择${label}` }).positive({ error: `请选择${label}` }).max(2 ** 31 - 1, { error: `请选择${label}` });

/** The version of a record the form was built from: a save over someone else's change is refused by the command. */
export const version = z.coerce.number({ error: '页面已过期，请刷新后再试' }).int({ error: '页面已过期，请刷新后再试' }).positive({ error: '页面已过期，请刷新后再试' });

/**
 * Why a text a person typed or a file carried (trimmed) is refused, or null: no markup (angle brackets), no control
 * characters but line breaks, and no leading = + - @, with which a spreadsheet program takes a cell for a formula.
 * The rule of every free text (text(), the imports' text cells), so that no route takes what another refuses; the
 * files the platform writes neutralise such a text all the same (spreadsheet.ts exportCell).
 */
export function freeTextProblem(value: string): string | null {
  if (/[<>]/.test(value)) return '不能包含尖括号 < >';
  if (/[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(value)) return '不能包含控制字符';
  if (/^[=+\-@]/.test(value)) return '不能以 = + - @ 开头（表格软件会把它当作公式）';
  return null;
}

/** Text a person types, trimmed, required, at most `max` characters, with the rule of free text (freeTextProblem). */
export const text = (label: string, max: number) =>
  z
    .string({ error: `请填写${label}` })
    .trim()
    .min(1, { error: `请填写${label}` })
    .max(max, { error: `${label}不能超过 ${max} 个字符` })
    .superRefine((value, ctx) => {
      const problem = freeTextProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: `${label}${problem}` });
    });

/** Names as on the ID card: Chinese characters (also rare ones outside the BMP), the middle dot of minority names, letters. */
const PERSON_NAME = /^[\p{Script=Han}·•A-Za-z]+$/u;
const PERSON_NAME_MAX = 40;

/**
 * Why a person's name (trimmed) is refused, or null, in the words of the registry import's report (第 n 行「姓名」：…).
 * The one rule of every route that takes a person's or an account holder's name: the registry import
 * (beneficiary/files.ts), the reference data (file and API), the forms (personName). It leaves no room for markup or
 * a formula.
 */
export function personNameProblem(name: string): string | null {
  if (name === '') return '不能为空';
  if ([...name].length > PERSON_NAME_MAX) return `不能超过 ${PERSON_NAME_MAX} 个字`;
  if (!PERSON_NAME.test(name)) return '只能包含汉字、间隔号“·”或字母，请与身份证一致';
  return null;
}

/** A person's or an account holder's name (姓名, 户名), required, with the registry import's rule and message (personNameProblem). */
export const personName = (label: string) =>
  z
    .string({ error: `请填写${label}` })
    .trim()
    .superRefine((name, ctx) => {
      const problem = personNameProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', message: name === '' ? `请填写${label}` : `${label}${problem}` });
    });

/** A reason (退回原因, 核实说明 …): required text of at most 300 characters unless said otherwise. */
export const reason = (label: string, max = 300) => text(label, max);

/** An amount typed in 元 ("1,234.50", "¥12.5"), as integer fen. */
export const yuan = (label: string) =>
  z.string({ error: `请填写${label}` }).transform((value, ctx): Fen => {
    const parsed = parseYuan(value);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.error === '请填写金额' ? `请填写${label}` : `${label}：${parsed.error}` });
      return z.NEVER;
    }
    return parsed.fen;
  });

/** A business date, YYYY-MM-DD (Asia/Shanghai); `notAfterToday` for what has happened (a voucher, an objection). */
export const businessDate = (label: string, options: { notAfterToday?: boolean; notBeforeToday?: boolean } = {}) =>
  z
    .string({ error: `请填写${label}（YYYY-MM-DD）` })
    .trim()
    .refine(isBusinessDate, { error: `请填写${label}（YYYY-MM-DD 格式的有效日期）` })
    .refine((d) => !options.notAfterToday || d <= today(), { error: `${label}不能晚于今天` })
    .refine((d) => !options.notBeforeToday || d >= today(), { error: `${label}不能早于今天` });

/** Records ticked in a list (checkboxes of the same name): at least one unless `allowEmpty`. */
export const idList = (label: string, options: { allowEmpty?: boolean } = {}) =>
  z.preprocess(
    (v) => (Array.isArray(v) ? v : blankToUndefined(v) === undefined ? [] : [v]),
    z
      .array(z.coerce.number({ error: `所选${label}无效，请刷新后再试` }).int({ error: `所选${label}无效，请刷新后再试` }).positive({ error: `所选${label}无效，请刷新后再试` }), { error: `所选${label}无效，请刷新后再试` })
      .refine((ids) => options.allowEmpty || ids.length > 0, { error: `请勾选${label}` })
      .transform((ids) => [...new Set(ids)]),
  );

/** A ticked checkbox ('on', '1', 'true'). */
export const checkbox = z.preprocess((v) => v === 'on' || v === '1' || v === 'true' || v === true, z.boolean());

/** A page number in a query string; not given is page 1. */
export const page = z.preprocess((v) => blankToUndefined(v) ?? 1, z.coerce.number({ error: '页码无效' }).int({ error: '页码无效' }).min(1, { error: '页码无效' }).max(100_000, { error: '页码无效' }));

/** Days from one business date to another (both ends counted: 1 for the same day). */
export const daysInclusive = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;

/**
 * A percentage typed with at most two decimals ("98.5", "98.50%", "100"), 0 to 100, as integer basis points (9850),
 * read from its digits, never through floating point.
 */
export const percentBp = (label: string) =>
  z.string({ error: `请填写${label}` }).transform((value, ctx): number => {
    const m = /^\s*(\d{1,3})(?:\.(\d{1,2}))?\s*%?\s*$/.exec(value);
    const bp = m ? Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0')) : NaN;
    if (!m || bp > 10_000) {
      ctx.addIssue({ code: 'custom', message: `${label}应为 0 到 100 之间的百分数，最多两位小数，如 98.5` });
      return z.NEVER;
    }
    return bp;
  });
