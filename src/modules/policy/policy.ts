import { ALLOWED, type Decision, firstRefusal, refused } from '../../core/authz.ts';
import { type Actor, hasRole } from '../../core/auth/roles.ts';
import type { PolicyVersion } from './repo.ts';

/** What each action is decided on. */
interface PolicyResources {
  create: null;
  export_own: null;
  edit: { departmentOrgId: number };
  publish: Pick<PolicyVersion, 'regionId' | 'editedBy' | 'state'>;
  allocate: { id: number; level: string };
  /** The county's allocation documents (指标文件) of a year, on the 资金指标 page. */
  view_allocations: null;
  /** Performance goals (绩效目标) of the county's policies, and its expected execution curve (performance.ts). */
  set_goals: { id: number; level: string };
  set_curve: { id: number; level: string };
}
export type PolicyAction = keyof PolicyResources;

/** Who reads the county's allocation documents: who records them, who pays against them, who spends them, who supervises. */
export const ALLOCATION_READERS = ['finance_section', 'treasury', 'department', 'supervisor'] as const;

const ownDepartment = (actor: Actor): Decision => (hasRole(actor, 'department') && actor.orgId !== null ? ALLOWED : refused('role', '只有业务主管部门可以新增、导入和导出本部门的补贴项目'));

/**
 * Who may do what with the policy list — the one place that decides, used by the commands and by the pages.
 * 谁主管、谁负责: a department creates and edits its own policies; the finance section of the region that set a
 * policy publishes or returns a draft (程序性复核), never a version it edited itself (four-eyes); the county's
 * finance section records its budget allocations.
 */
const RULES: { [A in PolicyAction]: (actor: Actor, resource: PolicyResources[A]) => Decision } = {
  create: ownDepartment,
  export_own: ownDepartment,
  edit: (actor, item) => (hasRole(actor, 'department') && actor.orgId === item.departmentOrgId ? ALLOWED : refused('role', '只有该补贴项目的主管部门可以修改它')),
  publish: (actor, version) =>
    firstRefusal(
      () => (hasRole(actor, 'finance_section') && version.regionId === actor.regionId ? null : refused('role', '只有制定该补贴项目的本级财政部门可以发布或退回')),
      () => (version.state === 'draft' ? null : refused('state', '该版本已被修改、退回或发布，请刷新后查看')),
      () => (version.editedBy === actor.userId ? refused('four_eyes', '不能发布或退回自己修改的版本，请由另一位财政人员复核（四眼原则）') : null),
    ),
  allocate: (actor, county) =>
    hasRole(actor, 'finance_section') && county.id === actor.regionId && county.level === 'county' ? ALLOWED : refused('role', '指标由县级财政部门（财政局业务科室）登记'),
  view_allocations: (actor) => (hasRole(actor, ...ALLOCATION_READERS) ? ALLOWED : refused('role', '资金指标仅财政局业务科室、国库科、主管部门和监督人员可以查看')),
  // 绩效目标与预算同步审核、同步下达 (Chongqing 十二): who records the allocation records its goals, and the curve its execution is held to.
  set_goals: (actor, county) =>
    hasRole(actor, 'finance_section') && county.id === actor.regionId && county.level === 'county' ? ALLOWED : refused('role', '绩效目标由县级财政部门（财政局业务科室）随指标一同登记'),
  set_curve: (actor, county) =>
    hasRole(actor, 'finance_section') && county.id === actor.regionId && county.level === 'county' ? ALLOWED : refused('role', '预算执行进度要求由县级财政部门（财政局业务科室）设定'),
};

export function can<A extends PolicyAction>(actor: Actor, action: A, resource: PolicyResources[A]): Decision {
  return RULES[action](actor, resource);
}
