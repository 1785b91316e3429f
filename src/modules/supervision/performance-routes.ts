import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { businessYear } from '../../core/dates.ts';
import { ValidationError } from '../../core/errors.ts';
import { id, optional } from '../../core/fields.ts';
import { validate } from '../../core/http/validate.ts';
import type { Web } from '../../core/web/web.ts';
import { INDICATOR_NOTES, countyPerformance, presentPerformance } from '../bank/index.ts';
import { canSetPerformance } from '../policy/index.ts';
import { countiesOf } from './performance.ts';
import { can } from './policy.ts';

const TITLE = '绩效目标和预算执行监控';

const querySchema = z.object({
  year: optional(z.coerce.number({ error: '年度应为四位数字，如 2026' }).int({ error: '年度应为四位数字，如 2026' }).min(2000, { error: '年度应在 2000 至 2100 之间' }).max(2100, { error: '年度应在 2000 至 2100 之间' })),
  county: optional(id('县（区）')),
});

/**
 * 双监控 (Chongqing 十二): the performance goals of each policy beside their achieved values, and the budget execution
 * month by month with its warnings, for the finance section and the supervisors (REPORT_READERS) of a county and year.
 * Read-only; the finance section's links lead to the goals' and the curve's forms (policy module).
 */
export function performanceRoutes(router: Router, web: Web): void {
  router.get('/supervision/performance', async (ctx: Context) => {
    const actor = await web.permit(ctx, (a) => can(a, 'view_performance', null));
    const counties = await countiesOf(web.core.db, actor);
    let query: z.infer<typeof querySchema>;
    try {
      query = validate(querySchema, ctx.query);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return web.render(ctx, 'supervision/performance.njk', { title: TITLE, errors: err.fieldErrors, values: ctx.query, counties: counties.map((c) => ({ value: c.id, label: c.name })), report: null }, 422);
    }
    const year = query.year ?? businessYear();
    const county = query.county ? counties.find((c) => c.id === query.county) : counties[0];
    if (!county) {
      const errors = { county: counties.length ? '该县（区）不在您的管辖范围内' : '您的管辖范围内没有县（区）' };
      return web.render(ctx, 'supervision/performance.njk', { title: TITLE, errors, values: ctx.query, counties: counties.map((c) => ({ value: c.id, label: c.name })), report: null }, 422);
    }
    const figures = presentPerformance(await countyPerformance(web.core.db, county, year, { publicOnly: false }));
    const canSet = canSetPerformance(actor, county);
    web.render(ctx, 'supervision/performance.njk', {
      title: `${county.name}${year}年${TITLE}`,
      county,
      counties: counties.map((c) => ({ value: c.id, label: c.name })),
      values: { year, county: county.id },
      report: figures,
      notes: INDICATOR_NOTES,
      canSetGoals: canSet.goals,
      canSetCurve: canSet.curve,
    });
  });
}
