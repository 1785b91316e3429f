import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { businessDate, formatDateTime } from '../../core/dates.ts';
import { requireId, validate } from '../../core/http/validate.ts';
import { formatYuan } from '../../core/money.ts';
import type { Web } from '../../core/web/web.ts';
import { CHECK_RULES, SCREENED_RULES } from '../batch/index.ts';
import { can } from './policy.ts';
import { SCREENING_RULES } from './screening/engine.ts';
import { screeningSchema } from './screening-schemas.ts';
import { type HitView, SCREENING_STATES, type ScreeningRow, hitsGoneSince, requestScreening, screeningFor, screeningHits, screeningsInScope } from './screenings.ts';
import { CONCLUSIONS, FINDING_STATES } from './spot-check-schemas.ts';

/** How many hits of one rule a run's page lists (the findings' list has them all). */
const HITS_SHOWN = 100;

function presentRun(r: ScreeningRow & { requester: string | null }) {
  return {
    id: r.id,
    href: `/supervision/screenings/${r.id}`,
    period: `${r.period_from} 至 ${r.period_to}`,
    requester: r.requester ?? '',
    requestedAt: formatDateTime(r.requested_at),
    finishedAt: formatDateTime(r.finished_at),
    state: r.state,
    stateLabel: SCREENING_STATES[r.state],
    progress: `${r.rules_done}/${r.rules_total} 条规则`,
    lines: r.lines_screened,
    hits: r.hits,
    opened: r.opened,
    error: r.error ?? '',
  };
}

function presentHit(h: HitView) {
  const state = FINDING_STATES[h.finding_state as keyof typeof FINDING_STATES] ?? h.finding_state;
  return {
    title: h.title,
    href: `/supervision/findings/${h.finding_id}`,
    findingId: h.finding_id,
    isNew: h.status === 'new',
    findingState: h.conclusion ? `${state}（${CONCLUSIONS[h.conclusion as keyof typeof CONCLUSIONS] ?? h.conclusion}）` : state,
    region: h.region_name,
    lines: h.line_count,
    amount: formatYuan(Number(h.amount_fen)),
    evidence: h.evidence,
  };
}

/**
 * The screening pages (比对筛查, /supervision/screenings): the rules and the runs of the scope with the form to queue
 * one, and each run's page with its progress (htmx polling while it runs) and, once done, its hits per rule (new or
 * found again, with their findings' state) and what the previous run of the same period found that this one did not.
 */
export function screeningRoutes(router: Router, web: Web): void {
  const { db } = web.core;

  async function listPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const year = businessDate().slice(0, 4);
    web.render(
      ctx,
      'supervision/screenings.njk',
      {
        title: '比对筛查',
        rules: SCREENING_RULES.map((r) => ({ label: r.label, description: r.description })),
        checks: SCREENED_RULES.map((r) => r.label),
        notScreened: CHECK_RULES.filter((r) => r.notScreened !== undefined).map((r) => ({ label: r.label, reason: r.notScreened })),
        runs: (await screeningsInScope(db, actor)).map(presentRun),
        errors: {},
        values: { from: `${year}-01-01`, to: `${year}-12-31` },
        ...extra,
      },
      status,
    );
  }

  router.get('/supervision/screenings', async (ctx) => listPage(ctx, await web.permit(ctx, (a) => can(a, 'view_screenings', null))));

  router.post('/supervision/screenings', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'run_screening', null));
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    await web.formStep(
      ctx,
      '/supervision/screenings',
      async () => {
        const { id, existing } = await requestScreening(web.core, actor, validate(screeningSchema, body));
        return { to: `/supervision/screenings/${id}`, message: existing ? '相同期间的筛查正在排队或运行中，未重复申请' : '已申请，正在后台排队筛查；本页显示进度' };
      },
      (extra, status) => listPage(ctx, actor, { ...extra, values: { ...body, _csrf: undefined } }, status),
    );
  });

  router.get('/supervision/screenings/:id', async (ctx) => {
    const actor = web.actor(ctx);
    const run = await screeningFor(web.core, actor, requireId(ctx.params.id, '筛查'));
    const hits = run.state === 'done' ? await screeningHits(db, run.id) : [];
    const gone = run.state === 'done' ? await hitsGoneSince(db, run) : [];
    const rules = SCREENING_RULES.map((rule) => {
      const mine = hits.filter((h) => h.rule === rule.code);
      const left = gone.filter((h) => h.rule === rule.code);
      return {
        code: rule.code,
        label: rule.label,
        description: rule.description,
        count: mine.length,
        fresh: mine.filter((h) => h.status === 'new').length,
        again: mine.filter((h) => h.status === 'again').length,
        gone: left.length,
        amount: formatYuan(mine.reduce((sum, h) => sum + Number(h.amount_fen), 0)),
        hits: mine.slice(0, HITS_SHOWN).map(presentHit),
        more: Math.max(0, mine.length - HITS_SHOWN),
      };
    });
    const data = {
      title: `比对筛查 #${run.id}`,
      r: presentRun(run),
      rules,
      gone: gone.map((h) => ({ ...presentHit(h), rule: SCREENING_RULES.find((r) => r.code === h.rule)?.label ?? h.rule })),
      previousHref: run.previous_id === null ? null : `/supervision/screenings/${run.previous_id}`,
      previousId: run.previous_id,
      polling: run.state === 'queued' || run.state === 'running',
    };
    // htmx polling asks for the progress block alone.
    if (ctx.get('HX-Target') === 'screening-progress') return web.render(ctx, 'supervision/_screening-progress.njk', data);
    web.render(ctx, 'supervision/screening.njk', data);
  });
}
