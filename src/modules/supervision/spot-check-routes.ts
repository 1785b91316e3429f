import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { hasRole } from '../../core/auth/roles.ts';
import { requireId, validate } from '../../core/http/validate.ts';
import { listRegionsInScope } from '../../core/regions.ts';
import { formatYuan } from '../../core/money.ts';
import type { Web } from '../../core/web/web.ts';
import { ROUND_STATES, roundsWithMoney } from '../batch/index.ts';
import { DRAW_METHOD_LABEL } from './draw.ts';
import { answerFinding, closeFinding, findingFor, findingsQuery } from './findings.ts';
import { can } from './policy.ts';
import { CONCLUSIONS, FINDING_SOURCES, FINDING_STATES, OUTCOMES, PHASE_HINT, PHASES, SCOPES, UNITS, type Unit, drawSchema, findingFilters, visitSchema } from './spot-check-schemas.ts';
import { type SampleRow, countOf, drawSpotCheck, itemColumn, recheckSample, recordVisit, sampleInScope, sampleItems } from './spot-checks.ts';

const options = (o: Record<string, string>) => Object.entries(o).map(([value, label]) => ({ value, label }));
const PAGE_SIZE = 50;

/**
 * The spot checks' pages (抽查, /supervision/samples) and the findings' (问题线索, /supervision/findings). The routes
 * parse and render; the rules are in policy.ts, the steps in spot-checks.ts and findings.ts.
 */
