import { recordAudit } from '../../core/audit.ts';
import { type Actor, type Role, hasRole } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { businessDate, isBusinessDate } from '../../core/dates.ts';
import { type Tx, inTransaction, nowIso } from '../../core/db.ts';
import { closeDeadline, defineDeadlineRule, openDeadline } from '../../core/deadlines.ts';
import { ConflictError, ForbiddenError, ValidationError } from '../../core/errors.ts';
import { runChecks } from './checks/engine.ts';
import { recordHistory } from './commands.ts';
import { ROSTER_STATES, type RosterState } from './model.ts';
import { type RosterRow, type RoundRow, rosterInScope } from './repo.ts';

/**
 * The roster's state machine (steps 3–6 of the flow), in one place: each action names the states it leaves, the
 * state it reaches, the role that takes it, whether a reason is required, and the four-eyes rule. Checks run
 * again before every step forward. Each waiting state runs a clock (限时办理, working days, per county).
 */
defineDeadlineRule({ code: 'batch_check', label: '清册复核比对', days: 3, unit: 'working', responsible: ['township_finance'], basis: '限时办理（县级设置，默认 3 个工作日）' });
defineDeadlineRule({ code: 'batch_submit', label: '复核后上报主管部门', days: 2, unit: 'working', responsible: ['township_station'], basis: '限时办理（县级设置，默认 2 个工作日）' });
defineDeadlineRule({ code: 'batch_review', label: '主管部门审核清册', days: 5, unit: 'working', responsible: ['department'], basis: '限时办理（县级设置，默认 5 个工作日）' });
defineDeadlineRule({ code: 'batch_publicity', label: '审核后张榜公示', days: 3, unit: 'working', responsible: ['township_station'], basis: '限时办理（县级设置，默认 3 个工作日）' });
defineDeadlineRule({ code: 'batch_confirm', label: '公示结束后确认', days: 3, unit: 'working', responsible: ['township_finance'], basis: '限时办理（县级设置，默认 3 个工作日，自公示开始计）' });
defineDeadlineRule({ code: 'batch_report', label: '公示后再次上报', days: 2, unit: 'working', responsible: ['township_station'], basis: '限时办理（县级设置，默认 2 个工作日）' });

/** Publicity lasts at least this many days, both ends included (Qinghai 二(四)11, Chongqing 二(八)). */
export const MIN_PUBLICITY_DAYS = 7;

export type RosterAction = 'send_check' | 'return_check' | 'confirm_check' | 'submit' | 'approve' | 'return' | 'start_publicity' | 'confirm_publicity' | 'return_publicity' | 'report';

interface Transition {
  label: string;
  from: RosterState[];
  to: RosterState;
  roles: Role[];
  reason: boolean;
  /** Whoever last changed the roster's lines may not take this step. */
  fourEyes: boolean;
  /** Run the checks first and refuse while a blocking finding (or, if set, an open warning) remains. */
  checks: 'none' | 'blocking' | 'all';
  /** The clock this step stops, and the one it starts for the next. */
  closes: string | null;
  opens: string | null;
}

export const ROSTER_TRANSITIONS: Record<RosterAction, Transition> = {
  send_check: { label: '送财政所复核比对', from: ['draft'], to: 'checking', roles: ['township_station'], reason: false, fourEyes: false, checks: 'none', closes: null, opens: 'batch_check' },
  return_check: { label: '退回经办站所修改', from: ['checking'], to: 'draft', roles: ['township_finance'], reason: true, fourEyes: false, checks: 'none', closes: 'batch_check', opens: null },
  confirm_check: { label: '复核比对通过', from: ['checking'], to: 'checked', roles: ['township_finance'], reason: false, fourEyes: true, checks: 'all', closes: 'batch_check', opens: 'batch_submit' },
  submit: { label: '上报主管部门', from: ['checked'], to: 'submitted', roles: ['township_station'], reason: false, fourEyes: false, checks: 'all', closes: 'batch_submit', opens: 'batch_review' },
  approve: { label: '审核通过，交乡镇公示', from: ['submitted'], to: 'approved', roles: ['department'], reason: false, fourEyes: true, checks: 'all', closes: 'batch_review', opens: 'batch_publicity' },
  return: { label: '退回乡镇修改', from: ['submitted', 'reported'], to: 'draft', roles: ['department'], reason: true, fourEyes: false, checks: 'none', closes: 'batch_review', opens: null },
  start_publicity: { label: '开始公示', from: ['approved'], to: 'publicity', roles: ['township_station'], reason: false, fourEyes: false, checks: 'none', closes: 'batch_publicity', opens: 'batch_confirm' },
  return_publicity: { label: '公示有异议，退回修改', from: ['publicity'], to: 'draft', roles: ['township_finance'], reason: true, fourEyes: false, checks: 'none', closes: 'batch_confirm', opens: null },
  confirm_publicity: { label: '确认公示结果', from: ['publicity'], to: 'confirmed', roles: ['township_finance'], reason: false, fourEyes: true, checks: 'all', closes: 'batch_confirm', opens: 'batch_report' },
  report: { label: '再次上报主管部门', from: ['confirmed'], to: 'reported', roles: ['township_station'], reason: false, fourEyes: false, checks: 'all', closes: 'batch_report', opens: null },
};

