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
import { can, publicityStep } from './policy.ts';
import { type RosterRow, type RoundRow, rosterInScope } from './repo.ts';

/**
 * Taking a step of the roster's state machine (ROSTER_TRANSITIONS in model.ts; who may take it: policy.ts). Each
 * waiting state runs a clock (限时办理, working days, the length set per county: deadlines.ts).
 */

/** What a step carries, as actSchema (schemas.ts) checked it: the roster version the page showed (a step over someone else's is refused), the reason of a return. */
export type ActionInput = Omit<ActInput, 'action' | 'reason'> & Partial<Pick<ActInput, 'reason'>>;

/**
 * Take one step on a roster. The update is guarded by state and version, so two people acting on the same roster
 * at once cannot both succeed: the second gets a conflict. The start of a roster's publicity is not taken here: it
 * is the publication of its notice (the publicity module's publishNotice, which calls beginPublicity).
 */
export async function actOnRoster(core: Core, actor: Actor, rosterId: number, action: RosterAction, input: ActionInput): Promise<RosterState> {
  const t = ROSTER_TRANSITIONS[action];
  if (action === 'start_publicity') throw new ConflictError('开始公示即发布公示：请在清册的“公示”页面发布');
  const { roster, round } = await rosterInScope(core.db, actor, rosterId);
  await authorize(core.db, actor, can(actor, action, { round, roster }), { objectType: 'roster', objectId: roster.id });
  const reason = input.reason ?? null;
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
        updated_at: nowIso(),
        version: input.version + 1,
      });
    if (updated !== 1) throw new ConflictError('清册已被他人处理或修改，请刷新后再试');
    const deadline = { objectType: 'roster', objectId: roster.id };
    if (t.closes) await closeDeadline(trx, actor, { rule: t.closes, ...deadline, outcome: 'done' });
    if (t.opens) await openDeadline(trx, actor, { rule: BATCH_DEADLINES[t.opens], ...deadline, regionId: roster.township_id, title: `${round.title}（${roster.township_name}）：${ROSTER_STATES[t.to]}` });
    await recordHistory(trx, actor, { roundId: round.id, rosterId: roster.id, action, from: roster.state, to: t.to, reason });
    await recordAudit(trx, actor, { action: `batch.roster.${action}`, objectType: 'roster', objectId: roster.id, summary: { round: round.id, from: roster.state, to: t.to, reason } });
    return t.to;
  });
  if (outcome instanceof ConflictError) throw outcome;
  return outcome;
}

/**
 * The roster's side of a publication (called by the publicity module's publishNotice inside its transaction, after it
 * authorized the step with can()): the period from the day of publication for the days chosen (at least
 * MIN_PUBLICITY_DAYS, both ends counted, Qinghai 二(四)11). Before payment the roster moves to 公示中 and the
 * confirmation clock starts at the period's end; an 应急救助 roster paid before its publicity (事后公示) keeps its
 * state and its post-payment publicity clock stops. Guarded by state and version like every step.
 */
export async function beginPublicity(trx: Tx, actor: Actor, on: { roster: RosterRow; round: RoundRow; version: number }, period: { start: string; end: string }): Promise<void> {
  const { roster, round } = on;
  if (daysInclusive(period.start, period.end) < MIN_PUBLICITY_DAYS) throw new ValidationError({ days: `公示期不得少于 ${MIN_PUBLICITY_DAYS} 天（含首尾两天）` });
  const action = publicityStep(round);
  const t = ROSTER_TRANSITIONS.start_publicity;
  const deadline = { objectType: 'roster', objectId: roster.id };
  const guard = action === 'start_publicity' ? trx('batch_roster').where({ id: roster.id, state: 'approved', version: on.version }) : trx('batch_roster').where({ id: roster.id, state: 'reported', version: on.version }).whereNull('publicity_start');
  const updated = await guard.update({ ...(action === 'start_publicity' ? { state: t.to } : {}), publicity_start: period.start, publicity_end: period.end, updated_at: nowIso(), version: on.version + 1 });
  if (updated !== 1) throw new ConflictError('清册已被他人处理或修改，请刷新后再试');
  const text = `${action === 'start_publicity' ? '公示期' : '事后公示'} ${period.start} 至 ${period.end}`;
  if (action === 'start_publicity') {
    await closeDeadline(trx, actor, { rule: t.closes!, ...deadline, outcome: 'done' });
    await openDeadline(trx, actor, { rule: BATCH_DEADLINES[t.opens!], ...deadline, regionId: roster.township_id, title: `${round.title}（${roster.township_name}）：${ROSTER_STATES[t.to]}`, startedOn: period.end });
    await recordHistory(trx, actor, { roundId: round.id, rosterId: roster.id, action, from: roster.state, to: t.to, reason: text });
    await recordAudit(trx, actor, { action: 'batch.roster.start_publicity', objectType: 'roster', objectId: roster.id, summary: { round: round.id, from: roster.state, to: t.to, publicity: period } });
  } else {
    await closeDeadline(trx, actor, { rule: BATCH_DEADLINES.post_payment_publicity.code, ...deadline, outcome: 'done' });
    await recordHistory(trx, actor, { roundId: round.id, rosterId: roster.id, action: 'post_publicity', reason: text });
    await recordAudit(trx, actor, { action: 'batch.roster.post_publicity', objectType: 'roster', objectId: roster.id, summary: { round: round.id, publicity: period } });
  }
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
