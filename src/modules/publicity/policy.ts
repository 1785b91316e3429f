import { ALLOWED, type Decision, firstRefusal, refused } from '../../core/authz.ts';
import { type Actor, type Role, hasRole } from '../../core/auth/roles.ts';
import { type RosterRow, type RosterState, type RoundRow, canBeginPublicity } from '../batch/index.ts';
import type { NoticeStatus } from './model.ts';

/** Who prints a roster's publicity sheets: the township that posts them, and those above who check them. */
export const SHEET_READERS: readonly Role[] = ['township_station', 'township_finance', 'department', 'finance_section', 'supervisor'];

/** States in which a roster's lines are the publicised ones: in publicity, and after it (the record of what was posted). */
export const PUBLICISED_STATES: readonly RosterState[] = ['publicity', 'confirmed', 'reported'];

/** What each action is decided on. */
interface PublicityResources {
  /** The roster (already read in the actor's region and department scope by batch's rosterInScope). */
  print_sheets: { state: RosterState; publicity_start: string | null };
  /** A roster's publicity page: its notices, the publication form, the postings, the sheets. */
  view_publicity: { round: RoundRow; roster: RosterRow };
  /** Publishing a roster's notice, which starts its publicity (before payment, or after it for 应急救助). */
  publish_notice: { round: RoundRow; roster: RosterRow };
  /** Recording where and when the paper of a notice was posted. */
  record_posting: { status: NoticeStatus };
  /** The county's public masking rule, objection note and supervision telephones. */
  set_publicity_settings: null;
  /** The queue of objections and complaints filed on the portal (its rows read in the actor's county scope). */
  view_complaints: null;
  /** The staff queue's page: the handlers' queue, or the complaints assigned to the actor's township or department. */
  open_complaint_queue: null;
  /** A complaint of the queue: its kind, where it stands, and the township (its path) or department it is assigned to, if any. */
  answer_complaint: { kind: string; status: string; assignee_path?: string | null; assignee_org_id?: number | null };
  /** Registering a complaint received by phone, letter or visit. */
  enter_complaint: null;
  /** The handler's steps on a complaint (assign, close, send back): its kind and where it stands. */
  assign_complaint: { kind: string; status: string };
  close_complaint: { kind: string; status: string };
  return_complaint: { kind: string; status: string; assignee_path?: string | null; assignee_org_id?: number | null };
  /** Publishing a violation on the portal: where it happened (a region already read; its path decides the scope). */
  publish_violation: { path: string };
  /** Approving a proposed violation (four eyes): its place's path, state and proposer. */
  approve_violation: { path: string; state: string; published_by: number; withdrawn_at: string | null };
  /** Recording money recovered for a violation: its place's path and whether it is withdrawn. */
  record_recovery: { path: string; withdrawn_at: string | null };
  /** Withdrawing a published violation: its region's path and whether it is already withdrawn. */
  withdraw_violation: { path: string; withdrawn_at: string | null };
}
export type PublicityAction = keyof PublicityResources;

/**
 * Who may do what in the publicity module — the one place that decides, used by the commands and by the pages.
 * Sheets are printed for a roster whose publicity has started (its lines as publicised); the county's system
 * administrator sets what every public output masks and the telephones the sheets print.
 */
