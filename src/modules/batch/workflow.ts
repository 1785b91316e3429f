import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import { businessDate } from '../../core/dates.ts';
import { type Tx, inTransaction, nowIso } from '../../core/db.ts';
import { closeDeadline, openDeadline } from '../../core/deadlines.ts';
import { ConflictError, ValidationError } from '../../core/errors.ts';
import { daysInclusive } from '../../core/fields.ts';
import { runChecks } from './checks/engine.ts';
import { recordHistory } from './commands.ts';
import { BATCH_DEADLINES } from './deadlines.ts';
import { MIN_PUBLICITY_DAYS, ROSTER_STATES, ROSTER_TRANSITIONS, type RosterAction, type RosterState } from './model.ts';
import type { ActInput } from './schemas.ts';
import { can } from './policy.ts';
import { releasedAt } from './queries.ts';
import { type RosterRow, type RoundRow, rosterInScope } from './repo.ts';

/**
 * Taking a step of the roster's state machine (ROSTER_TRANSITIONS in model.ts; who may take it: policy.ts). Each
 * waiting state runs a clock (限时办理, working days, the length set per county: deadlines.ts).
 */

/**
 * What a step carries, as actSchema (schemas.ts) checked it: the roster version the page showed (a step over
 * someone else's is refused), the reason of a return, the publicity period of its start.
 */
export type ActionInput = Omit<ActInput, 'action' | 'reason' | 'publicityStart' | 'publicityEnd'> & Partial<Pick<ActInput, 'reason' | 'publicityStart' | 'publicityEnd'>>;

/**
 * Take one step on a roster. The update is guarded by state and version, so two people acting on the same roster
 * at once cannot both succeed: the second gets a conflict.
 */
export async function actOnRoster(core: Core, actor: Actor, rosterId: number, action: RosterAction, input: ActionInput): Promise<RosterState> {
  const t = ROSTER_TRANSITIONS[action];
  const { roster, round } = await rosterInScope(core.db, actor, rosterId);
  await authorize(core.db, actor, can(actor, action, { round, roster }), { objectType: 'roster', objectId: roster.id });
  const reason = input.reason ?? null;
  const publicity = action === 'start_publicity' && input.publicityStart && input.publicityEnd ? { start: input.publicityStart, end: input.publicityEnd } : null;
  if (action === 'confirm_publicity') await assertPublicityOver(core, roster);

  const outcome = await inTransaction(core.db, async (trx): Promise<RosterState | ConflictError> => {
    // A failed check still commits its findings (they are what the user must fix), but not the step.
    if (t.checks !== 'none') {
      const problem = await checksProblem(trx, round, roster, t.checks);
      if (problem) return problem;
    }
    if (action === 'send_check' && !(await trx('batch_line').where({ roster_id: roster.id, state: 'active' }).first('id'))) throw new ValidationError({ action: '清册中还没有发放明细' });
    const updated = await trx('batch_roster')
      .where({ id: roster.id, state: roster.state, version: input.version })
      .update({
        state: t.to,
        return_reason: t.reason ? reason : null,
        // Who approved it: the finance office's confirmation of an 应急救助 roster is never theirs (four-eyes).
        ...(t.roles.includes('department') && !t.reason ? { approved_by: actor.userId } : {}),
        ...(publicity ? { publicity_start: publicity.start, publicity_end: publicity.end } : {}),
        updated_at: nowIso(),
        version: input.version + 1,
      });
    if (updated !== 1) throw new ConflictError('清册已被他人处理或修改，请刷新后再试');
    const deadline = { objectType: 'roster', objectId: roster.id };
    if (t.closes) await closeDeadline(trx, actor, { rule: t.closes, ...deadline, outcome: 'done' });
    if (t.opens) {
      await openDeadline(trx, actor, {
        rule: BATCH_DEADLINES[t.opens],
        ...deadline,
        regionId: roster.township_id,
        title: `${round.title}（${roster.township_name}）：${ROSTER_STATES[t.to]}`,
        startedOn: t.opens === 'batch_confirm' ? publicity?.end : undefined,
      });
    }
    await recordHistory(trx, actor, { roundId: round.id, rosterId: roster.id, action, from: roster.state, to: t.to, reason: publicity ? `公示期 ${publicity.start} 至 ${publicity.end}` : reason });
    await recordAudit(trx, actor, { action: `batch.roster.${action}`, objectType: 'roster', objectId: roster.id, summary: { round: round.id, from: roster.state, to: t.to, reason, publicity } });
    return t.to;
  });
  if (outcome instanceof ConflictError) throw outcome;
  return outcome;
}

