import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { businessYear } from '../../core/dates.ts';
import { requireId, validate } from '../../core/http/validate.ts';
import type { Web } from '../../core/web/web.ts';
import { confirmClearing, disputeClearing, openClearing } from './clearing.ts';
import { can } from './policy.ts';
import { presentBankClearing, presentClearing, presentClearingDraft, presentClearingTotals, presentPolicyClearing } from './presenters.ts';
import { clearingConfirmationsOf, clearingDraftOf, clearingFigures, clearingPdf, clearingReportsFor, clearingsOf } from './queries.ts';
import { CLEARING_DEFINITION } from './reports.ts';
import { clearingQuerySchema, confirmClearingSchema, disputeClearingSchema, openClearingSchema, reopenClearingSchema } from './schemas.ts';

/**
 * The year-end clearing's pages (clearing.ts): the page of a year (its figures — the draft's as opened, or the
 * records' as they stand before it is opened — its parties and their confirmations, and the steps the reader may
 * take), opening and re-opening, a party's confirmation or dispute, the kept reports.
 */
export function clearingRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const reader = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'read_clearing', null));

  /** `year`: the year of the form that was sent; otherwise the page's `?year=`. */
  async function clearingPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200, formYear?: number) {
    const lastYear = businessYear() - 1;
    const year = formYear !== undefined && formYear <= lastYear ? formYear : validate(clearingQuerySchema(lastYear), ctx.query).year;
    const draft = await clearingDraftOf(db, actor.regionId, year);
    const live = draft?.state === 'final' ? null : await clearingFigures(db, actor.regionId, year);
    const figures = draft ? draft.figures : live!;
    const confirmed = draft ? await clearingConfirmationsOf(db, draft.id) : [];
    const kept = await clearingsOf(db, actor.regionId);
    const readable = new Set((await clearingReportsFor(db, actor)).map((c) => c.id));
    web.render(
      ctx,
      'bank/clearing.njk',
      {
        title: '年末清算',
        year,
        years: Array.from({ length: 5 }, (_, i) => lastYear - i),
        definition: CLEARING_DEFINITION,
        figures: figures.policies.map(presentPolicyClearing),
        totals: presentClearingTotals(figures.policies),
        banks: figures.banks.map(presentBankClearing),
        draft: draft ? presentClearingDraft(actor, draft, confirmed, live !== null && JSON.stringify(live) !== JSON.stringify(draft.figures)) : null,
        cleared: kept.filter((c) => c.year === year).map(presentClearing)[0],
        done: kept.filter((c) => readable.has(c.id)).map(presentClearing),
        can: { open: !draft && !kept.some((c) => c.year === year) && figures.policies.length > 0 && can(actor, 'open_clearing', { state: null }).ok },
        values: {},
        ...extra,
      },
      status,
    );
  }

  const yearParam = (ctx: Context) => requireId(ctx.params.year, '年度');
  const body = (ctx: Context) => (ctx.request.body ?? {}) as Record<string, unknown>;
  const back = (year: number) => `/bank/clearing?year=${year}`;

  router.get('/bank/clearing', async (ctx) => clearingPage(ctx, await reader(ctx)));

  // The finance section opens a finished year's clearing.
  router.post('/bank/clearing', async (ctx) => {
    const actor = await reader(ctx);
    const year = Number(body(ctx).year);
    await web.formStep(
      ctx,
      '/bank/clearing',
      async () => {
        const input = validate(openClearingSchema, body(ctx));
        await openClearing(web.core, actor, input);
        return { message: `已开启${input.year}年度年末清算，待各主管部门和代发金融机构确认`, to: back(input.year) };
      },
      (extra, status) => clearingPage(ctx, actor, extra, status, Number.isInteger(year) ? year : undefined),
    );
  });

  router.post('/bank/clearing/:year/reopen', async (ctx) => {
    const actor = await reader(ctx);
    const year = yearParam(ctx);
    await web.formStep(
      ctx,
      back(year),
      async () => {
        const { version } = validate(reopenClearingSchema, body(ctx));
        await openClearing(web.core, actor, { year, version });
        return '已重新开启清算：数据已按现有记录重新生成，各方须重新确认';
      },
      (extra, status) => clearingPage(ctx, actor, extra, status, year),
    );
  });

  router.post('/bank/clearing/:year/confirm', async (ctx) => {
    const actor = await reader(ctx);
    const year = yearParam(ctx);
    await web.formStep(
      ctx,
      back(year),
      async () => {
        const input = validate(confirmClearingSchema, body(ctx));
        const final = await confirmClearing(web.core, actor, { year, version: input.version, voucherNo: input.voucherNo ?? undefined });
        return final ? '各方均已确认，年末清算完成：待决定的资金已缴回财政，清算报告已生成' : '已确认本单位的清算数据';
      },
      (extra, status) => clearingPage(ctx, actor, extra, status, year),
    );
  });

  router.post('/bank/clearing/:year/dispute', async (ctx) => {
    const actor = await reader(ctx);
    const year = yearParam(ctx);
    await web.formStep(
      ctx,
      back(year),
      async () => {
        const input = validate(disputeClearingSchema, body(ctx));
        await disputeClearing(web.core, actor, { year, ...input });
        return '已提出异议，清算退回财政局业务科室更正后重新开启';
      },
      (extra, status) => clearingPage(ctx, actor, extra, status, year),
    );
  });

  // A kept report: for the finance section, the treasury, the supervisor, and the clearing's departments and banks.
  router.get('/bank/clearing/:id/report.pdf', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'read_clearing_report', null));
    const report = await clearingPdf(db, actor, requireId(ctx.params.id, '清算报告'));
    web.sendFile(ctx, report.fileName, 'application/pdf', report.body);
  });
}
