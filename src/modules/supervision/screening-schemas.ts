import { z } from 'zod';
import { businessDate } from '../../core/fields.ts';

/** The longest period one screening covers, in calendar years it touches (the rules compare periods within it). */
export const SCREENING_MAX_YEARS = 3;

/**
 * The form queuing a screening (大数据比对筛查): the period, as business dates; rounds whose period ends within it are
 * screened. Messages in Chinese, keyed by field.
 */
export const screeningSchema = z
  .object({
    from: businessDate('起始日期'),
    to: businessDate('截止日期'),
  })
  .superRefine((v, ctx) => {
    if (v.from > v.to) ctx.addIssue({ code: 'custom', path: ['to'], message: '截止日期不能早于起始日期' });
    else if (Number(v.to.slice(0, 4)) - Number(v.from.slice(0, 4)) >= SCREENING_MAX_YEARS) ctx.addIssue({ code: 'custom', path: ['to'], message: `一次筛查的期间最多跨 ${SCREENING_MAX_YEARS} 个年度` });
  });
export type ScreeningInput = z.infer<typeof screeningSchema>;