export function spotCheckRoutes(router: Router, web: Web): void {
  const { db } = web.core;

  async function samplesPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const rounds = await roundsWithMoney(db, actor, Object.keys(ROUND_STATES) as (keyof typeof ROUND_STATES)[]);
    const samples = await db('supervision_sample as s')
      .where('s.region_path', 'like', `${actor.regionPath}%`)
      .orderBy('s.id', 'desc')
      .limit(100)
      .select('s.id', 's.round_id', 's.village_id', 's.phase', 's.unit', 's.population', 's.size', 's.seed', 's.drawn_at');
    const titles = new Map(rounds.map((r) => [r.id, r.title]));
    const villages = (await listRegionsInScope(db, actor)).filter((r) => r.level === 'village');
    web.render(ctx, 'supervision/samples.njk', {
      title: '抽查',
      rounds: rounds.map((r) => ({ value: r.id, label: `${r.title}（${ROUND_STATES[r.state]}）` })),
      villages: villages.map((v) => ({ value: v.id, label: v.name })),
      phases: options(PHASES),
      phaseHint: PHASE_HINT,
      scopes: options(SCOPES),
      units: options(UNITS),
      samples: samples.map((s: { id: number; round_id: number; phase: keyof typeof PHASES; unit: Unit; population: number; size: number; drawn_at: string }) => ({ ...s, round: titles.get(s.round_id) ?? `批次 ${s.round_id}`, phase: PHASES[s.phase], unit: UNITS[s.unit], population: countOf(s.unit, s.population), drawn_at: String(s.drawn_at).slice(0, 16).replace('T', ' ') })),
      values: { unit: 'line' },
      errors: {},
      ...extra,
    }, status);
  }

  router.get('/supervision/samples', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'view_samples', null));
    await samplesPage(ctx, actor);
  });

  router.post('/supervision/samples', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'draw_sample', null));
    await web.formStep(
      ctx,
      '/supervision/samples',
      async () => {
        const input = validate(drawSchema, ctx.request.body);
        const drawn = await drawSpotCheck(web.core, actor, input);
        return { message: `已从 ${countOf(input.unit, drawn.population)}中抽取 ${input.unit === 'person' ? `${drawn.size} 人` : `${drawn.size} 条`}`, to: `/supervision/samples/${drawn.id}` };
      },
      (extra, status) => samplesPage(ctx, actor, extra, status),
    );
  });

  async function samplePage(ctx: Context, sample: SampleRow, extra: Record<string, unknown> = {}) {
    const items = await sampleItems(db, sample.id);
    const names = new Map((await db('core_region').whereIn('id', [...new Set(items.flatMap((i) => [i.township_id, i.village_id]))]).select('id', 'name')).map((r: { id: number; name: string }) => [r.id, r.name]));
    const round = (await roundsWithMoney(db, web.actor(ctx), Object.keys(ROUND_STATES) as (keyof typeof ROUND_STATES)[])).find((r) => r.id === sample.round_id);
    web.render(ctx, 'supervision/sample.njk', {
      title: `抽查 ${sample.id}`,
      sample: { ...sample, phase: PHASES[sample.phase], unitLabel: UNITS[sample.unit], populationLabel: countOf(sample.unit, sample.population), scopeLabel: SCOPES[sample.scope], round: round?.title ?? `批次 ${sample.round_id}`, village: sample.village_id ? (await db('core_region').where({ id: sample.village_id }).first('name'))?.name : null, methodLabel: DRAW_METHOD_LABEL, drawn_at: String(sample.drawn_at).slice(0, 16).replace('T', ' ') },
      items: items.map((i) => ({ ...i, township: names.get(i.township_id), village: names.get(i.village_id), amount: formatYuan(i.amount_fen) })),
      ...extra,
    });
  }

  router.get('/supervision/samples/:id', async (ctx) => {
    const actor = web.actor(ctx);
    await samplePage(ctx, await sampleInScope(web.core, actor, requireId(ctx.params.id, '抽查')));
  });

  router.get('/supervision/samples/:id/recheck', async (ctx) => {
    const actor = web.actor(ctx);
    const sample = await sampleInScope(web.core, actor, requireId(ctx.params.id, '抽查'));
    const recorded = (await db('supervision_sample_item').where({ sample_id: sample.id }).orderBy('position').pluck(itemColumn(sample.unit))).map(Number);
    const recheck = await recheckSample(web.core, sample, recorded);
    await samplePage(ctx, sample, { recheck: { ...recheck, populationNowLabel: countOf(sample.unit, recheck.populationNow) } });
  });

  async function visitPage(ctx: Context, sample: SampleRow, itemId: number, extra: Record<string, unknown> = {}, status = 200) {
    const item = (await sampleItems(db, sample.id)).find((i) => i.id === itemId);
    if (!item) return ctx.throw(404, '抽查对象不存在');
    web.render(ctx, 'supervision/visit.njk', { title: `登记走访核实（抽查 ${sample.id} 第 ${item.position} 条）`, sample, item: { ...item, amount: formatYuan(item.amount_fen) }, outcomes: options(OUTCOMES), values: {}, errors: {}, ...extra }, status);
  }

  router.get('/supervision/samples/:id/items/:item', async (ctx) => {
    const sample = await sampleInScope(web.core, web.actor(ctx), requireId(ctx.params.id, '抽查'));
    await visitPage(ctx, sample, requireId(ctx.params.item, '抽查对象'));
  });

  router.post('/supervision/samples/:id/items/:item', async (ctx) => {
    const actor = web.actor(ctx);
    const sampleId = requireId(ctx.params.id, '抽查');
    const itemId = requireId(ctx.params.item, '抽查对象');
    await web.formStep(
      ctx,
      `/supervision/samples/${sampleId}`,
      async () => {
        await sampleInScope(web.core, actor, sampleId);
        const { findingId } = await recordVisit(web.core, actor, sampleId, itemId, validate(visitSchema, ctx.request.body));
        return findingId ? { message: `已登记走访结果；核实不属实，已生成问题线索 ${findingId} 并交责任单位限时答复`, to: `/supervision/findings/${findingId}` } : '已登记走访结果';
      },
      async (extra, status) => visitPage(ctx, await sampleInScope(web.core, actor, sampleId), itemId, extra, status),
    );
  });

  router.get('/supervision/findings', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'view_findings', null));
    const query = validate(findingFilters, ctx.query);
    const q = findingsQuery(db, actor, { state: query.state, source: query.source });
    const total = Number((await q.clone().clearSelect().count({ n: '*' }).first())?.n ?? 0);
    const rows: { id: number; title: string; state: keyof typeof FINDING_STATES; source: keyof typeof FINDING_SOURCES; region_name: string; department_name: string | null; opened_at: string }[] = await q.orderBy('f.id', 'desc').limit(PAGE_SIZE).offset((query.page - 1) * PAGE_SIZE);
    const base = new URLSearchParams({ ...(query.state ? { state: query.state } : {}), ...(query.source ? { source: query.source } : {}) }).toString();
    web.render(ctx, 'supervision/findings.njk', {
      title: '问题线索',
      rows: rows.map((r) => ({ ...r, state: FINDING_STATES[r.state], source: FINDING_SOURCES[r.source], opened_at: String(r.opened_at).slice(0, 10) })),
      filter: query,
      states: options(FINDING_STATES),
      sources: options(FINDING_SOURCES),
      pager: { page: query.page, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)), base, total },
    });
  });

  async function findingPage(ctx: Context, actor: Actor, findingId: number, extra: Record<string, unknown> = {}, status = 200) {
    const f = await findingFor(web.core, actor, findingId);
    const clock = await db('core_deadline').where({ rule: 'supervision_finding', object_type: 'supervision_finding', object_id: String(f.id) }).orderBy('id', 'desc').first('due_on', 'state');
    web.render(ctx, 'supervision/finding.njk', {
      title: `问题线索 ${f.id}`,
      f: { ...f, stateLabel: FINDING_STATES[f.state], sourceLabel: FINDING_SOURCES[f.source as keyof typeof FINDING_SOURCES] ?? f.source, conclusionLabel: f.conclusion ? CONCLUSIONS[f.conclusion as keyof typeof CONCLUSIONS] : null, recover: f.recover_fen === null ? null : formatYuan(Number(f.recover_fen)) },
      clock,
      canAnswer: can(actor, 'answer_finding', f).ok,
      canClose: can(actor, 'close_finding', f).ok,
      isSupervisor: hasRole(actor, 'supervisor'),
      conclusions: options(CONCLUSIONS),
      values: {},
      errors: {},
      ...extra,
    }, status);
  }

  router.get('/supervision/findings/:id', async (ctx) => {
    await findingPage(ctx, web.actor(ctx), requireId(ctx.params.id, '问题线索'));
  });

  // The finding's two steps: the responsible unit answers, the supervisor closes (findings.ts decides and records).
  const steps = [
    { path: 'answer', run: answerFinding, done: '已答复，等待监督检查人员办结' },
    { path: 'close', run: closeFinding, done: '问题线索已办结' },
  ];
  for (const step of steps) {
    router.post(`/supervision/findings/:id/${step.path}`, async (ctx) => {
      const actor = web.actor(ctx);
      const id = requireId(ctx.params.id, '问题线索');
      await web.formStep(
        ctx,
        `/supervision/findings/${id}`,
        async () => {
          await step.run(web.core, actor, id, ctx.request.body);
          return step.done;
        },
        (extra, status) => findingPage(ctx, actor, id, extra, status),
      );
    });
  }
}
