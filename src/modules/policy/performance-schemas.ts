import { z } from 'zod';
import { optional, percentBp } from '../../core/fields.ts';
import { INDICATORS, INDICATOR_CODES, type Indicator } from './performance.ts';

/** The forms of the performance goals and the execution curve (performance.ts); messages in Chinese, keyed by field. */
const year = z.coerce.number({ error: '年度应为年份' }).int({ error: '年度应为年份' }).min(2000, { error: '年度应在 2000 到 2100 之间' }).max(2100, { error: '年度应在 2000 到 2100 之间' });

const persons = (label: string) =>
  z.coerce.number({ error: `${label}应为不小于 0 的整数` }).int({ error: `${label}应为不小于 0 的整数` }).min(0, { error: `${label}应为不小于 0 的整数` }).max(100_000_000, { error: `${label}不能超过一亿人` });

/** A year's goals of one policy: each indicator's target, blank for no goal (a rate in %, persons as a whole number). */
export const goalsSchema = z
  .object({
    year,
    ...(Object.fromEntries(INDICATOR_CODES.map((i) => [i, optional(INDICATORS[i].unit === 'bp' ? percentBp(`${INDICATORS[i].label}目标`) : persons(`${INDICATORS[i].label}目标`))])) as unknown as Record<Indicator, z.ZodType<number | null>>),
  })
  .transform((v) => ({ year: v.year, targets: Object.fromEntries(INDICATOR_CODES.filter((i) => v[i] !== null && v[i] !== undefined).map((i) => [i, v[i] as number])) as Partial<Record<Indicator, number>> }));

export const MONTH_FIELDS = Array.from({ length: 12 }, (_, i) => `m${i + 1}`);

/** The expected cumulative execution at each month end (%, never going down, December at most 100) and the tolerance. */
export const curveSchema = z
  .object({
    year,
    ...(Object.fromEntries(MONTH_FIELDS.map((m, i) => [m, percentBp(`${i + 1}月末进度`)])) as unknown as Record<string, z.ZodType<number>>),
    tolerance: percentBp('预警容差'),
  })
  .superRefine((value, ctx) => {
    const v = value as Record<string, number>;
    const points = MONTH_FIELDS.map((m) => v[m]!);
    for (let i = 1; i < 12; i++) if (points[i]! < points[i - 1]!) ctx.addIssue({ code: 'custom', path: [MONTH_FIELDS[i]!], message: `${i + 1}月末进度不能低于${i}月末进度（累计进度只增不减）` });
    if ((v.tolerance as number) > 5000) ctx.addIssue({ code: 'custom', path: ['tolerance'], message: '预警容差不能超过 50 个百分点' });
  })
  .transform((value) => {
    const v = value as Record<string, number>;
    return { year: v.year!, points: MONTH_FIELDS.map((m) => v[m]!), toleranceBp: v.tolerance! };
  });

export const goalsQuerySchema = z.object({ year: optional(year) });
