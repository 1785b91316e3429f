import type { Knex } from 'knex';
import { type Actor, hasRole } from '../../core/auth/roles.ts';
import { recordAudit } from '../../core/audit.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, inTransaction, nowIso } from '../../core/db.ts';
import { closeDeadline } from '../../core/deadlines.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { validate } from '../../core/http/validate.ts';
import { SUPERVISION_DEADLINES } from './deadlines.ts';
import { can } from './policy.ts';
import { answerSchema, closeSchema } from './spot-check-schemas.ts';

/**
 * Findings (问题线索, issue 17 item 3's lifecycle, used by the spot checks now and by the screening rules later): each
 * assigned to a township (and the department of the round's policy) with a working-day clock; the township or the
 * department answers (the clock closes), the supervisor closes it with a conclusion (no_problem / corrected / recover
 * with the amount / referred).
 */
export interface FindingRow {
  id: number;
  source: string;
  source_ref: string;
  region_id: number;
  region_path: string;
  region_name: string;
  department_org_id: number | null;
  department_name: string | null;
  title: string;
  evidence: string;
  state: 'open' | 'answered' | 'closed';
  opened_at: string;
  answer: string | null;
  answered_at: string | null;
  conclusion: string | null;
  recover_fen: number | string | null;
  closing_note: string | null;
  closed_at: string | null;
}

/** The findings the actor sees: a supervisor's region scope; a township's own; a department's own. */
export function findingsQuery(db: Conn, actor: Actor, filters: { state: string | null; source: string | null }): Knex.QueryBuilder {
  const q = db('supervision_finding as f')
    .join('core_region as g', 'g.id', 'f.region_id')
    .leftJoin('core_org as o', 'o.id', 'f.department_org_id')
    .select('f.*', 'g.name as region_name', 'o.name as department_name');
  q.where((w) => {
    if (hasRole(actor, 'supervisor') || (hasRole(actor, 'township_station', 'township_finance') && actor.regionLevel === 'township')) w.orWhere('f.region_path', 'like', `${actor.regionPath}%`);
    if (hasRole(actor, 'department') && actor.orgId !== null) w.orWhere('f.department_org_id', actor.orgId);
    w.orWhereRaw('1 = 0');
  });
  if (filters.state) q.where('f.state', filters.state);
  if (filters.source) q.where('f.source', filters.source);
  return q;
}

/** How many findings wait on the actor: open ones to answer (township, department) or answered ones to close (supervisor). */
export async function findingsWaiting(db: Conn, actor: Actor): Promise<number> {
  const state = hasRole(actor, 'supervisor') ? 'answered' : 'open';
  const row = await findingsQuery(db, actor, { state, source: null }).clearSelect().count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** Open and answered supervision findings in a supervisor's scope (the overview's figure). */
export async function unclosedFindings(db: Conn, actor: Actor): Promise<number> {
  const row = await db('supervision_finding').where('region_path', 'like', `${actor.regionPath}%`).whereIn('state', ['open', 'answered']).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

export async function findingFor(core: Core, actor: Actor, findingId: number): Promise<FindingRow> {
  const row = (await core.db('supervision_finding as f')
    .join('core_region as g', 'g.id', 'f.region_id')
    .leftJoin('core_org as o', 'o.id', 'f.department_org_id')
    .where('f.id', findingId)
    .first('f.*', 'g.name as region_name', 'o.name as department_name')) as FindingRow | undefined;
  if (!row) throw new NotFoundError('问题线索不存在');
  await authorize(core.db, actor, can(actor, 'view_finding', row), { objectType: 'supervision_finding', objectId: findingId });
  return row;
}

/** The township or department answers: the finding is answered, its clock done. */
export async function answerFinding(core: Core, actor: Actor, findingId: number, body: unknown): Promise<void> {
  const finding = await findingFor(core, actor, findingId);
  await authorize(core.db, actor, can(actor, 'answer_finding', finding), { objectType: 'supervision_finding', objectId: findingId });
  // The form is read once the actor may answer: a refused role gets 403, not the form's 422.
  const input = validate(answerSchema, body);
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('supervision_finding').where({ id: findingId, state: 'open' }).update({ state: 'answered', answer: input.answer, answered_by: actor.userId, answered_at: nowIso() });
    if (updated !== 1) throw new ConflictError('该问题线索已答复，请刷新页面');
    await closeDeadline(trx, actor, { rule: SUPERVISION_DEADLINES.supervision_finding.code, objectType: 'supervision_finding', objectId: findingId, outcome: 'done' });
    await recordAudit(trx, actor, { action: 'supervision.finding.answer', objectType: 'supervision_finding', objectId: findingId, summary: { length: input.answer.length } });
  });
}

/** The supervisor closes an answered finding with its conclusion (and, for 追回资金, the amount in fen). */
export async function closeFinding(core: Core, actor: Actor, findingId: number, body: unknown): Promise<void> {
  const finding = await findingFor(core, actor, findingId);
  await authorize(core.db, actor, can(actor, 'close_finding', finding), { objectType: 'supervision_finding', objectId: findingId });
  const input = validate(closeSchema, body);
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('supervision_finding')
      .where({ id: findingId, state: 'answered' })
      .update({ state: 'closed', conclusion: input.conclusion, recover_fen: input.recoverFen, closing_note: input.note, closed_by: actor.userId, closed_at: nowIso() });
    if (updated !== 1) throw new ConflictError('该问题线索已办结，请刷新页面');
    // An answer closed the clock already; a finding closed some other way still stops it.
    await closeDeadline(trx, actor, { rule: SUPERVISION_DEADLINES.supervision_finding.code, objectType: 'supervision_finding', objectId: findingId, outcome: 'done' });
    await recordAudit(trx, actor, { action: 'supervision.finding.close', objectType: 'supervision_finding', objectId: findingId, summary: { conclusion: input.conclusion, recover_fen: input.recoverFen } });
  });
}
