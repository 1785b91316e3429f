import { type Actor, hasRole } from '../../core/auth/roles.ts';
import type { AuditLexicon } from '../../core/audit-vocabulary.ts';
import type { Core } from '../../core/context.ts';
import { businessDate } from '../../core/dates.ts';
import { DeadlineRules } from '../../core/deadlines.ts';
import type { Conn } from '../../core/db.ts';
import type { AppModule } from '../../core/module.ts';
import { openFailureTotals } from '../bank/index.ts';
import { openFindingsByRound } from '../batch/index.ts';
import { supervisionAuditVocabulary } from './audit-labels.ts';
import { exportRoutes } from './export-routes.ts';
import { EXPORT_REQUESTERS } from './policy.ts';
import { runQueuedExports } from './exports.ts';
import type { ComplaintStanding } from './model.ts';
import { can } from './policy.ts';
import { RuleNames } from './presenters.ts';
import { clockCounts } from './queries.ts';
import { REPORT_READERS } from './policy.ts';
import { reportRoutes } from './report-routes.ts';
import { performanceRoutes } from './performance-routes.ts';
import { supervisionApi } from './api.ts';
import { supervisionRoutes } from './routes.ts';
import { SHARED_ACCOUNT_SUBJECT_DIGITS } from './screening/shared-account.ts';
import { SUPERVISION_DEADLINES } from './deadlines.ts';
import { findingsWaiting } from './findings.ts';
import { FINDING_ANSWERERS, SUPERVISION_READERS } from './policy.ts';
import { spotCheckRoutes } from './spot-check-routes.ts';
import { screeningRoutes } from './screening-routes.ts';
import { runQueuedScreenings } from './screenings.ts';
import { supervisionMove } from './move.ts';

/**
 * What the supervision module reads beside the lower modules it imports (batch, bank): the other modules' deadline
 * rules, and the complaints of the actor's scope. The publicity module stands in the same (top) layer and is not
 * imported (.dependency-cruiser.cjs, layer-top-not-each-other): the composition root passes its reader in.
 */
export interface SupervisionSources {
  modules: readonly AppModule[];
  /** The portal's complaints and objections in the actor's county scope, newest first (publicity's complaintQueue). */
  complaints: (db: Conn, actor: Actor) => Promise<ComplaintStanding[]>;
  /** How the audit log reads every action (the complete export writes its audit rows as the audit export does). */
  auditLexicon: () => AuditLexicon;
}

/**
 * The supervision module (监督检查): the supervisors' overview of every module's work in their scope, the monitor of
 * every clock (限时办理), screening (比对筛查), spot checks (抽查), findings (问题线索), reports and complete exports. It
 * reads the other modules through their index.ts and core's tables, and writes only its own `supervision_` tables
 * (runs, samples, visits, findings, exports), the clocks of its findings and its audit rows.
 */
export function createSupervisionModule(core: Core, sources: SupervisionSources): AppModule {
  const rules = new DeadlineRules([...sources.modules.flatMap((m) => m.deadlineRules ?? []), ...Object.values(SUPERVISION_DEADLINES)]);
  const names = new RuleNames(rules, [...sources.modules, { name: 'supervision', deadlineRules: Object.values(SUPERVISION_DEADLINES) }]);
  return {
    name: 'supervision',
    move: supervisionMove,
    api: supervisionApi(core),
    audit: supervisionAuditVocabulary,
    // A shared-account finding's subject ends with the account's index, shortened (screening/shared-account.ts).
    rekey: async (r) => {
      await r.remapTail('supervision_finding', 'source_ref', 'account', '%:account:%', SHARED_ACCOUNT_SUBJECT_DIGITS);
      await r.remapTail('supervision_screening_hit', 'source_ref', 'account', '%:account:%', SHARED_ACCOUNT_SUBJECT_DIGITS);
    },
    deadlineRules: Object.values(SUPERVISION_DEADLINES),
    nav: [
      { href: '/supervision', label: '监督工作台', roles: ['supervisor'] },
      { href: '/supervision/screenings', label: '比对筛查', roles: SUPERVISION_READERS },
      { href: '/supervision/samples', label: '抽查', roles: SUPERVISION_READERS },
      { href: '/supervision/findings', label: '问题线索', roles: [...SUPERVISION_READERS, ...FINDING_ANSWERERS] },
      { href: '/supervision/reports', label: '发放统计', roles: REPORT_READERS },
      { href: '/supervision/performance', label: '绩效监控', roles: REPORT_READERS },
      { href: '/supervision/exports', label: '完整导出', roles: EXPORT_REQUESTERS },
    ],
    routes(router, web) {
      supervisionRoutes(router, web, { names, complaints: sources.complaints });
      reportRoutes(router, web);
      performanceRoutes(router, web);
      exportRoutes(router, web);
      spotCheckRoutes(router, web);
      screeningRoutes(router, web);
    },
    // 完整导出: a request only queues the export; this task builds the queued ones in the background (exports.ts).
    tasks: () => [
      {
        name: 'supervision-export',
        label: '生成完整导出压缩包（排队的导出）',
        schedule: '* * * * *',
        async run() {
          const { built, failed } = await runQueuedExports(core, sources.auditLexicon());
          if (failed) throw new Error(`生成 ${built} 个，失败 ${failed} 个（见导出页面的失败原因）`);
          return `生成 ${built} 个`;
        },
      },
      // 比对筛查: a request only queues the run; this task runs the queued ones (screenings.ts).
      {
        name: 'supervision-screening',
        label: '运行比对筛查（排队的筛查）',
        schedule: '* * * * *',
        async run() {
          const { built, failed } = await runQueuedScreenings(core);
          if (failed) throw new Error(`完成 ${built} 次，失败 ${failed} 次（见筛查页面的失败原因）`);
          return `完成 ${built} 次`;
        },
      },
    ],
    // The supervisor's home page leads to the overview, with what waits there: overdue clocks, failed payments still
    // being handled, unanswered complaints and objections, open findings of the cross-checks.
    async queues(actor) {
      // The findings (问题线索) waiting on the actor: to answer (the responsible township or department), to close (the supervisor).
      const waiting = can(actor, 'view_findings', null).ok ? await findingsWaiting(core.db, actor) : 0;
      const findingQueue = waiting ? [{ title: hasRole(actor, 'supervisor') ? '问题线索：责任单位已答复，待办结' : '问题线索：待核实整改并答复', count: waiting, href: `/supervision/findings?state=${hasRole(actor, 'supervisor') ? 'answered' : 'open'}` }] : [];
      if (!can(actor, 'view_overview', null).ok) return findingQueue;
      const today = businessDate();
      const clocks = await clockCounts(core.db, actor, today);
      const failures = await openFailureTotals(core.db, actor);
      const findings = (await openFindingsByRound(core.db, actor)).reduce((n, r) => n + r.blocking + r.warnings, 0);
      const complaints = (await sources.complaints(core.db, actor)).filter((c) => c.standing !== 'answered' && c.standing !== 'closed').length;
      const count = clocks.overdue + failures.count + complaints + findings;
      // Like every queue, shown when something waits (the navigation leads to the overview at any time).
      return [...(count ? [{ title: '监督工作台：逾期未办、发放失败、投诉举报和复核问题', count, overdue: clocks.overdue, href: '/supervision' }] : []), ...findingQueue];
    },
  };
}
