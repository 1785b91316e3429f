import { ALLOWED, type Decision, firstRefusal, refused } from '../../core/authz.ts';
import { type Actor, hasRole } from '../../core/auth/roles.ts';

/** Who reads a county's agreements: the money roles and those who answer for the money. */
const READERS = ['finance_section', 'treasury', 'bank', 'department', 'supervisor'] as const;

/** What an agreement's steps are decided on: its county and whether it has been terminated. */
export interface AgreementResource {
  county_id: number;
  terminated_on: string | null;
}

/** What each action is decided on. */
interface AgreementResources {
  read: null;
  /** The county the agreement would be recorded for: the county of the actor's region, if it has one. */
  record: { countyId: number | null };
  edit: AgreementResource;
  extend: AgreementResource;
  terminate: AgreementResource;
  record_breach: AgreementResource;
  set_bank_key: AgreementResource;
}
export type AgreementAction = keyof AgreementResources;

const financeOfCounty = (actor: Actor, countyId: number | null) =>
  firstRefusal(
    () => (hasRole(actor, 'finance_section') ? null : refused('role', '代发协议由县级财政部门登记和管理')),
    () => (countyId !== null && countyId === actor.regionId ? null : refused('role', '代发协议按县管理：您的账号不是该县的县级账号')),
  );

const notTerminated = (a: AgreementResource) => (a.terminated_on === null ? null : refused('state', `该代发协议已登记终止（终止日期 ${a.terminated_on}），不能再修改、延期或终止`));

/**
 * Who may do what with agent bank agreements — the one place that decides, used by the commands and by the pages:
 * the county finance section records its county's agreements, edits their terms, extends and terminates them while
 * they are not terminated, and records the bank's breaches (also after termination); the money roles read them.
 * Edits need no second person: each is audited with what it changed, and the money goes only where the settlement
 * account recorded with the agreement says.
 */
const RULES: { [A in AgreementAction]: (actor: Actor, resource: AgreementResources[A]) => Decision } = {
  read: (actor) => (hasRole(actor, ...READERS) ? ALLOWED : refused('role', '代发协议仅财政、主管部门、代发银行和监督人员可以查看')),
  record: (actor, { countyId }) => financeOfCounty(actor, countyId),
  edit: (actor, a) => firstRefusal(() => financeOfCounty(actor, a.county_id), () => notTerminated(a)),
  extend: (actor, a) => firstRefusal(() => financeOfCounty(actor, a.county_id), () => notTerminated(a)),
  terminate: (actor, a) => firstRefusal(() => financeOfCounty(actor, a.county_id), () => notTerminated(a)),
  record_breach: (actor, a) => financeOfCounty(actor, a.county_id),
  set_bank_key: (actor, a) => firstRefusal(() => financeOfCounty(actor, a.county_id), () => notTerminated(a)),
};

export function can<A extends AgreementAction>(actor: Actor, action: A, resource: AgreementResources[A]): Decision {
  return RULES[action](actor, resource);
}
