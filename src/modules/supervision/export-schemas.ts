import { z } from 'zod';
import { businessDate, checkbox, optional, reason } from '../../core/fields.ts';

/** The longest period one export covers (in calendar years it touches). */
export const EXPORT_MAX_YEARS = 5;

/**
 * The form asking for a complete export (完整导出): the period (from–to, business dates), whether ID
 * numbers are in clear, and the reason, required when they are. Messages in Chinese, keyed by field.
 */
export const exportSchema = z
  .object({
    from: businessDate('起始日期'),
    to: businessDate('截止日期'),
    inClear: checkbox,
    reason: optional(reason('明文导出事由')),
  })
  .superRefine((v, ctx) => {
    if (v.from > v.to) ctx.addIssue({ code: 'custom', path: ['to'], message: '截止日期不能早于起始日期' });
    else if (Number(v.to.slice(0, 4)) - Number(v.from.slice(0, 4)) >= EXPORT_MAX_YEARS) ctx.addIssue({ code: 'custom', path: ['to'], message: `一次导出的期间最多跨 ${EXPORT_MAX_YEARS} 个年度` });
    if (v.inClear && !v.reason) ctx.addIssue({ code: 'custom', path: ['reason'], message: '导出明文身份证号码须填写事由（如：审计部门审计通知书文号）' });
  });
export type ExportInput = z.infer<typeof exportSchema>;
