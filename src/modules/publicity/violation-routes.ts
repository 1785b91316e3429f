import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { formatDateTime } from '../../core/dates.ts';
import { requireId, validate } from '../../core/http/validate.ts';
import { formatYuan } from '../../core/money.ts';
import { type Region, findRegion, listRegionsInScope } from '../../core/regions.ts';
import type { Web } from '../../core/web/web.ts';
import { can } from './policy.ts';
import { FACTS_MAX, FACTS_MIN, recoverySchema, violationSchema, withdrawViolationSchema } from './violation-schemas.ts';
import { approveViolation, publishViolation, recordRecovery, recoveriesOf, recoveryTotals, violationPolicies, violationsInScope, withdrawViolation } from './violations.ts';
import type { Fen } from '../../core/money.ts';

const LEVEL_INDENT: Record<string, string> = { county: '', township: '　', village: '　　' };

/** A row's form errors keyed as its fields are named on the list page (`<field>_<id>`), so that the summary links to them. */
const rowErrors = (extra: Record<string, unknown>, id: number) => Object.fromEntries(Object.entries((extra.errors as Record<string, string>) ?? {}).map(([k, v]) => [`${k}_${id}`, v]));

/**
 * 违规问题曝光, staff side: the supervisors' page of what they published in their region, the form to publish one
 * and, per published one, the form to withdraw it with a reason. The portal's list is in column-routes.ts.
 */
export function violationRoutes(router: Router, web: Web): void {
  const { db } = web.core;

  /** Where a violation may be placed: the county, townships and villages of the supervisor's region. */
  async function placesOf(actor: Actor): Promise<Region[]> {
    return (await listRegionsInScope(db, actor)).filter((r) => ['county', 'township', 'village'].includes(r.level));
  }

  async function page(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const places = await placesOf(actor);
    const county = places.find((r) => r.level === 'county') ?? (await findRegion(db, actor.regionId));
    const names = new Map(places.map((r) => [r.id, r.name]));
    const rows = await violationsInScope(db, actor);
    const entries = await recoveriesOf(db, rows.map((r) => r.id));
    web.render(
      ctx,
      'publicity/violations.njk',
      {
        title: '违规问题曝光',
        places: places.map((r) => ({ value: r.id, label: `${LEVEL_INDENT[r.level] ?? ''}${r.name}` })),
        policies: county ? await violationPolicies(db, county) : [],
        factsMin: FACTS_MIN,
        factsMax: FACTS_MAX,
        publicHref: county?.level === 'county' ? `/public/violations?county=${county.id}` : '/public/violations',
        rows: rows.map((r) => ({
          id: r.id,
          place: [r.township_id, r.village_id].filter((id): id is number => id !== null).map((id) => names.get(id) ?? '').join('') || '全县',
          policy: r.policy_name ?? '',
          title: r.title,
          facts: r.facts,
          involved: formatYuan(r.involved_fen),
          ...(() => {
            const list = entries.get(r.id) ?? [];
            const totals = recoveryTotals(r, list);
            return {
              recovered: formatYuan(totals.recovered as Fen),
              toRecover: formatYuan(totals.toRecover as Fen),
              outstanding: formatYuan(totals.outstanding as Fen),
              recoveries: list.map((e) => ({ on: e.recovered_on, amount: formatYuan(e.amount_fen), doc: e.doc_number })),
            };
          })(),
          proposed: r.state === 'proposed',
          canApprove: can(actor, 'approve_violation', { path: actor.regionPath, state: r.state, published_by: r.published_by, withdrawn_at: r.withdrawn_at }).ok,
          canRecover: r.withdrawn_at === null && can(actor, 'record_recovery', { path: actor.regionPath, withdrawn_at: r.withdrawn_at }).ok,
          handling: r.handling,
          doc: `${r.doc_number}（${r.doc_date}）`,
          publishedAt: formatDateTime(r.published_at),
          withdrawn: r.withdrawn_at ? `${formatDateTime(r.withdrawn_at)} 撤回：${r.withdraw_reason ?? ''}` : null,
          canWithdraw: can(actor, 'withdraw_violation', { path: actor.regionPath, withdrawn_at: r.withdrawn_at }).ok,
        })),
        errors: {},
        values: {},
        ...extra,
      },
      status,
    );
  }

  const supervisor = (ctx: Context) => web.permit(ctx, (a) => can(a, 'publish_violation', { path: a.regionPath }));

  router.get('/publicity/violations', async (ctx) => page(ctx, await supervisor(ctx)));

  router.post('/publicity/violations', async (ctx) => {
    const actor = await supervisor(ctx);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    await web.formStep(
      ctx,
      '/publicity/violations',
      async () => {
        await publishViolation(web.core, actor, validate(violationSchema, body));
        return '已提议公开曝光：须由另一名监督人员审核同意后在门户网站公开';
      },
      (extra, status) => page(ctx, actor, { values: { ...body, _csrf: undefined }, ...extra }, status),
    );
  });

  router.post('/publicity/violations/:id/withdraw', async (ctx) => {
    const actor = await supervisor(ctx);
    const id = requireId(ctx.params.id, '曝光');
    await web.formStep(
      ctx,
      '/publicity/violations',
      () => withdrawViolation(web.core, actor, id, validate(withdrawViolationSchema, ctx.request.body).reason),
      (extra, status) => page(ctx, actor, { ...extra, withdrawFor: id, withdrawValues: extra.values ?? ctx.request.body, errors: rowErrors(extra, id) }, status),
    );
  });

  router.post('/publicity/violations/:id/approve', async (ctx) => {
    const actor = await supervisor(ctx);
    const id = requireId(ctx.params.id, '曝光');
    await web.formStep(ctx, '/publicity/violations', () => approveViolation(web.core, actor, id), (extra, status) => page(ctx, actor, extra, status));
  });

  router.post('/publicity/violations/:id/recoveries', async (ctx) => {
    const actor = await supervisor(ctx);
    const id = requireId(ctx.params.id, '曝光');
    await web.formStep(
      ctx,
      '/publicity/violations',
      () => recordRecovery(web.core, actor, id, validate(recoverySchema, ctx.request.body)),
      (extra, status) => page(ctx, actor, { ...extra, recoverFor: id, recoverValues: extra.values ?? ctx.request.body, errors: rowErrors(extra, id) }, status),
    );
  });
}