/**
 * The publicity of a roster paid before it (a round opened as 应急救助（事后公示）): the station records its dates once
 * the round is released — begun on or after the release and by today (the sheets are up), at least MIN_PUBLICITY_DAYS
 * days as any publicity (Qinghai 二(四)11; the schema checks the length) — which stops the post-payment publicity clock.
 * Objections raised from then on are recorded and resolved as in any publicity; the payment itself stands.
 */
export async function recordPostPaymentPublicity(core: Core, actor: Actor, rosterId: number, input: { version: number; publicityStart: string; publicityEnd: string }): Promise<void> {
  const { roster, round } = await rosterInScope(core.db, actor, rosterId);
  await authorize(core.db, actor, can(actor, 'record_post_publicity', { round, roster }), { objectType: 'roster', objectId: roster.id });
  const released = await releasedAt(core.db, round.id);
  const releasedOn = released ? businessDate(new Date(released)) : businessDate();
  if (input.publicityStart < releasedOn) throw new ValidationError({ publicityStart: `发放后公示应在本批次下达（${releasedOn}）之后开始` });
  if (input.publicityStart > businessDate()) throw new ValidationError({ publicityStart: '请在公示张贴之后登记：公示开始日期不能晚于今天' });
  if (daysInclusive(input.publicityStart, input.publicityEnd) < MIN_PUBLICITY_DAYS) throw new ValidationError({ publicityEnd: `公示期不得少于 ${MIN_PUBLICITY_DAYS} 天（含首尾两天）` });
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('batch_roster')
      .where({ id: roster.id, state: 'reported', version: input.version })
      .whereNull('publicity_start')
      .update({ publicity_start: input.publicityStart, publicity_end: input.publicityEnd, updated_at: nowIso(), version: input.version + 1 });
    if (updated !== 1) throw new ConflictError('清册已被他人处理或修改，请刷新后再试');
    await closeDeadline(trx, actor, { rule: BATCH_DEADLINES.post_payment_publicity.code, objectType: 'roster', objectId: roster.id, outcome: 'done' });
    const period = `事后公示 ${input.publicityStart} 至 ${input.publicityEnd}`;
    await recordHistory(trx, actor, { roundId: round.id, rosterId: roster.id, action: 'post_publicity', reason: period });
    await recordAudit(trx, actor, { action: 'batch.roster.post_publicity', objectType: 'roster', objectId: roster.id, summary: { round: round.id, publicity: { start: input.publicityStart, end: input.publicityEnd } } });
  });
}

async function assertPublicityOver(core: Core, roster: RosterRow): Promise<void> {
  if (!roster.publicity_end || businessDate() <= roster.publicity_end) throw new ConflictError(`公示期至 ${roster.publicity_end} 结束，结束后才能确认`);
  const open = await core.db('batch_objection').where({ roster_id: roster.id }).whereNull('resolved_at').first('id');
  if (open) throw new ConflictError('还有未处理的公示异议');
}

async function checksProblem(trx: Tx, round: RoundRow, roster: RosterRow, level: 'blocking' | 'all'): Promise<ConflictError | null> {
  const summary = await runChecks(trx, round, roster);
  if (summary.blocking > 0) return new ConflictError(`复核比对还有 ${summary.blocking} 个阻断性问题，改正后才能继续`);
  if (level === 'all' && summary.warnings > 0) return new ConflictError(`复核比对还有 ${summary.warnings} 个提示未经财政所核实说明`);
  return null;
}
