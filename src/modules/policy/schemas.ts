import { z } from 'zod';
import { businessDate, checkbox, id, optional, text, yuan } from '../../core/fields.ts';
import { parseTierText } from './files.ts';

/** Forms and query strings of the policy pages, built from the shared fields (core/fields.ts); messages in Chinese, keyed by field. */
const year = (label: string) =>
  z.coerce.number({ error: `${label}应为年份` }).int({ error: `${label}应为年份` }).min(2000, { error: `${label}应在 2000 到 2100 之间` }).max(2100, { error: `${label}应在 2000 到 2100 之间` });

export const policyFormSchema = z.object({
  name: text('补贴项目名称', 100),
  legalBasisTitle: text('政策依据文件名', 200),
  legalBasisNumber: text('文号', 60),
  payee: z.enum(['person', 'household'], { error: '请选择发放方式' }),
  frequency: z.enum(['once', 'monthly', 'quarterly', 'yearly'], { error: '请选择发放频次' }),
  unit: text('计量单位', 10),
  tiers: z.string({ error: '请填写补贴标准' }).transform((value, ctx) => {
    const parsed = parseTierText(value);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return parsed.tiers;
  }),
  fromYear: year('起始年度'),
  toYear: optional(year('截止年度')),
  effectiveYear: year('执行年度'),
  confidential: checkbox,
  meansTested: checkbox,
  emergencyRelief: checkbox,
  exclusiveGroups: z.preprocess(
    (v) => (typeof v === 'string' ? v.split(/[;；,，]/).map((s) => s.trim()).filter(Boolean) : []),
    z.array(text('互斥组名称', 40)).max(5, { error: '互斥组最多 5 个' }),
  ),
  changeNote: optional(text('调整说明', 200)),
  revision: optional(z.coerce.number().int().positive()),
});

export const policyCreateSchema = policyFormSchema.extend({
  code: z.string({ error: '请填写编码' }).trim().regex(/^[A-Za-z0-9-]{2,40}$/, { error: '编码由 2–40 位字母、数字或短横线组成' }),
});

export const reviewSchema = z.object({
  revision: z.coerce.number({ error: '表单版本无效，请刷新' }).int().positive({ error: '表单版本无效，请刷新' }),
  reason: optional(text('退回原因', 200)),
});

export const allocationSchema = z.object({
  year: year('年度'),
  amount: yuan('金额').refine((fen) => fen > 0, { error: '金额应大于零' }),
  docNumber: text('指标文件文号', 60),
  docTitle: text('指标文件名称', 200),
  docDate: businessDate('发文日期', { notAfterToday: true }),
});

export const listQuerySchema = z.object({
  year: optional(year('年度')),
  county: optional(id('县（区）')),
});