/** The actions an actor may take on a roster now (for the page's buttons; the command checks again). */
export function availableActions(actor: Actor, round: RoundRow, roster: RosterRow): RosterAction[] {
  if (round.state !== 'compiling') return [];
  return (Object.keys(ROSTER_TRANSITIONS) as RosterAction[]).filter((a) => {
    const t = ROSTER_TRANSITIONS[a];
    return t.from.includes(roster.state) && hasRole(actor, ...t.roles) && (!t.roles.includes('department') || actor.orgId === round.department_org_id);
  });
}

export interface ActionInput {
  /** The roster version the page showed: a step over someone else's is refused. */
  version: number;
  reason?: string | null;
  publicityStart?: string;
  publicityEnd?: string;
}

/**
 * Take one step on a roster. The update is guarded by state and version, so two people acting on the same roster
 * at once cannot both succeed: the second gets a conflict.
 */
export async function actOnRoster(core: Core, actor: Actor, rosterId: number, action: RosterAction, input: ActionInput): Promise<RosterState> {
  const t = ROSTER_TRANSITIONS[action];
  if (!t) throw new ValidationError({ action: '未知的操作' });
  const { roster, round } = await rosterInScope(core.db, actor, rosterId);
  if (!hasRole(actor, ...t.roles)) throw new ForbiddenError(`“${t.label}”不是您的职责`);
  if (t.roles.includes('department') && actor.orgId !== round.department_org_id) throw new ForbiddenError('只有本批次的主管部门可以审核');
  if (round.state !== 'compiling') throw new ConflictError('该批次已汇总上报，清册不能再变动');
  if (!t.from.includes(roster.state)) throw new ConflictError(`清册现为“${ROSTER_STATES[roster.state]}”，不能“${t.label}”`);
  if (t.fourEyes && roster.last_changed_by === actor.userId) throw new ForbiddenError('您最后修改过此清册，不能由您办理下一步（四眼原则）');
  const reason = input.reason?.trim() || null;
  if (t.reason && !reason) throw new ValidationError({ reason: '请填写退回原因' });
  const publicity = action === 'start_publicity' ? publicityDates(input) : null;
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
        ...(publicity ? { publicity_start: publicity.start, publicity_end: publicity.end } : {}),
        updated_at: nowIso(),
        version: input.version + 1,
      });
    if (updated !== 1) throw new ConflictError('清册已被他人处理或修改，请刷新后再试');
    const deadline = { objectType: 'roster', objectId: roster.id };
    if (t.closes) await closeDeadline(trx, actor, { rule: t.closes, ...deadline, outcome: 'done' });
    if (t.opens) {
      await openDeadline(trx, actor, {
        rule: t.opens,
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

function publicityDates(input: ActionInput): { start: string; end: string } {
  const start = input.publicityStart ?? '';
  const end = input.publicityEnd ?? '';
  const errors: Record<string, string> = {};
  if (!isBusinessDate(start)) errors.publicityStart = '请填写公示开始日期（YYYY-MM-DD）';
  if (!isBusinessDate(end)) errors.publicityEnd = '请填写公示结束日期（YYYY-MM-DD）';
  else if (isBusinessDate(start) && daysBetween(start, end) + 1 < MIN_PUBLICITY_DAYS) errors.publicityEnd = `公示期不得少于 ${MIN_PUBLICITY_DAYS} 天（含首尾两天）`;
  if (isBusinessDate(start) && start < businessDate()) errors.publicityStart = '公示开始日期不能早于今天';
  if (Object.keys(errors).length) throw new ValidationError(errors);
  return { start, end };
}

const daysBetween = (a: string, b: string) => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);

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
