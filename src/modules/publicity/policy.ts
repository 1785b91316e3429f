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
};

export function can<A extends PublicityAction>(actor: Actor, action: A, resource: PublicityResources[A]): Decision {
  return RULES[action](actor, resource);
}
