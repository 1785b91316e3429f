import { recordAudit } from '../../core/audit.ts';
import { loadActor } from '../../core/auth/actor.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, bulkInsert, countRows, inTransaction, insertReturningId, nowIso, selectInChunks } from '../../core/db.ts';
import { openDeadline } from '../../core/deadlines.ts';
import { NotFoundError } from '../../core/errors.ts';
import { lineFacts, paidLinesOfPeriod } from '../batch/index.ts';
import { SUPERVISION_DEADLINES } from './deadlines.ts';
import { runQueuedJobs } from './jobs.ts';
import { can } from './policy.ts';
import { SCREENING_RULES, sourceRef } from './screening/engine.ts';
import type { ScreeningContext, ScreeningHit } from './screening/rule.ts';
import type { ScreeningInput } from './screening-schemas.ts';

/**
 * Screening (大数据比对筛查, Qinghai 二(六), Chongqing 二(七)): a supervisor queues a run of every rule in
 * screening/engine.ts over the paid lines of a period in their region; the supervision task builds it in the
 * background. Each hit is a finding (supervision_finding, source 'screening'), assigned to the township of the hit's
 * line and its round's department with the working-day clock; a hit found again by a later run is linked to the
 * finding already there instead of opening another, and a run shows what changed since the previous run of the same
 * region and period.
 */
export const SCREENING_STATES = { queued: '排队中', running: '筛查中', done: '已完成', failed: '失败' } as const;

export interface ScreeningRow {
  id: number;
  region_id: number;
  region_path: string;
  period_from: string;
  period_to: string;
  state: keyof typeof SCREENING_STATES;
  requested_by: number;
  requested_at: string;
  started_at: string | null;
  finished_at: string | null;
  rules_done: number;
  rules_total: number;
  lines_screened: number | null;
  hits: number | null;
  opened: number | null;
  previous_id: number | null;
  error: string | null;
}

export interface HitView {
  rule: string;
  source_ref: string;
  finding_id: number;
  status: 'new' | 'again';
  title: string;
  evidence: string;
  line_count: number;
  amount_fen: number;
  finding_state: string;
  conclusion: string | null;
  region_name: string;
}

/** How many of a finding's lines its evidence keeps (the hit's count says how many there were). */
const EVIDENCE_LINES = 200;

/** Queue a run over the actor's region and the period; the same run still queued or running is not queued twice. */
export async function requestScreening(core: Core, actor: Actor, input: ScreeningInput): Promise<{ id: number; existing: boolean }> {
  await authorize(core.db, actor, can(actor, 'run_screening', null), { objectType: 'supervision_screening' });
  return inTransaction(core.db, async (trx) => {
    const same = (await trx('supervision_screening').where({ region_path: actor.regionPath, period_from: input.from, period_to: input.to }).whereIn('state', ['queued', 'running']).first('id')) as { id: number } | undefined;
    if (same) return { id: same.id, existing: true };
    const id = await insertReturningId(trx, 'supervision_screening', {
      region_id: actor.regionId,
      region_path: actor.regionPath,
      period_from: input.from,
      period_to: input.to,
      state: 'queued',
      requested_by: actor.userId,
      requested_at: nowIso(),
      rules_total: SCREENING_RULES.length,
    });
    await recordAudit(trx, actor, { action: 'supervision.screening.request', objectType: 'supervision_screening', objectId: id, summary: { from: input.from, to: input.to } });
    return { id, existing: false };
  });
}

const withRequester = (db: Conn) => db('supervision_screening as x').leftJoin('core_user as u', 'u.id', 'x.requested_by').select('x.*', 'u.display_name as requester');

/** The runs of the actor's scope, newest first (at most 50). */
export async function screeningsInScope(db: Conn, actor: Actor): Promise<(ScreeningRow & { requester: string | null })[]> {
  return withRequester(db).where('x.region_path', 'like', `${actor.regionPath}%`).orderBy('x.id', 'desc').limit(50);
}

export async function screeningFor(core: Core, actor: Actor, id: number): Promise<ScreeningRow & { requester: string | null }> {
  const row = (await withRequester(core.db).where('x.id', id).first()) as (ScreeningRow & { requester: string | null }) | undefined;
  if (!row) throw new NotFoundError('筛查不存在');
  await authorize(core.db, actor, can(actor, 'view_screening', row), { objectType: 'supervision_screening', objectId: id });
  return row;
}

const hitQuery = (db: Conn) =>
  db('supervision_screening_hit as h')
    .join('supervision_finding as f', 'f.id', 'h.finding_id')
    .join('core_region as g', 'g.id', 'f.region_id')
    .select('h.rule', 'h.source_ref', 'h.finding_id', 'h.status', 'h.title', 'h.evidence', 'h.line_count', 'h.amount_fen', 'f.state as finding_state', 'f.conclusion', 'g.name as region_name');

/** A run's hits, by rule in the rules' order, the largest amounts first. */
export async function screeningHits(db: Conn, screeningId: number): Promise<HitView[]> {
  return (await hitQuery(db).where('h.screening_id', screeningId).orderBy('h.amount_fen', 'desc').orderBy('h.id')) as HitView[];
}

/** The previous run's hits this run no longer found (their findings stay as they are: the supervisor closes them). */
export async function hitsGoneSince(db: Conn, run: ScreeningRow): Promise<HitView[]> {
  if (run.previous_id === null) return [];
  return (await hitQuery(db)
    .where('h.screening_id', run.previous_id)
    .whereNotIn('h.source_ref', db('supervision_screening_hit').where('screening_id', run.id).select('source_ref'))
    .orderBy('h.amount_fen', 'desc')
    .orderBy('h.id')) as HitView[];
}

