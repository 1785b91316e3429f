import type { Core } from '../../core/context.ts';
import type { AppModule } from '../../core/module.ts';
import { policyAuditVocabulary } from './audit-labels.ts';
import { draftsAwaitingPublication, draftsOfDepartment } from './queries.ts';
import { policyRoutes } from './routes.ts';
import { policyMove } from './move.ts';
import { policyApi } from './api.ts';
import { ALLOCATION_READERS } from './policy.ts';

/**
 * The policy module (一张清单管制度): subsidy items and their versions, the county's published list, budget
 * allocations. Other modules use only what this file exports.
 */
export { allocatedFen, allocations, listRegionFor, policyList, versionInForce, versionsById, yearAllocations } from './queries.ts';
export type { PolicyVersion } from './repo.ts';
export type { Frequency, Payee, PolicyLevel, PolicyTier } from './files.ts';
export { standardText } from './files.ts';
export { presentVersion } from './presenters.ts';
export {
  type Comparison, type ExecutionCurve, type Indicator, type PerformanceGoal, COMPARISON_SIGNS, INDICATORS, INDICATOR_CODES, TIMELY_WORKING_DAYS,
  canSetPerformance, executionCurve, formatBp, formatIndicatorValue, formatPointsBp, meets, performanceGoals, rateBp,
} from './performance.ts';

export function createPolicyModule(core: Core): AppModule {
  return {
    name: 'policy',
    move: policyMove,
    audit: policyAuditVocabulary,
    nav: [
      { href: '/policies', label: '政策清单', roles: ['township_station', 'township_finance', 'department', 'finance_section', 'treasury', 'bank', 'supervisor'] },
      { href: '/allocations', label: '资金指标', roles: ALLOCATION_READERS },
    ],
    routes: policyRoutes,
    api: policyApi(core),
    async queues(actor) {
      const queues = [];
      if (actor.roles.includes('finance_section')) {
        const pending = await draftsAwaitingPublication(core.db, actor.regionId);
        if (pending.length) queues.push({ title: '待发布的补贴项目（新增或调整）', count: pending.length, href: '/policies#pending' });
      }
      if (actor.roles.includes('department') && actor.orgId) {
        const returned = (await draftsOfDepartment(core.db, actor.orgId)).filter((v) => v.state === 'returned');
        if (returned.length) queues.push({ title: '被退回修改的补贴项目', count: returned.length, href: '/policies#mine' });
      }
      return queues;
    },
  };
}
