import { z } from 'zod';
import { businessDate, id, optional, text, version } from '../../core/fields.ts';
import type { IdMaskMode, NameMaskMode } from '../../core/mask.ts';
import { MIN_PUBLICITY_DAYS } from '../batch/index.ts';
import { MAX_PUBLICITY_DAYS, POSTING_PLACES, type PostingPlace, normaliseSheetCode } from './model.ts';

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

/** Publishing a roster's notice: the roster version the page showed and the period's length in days from today (both ends counted). */
export const publishSchema = z.object({
  version,
  days: z.coerce
    .number({ error: '请填写公示天数' })
    .int({ error: '公示天数应为整数' })
    .min(MIN_PUBLICITY_DAYS, { error: `公示期不得少于 ${MIN_PUBLICITY_DAYS} 天（含首尾两天）` })
    .max(MAX_PUBLICITY_DAYS, { error: `公示天数不超过 ${MAX_PUBLICITY_DAYS} 天` }),
});

/** Where and when the paper was posted: a village board names its village, another place is described; the date by today. */
export const postingSchema = z
  .object({
    place: z.enum(Object.keys(POSTING_PLACES) as [PostingPlace], { error: '请选择张贴地点' }),
    villageId: optional(id('村（社区）')),
    location: optional(text('地点说明', 100)),
    postedOn: businessDate('张贴日期', { notAfterToday: true }),
  })
  .superRefine((v, ctx) => {
    if (v.place === 'village_board' && v.villageId === null) ctx.addIssue({ code: 'custom', path: ['villageId'], message: '张贴在村务公开栏的，请选择村（社区）' });
    if (v.place === 'other' && v.location === null) ctx.addIssue({ code: 'custom', path: ['location'], message: '张贴在其他地点的，请填写地点说明' });
  });
export type PostingInput = z.infer<typeof postingSchema>;