/**
 * The `supervision-screening` part of the supervision task: marks runs cut off by a restart as failed, then builds
 * every queued run, oldest first, each claimed by a conditional update (queued → running) so that two instances never
 * build the same one.
 */
export async function runQueuedScreenings(core: Core): Promise<{ built: number; failed: number }> {
  return runQueuedJobs(core, 'supervision_screening', '筛查中断（服务重启或超时），请重新筛查', (id) => buildScreening(core, id));
}

/** Run every rule (reading, outside any transaction), then record the hits and open the new findings in one transaction. */
async function buildScreening(core: Core, id: number): Promise<void> {
  const run = (await core.db('supervision_screening').where({ id }).first()) as ScreeningRow;
  // The findings are opened, their clocks started and audited as the requesting supervisor's.
  const actor = (await loadActor(core.db, { id: run.requested_by }, null))?.actor;
  if (!actor) throw new Error('申请筛查的用户已不存在');
  const scope = { regionPath: run.region_path, from: run.period_from, to: run.period_to };
  const ctx: ScreeningContext = { db: core.db, scope, lines: () => paidLinesOfPeriod(core.db, scope) };
  const linesScreened = await countRows(ctx.lines());
  const found = new Map<string, { rule: string; hit: ScreeningHit }>();
  for (const [done, rule] of SCREENING_RULES.entries()) {
    for (const hit of await rule.run(ctx)) {
      const ref = sourceRef(rule, hit.subject);
      if (!found.has(ref)) found.set(ref, { rule: rule.code, hit });
    }
    await core.db('supervision_screening').where({ id }).update({ rules_done: done + 1, heartbeat_at: nowIso() });
  }
  const refs = [...found.keys()];
  const existing = new Map(
    ((await selectInChunks(refs, (chunk) => core.db('supervision_finding').where('source', 'screening').whereIn('source_ref', chunk).where('region_path', 'like', `${run.region_path}%`).select('id', 'source_ref'))) as { id: number; source_ref: string }[]).map((f) => [f.source_ref, f.id]),
  );
  // Each new hit is assigned by its line: the roster's township and the round's department.
  const facts = new Map((await lineFacts(core.db, [...found].filter(([ref]) => !existing.has(ref)).map(([, f]) => f.hit.lineId))).map((l) => [Number(l.line_id), l]));
  const townships = new Map(((await selectInChunks([...new Set([...facts.values()].map((l) => Number(l.township_id)))], (chunk) => core.db('core_region').whereIn('id', chunk).select('id', 'path', 'name'))) as { id: number; path: string; name: string }[]).map((t) => [Number(t.id), t]));

  await inTransaction(core.db, async (trx) => {
    const now = nowIso();
    const rows: { ref: string; rule: string; hit: ScreeningHit; findingId: number; status: 'new' | 'again' }[] = [];
    for (const [ref, { rule, hit }] of found) {
      const known = existing.get(ref);
      if (known !== undefined) {
        rows.push({ ref, rule, hit, findingId: known, status: 'again' });
        continue;
      }
      const line = facts.get(hit.lineId)!;
      const township = townships.get(Number(line.township_id))!;
      const findingId = await insertReturningId(trx, 'supervision_finding', {
        source: 'screening',
        source_ref: ref,
        region_id: township.id,
        region_path: township.path,
        department_org_id: line.department_org_id,
        title: hit.title.slice(0, 200),
        evidence: hit.evidence,
        evidence_json: JSON.stringify({ screening: id, rule, lines: hit.lineIds.slice(0, EVIDENCE_LINES), line_count: hit.lineIds.length, amount_fen: hit.amountFen }),
        state: 'open',
        opened_by: actor.userId,
        opened_at: now,
      });
      await openDeadline(trx, actor, { rule: SUPERVISION_DEADLINES.supervision_finding, objectType: 'supervision_finding', objectId: findingId, regionId: township.id, title: `答复问题线索 ${findingId}（${township.name}）` });
      await recordAudit(trx, actor, { action: 'supervision.finding.open', objectType: 'supervision_finding', objectId: findingId, summary: { source: 'screening', screening: id, rule, township: township.id, department: line.department_org_id } });
      rows.push({ ref, rule, hit, findingId, status: 'new' });
    }
    await bulkInsert(trx, 'supervision_screening_hit', rows, (r) => ({
      screening_id: id,
      rule: r.rule,
      source_ref: r.ref,
      finding_id: r.findingId,
      status: r.status,
      title: r.hit.title.slice(0, 200),
      evidence: r.hit.evidence,
      line_count: r.hit.lineIds.length,
      amount_fen: r.hit.amountFen,
    }));
    const previous = (await trx('supervision_screening').where({ region_path: run.region_path, period_from: run.period_from, period_to: run.period_to, state: 'done' }).where('id', '<', id).orderBy('id', 'desc').first('id')) as { id: number } | undefined;
    const opened = rows.filter((r) => r.status === 'new').length;
    await trx('supervision_screening').where({ id }).update({ state: 'done', finished_at: nowIso(), lines_screened: linesScreened, hits: rows.length, opened, previous_id: previous?.id ?? null });
    await recordAudit(trx, actor, { action: 'supervision.screening.run', objectType: 'supervision_screening', objectId: id, summary: { lines: linesScreened, hits: rows.length, opened } });
  });
}
