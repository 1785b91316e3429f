import type { Core } from '../../core/context.ts';
import type { AppModule, WorkQueue } from '../../core/module.ts';
import { batchAuditVocabulary } from './audit-labels.ts';
import { BATCH_DEADLINES } from './deadlines.ts';
import { formatYuan } from '../../core/money.ts';
import { formatQuantity, ROSTER_STATES, ROUND_STATES, type RosterState, type RoundState } from './model.ts';
import { type PaymentRow, paymentsOf, roundsInState, rostersAwaiting, rostersAwaitingPostPublicity } from './queries.ts';
import { BATCH_READERS, can } from './policy.ts';
import { batchRoutes } from './routes.ts';
import { ROSTER_MAPPING } from './roster-import.ts';
import { batchMove } from './move.ts';

export { canBeginPublicity, confinedToDepartment } from './policy.ts';
export { beginPublicity } from './workflow.ts';
export { roundMoney } from './round-workflow.ts';
export { objectionResolutions, recordPublicObjection } from './commands.ts';
export { type ReissueAccount, insertReissueRound } from './reissue.ts';
export { type LineFacts, type NoticeLine, type PaymentRow, type PayoutLine, type ResultLineFacts, type RoundNoticeFacts, type TransferredRound, lineAmounts, lineFacts, noticeLines, paymentsOf, releasedAt, releasedLines, resultLineFacts, roundNoticeFacts, roundsOfBank, transferredRounds } from './queries.ts';
export { type RosterRow, type RoundRow, rosterAndRound, rosterInScope, rosterStates, roundInScope } from './repo.ts';
export { type PrintedLine, printedLines, villageTotals } from './queries.ts';
export { type RoundMoneyRow, openFindingsByRound, roundsWithMoney } from './queries.ts';
export { type ReportLine, releasedLinesForReports } from './queries.ts';
export { roundLinePopulation } from './queries.ts';
export { type ScreeningScope, paidLinesOfPeriod, paidRostersOfPeriod } from './queries.ts';
export { type ScreenedFinding, RULES as CHECK_RULES, SCREENED_RULES, screenRoster } from './checks/engine.ts';
export { ACCOUNT_VERDICTS, type AccountVerdict, ROUND_STATES, type RoundState } from './model.ts';
export { type AccountCheckLine, accountCheckLines, recordAccountVerdicts } from './account-verdicts.ts';
export { roundsInState } from './queries.ts';
export { MIN_PUBLICITY_DAYS, ROSTER_STATES, type RosterState, formatQuantity, parsePeriod } from './model.ts';
export { type ExportLineRow, type ExportRoundRow, linesForExport, roundsForExport } from './queries.ts';
export { type BudgetRoundRow, type TreasuryTransferRow, budgetRounds, treasuryTransfers } from './queries.ts';

/** A line's progress as the batch module knows it: its roster's or round's step, up to handing the round to the bank. */
function progressOf(p: PaymentRow): string {
  if (p.round_state === 'compiling') return ROSTER_STATES[p.roster_state as RosterState];
  if (p.round_state === 'released' || p.round_state === 'transferred') return '已交代发银行，资金去向见“代发银行发放结果”';
  return ROUND_STATES[p.round_state as RoundState];
}

/**
 * The batch module (一个平台管发放 + 一套规程堵漏洞): payment rounds, township rosters and their lines, the
 * cross-checks and the review steps. Other modules use only what this file exports.
 */
export function createBatchModule(core: Core): AppModule {
  return {
    name: 'batch',
    move: batchMove,
    audit: batchAuditVocabulary,
    // A line keeps its payee's indexes without the numbers: the registry's new values replace them. With the database
    // to itself (a key rotation), the lookup index on account_index is built again afterwards: kept up row by row, it
    // tripled the time of 3 million lines (270 s). A county's move leaves it: dropping it would lock every county's lines.
    rekey: async (r) => {
      await r.remap('batch_line', 'id_index', 'id');
      if (r.exclusive) await r.trx.schema.alterTable('batch_line', (t) => t.dropIndex(['account_index']));
      await r.remap('batch_line', 'account_index', 'account');
      if (r.exclusive) await r.trx.schema.alterTable('batch_line', (t) => t.index(['account_index']));
    },
    deadlineRules: Object.values(BATCH_DEADLINES),
    nav: [{ href: '/rounds', label: '发放批次', roles: [...BATCH_READERS] }],
    routes: batchRoutes,
    columnMappings: [ROSTER_MAPPING],
    panels: {
      // The one-card view: a person's page lists every payment line of theirs, in every round the reader sees, with how
      // far its round has come. Where the money went once the round is with the agent bank (paid, back at the source
      // account, returned to the treasury, reissued) and what reached the person are the bank's facts: its panel says.
      async person(actor, personId) {
        const rows = await paymentsOf(core.db, personId, actor);
        return {
          title: '补贴发放记录（一卡通）',
          template: 'batch/_person-payments.njk',
          data: {
            payments: rows.map((p) => ({
              rosterId: p.roster_id,
              round: p.round_title,
              period: p.period,
              tier: p.tier_name,
              quantity: formatQuantity(p.quantity_milli),
              amount: formatYuan(p.amount_fen),
              account: p.account_last4 ? `****${p.account_last4}` : '无',
              state: progressOf(p),
            })),
          },
        };
      },
    },
    async queues(actor) {
      const queues: WorkQueue[] = [];
      // A line opens the roster or round itself when one waits for this actor, else the list of exactly those.
      const push = (title: string, mine: { id: number; total_fen: number }[], one: string, many: string) => {
        if (mine.length === 0) return;
        queues.push({ title, count: mine.length, totalFen: mine.reduce((sum, w) => sum + w.total_fen, 0), href: mine.length === 1 ? `${one}/${mine[0]!.id}` : many });
      };
      // A roster is on this actor's list when policy.ts gives them a step on it now.
      const add = async (title: string, states: RosterState[]) =>
        push(title, (await rostersAwaiting(core.db, actor, states)).map((w) => ({ id: w.roster.id, total_fen: w.total_fen })), '/rosters', `/rosters?states=${states.join(',')}`);
      if (actor.roles.includes('township_station')) {
        await add('编制中或被退回的清册', ['draft']);
        await add('待上报或待公示、待再次上报的清册', ['checked', 'approved', 'confirmed']);
        push('应急救助已发放、待发放后公示的清册', await rostersAwaitingPostPublicity(core.db, actor), '/rosters', '/deadlines');
      }
      if (actor.roles.includes('township_finance')) await add('待复核比对或待确认公示的清册', ['checking', 'publicity', 'expedited']);
      if (actor.roles.includes('department') && actor.orgId) {
        await add('待审核的乡镇清册', ['submitted']);
      }
      // A round likewise, when this actor may take its next step.
      const rounds = async (title: string, state: RoundState, action: 'submit_round' | 'release_round' | 'transfer', options: { readyToSubmit?: boolean } = {}) => {
        const mine = (await roundsInState(core.db, actor, state, options)).filter((w) => can(actor, action, w.round).ok);
        push(title, mine.map((w) => ({ id: w.round.id, total_fen: w.total_fen })), '/rounds', `/rounds?state=${state}`);
      };
      if (actor.roles.includes('department')) await rounds('各乡镇已公示上报、待汇总报财政的批次', 'compiling', 'submit_round', { readyToSubmit: true });
      if (actor.roles.includes('finance_section')) await rounds('待程序性复核的发放批次', 'submitted', 'release_round');
      if (actor.roles.includes('treasury')) await rounds('已下达、待拨付资金的发放批次', 'released', 'transfer');
      return queues;
    },
  };
}