const RULES: { [A in PublicityAction]: (actor: Actor, resource: PublicityResources[A]) => Decision } = {
  print_sheets: (actor, roster) =>
    firstRefusal(
      () => (hasRole(actor, ...SHEET_READERS) ? null : refused('role', '只有乡镇经办站所、财政所、主管部门、财政局业务科室和监督人员可以打印公示表')),
      () => (roster.publicity_start !== null && PUBLICISED_STATES.includes(roster.state) ? null : refused('state', '清册尚未开始公示（或公示后已退回修改），没有可打印的公示表')),
    ),
  view_publicity: (actor, on) =>
    firstRefusal(
      () => (hasRole(actor, ...SHEET_READERS) ? null : refused('role', '只有乡镇经办站所、财政所、主管部门、财政局业务科室和监督人员可以查看公示')),
      () => (on.roster.publicity_start !== null || canBeginPublicity(actor, on).ok ? null : refused('state', '清册尚未到发布公示的环节')),
    ),
  // The batch module decides the step itself (who, in which state): publishing is how a roster's publicity begins.
  publish_notice: (actor, on) => canBeginPublicity(actor, on),
  record_posting: (actor, notice) =>
    firstRefusal(
      () => (hasRole(actor, 'township_station') ? null : refused('role', '张贴情况由乡镇经办站所登记')),
      () => (notice.status === 'open' || notice.status === 'ended' ? null : refused('state', '该公示已撤回或已重新公示，请在最新的公示下登记张贴情况')),
    ),
  set_publicity_settings: (actor) => (hasRole(actor, 'admin') ? ALLOWED : refused('role', '只有系统管理员可以修改公示设置')),
  view_complaints: (actor) => (hasRole(actor, ...COMPLAINT_HANDLERS) ? ALLOWED : refused('role', '只有监督人员和财政局业务科室可以查看群众异议和投诉举报')),
  open_complaint_queue: (actor) =>
    hasRole(actor, ...COMPLAINT_HANDLERS, ...COMPLAINT_ASSIGNEES) || (hasRole(actor, 'department') && actor.orgId !== null)
      ? ALLOWED
      : refused('role', '只有监督人员、财政局业务科室和承办的乡镇、主管部门可以查看投诉举报'),
  // Until the supervision module handles complaints, those who see the queue answer them; an objection to a notice is the township's, on the roster.
  // The handlers answer a complaint not assigned; once assigned, the township's station or finance office answers it,
  // or the department's users (their org) when it is assigned to a department.
  answer_complaint: (actor, c) =>
    firstRefusal(
      () => (c.kind === 'complaint' ? null : refused('state', '公示异议由乡镇财政所在清册页面核实处理，处理结果即为答复')),
      () => (c.assignee_path || c.assignee_org_id ? null : hasRole(actor, ...COMPLAINT_HANDLERS) ? null : refused('role', '只有监督人员和财政局业务科室可以答复投诉举报')),
      () => (!c.assignee_path ? null : hasRole(actor, ...COMPLAINT_ASSIGNEES) && c.assignee_path.startsWith(actor.regionPath) ? null : refused('role', '该投诉举报已交办乡镇，由承办乡镇的经办站所或财政所答复')),
      () => (!c.assignee_org_id ? null : hasRole(actor, 'department') && actor.orgId === Number(c.assignee_org_id) ? null : refused('role', '该投诉举报已交办主管部门，由承办部门答复')),
      () => (COMPLAINT_TRANSITIONS.answer.includes(c.status) ? null : refused('state', c.status === 'answered' || c.status === 'closed' ? '该投诉举报已答复' : '该投诉举报当前不能答复')),
    ),
  enter_complaint: (actor) => (hasRole(actor, ...COMPLAINT_HANDLERS) ? ALLOWED : refused('role', '只有监督人员和财政局业务科室可以登记电话、来信、来访的投诉举报')),
  assign_complaint: (actor, c) => handlerStep(actor, c, 'assign', '该投诉举报当前不能交办（已交办、已答复或已办结）'),
  close_complaint: (actor, c) => handlerStep(actor, c, 'close', '只有已答复的投诉举报可以办结'),
  return_complaint: (actor, c) =>
    firstRefusal(
      () => handlerStep(actor, c, 'return', '只有已答复的投诉举报可以退回重新答复'),
      () => (c.assignee_path || c.assignee_org_id ? null : refused('state', '该投诉举报未交办乡镇或主管部门，无需退回')),
    ),
  // Chongqing 七: the supervisors decide which violations (虚报冒领 …) are made public, in their own region.
  publish_violation: (actor, where) =>
    firstRefusal(
      () => (hasRole(actor, 'supervisor') ? null : refused('role', '只有监督人员可以公开曝光违规问题')),
      () => (where.path.startsWith(actor.regionPath) ? null : refused('role', '该地区不在您的管辖范围内')),
    ),
  // Chongqing 七, four eyes: a second supervisor approves what one proposed before it reaches the portal.
  approve_violation: (actor, v) =>
    firstRefusal(
      () => (hasRole(actor, 'supervisor') ? null : refused('role', '只有监督人员可以审核公开曝光')),
      () => (v.path.startsWith(actor.regionPath) ? null : refused('role', '该曝光不在您的管辖范围内')),
      () => (v.state === 'proposed' && v.withdrawn_at === null ? null : refused('state', '该曝光已公开或已撤回，无需审核')),
      () => (v.published_by !== actor.userId ? null : refused('four_eyes', '公开曝光须由提议人以外的另一名监督人员审核同意')),
    ),
  record_recovery: (actor, v) =>
    firstRefusal(
      () => (hasRole(actor, 'supervisor') ? null : refused('role', '只有监督人员可以登记追回资金')),
      () => (v.path.startsWith(actor.regionPath) ? null : refused('role', '该曝光不在您的管辖范围内')),
      () => (v.withdrawn_at === null ? null : refused('state', '该曝光已撤回')),
    ),
  withdraw_violation: (actor, v) =>
    firstRefusal(
      () => (hasRole(actor, 'supervisor') ? null : refused('role', '只有监督人员可以撤回曝光的违规问题')),
      () => (v.path.startsWith(actor.regionPath) ? null : refused('role', '该曝光不在您的管辖范围内')),
      () => (v.withdrawn_at === null ? null : refused('state', '该曝光已撤回')),
    ),
};

/** Who sees and answers what the public files on the portal (in their county scope). */
export const COMPLAINT_HANDLERS: readonly Role[] = ['supervisor', 'finance_section'];

/** Who answers a complaint assigned to their township (one assigned to a department: that department's users). */
export const COMPLAINT_ASSIGNEES: readonly Role[] = ['township_station', 'township_finance'];

/**
 * A complaint's steps and the statuses each starts from: received → (in_progress) → assigned (to a township or a
 * department) → answered → closed; a handler may answer one not assigned directly, and send an assignee's answer
 * back (answered → assigned).
 */
export const COMPLAINT_TRANSITIONS: Record<'progress' | 'assign' | 'answer' | 'close' | 'return', readonly string[]> = {
  progress: ['received'],
  assign: ['received', 'in_progress'],
  answer: ['received', 'in_progress', 'assigned'],
  close: ['answered'],
  return: ['answered'],
};

function handlerStep(actor: Actor, c: { kind: string; status: string }, step: keyof typeof COMPLAINT_TRANSITIONS, stateMessage: string): Decision {
  return firstRefusal(
    () => (hasRole(actor, ...COMPLAINT_HANDLERS) ? null : refused('role', '只有监督人员和财政局业务科室可以交办、退回和办结投诉举报')),
    () => (c.kind === 'complaint' ? null : refused('state', '公示异议由乡镇财政所在清册页面核实处理')),
    () => (COMPLAINT_TRANSITIONS[step].includes(c.status) ? null : refused('state', stateMessage)),
  );
}

export function can<A extends PublicityAction>(actor: Actor, action: A, resource: PublicityResources[A]): Decision {
  return RULES[action](actor, resource);
}
