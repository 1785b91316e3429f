import { ALLOWED, type Decision, firstRefusal, refused } from '../../core/authz.ts';
import { type Actor, hasRole } from '../../core/auth/roles.ts';

/** Who reads a county's agreements: the money roles and those who answer for the money. */
const READERS = ['finance_section', 'treasury', 'bank', 'department', 'supervisor'] as const;

/** What each action is decided on. */
interface AgreementResources {
  read: null;
  /** The county the agreement would be recorded for: the county of the actor's region, if it has one. */
  record: { countyId: number | null };
}
export type AgreementAction = keyof AgreementResources;

/**
 * Who may do what with agent bank agreements — the one place that decides, used by the command and by the page:
 * the county finance section records its county's agreements; the money roles read them.
 */
const RULES: { [A in AgreementAction]: (actor: Actor, resource: AgreementResources[A]) => Decision } = {
  read: (actor) => (hasRole(actor, ...READERS) ? ALLOWED : refused('role', '代发协议仅财政、主管部门、代发银行和监督人员可以查看')),
  record: (actor, { countyId }) =>
    firstRefusal(
      () => (hasRole(actor, 'finance_section') ? null : refused('role', '代发协议由县级财政部门登记')),
      () => (countyId !== null && countyId === actor.regionId ? null : refused('role', '代发协议按县登记：您的账号不在县一级')),
    ),
};

export function can<A extends AgreementAction>(actor: Actor, action: A, resource: AgreementResources[A]): Decision {
  return RULES[action](actor, resource);
}
