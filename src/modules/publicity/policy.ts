import { ALLOWED, type Decision, firstRefusal, refused } from '../../core/authz.ts';
import { type Actor, type Role, hasRole } from '../../core/auth/roles.ts';
import type { RosterState } from '../batch/index.ts';

/** Who prints a roster's publicity sheets: the township that posts them, and those above who check them. */
export const SHEET_READERS: readonly Role[] = ['township_station', 'township_finance', 'department', 'finance_section', 'supervisor'];

/** States in which a roster's lines are the publicised ones: in publicity, and after it (the record of what was posted). */
export const PUBLICISED_STATES: readonly RosterState[] = ['publicity', 'confirmed', 'reported'];

/** What each action is decided on. */
interface PublicityResources {
  /** The roster (already read in the actor's region and department scope by batch's rosterInScope). */
  print_sheets: { state: RosterState; publicity_start: string | null };
  /** The county's public masking rule, objection note and supervision telephones. */
  set_publicity_settings: null;
  /** The queue of objections and complaints filed on the portal (its rows read in the actor's county scope). */
  view_complaints: null;
  /** A complaint of the queue: its kind and where it stands. */
  answer_complaint: { kind: string; status: string };
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
  set_publicity_settings: (actor) => (hasRole(actor, 'admin') ? ALLOWED : refused('role', '只有系统管理员可以修改公示设置')),
  view_complaints: (actor) => (hasRole(actor, ...COMPLAINT_HANDLERS) ? ALLOWED : refused('role', '只有监督人员和财政局业务科室可以查看群众异议和投诉举报')),
  // Until the supervision module handles complaints, those who see the queue answer them; an objection to a notice is the township's, on the roster.
  answer_complaint: (actor, c) =>
    firstRefusal(
      () => (hasRole(actor, ...COMPLAINT_HANDLERS) ? null : refused('role', '只有监督人员和财政局业务科室可以答复投诉举报')),
      () => (c.kind === 'complaint' ? null : refused('state', '公示异议由乡镇财政所在清册页面核实处理，处理结果即为答复')),
      () => (c.status !== 'answered' ? null : refused('state', '该投诉举报已答复')),
    ),
};

/** Who sees and answers what the public files on the portal (in their county scope). */
export const COMPLAINT_HANDLERS: readonly Role[] = ['supervisor', 'finance_section'];

export function can<A extends PublicityAction>(actor: Actor, action: A, resource: PublicityResources[A]): Decision {
  return RULES[action](actor, resource);
}
