import type { Core } from '../../core/context.ts';
import type { AppModule } from '../../core/module.ts';
import { rosterInScope } from '../batch/index.ts';
import { publicityAuditVocabulary } from './audit-labels.ts';
import { unansweredComplaints } from './complaints.ts';
import { COMPLAINT_HANDLERS, can } from './policy.ts';
import { publicityRoutes } from './routes.ts';

export { SUPERVISION_PHONE_KEY } from './model.ts';

/**
 * The publicity module (一个专栏管公开): printed publicity sheets (公示表) of rosters in publicity, each verifiable on
 * the portal by its code; the county's public masking rule and supervision telephones. It stands on batch and the
 * lower modules and reads them through their index.ts; it owns the `publicity_` tables.
 */
export function createPublicityModule(core: Core): AppModule {
  return {
    name: 'publicity',
    audit: publicityAuditVocabulary,
    nav: [
      { href: '/publicity/settings', label: '公示设置', roles: ['admin'] },
      { href: '/publicity/complaints', label: '异议和投诉举报', roles: [...COMPLAINT_HANDLERS] },
    ],
    // Complaints from the portal wait for the supervisors (until the supervision module handles them).
    async queues(actor) {
      if (!actor.roles.includes('supervisor')) return [];
      const count = await unansweredComplaints(core.db, actor);
      return count ? [{ title: '待答复的群众投诉举报', count, href: '/publicity/complaints' }] : [];
    },
    routes: publicityRoutes,
    panels: {
      // The roster's page offers its publicity sheets to whoever may print them, once its publicity has started.
      async roster(actor, rosterId) {
        const { roster } = await rosterInScope(core.db, actor, rosterId);
        if (!can(actor, 'print_sheets', roster).ok) return null;
        return { title: '公示表', template: 'publicity/_roster-panel.njk', data: { rosterId } };
      },
    },
  };
}
