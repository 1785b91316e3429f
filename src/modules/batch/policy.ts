import { ALLOWED, type Decision, firstRefusal, refused } from '../../core/authz.ts';
import { type Actor, type Role, hasRole } from '../../core/auth/roles.ts';
import { ROSTER_STATES, ROSTER_TRANSITIONS, ROUND_STATES, type RosterAction, type RosterState, type RoundState } from './model.ts';

/**
 * Who reads rounds and rosters. Region scope is checked where they are loaded (roundInScope, rosterInScope); so is
 * a department's ('read_round' below, and confinedToDepartment in the lists' queries).
 */
export const BATCH_READERS: readonly Role[] = ['township_station', 'township_finance', 'department', 'finance_section', 'treasury', 'supervisor'];

/**
 * A department user sees only its own department's rounds (those of its policies, round.department_org_id), as it
 * sees only its own failed payments (bank/queries.ts failuresQuery). Holding another role that reads rounds (a
 * township's, the finance section's, the treasury's) they see their region's rounds through that role.
 */
export function confinedToDepartment(actor: Actor): boolean {
  return hasRole(actor, 'department') && !hasRole(actor, ...BATCH_READERS.filter((r) => r !== 'department'));
}

type RoundFacts = { state: RoundState; department_org_id: number; created_by: number; expedited: boolean };
type RosterFacts = { state: RosterState; last_changed_by: number | null; approved_by: number | null; publicity_start: string | null };
type OnRoster = { round: RoundFacts; roster: RosterFacts };

/** What each action is decided on. The roster's steps (ROSTER_TRANSITIONS) are actions of their own. */
type BatchResources = { [A in RosterAction]: OnRoster } & {
  read: null;
  /** A round with its rosters, lines and files, beyond region scope (roundInScope): a department reads its own only. */
  read_round: RoundFacts;
  create_round: null;
  /** Opening a round as 应急救助（事后公示）: only under a policy version marked 突发灾害应急救助. */
  create_expedited_round: { emergencyRelief: boolean };
  create_reissue: RoundFacts;
  /** Mapping a roster file's unknown headers to its columns, kept for the township (core/column-mapping.ts). */
  map_roster_columns: null;
  edit_lines: OnRoster;
  check: OnRoster;
  resolve_finding: OnRoster;
  record_objection: OnRoster;
  /** The station records the dates of a paid 应急救助 roster's publicity (事后公示), once, after the round's release. */
  record_post_publicity: OnRoster;
  resolve_objection: OnRoster;
  return_lines: OnRoster;
  /** The round's payment plan (用款计划): its department enters or corrects it before submitting the round. */
  record_payment_plan: RoundFacts;
  submit_round: RoundFacts;
  return_round: RoundFacts;
  release_round: RoundFacts;
  transfer: RoundFacts;
};
export type BatchAction = keyof BatchResources;

const role = (ok: boolean, reason: string) => () => (ok ? null : refused('role', reason));
const state = (ok: boolean, reason: string) => () => (ok ? null : refused('state', reason));
const ofRound = (actor: Actor, round: RoundFacts) => hasRole(actor, 'department') && actor.orgId === round.department_org_id;
const compiling = (round: RoundFacts) => state(round.state === 'compiling', '该批次已汇总上报，清册不能再变动');
const paid = (round: RoundFacts) => round.state === 'released' || round.state === 'transferred';
/** Whether a roster takes objections now: in its publicity, or a paid 应急救助 roster once its publicity after payment began. */
export const acceptsObjections = (round: RoundFacts, roster: { state: RosterState; publicity_start: string | null }) =>
  roster.state === 'publicity' || (round.expedited && paid(round) && roster.publicity_start !== null);
/** A step of one path only (model.ts RoundPath): an ordinary round is never paid before its publicity, an 应急救助 round is publicised after payment. */
const onPath = (t: { path: string; label: string }, round: RoundFacts) =>
  t.path === 'any' || (t.path === 'expedited') === round.expedited
    ? () => null
    : state(false, round.expedited ? `本批次为应急救助（事后公示），发放后再公示，不办理“${t.label}”` : `本批次不是应急救助（事后公示）批次，须先公示后发放，不能“${t.label}”`);

/** A roster step, derived from its row of ROSTER_TRANSITIONS: role (a department only its own rounds), state, four-eyes. */
function rosterStep(action: RosterAction) {
  const t = ROSTER_TRANSITIONS[action];
  return (actor: Actor, { round, roster }: OnRoster): Decision =>
    firstRefusal(
      role(hasRole(actor, ...t.roles), `“${t.label}”不是您的职责`),
      role(!t.roles.includes('department') || ofRound(actor, round), '只有本批次的主管部门可以审核'),
      compiling(round),
      onPath(t, round),
      state(t.from.includes(roster.state), `清册现为“${ROSTER_STATES[roster.state]}”，不能“${t.label}”`),
      () => (t.fourEyes && roster.last_changed_by === actor.userId ? refused('four_eyes', '您最后修改过此清册，须由另一位同事办理下一步（四眼原则）') : null),
      () => (t.notApprover && roster.approved_by === actor.userId ? refused('four_eyes', '您审核通过了此清册，须由财政所另一位同事确认（四眼原则）') : null),
    );
}

const roundStep = (from: RoundState, who: (actor: Actor, round: RoundFacts) => boolean, reason: string) => (actor: Actor, round: RoundFacts): Decision =>
  firstRefusal(role(who(actor, round), reason), state(round.state === from, `批次现为“${ROUND_STATES[round.state]}”，不能办理此步骤`));

