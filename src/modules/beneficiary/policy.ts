import { ALLOWED, type Decision, firstRefusal, refused } from '../../core/authz.ts';
import { type Actor, type Role, hasRole } from '../../core/auth/roles.ts';

/** Who reads the registry: the township's staff, the departments and the finance section, and supervisors. */
export const REGISTRY_READERS: readonly Role[] = ['township_station', 'township_finance', 'department', 'finance_section', 'supervisor'];

/** What each action is decided on (region scope is checked where a person is loaded: personInScope). */
interface BeneficiaryResources {
  read: null;
  register: null;
  /** `requestedBy` null: whether the actor decides changes at all (the page of pending changes). */
  decide_change: { requestedBy: number | null; pending: boolean };
  load_reference: null;
}
export type BeneficiaryAction = keyof BeneficiaryResources;

/**
 * Who may do what with the beneficiary registry — the one place that decides, used by the commands and by the
 * pages. The township station registers and corrects people and proposes changes that affect payment (account,
 * status); the township finance office confirms them, never its own request (four-eyes); the county's finance
 * section loads the departments' shared data.
 */
const RULES: { [A in BeneficiaryAction]: (actor: Actor, resource: BeneficiaryResources[A]) => Decision } = {
  read: (actor) => (hasRole(actor, ...REGISTRY_READERS) ? ALLOWED : refused('role', '受益对象档案仅经办、审核和监督人员可以查看')),
  register: (actor) => (hasRole(actor, 'township_station') ? ALLOWED : refused('role', '只有乡镇经办站所可以登记、导入和修改受益对象')),
  decide_change: (actor, request) =>
    firstRefusal(
      () => (hasRole(actor, 'township_finance') ? null : refused('role', '只有乡镇财政所可以确认影响发放的变更')),
      () => (request.pending ? null : refused('state', '该变更已被处理')),
      () => (request.requestedBy === actor.userId ? refused('four_eyes', '不能确认自己提出的变更，请由财政所另一位同事确认（四眼原则）') : null),
    ),
  load_reference: (actor) =>
    hasRole(actor, 'finance_section') && actor.regionLevel === 'county' ? ALLOWED : refused('role', '部门共享数据由县级财政部门（财政局业务科室）导入'),
};

export function can<A extends BeneficiaryAction>(actor: Actor, action: A, resource: BeneficiaryResources[A]): Decision {
  return RULES[action](actor, resource);
}
