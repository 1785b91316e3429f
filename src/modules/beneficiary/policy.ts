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
  /** A newly registered person's first account (one registered by the form; a file's are decided together). */
  decide_account: { openedBy: number; pending: boolean; imported: boolean };
  /** The new accounts of a registry import, together. */
  decide_import_accounts: { importedBy: number; pending: boolean };
  load_reference: null;
  /** Mapping a registry file's unknown headers to its columns, kept for the township (core/column-mapping.ts). */
  map_registry_columns: null;
  /** A life event (move, change of head, death) registered by a station; `registeredBy` null: whether the actor decides them at all. */
  decide_life_event: { registeredBy: number | null; pending: boolean };
}
export type BeneficiaryAction = keyof BeneficiaryResources;

/** The township finance office decides what waits for it, unless it is already decided or the actor's own. */
function financeOfficeDecides(actor: Actor, pending: boolean, by: number | null, decided: string, own: string): Decision {
  return firstRefusal(
    () => (hasRole(actor, 'township_finance') ? null : refused('role', '只有乡镇财政所可以确认影响发放的变更')),
    () => (pending ? null : refused('state', decided)),
    () => (by === actor.userId ? refused('four_eyes', own) : null),
  );
}

/**
 * Who may do what with the beneficiary registry — the one place that decides, used by the commands and by the
 * pages. The township station registers and corrects people and proposes changes that affect payment (account,
 * status); the township finance office confirms them and every newly registered account (a file's together),
 * never its own request or registration (four-eyes); the county's finance section loads the departments' shared data.
 */
const RULES: { [A in BeneficiaryAction]: (actor: Actor, resource: BeneficiaryResources[A]) => Decision } = {
  read: (actor) => (hasRole(actor, ...REGISTRY_READERS) ? ALLOWED : refused('role', '受益对象档案仅经办、审核和监督人员可以查看')),
  register: (actor) => (hasRole(actor, 'township_station') ? ALLOWED : refused('role', '只有乡镇经办站所可以登记、导入和修改受益对象')),
  decide_change: (actor, request) => financeOfficeDecides(actor, request.pending, request.requestedBy, '该变更已被处理', '不能确认自己提出的变更，请由财政所另一位同事确认（四眼原则）'),
  decide_account: (actor, account) =>
    financeOfficeDecides(
      actor,
      account.pending && !account.imported,
      account.openedBy,
      account.imported ? '导入文件登记的账户须在该次导入的新账户清单中一并确认' : '该账户已被处理',
      '不能确认自己登记的账户，请由财政所另一位同事确认（四眼原则）',
    ),
  decide_import_accounts: (actor, file) => financeOfficeDecides(actor, file.pending, file.importedBy, '该次导入的新账户已被处理', '不能确认自己导入的账户，请由财政所另一位同事确认（四眼原则）'),
  decide_life_event: (actor, event) => financeOfficeDecides(actor, event.pending, event.registeredBy, '该事项已被处理', '不能确认自己登记的事项，请由财政所另一位同事确认（四眼原则）'),
  map_registry_columns: (actor) =>
    firstRefusal(
      () => (hasRole(actor, 'township_station') ? null : refused('role', '受益对象导入的列对应关系由乡镇经办站所设置')),
      () => (actor.regionLevel === 'township' ? null : refused('role', '列对应关系按乡镇保存：您的账号不在乡镇一级')),
    ),
  load_reference: (actor) =>
    hasRole(actor, 'finance_section') && actor.regionLevel === 'county' ? ALLOWED : refused('role', '部门共享数据由县级财政部门（财政局业务科室）导入'),
};

export function can<A extends BeneficiaryAction>(actor: Actor, action: A, resource: BeneficiaryResources[A]): Decision {
  return RULES[action](actor, resource);
}
