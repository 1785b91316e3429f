import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { addCalendarDays, businessDate } from '../../core/dates.ts';
import { ValidationError } from '../../core/errors.ts';
import { validate } from '../../core/http/validate.ts';
import { formatYuan } from '../../core/money.ts';
import type { Region } from '../../core/regions.ts';
import type { Web } from '../../core/web/web.ts';
import { ROUND_STATES } from '../batch/index.ts';
import { PLAN_COLUMNS, VOUCHER_COLUMNS, VOUCHER_KINDS, budgetCounties, budgetCounty, csvFile, paymentPlans, paymentVouchers, recordBudgetExport, voucherTotals } from './budget.ts';
import { can } from './policy.ts';
import { budgetPageSchema } from './schemas.ts';

/** The first and last day of a month (YYYY-MM). */
function monthRange(month: string): { from: string; to: string } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
  return { from: `${month}-01`, to: addCalendarDays(next, -1) };
}

/** What the page was asked for: dates (a range, else a month, else this month), a year, a county. */
function selection(ctx: Context) {
  const query = validate(budgetPageSchema, ctx.query);
  const today = businessDate();
  const month = query.month ?? (query.from ? null : today.slice(0, 7));
  const range = query.from && query.to ? { from: query.from, to: query.to } : monthRange(month!);
  return { ...range, month, year: query.year ?? Number(today.slice(0, 4)), countyId: query.county };
}

/**
 * 预算一体化对接 (/bank/budget): the payment vouchers of a month or a range of dates and the payment plans of a year of a
 * county, on the page and as CSV files for the budget system (budget.ts, docs/budget-exchange-format.md). Every file
 * handed out is audited.
 */
export function budgetRoutes(router: Router, web: Web): void {
  const { core } = web;

  async function read(ctx: Context): Promise<{ actor: Actor; county: Region | null; sel: ReturnType<typeof selection> }> {
    const actor = web.actor(ctx);
    const sel = selection(ctx);
    return { actor, county: await budgetCounty(core, { actor }, sel.countyId), sel };
  }

  const query = (sel: ReturnType<typeof selection>, county: Region, actor: Actor) => {
    const params = new URLSearchParams(sel.month ? { month: sel.month } : { from: sel.from, to: sel.to });
    params.set('year', String(sel.year));
    if (actor.regionLevel !== 'county') params.set('county', String(county.id));
    return params.toString();
  };

  router.get('/bank/budget', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'budget_exchange', null));
    let sel: ReturnType<typeof selection>;
    let county: Region | null;
    try {
      ({ sel, county } = await read(ctx));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      // A bad filter: the page again with the messages and what was typed, nothing listed.
      return web.render(ctx, 'bank/budget.njk', { title: '预算一体化对接', errors: err.fieldErrors, values: ctx.query, counties: actor.regionLevel === 'county' ? [] : await budgetCounties(core.db, actor) }, 422);
    }
    const counties = actor.regionLevel === 'county' ? [] : await budgetCounties(core.db, actor);
    const values = { month: sel.month ?? '', from: sel.month ? '' : sel.from, to: sel.month ? '' : sel.to, year: sel.year, county: county?.id ?? '' };
    if (!county) return web.render(ctx, 'bank/budget.njk', { title: '预算一体化对接', values, counties, errors: {} });
    const [vouchers, plans] = await Promise.all([paymentVouchers(core.db, county.id, sel.from, sel.to), paymentPlans(core.db, county.id, sel.year)]);
    const totals = voucherTotals(vouchers);
    web.render(ctx, 'bank/budget.njk', {
      title: '预算一体化对接',
      county: county.name,
      values,
      counties,
      errors: {},
      from: sel.from,
      to: sel.to,
      year: sel.year,
      query: query(sel, county, actor),
      totals: Object.entries(totals).map(([kind, t]) => ({ kind: VOUCHER_KINDS[kind as keyof typeof VOUCHER_KINDS], count: t.count, amount: formatYuan(t.fen) })),
      vouchers: vouchers.map((v) => ({ ...v, kindLabel: VOUCHER_KINDS[v.kind], amount: formatYuan(v.amountFen) })),
      plans: plans.map((p) => ({ ...p, planAmount: formatYuan(p.planFen), released: formatYuan(p.releasedFen), transferred: formatYuan(p.transferredFen), stateLabel: ROUND_STATES[p.state] })),
    });
  });

  router.get('/bank/budget/vouchers.csv', async (ctx) => {
    const { actor, county, sel } = await read(ctx);
    if (!county) throw new ValidationError({ county: '请选择县（区）' });
    const vouchers = await paymentVouchers(core.db, county.id, sel.from, sel.to);
    await recordBudgetExport(core, { actor }, county, { kind: 'vouchers', format: 'csv', from: sel.from, to: sel.to, rows: vouchers.length, amountFen: vouchers.reduce((s, v) => s + v.amountFen, 0) });
    web.sendFile(ctx, `${county.name}支付凭证-${sel.from}至${sel.to}.csv`, 'text/csv; charset=utf-8', csvFile(VOUCHER_COLUMNS, vouchers));
  });

  router.get('/bank/budget/plans.csv', async (ctx) => {
    const { actor, county, sel } = await read(ctx);
    if (!county) throw new ValidationError({ county: '请选择县（区）' });
    const plans = await paymentPlans(core.db, county.id, sel.year);
    await recordBudgetExport(core, { actor }, county, { kind: 'plans', format: 'csv', year: sel.year, rows: plans.length, amountFen: plans.reduce((s, p) => s + p.planFen, 0) });
    web.sendFile(ctx, `${county.name}${sel.year}年用款计划.csv`, 'text/csv; charset=utf-8', csvFile(PLAN_COLUMNS, plans));
  });
}
