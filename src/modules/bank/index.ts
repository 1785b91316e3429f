import type { Core } from '../../core/context.ts';
import type { AppModule, WorkQueue } from '../../core/module.ts';
import { bankAuditVocabulary } from './audit-labels.ts';
import type { Role } from '../../core/auth/roles.ts';
import { paymentsOf, roundMoney } from '../batch/index.ts';
import { notOnCardQuery } from '../beneficiary/index.ts';
import { countRows } from '../../core/db.ts';
import { bankApi } from './api.ts';
import { BANK_DEADLINES } from './deadlines.ts';
import { bankRounds } from './commands.ts';
import { NOTICE_CONFIRM_DAYS, noticeBacklog, noticeStateLabel, noticesOf, sendQueuedNotices } from './notices.ts';
import { noticeRoutes } from './notice-routes.ts';
import { bankRoutes } from './routes.ts';
import { reconcileRoutes } from './reconcile-routes.ts';
import { clearingRoutes } from './clearing-routes.ts';
import { clearingQueues } from './clearing.ts';
import { cardRoutes } from './card-routes.ts';
import { accountCheckRoutes } from './account-check-routes.ts';
import { openReconciliations } from './reconcile.ts';
import { failureRoutes } from './failure-routes.ts';
import { budgetRoutes } from './budget-routes.ts';
import { ACCOUNT_CHECK_READERS, BUDGET_EXCHANGE_READERS, CARD_READERS, FAILURE_READERS, NOT_ON_CARD_READERS, RECONCILIATION_READERS } from './policy.ts';
import { casesOfLines, countsByState, failuresQuery, listCardRequests, listReconciliations, originalsOfReissues, resultsOfLines, roundsWithResults, supplementsAwaitingTransfer } from './queries.ts';
import { presentPersonPayments } from './presenters.ts';
import type { FailureState } from './model.ts';
import { bankMove } from './move.ts';

export { PUBLIC_PAYMENT_STATUS, type PublicPayment, publicPaymentsOf } from './public-payments.ts';
export { type PublicFailedPayment, paidResultsOfRounds, publicFailedPayments } from './public-lists.ts';
export { type RoundLedger, roundLedger } from './ledger.ts';
export { type CountyPerformance, INDICATOR_NOTES, computePerformance, countyPerformance, performanceFacts, presentPerformance } from './performance.ts';
export { clearingsOf, openFailureTotals } from './queries.ts';
export { type LineOutcomes, lineOutcomesOfRounds } from './queries.ts';
export { type ExportFailureRow, type ExportResultRow, failuresForExport, resultsForExport } from './queries.ts';

/** Who answers for failed payments in which state (Qinghai 二(一)4), for the home page. */
const FAILURE_QUEUES: [Role, FailureState, string][] = [
  ['township_station', 'correcting', '发放失败、待核实修正的明细'],
  ['township_station', 'refunded', '资金已退回、待重新核实发放的明细'],
  // Haicheng 三 1: the bank's failures reach the township finance office too, which imports the stations' corrections.
  ['township_finance', 'correcting', '本乡镇发放失败、待导入修正信息的明细'],
  ['township_finance', 'refunded', '本乡镇资金已退回、待导入修正信息的明细'],
  ['department', 'verifying', '乡镇已修正、待核实的失败明细'],
  ['department', 'refunded', '资金已退回原账户、待重新发放的明细'],
  ['finance_section', 'reviewing', '修正后待再次复核的失败明细'],
  ['bank', 'refund_due', '再次发放失败、待退回资金的明细'],
  ['treasury', 'return_due', '待登记暂缴回财政的明细'],
  ['department', 'reissue_verifying', '本人已报备、待核实的补发申请'],
  ['finance_section', 'reissue_reviewing', '待复核批准的补发申请'],
  ['department', 'reissue_approved', '已批准、待编入补发批次的补发'],
];

/**
 * The bank module: everything after release (steps 11–12): the payout files of the rounds released to a bank, on
 * its pages and through its API token; the bank's results; failed payments through correction, resend, refund and
 * return to the treasury; each round's ledger; payment notices. Other modules use only this file.
 */
