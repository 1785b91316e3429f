import { type Actor, hasRole } from '../../core/auth/roles.ts';
import { ForbiddenError } from '../../core/errors.ts';
import type { PolicyVersion } from './repo.ts';

/**
 * Who may do what with the policy list. 谁主管、谁负责: a department edits its own policies; the finance section
 * of the region that set a policy publishes it (程序性复核), never a version it edited itself (four-eyes); the
 * finance section records its county's budget allocations.
 */
export function assertCanEdit(actor: Actor, item: { departmentOrgId: number }): void {
  if (!hasRole(actor, 'department') || actor.orgId !== item.departmentOrgId) {
    throw new ForbiddenError('只有该补贴项目的主管部门可以修改它');
  }
}

export function assertCanCreate(actor: Actor): void {
  if (!hasRole(actor, 'department') || actor.orgId === null) throw new ForbiddenError('只有业务主管部门可以新增补贴项目');
}

export function assertCanPublish(actor: Actor, version: PolicyVersion): void {
  if (!hasRole(actor, 'finance_section') || version.regionId !== actor.regionId) {
    throw new ForbiddenError('只有制定该补贴项目的本级财政部门可以发布或退回');
  }
  if (version.editedBy === actor.userId) throw new ForbiddenError('不能发布或退回自己修改的版本，请由另一位财政人员复核（四眼原则）');
}

export function assertCanAllocate(actor: Actor): void {
  if (!hasRole(actor, 'finance_section')) throw new ForbiddenError('只有财政局业务科室可以登记指标');
}
