import type { Core } from '../../core/context.ts';
import type { AppModule, WorkQueue } from '../../core/module.ts';
import { batchAuditVocabulary } from './audit-labels.ts';
import { BATCH_DEADLINES } from './deadlines.ts';
import { formatYuan } from '../../core/money.ts';
import { formatQuantity, ROSTER_STATES, ROUND_STATES } from './model.ts';
import { paymentsOf, roundsReadyToSubmit, roundsWaiting, rostersWaiting } from './queries.ts';
import { BATCH_READERS } from './policy.ts';
import { batchRoutes } from './routes.ts';

export { roundMoney } from './round-workflow.ts';
export { type ReissueAccount, insertReissueRound } from './reissue.ts';
export { type LineFacts, type NoticeLine, type PaymentRow, type PayoutLine, type TransferredRound, lineAmounts, lineFacts, noticeLines, paymentsOf, releasedAt, releasedLines, roundsOfBank, transferredRounds } from './queries.ts';
export { type RoundRow, roundInScope } from './repo.ts';

/**
 * The batch module (一个平台管发放 + 一套规程堵漏洞): payment rounds, township rosters and their lines, the
 * cross-checks and the review steps. Other modules use only what this file exports.
 */
export function createBatchModule(core: Core): AppModule {
  return {
    name: 'batch',
    audit: batchAuditVocabulary,
    deadlineRules: Object.values(BATCH_DEADLINES),
    nav: [{ href: '/rounds', label: '发放批次', roles: [...BATCH_READERS] }],
    routes: batchRoutes,
    panels: {
      // The one-card view: a person's page lists every payment line of theirs, in every round.
      async person(_actor, personId) {
        const rows = await paymentsOf(core.db, personId);
        return {
          title: '补贴发放记录（一卡通）',
          template: 'batch/_person-payments.njk',
          data: {
            payments: rows.map((p) => ({
              rosterId: p.roster_id,
              round: p.round_title,
              period: p.period,
              tier: p.tier_name,
              quantity: formatQuantity(Number(p.quantity_milli)),
              amount: formatYuan(Number(p.amount_fen)),
              account: p.account_last4 ? `****${p.account_last4}` : '无',
              state: p.round_state === 'compiling' ? ROSTER_STATES[p.roster_state as keyof typeof ROSTER_STATES] : ROUND_STATES[p.round_state as keyof typeof ROUND_STATES],
            })),
            totalFen: formatYuan(rows.filter((p) => p.round_state === 'transferred').reduce((sum, p) => sum + Number(p.amount_fen), 0)),
          },
        };
      },
    },
    async queues(actor) {
      const queues: WorkQueue[] = [];
      const add = async (title: string, states: string[], options: { departmentOrgId?: number } = {}) => {
        const { count, totalFen } = await rostersWaiting(core.db, actor, states, options);
        if (count) queues.push({ title, count, totalFen, href: '/rounds' });
      };
      if (actor.roles.includes('township_station')) {
        await add('编制中或被退回的清册', ['draft']);
        await add('待上报或待公示、待再次上报的清册', ['checked', 'approved', 'confirmed']);
      }
      if (actor.roles.includes('township_finance')) await add('待复核比对或待确认公示的清册', ['checking', 'publicity']);
      if (actor.roles.includes('department') && actor.orgId) {
        await add('待审核的乡镇清册', ['submitted'], { departmentOrgId: actor.orgId });
        const ready = await roundsReadyToSubmit(core.db, actor.orgId);
        if (ready.count) queues.push({ title: '各乡镇已公示上报、待汇总报财政的批次', count: ready.count, totalFen: ready.totalFen, href: '/rounds' });
      }
      const rounds = async (title: string, state: string) => {
        const { count, totalFen } = await roundsWaiting(core.db, actor, state);
        if (count) queues.push({ title, count, totalFen, href: '/rounds' });
      };
      if (actor.roles.includes('finance_section')) await rounds('待程序性复核的发放批次', 'submitted');
      if (actor.roles.includes('treasury')) await rounds('已下达、待拨付资金的发放批次', 'released');
      return queues;
    },
  };
}
