import { z } from 'zod';
import { optional, text } from '../../core/fields.ts';
import type { IdMaskMode, NameMaskMode } from '../../core/mask.ts';
import { normaliseSheetCode } from './model.ts';

/** A supervision telephone as printed on the sheets: digits, with an area code and dashes or spaces as people write it. */
const phone = (label: string) =>
  text(label, 30).refine((v) => /^[0-9][0-9\- ]{5,28}[0-9]$/.test(v) && (v.match(/\d/g)?.length ?? 0) >= 7, { message: `${label}应为电话号码，例如 0971-1234567 或 12345` });

/**
 * The county's publicity settings form: the masking rule of every public output, the objection note the sheets print,
 * and the supervision telephones of the county and of each township (fields `phone_<townshipId>`, checked by the
 * command against the county's townships). Messages in Chinese, keyed by field.
 */
export const publicitySettingsSchema = z
  .object({
    idMask: z.enum(['birth', 'strict'] as [IdMaskMode, IdMaskMode], { error: '请选择身份证号码的隐藏方式' }),
    nameMask: z.enum(['middle', 'full'] as [NameMaskMode, NameMaskMode], { error: '请选择姓名的显示方式' }),
    objectionNote: text('异议方式说明', 200),
    countyPhone: phone('县（区）监督电话'),
  })
  .catchall(z.unknown());

/** Each township's telephone field: required, as the sheets print both numbers (Qinghai 二(四)11). */
export const townshipPhone = (name: string) => phone(`${name}监督电话`);

/** The portal's verification form: a code as printed (XXXXX-XXXXX), typed in any case, with or without the dash. */
export const verifySchema = z.object({
  code: optional(z.string().trim().max(20, { error: '验证码为 10 位字母和数字' })).transform((v, ctx) => {
    if (v === null) return null;
    const code = normaliseSheetCode(v);
    if (!code) ctx.addIssue({ code: 'custom', message: '验证码为 10 位字母和数字，例如 7K3QD-M9X2A，请核对后重新输入' });
    return code;
  }),
});

/** Which sheets to print: one village's, or all villages of the roster (no village given). */
export const sheetsQuerySchema = z.object({ village: optional(z.coerce.number({ error: '村（社区）无效' }).int({ error: '村（社区）无效' }).positive({ error: '村（社区）无效' })) });
