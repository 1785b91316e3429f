import type { Core } from '../../core/context.ts';
import type { AppModule } from '../../core/module.ts';
import { rosterInScope } from '../batch/index.ts';
import { publicityAuditVocabulary } from './audit-labels.ts';
import { COMPLAINT_CODE_KEY, assignedComplaints, unansweredComplaints } from './complaints.ts';
import { PUBLICITY_DEADLINES } from './deadlines.ts';
import { COMPLAINT_ASSIGNEES, COMPLAINT_HANDLERS, can } from './policy.ts';
import { publicityRoutes } from './routes.ts';
import { columnRoutes } from './column-routes.ts';
import { violationRoutes } from './violation-routes.ts';
import { publicityMove } from './move.ts';

export { SUPERVISION_PHONE_KEY } from './model.ts';
export { complaintQueue } from './complaints.ts';

/**
 * The publicity module (一个专栏管公开): printed publicity sheets (公示表) of rosters in publicity, each verifiable on
 * the portal by its code; the county's public masking rule and supervision telephones. It stands on batch and the
 * lower modules and reads them through their index.ts; it owns the `publicity_` tables.
 */
export function createPublicityModule(core: Core): AppModule {
  return {
    name: 'publicity',
    move: publicityMove,
    audit: publicityAuditVocabulary,
    rekey: async (r) => {
      // The query codes' key, written under the old key if no complaint has used it yet, then re-encrypted by core.
      await r.keepPurposeKey(COMPLAINT_CODE_KEY);
      await r.rewrite('publicity_complaint', { encrypted: ['phone_enc'] });
    },
    nav: [
      { href: '/publicity/settings', label: '公示设置', roles: ['admin'] },
      { href: '/publicity/complaints', label: '异议和投诉举报', roles: [...COMPLAINT_HANDLERS, ...COMPLAINT_ASSIGNEES, 'department'] },
      { href: '/publicity/violations', label: '违规问题曝光', roles: ['supervisor'] },
    ],
    // Complaints from the portal wait for the supervisors (until the supervision module handles them); those assigned
    // to a township or a department wait for it.
    async queues(actor) {
      if (actor.roles.includes('township_station') || actor.roles.includes('township_finance') || (actor.roles.includes('department') && actor.orgId !== null)) {
        const count = await assignedComplaints(core.db, actor);
        return count ? [{ title: '交办待答复的投诉举报', count, href: '/publicity/complaints' }] : [];
      }
      if (!actor.roles.includes('supervisor')) return [];
      const count = await unansweredComplaints(core.db, actor);
      return count ? [{ title: '待答复的群众投诉举报', count, href: '/publicity/complaints' }] : [];
    },
    // A complaint assigned to a township or a department is answered within the county's limit (working days).
    deadlineRules: Object.values(PUBLICITY_DEADLINES),
    routes(router, web) {
      publicityRoutes(router, web);
      // 公开专栏: the column's home, fund ledgers, violations, supervision telephones, open data; and the supervisors' page of violations.
      columnRoutes(router, web);
      violationRoutes(router, web);
    },
    panels: {
      // The roster's page leads to its publicity page: to publish the notice when that is the actor's step, else to
      // the notices, postings and sheets, once its publicity can begin.
      async roster(actor, rosterId) {
        const on = await rosterInScope(core.db, actor, rosterId);
        if (!can(actor, 'view_publicity', on).ok) return null;
        return { title: '公示', template: 'publicity/_roster-panel.njk', data: { rosterId, publish: can(actor, 'publish_notice', on).ok, expedited: on.round.expedited } };
      },
    },
  };
}