export function createBankModule(core: Core): AppModule {
  return {
    name: 'bank',
    move: bankMove,
    audit: bankAuditVocabulary,
    deadlineRules: Object.values(BANK_DEADLINES),
    nav: [
      { href: '/bank/payouts', label: '代发文件', roles: ['bank'] },
      { href: '/bank/failures', label: '发放失败', roles: FAILURE_READERS },
      { href: '/bank/reconciliations', label: '对账清算', roles: RECONCILIATION_READERS },
      { href: '/bank/account-checks', label: '账户核验', roles: ACCOUNT_CHECK_READERS },
      { href: '/bank/card-requests', label: '开卡申请', roles: CARD_READERS },
      { href: '/bank/not-on-card', label: '未用社保卡', roles: NOT_ON_CARD_READERS },
      { href: '/bank/notices', label: '发放告知', roles: ['bank'] },
      { href: '/bank/budget', label: '预算一体化对接', roles: BUDGET_EXCHANGE_READERS },
    ],
    routes(router, web) {
      bankRoutes(router, web);
      failureRoutes(router, web);
      reconcileRoutes(router, web);
      clearingRoutes(router, web);
      cardRoutes(router, web);
      accountCheckRoutes(router, web);
      noticeRoutes(router, web);
      budgetRoutes(router, web);
    },
    api: bankApi(core),
    panels: {
      // The one-card view, continued: where the money of each released payment line of the person went, as the bank's
      // results and failed-payment cases say, and what reached the person (a reissue counted once).
      async person(actor, personId) {
        const lines = (await paymentsOf(core.db, personId, actor)).filter((p) => p.round_state === 'released' || p.round_state === 'transferred');
        if (lines.length === 0) return null;
        const ids = lines.map((l) => l.line_id);
        const notices = await noticesOf(core.db, personId);
        const payments = presentPersonPayments(lines, await resultsOfLines(core.db, ids), await casesOfLines(core.db, ids), await originalsOfReissues(core.db, ids));
        return {
          title: '代发银行发放结果',
          template: 'bank/_person-results.njk',
          data: {
            ...payments,
            notices: notices.map((n) => ({ text: n.text, state: noticeStateLabel(n, core.config.demo) })),
          },
        };
      },
    },
    tasks: () => [
      {
        name: 'reconciliation-open',
        label: '季度末建立与代发金融机构的对账',
        schedule: '30 1 * * *',
        async run() {
          return `新建对账 ${await openReconciliations(core.db)} 个`;
        },
      },
      {
        name: 'notice-send',
        label: '补贴发放告知：交代发银行短信发送；未约定渠道的仅写入日志',
        schedule: '*/5 * * * *',
        async run() {
          const { logged, awaitingBank } = await sendQueuedNotices(core.db);
          return `${core.config.demo ? '演示：' : ''}${logged} 条告知仅写入日志，未实际发送（代发协议未约定短信告知渠道）；${awaitingBank} 条待代发银行获取`;
        },
      },
    ],
    async queues(actor) {
      const queues: WorkQueue[] = [];
      if (actor.roles.includes('bank') && actor.orgId !== null) {
        // Rounds the bank has not answered yet: a year of paid rounds is not work waiting.
        const released = (await bankRounds(core, { actor })).map((r) => r.id);
        const answered = await roundsWithResults(core.db, released);
        const rounds = released.filter((id) => !answered.has(id));
        let totalFen = 0;
        for (const id of rounds) totalFen += (await roundMoney(core.db, id)).linesFen;
        if (rounds.length) queues.push({ title: '已下达本机构、尚未回盘的发放批次（下载代发文件）', count: rounds.length, totalFen, href: '/bank/payouts' });
        const cards = (await listCardRequests(core.db, actor)).filter((r) => r.state === 'sent');
        if (cards.length) queues.push({ title: '待办理的开卡申请', count: cards.reduce((n, r) => n + r.lines, 0), href: '/bank/card-requests' });
        const notices = await noticeBacklog(core.db, actor.orgId);
        if (notices.toFetch) queues.push({ title: '待获取并短信发送的补贴发放告知', count: notices.toFetch, href: '/bank/notices' });
        if (notices.overdue) queues.push({ title: `已交银行超过 ${NOTICE_CONFIRM_DAYS} 天未回传发送结果的告知`, count: notices.overdue, href: '/bank/notices' });
      }
      // 社保卡优先: the station sees how many of its people are still paid to a bank card or passbook.
      if (actor.roles.includes('township_station')) {
        const notOnCard = await countRows(notOnCardQuery(core.db, actor, { name: null, villageId: null, reason: null, kind: null }));
        if (notOnCard) queues.push({ title: '未使用社保卡发放的人员（申请办理社保卡）', count: notOnCard, href: '/bank/not-on-card' });
      }
      if (!actor.roles.some((r) => FAILURE_READERS.includes(r))) return queues;
      const asked = FAILURE_QUEUES.filter(([role]) => actor.roles.includes(role)).map(([, state]) => state);
      const byState = await countsByState(failuresQuery(core.db, actor).whereIn('f.state', asked));
      for (const [role, state, title] of FAILURE_QUEUES) {
        const q = byState.get(state);
        if (q && actor.roles.includes(role)) queues.push({ title, ...q, href: role === 'township_finance' ? '/bank/failures/corrections' : `/bank/failures?state=${state}` });
      }
      if (actor.roles.some((r) => r === 'finance_section' || r === 'department' || r === 'bank')) {
        const open = (await listReconciliations(core.db, actor)).filter((r) => r.state === 'open');
        if (open.length) queues.push({ title: '待核对签认的季度对账', count: open.length, href: '/bank/reconciliations' });
      }
      // The year-end clearing: the finance section opens, re-opens and finalizes it; departments and banks confirm.
      queues.push(...(await clearingQueues(core.db, actor)));
      if (actor.roles.includes('treasury')) {
        const waiting = await supplementsAwaitingTransfer(core.db, actor);
        if (waiting.count) queues.push({ title: '退回后重新发放、待再次拨付的补充代发文件', ...waiting, href: '/bank/failures?state=resend' });
      }
      return queues;
    },
  };
}