const RULES: { [A in BatchAction]: (actor: Actor, resource: BatchResources[A]) => Decision } = {
  ...(Object.fromEntries((Object.keys(ROSTER_TRANSITIONS) as RosterAction[]).map((a) => [a, rosterStep(a)])) as { [A in RosterAction]: (actor: Actor, r: OnRoster) => Decision }),
  read: (actor) => (hasRole(actor, ...BATCH_READERS) ? ALLOWED : refused('role', '发放批次仅经办、审核和监督人员可以查看')),
  read_round: (actor, round) => (!confinedToDepartment(actor) || ofRound(actor, round) ? ALLOWED : refused('role', '该发放批次不属于本部门的补贴项目')),
  create_round: (actor) =>
    firstRefusal(role(hasRole(actor, 'department') && actor.orgId !== null, '发放批次由业务主管部门建立'), role(actor.regionLevel === 'county', '发放批次按县建立：您的账号不在县一级')),
  create_expedited_round: (actor, policy) =>
    firstRefusal(
      () => RULES.create_round(actor, null),
      state(policy.emergencyRelief, '只有突发灾害应急救助类补贴项目可以按“应急救助（事后公示）”建立批次，其他补贴须先公示后发放'),
    ),
  create_reissue: (actor, round) => (ofRound(actor, round) ? ALLOWED : refused('role', '只能为本部门的发放批次建立补发批次')),
  map_roster_columns: (actor) =>
    firstRefusal(role(hasRole(actor, 'township_station'), '清册的列对应关系由乡镇经办站所设置'), role(actor.regionLevel === 'township', '列对应关系按乡镇保存：您的账号不在乡镇一级')),
  edit_lines: (actor, { round, roster }) =>
    firstRefusal(role(hasRole(actor, 'township_station'), '清册由乡镇经办站所编制'), compiling(round), state(roster.state === 'draft', '清册已上报，不能修改；如需修改，请由审核环节退回')),
  check: (actor) => (hasRole(actor, 'township_station', 'township_finance', 'department', 'finance_section') ? ALLOWED : refused('role', '您不能对清册进行复核比对')),
  resolve_finding: (actor, { round }) => firstRefusal(role(hasRole(actor, 'township_finance'), '提示由乡镇财政所核实说明'), compiling(round)),
  // During the publicity before payment, or, for a paid 应急救助 roster, once its publicity after payment has begun.
  record_objection: (actor, { round, roster }) =>
    firstRefusal(
      role(hasRole(actor, 'township_station', 'township_finance'), '公示异议由乡镇登记'),
      state(acceptsObjections(round, roster), '清册不在公示期，不能登记异议'),
    ),
  record_post_publicity: (actor, { round, roster }) =>
    firstRefusal(
      role(hasRole(actor, 'township_station'), '发放后公示由乡镇经办站所登记'),
      state(round.expedited, '本批次不是应急救助（事后公示）批次，公示在发放前进行'),
      state(paid(round), '应急救助批次下达代发金融机构后，才登记发放后公示'),
      state(roster.state === 'reported', '该清册没有随本批次发放'),
      state(roster.publicity_start === null, '已登记发放后公示'),
    ),
  resolve_objection: (actor) => (hasRole(actor, 'township_finance') ? ALLOWED : refused('role', '公示异议由乡镇财政所核实处理')),
  return_lines: (actor, { round, roster }) =>
    firstRefusal(role(ofRound(actor, round), '只有本批次的主管部门可以退回发放明细'), compiling(round), state(roster.state === 'submitted', '只有待审核的清册可以逐行退回')),
  record_payment_plan: roundStep('compiling', ofRound, '用款计划由本批次的主管部门在汇总上报前录入'),
  submit_round: roundStep('compiling', ofRound, '由本批次的主管部门汇总上报'),
  return_round: roundStep('submitted', (actor) => hasRole(actor, 'finance_section'), '程序性复核由财政局业务科室办理'),
  release_round: (actor, round) =>
    firstRefusal(
      () => RULES.return_round(actor, round),
      () => (round.created_by === actor.userId ? refused('four_eyes', '您建立了此批次，须由财政局业务科室另一位同事复核下达（四眼原则）') : null),
    ),
  transfer: roundStep('released', (actor) => hasRole(actor, 'treasury'), '资金拨付由国库科办理'),
};

/**
 * Who may do what with rounds and rosters — the one place that decides, used by the commands and by the pages
 * (which show a step's button only when it is allowed). Four-eyes: whoever last changed a roster's lines does not
 * take its next approval; whoever created a round does not release it.
 */
export function can<A extends BatchAction>(actor: Actor, action: A, resource: BatchResources[A]): Decision {
  return (RULES[action] as (actor: Actor, resource: BatchResources[A]) => Decision)(actor, resource);
}

/** Which publicity a roster begins: before payment (an approved roster), or after it (a paid 应急救助 roster, 事后公示). */
export function publicityStep(round: { expedited: boolean }): 'start_publicity' | 'record_post_publicity' {
  return round.expedited ? 'record_post_publicity' : 'start_publicity';
}

/** Whether this actor may begin the roster's publicity now (by publishing its notice, in the publicity module). */
export const canBeginPublicity = (actor: Actor, on: OnRoster): Decision => can(actor, publicityStep(on.round), on);

/** The roster steps this actor may take now, and those a colleague must take because of four-eyes. */
export function rosterSteps(actor: Actor, resource: OnRoster): { allowed: RosterAction[]; colleague: { action: RosterAction; reason: string }[] } {
  const allowed: RosterAction[] = [];
  const colleague: { action: RosterAction; reason: string }[] = [];
  for (const action of Object.keys(ROSTER_TRANSITIONS) as RosterAction[]) {
    const decision = can(actor, action, resource);
    if (decision.ok) allowed.push(action);
    else if (decision.kind === 'four_eyes') colleague.push({ action, reason: decision.reason });
  }
  return { allowed, colleague };
}
