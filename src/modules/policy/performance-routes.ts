import type Router from '@koa/router';
import type { Context } from 'koa';
import { businessYear } from '../../core/dates.ts';
import { NotFoundError } from '../../core/errors.ts';
import { parseId, validate } from '../../core/http/validate.ts';
import type { Web } from '../../core/web/web.ts';
import { INDICATORS, INDICATOR_CODES, TIMELY_WORKING_DAYS, executionCurve, formatBp, itemOfCountyList, performanceGoals, setExecutionCurve, setPerformanceGoals } from './performance.ts';
import { MONTH_FIELDS, curveSchema, goalsQuerySchema, goalsSchema } from './performance-schemas.ts';
import { can } from './policy.ts';
import { listRegionFor, policyVersions } from './queries.ts';

/** A target as typed in the form: a rate in % without a trailing zero's noise ("98.5"), persons as a number. */
const targetText = (bp: boolean, value: number) => (bp ? formatBp(value).replace(/%$/, '').replace(/\.00$/, '').replace(/(\.\d)0$/, '$1') : String(value));

/**
 * The finance section's forms of the performance goals (绩效目标) of a policy and year, and of the county's expected
 * execution curve (预算执行进度要求): validate → command (performance.ts, with `can`, audit, transaction) → redirect, or
 * the form again with 422. Registered before /policies/:id, so that /policies/execution-curve is not taken for an id.
 */
export function performanceRoutes(router: Router, web: Web): void {
  const { db } = web.core;

  async function countyFor(ctx: Context, action: 'set_goals' | 'set_curve') {
    const actor = web.actor(ctx);
    const county = await listRegionFor(db, actor.regionId);
    await web.permit(ctx, (a) => can(a, action, county));
    return { actor, county };
  }

  // --- the curve ---------------------------------------------------------------------------------------------------

  async function curvePage(ctx: Context, year: number, extra: Record<string, unknown> = {}, status = 200) {
    const { county } = await countyFor(ctx, 'set_curve');
    const curve = await executionCurve(db, county.id, year);
    const values = { year, tolerance: targetText(true, curve.toleranceBp), ...Object.fromEntries(MONTH_FIELDS.map((m, i) => [m, targetText(true, curve.points[i]!)])) };
    web.render(ctx, 'policy/curve.njk', { title: `${county.name}${year}年预算执行进度要求`, county: county.name, year, source: curve.source, fromYear: curve.fromYear, months: MONTH_FIELDS.map((m, i) => ({ name: m, label: `${i + 1}月末累计（%）` })), values, ...extra }, status);
  }

  router.get('/policies/execution-curve', async (ctx) => {
    const query = validate(goalsQuerySchema, ctx.query);
    await curvePage(ctx, query.year ?? businessYear());
  });

  router.post('/policies/execution-curve', async (ctx) => {
    const { actor } = await countyFor(ctx, 'set_curve');
    const body = ctx.request.body as Record<string, unknown>;
    const asked = Number(body.year);
    const year = Number.isInteger(asked) && asked >= 2000 && asked <= 2100 ? asked : businessYear();
    await web.formStep(
      ctx,
      `/supervision/performance?year=${year}`,
      async () => {
        const input = validate(curveSchema, body);
        const { changed } = await setExecutionCurve(web.core, actor, input);
        return changed ? `${input.year} 年预算执行进度要求已保存` : '内容未改变，没有保存';
      },
      (extra, status) => curvePage(ctx, year, extra, status),
    );
  });

  // --- a policy's goals --------------------------------------------------------------------------------------------

  async function goalsPage(ctx: Context, itemId: number, year: number, extra: Record<string, unknown> = {}, status = 200) {
    const { county } = await countyFor(ctx, 'set_goals');
    await itemOfCountyList(db, county, itemId);
    const versions = await policyVersions(db, itemId);
    if (!versions.length) throw new NotFoundError('补贴项目不存在');
    const goals = await performanceGoals(db, county.id, year, itemId);
    const values = { year, ...Object.fromEntries(goals.map((g) => [g.indicator, targetText(INDICATORS[g.indicator].unit === 'bp', g.target)])) };
    web.render(
      ctx,
      'policy/goals.njk',
      {
        title: `${versions[0]!.name} ${year}年绩效目标`,
        policy: { itemId, code: versions[0]!.code, name: versions[0]!.name },
        county: county.name,
        year,
        days: TIMELY_WORKING_DAYS,
        indicators: INDICATOR_CODES.map((i) => ({ name: i, label: `${INDICATORS[i].label}（${INDICATORS[i].unit === 'bp' ? '%，不低于' : '人，不少于'}）`, hint: INDICATORS[i].definition, bp: INDICATORS[i].unit === 'bp' })),
        values,
        ...extra,
      },
      status,
    );
  }

  function itemIdOf(ctx: Context): number {
    const id = parseId(ctx.params.id);
    if (id === null) throw new NotFoundError('补贴项目不存在');
    return id;
  }

  router.get('/policies/:id/goals', async (ctx) => {
    const query = validate(goalsQuerySchema, ctx.query);
    await goalsPage(ctx, itemIdOf(ctx), query.year ?? businessYear());
  });

  router.post('/policies/:id/goals', async (ctx) => {
    const itemId = itemIdOf(ctx);
    const { actor } = await countyFor(ctx, 'set_goals');
    const body = ctx.request.body as Record<string, unknown>;
    const asked = Number(body.year);
    const year = Number.isInteger(asked) && asked >= 2000 && asked <= 2100 ? asked : businessYear();
    await web.formStep(
      ctx,
      `/supervision/performance?year=${year}#p-${itemId}`,
      async () => {
        const input = validate(goalsSchema, body);
        const { changed } = await setPerformanceGoals(web.core, actor, { itemId, ...input });
        return changed ? `${input.year} 年绩效目标已保存` : '内容未改变，没有保存';
      },
      (extra, status) => goalsPage(ctx, itemId, year, extra, status),
    );
  });
}
