import { type ApiClient, apiAuditor } from '../../core/api.ts';
import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import { addCalendarDays, businessDate, startOfBusinessDateIso } from '../../core/dates.ts';
import { type Conn, inTransaction } from '../../core/db.ts';
import { ForbiddenError, ValidationError } from '../../core/errors.ts';
import { type Fen, fen } from '../../core/money.ts';
import { type Region, findRegion, listRegionsInScope, regionInScope } from '../../core/regions.ts';
import { csvLine } from '../../core/spreadsheet.ts';
import { type BudgetRoundRow, ROUND_STATES, budgetRounds, treasuryTransfers } from '../batch/index.ts';
import { allocations, versionsById } from '../policy/index.ts';
import { can } from './policy.ts';

/**
 * The exchange with the budget system (预算管理一体化, Liaoning 三(二)4: 与…支付管理、“预算管理一体化”系统…有效衔接;
 * Qinghai 二(一)2: 根据实施部门申报的用款计划和相关发放清册…通过零余额账户拨付), issue 20 item 3:
 *
 * - payment vouchers (支付凭证): one record per movement of money through the zero-balance account — the treasury's
 *   transfer of a round (拨付, batch module), its second transfer of corrected lines (再次拨付, bank_supplement), the
 *   bank's refund to the source account (银行退回, bank_refund) and the return of money to the treasury (缴回国库,
 *   bank_treasury_return). Amounts are positive; the kind says the direction.
 * - payment plans (用款计划): each round of a county with the department's plan, with what was released and transferred.
 *
 * Both as CSV files on the 预算一体化对接 page (treasury, finance section, supervisors) and as JSON for the budget
 * system's token (purpose 'budget'). No personal data: rounds, policies, departments, banks, vouchers and sums only.
 * Format: docs/budget-exchange-format.md.
 */

export const VOUCHER_KINDS = { transfer: '拨付', retransfer: '再次拨付', refund: '银行退回', treasury_return: '缴回国库' } as const;
export type VoucherKind = keyof typeof VOUCHER_KINDS;
const KIND_ORDER: VoucherKind[] = ['transfer', 'retransfer', 'refund', 'treasury_return'];

/** What a voucher and a plan say about their round. */
interface RoundFacts {
  roundId: number;
  roundTitle: string;
  period: string;
  itemCode: string;
  itemName: string;
  department: string;
  bank: string;
  paymentPlanNo: string;
  /** The allocation documents (指标文件) of the round's policy and year in its county, joined with '；'. */
  allocationDocs: string;
}

export interface PaymentVoucher extends RoundFacts {
  kind: VoucherKind;
  voucherNo: string;
  /** The business date (Beijing) of the movement. */
  date: string;
  amountFen: Fen;
}

export interface PaymentPlan extends Omit<RoundFacts, 'paymentPlanNo' | 'allocationDocs' | 'bank'> {
  planNo: string;
  planFen: Fen;
  planDate: string;
  state: keyof typeof ROUND_STATES;
  releasedFen: Fen;
  transferredFen: Fen;
}

/** The facts of these rounds, their policy named by the version each was opened under. */
async function roundFacts(db: Conn, rounds: BudgetRoundRow[]): Promise<Map<number, RoundFacts>> {
  const versions = new Map((await versionsById(db, rounds.map((r) => r.policy_version_id))).map((v) => [v.id, v]));
  const docs = new Map<string, string>();
  for (const r of rounds) {
    const key = `${r.county_id}:${r.policy_item_id}:${r.period_year}`;
    if (!docs.has(key)) docs.set(key, (await allocations(db, r.county_id, { itemId: r.policy_item_id, year: r.period_year })).map((a) => a.docNumber).join('；'));
  }
  return new Map(
    rounds.map((r) => {
      const v = versions.get(r.policy_version_id);
      return [
        r.id,
        {
          roundId: r.id,
          roundTitle: r.title,
          period: r.period,
          itemCode: v?.code ?? '',
          itemName: v?.name ?? '',
          department: r.department_name,
          bank: r.bank_name ?? '',
          paymentPlanNo: r.payment_plan_no ?? '',
          allocationDocs: docs.get(`${r.county_id}:${r.policy_item_id}:${r.period_year}`) ?? '',
        },
      ];
    }),
  );
}

/** Every movement of the county's money through the zero-balance account dated from `from` to `to` (both counted), by date. */
export async function paymentVouchers(db: Conn, countyId: number, from: string, to: string): Promise<PaymentVoucher[]> {
  const fromIso = startOfBusinessDateIso(from);
  const toIso = startOfBusinessDateIso(addCalendarDays(to, 1));
  const moves: { kind: VoucherKind; roundId: number; voucherNo: string; date: string; amountFen: Fen; order: number }[] = [];
  for (const t of await treasuryTransfers(db, { countyId, fromIso, toIso })) {
    moves.push({ kind: 'transfer', roundId: t.round_id, voucherNo: t.voucher_no, date: businessDate(new Date(t.recorded_at)), amountFen: t.amount_fen, order: t.id });
  }
  // The bank's tables name rounds only: the county is checked on the rounds below.
  const supplements = (await db('bank_supplement').whereNotNull('transfer_voucher').where('transferred_at', '>=', fromIso).where('transferred_at', '<', toIso).select('id', 'round_id', 'transfer_voucher', 'amount_fen', 'transferred_at')) as {
    id: number;
    round_id: number;
    transfer_voucher: string;
    amount_fen: unknown;
    transferred_at: string | Date;
  }[];
  for (const s of supplements) moves.push({ kind: 'retransfer', roundId: s.round_id, voucherNo: s.transfer_voucher, date: businessDate(new Date(s.transferred_at)), amountFen: fen(Number(s.amount_fen)), order: s.id });
  const refunds = (await db('bank_refund').whereBetween('refunded_on', [from, to]).select('id', 'round_id', 'voucher_no', 'refunded_on', 'amount_fen')) as { id: number; round_id: number; voucher_no: string; refunded_on: string; amount_fen: unknown }[];
  for (const r of refunds) moves.push({ kind: 'refund', roundId: r.round_id, voucherNo: r.voucher_no, date: r.refunded_on, amountFen: fen(Number(r.amount_fen)), order: r.id });
  const returns = (await db('bank_treasury_return').whereBetween('returned_on', [from, to]).select('id', 'round_id', 'voucher_no', 'returned_on', 'amount_fen')) as { id: number; round_id: number; voucher_no: string; returned_on: string; amount_fen: unknown }[];
  for (const r of returns) moves.push({ kind: 'treasury_return', roundId: r.round_id, voucherNo: r.voucher_no, date: r.returned_on, amountFen: fen(Number(r.amount_fen)), order: r.id });

  const rounds = (await budgetRounds(db, { ids: moves.map((m) => m.roundId) })).filter((r) => r.county_id === countyId);
  const facts = await roundFacts(db, rounds);
  return moves
    .filter((m) => facts.has(m.roundId))
    .sort((a, b) => a.date.localeCompare(b.date) || KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.order - b.order)
    .map(({ kind, voucherNo, date, amountFen, roundId }) => ({ kind, voucherNo, date, amountFen, ...facts.get(roundId)! }));
}

/** The county's rounds of a year (their period's) with a payment plan recorded, in round order. */
export async function paymentPlans(db: Conn, countyId: number, year: number): Promise<PaymentPlan[]> {
  const rounds = await budgetRounds(db, { countyId, year, withPlan: true });
  const facts = await roundFacts(db, rounds);
  return rounds.map((r) => {
    const { paymentPlanNo: _plan, allocationDocs: _docs, bank: _bank, ...named } = facts.get(r.id)!;
    return {
      planNo: r.payment_plan_no!,
      planFen: r.payment_plan_fen ?? fen(0),
      planDate: r.payment_plan_date ?? '',
      ...named,
      state: r.state,
      releasedFen: r.released_fen,
      transferredFen: r.transferred_fen,
    };
  });
}

/** Totals of a voucher list by kind, in fen. */
export function voucherTotals(vouchers: PaymentVoucher[]): Record<VoucherKind, { count: number; fen: number }> {
  const totals = Object.fromEntries(KIND_ORDER.map((k) => [k, { count: 0, fen: 0 }])) as Record<VoucherKind, { count: number; fen: number }>;
  for (const v of vouchers) {
    totals[v.kind].count++;
    totals[v.kind].fen += v.amountFen;
  }
  return totals;
}

// --- Files ----------------------------------------------------------------------------------------------------

/** The voucher file's columns: header, value. */
export const VOUCHER_COLUMNS: [string, (v: PaymentVoucher) => string | number][] = [
  ['凭证类型', (v) => VOUCHER_KINDS[v.kind]],
  ['凭证号', (v) => v.voucherNo],
  ['日期', (v) => v.date],
  ['金额（分）', (v) => v.amountFen],
  ['发放批次号', (v) => v.roundId],
  ['批次名称', (v) => v.roundTitle],
  ['期间', (v) => v.period],
  ['补贴项目编码', (v) => v.itemCode],
  ['补贴项目名称', (v) => v.itemName],
  ['主管部门', (v) => v.department],
  ['代发金融机构', (v) => v.bank],
  ['用款计划号', (v) => v.paymentPlanNo],
  ['指标文号', (v) => v.allocationDocs],
];

export const PLAN_COLUMNS: [string, (p: PaymentPlan) => string | number][] = [
  ['用款计划号', (p) => p.planNo],
  ['计划金额（分）', (p) => p.planFen],
  ['计划日期', (p) => p.planDate],
  ['发放批次号', (p) => p.roundId],
  ['批次名称', (p) => p.roundTitle],
  ['期间', (p) => p.period],
  ['补贴项目编码', (p) => p.itemCode],
  ['补贴项目名称', (p) => p.itemName],
  ['主管部门', (p) => p.department],
  ['批次状态', (p) => ROUND_STATES[p.state]],
  ['已下达金额（分）', (p) => p.releasedFen],
  ['已拨付金额（分）', (p) => p.transferredFen],
];

/** A CSV file that leaves the platform: UTF-8 with a BOM (Excel reads it as Chinese), CRLF, every cell as csvLine. */
export function csvFile<T>(columns: [string, (row: T) => string | number][], rows: T[]): Buffer {
  const lines = [csvLine(columns.map(([header]) => header)), ...rows.map((r) => csvLine(columns.map(([, value]) => value(r))))];
  return Buffer.from(`\ufeff${lines.join('\r\n')}\r\n`, 'utf8');
}

// --- Who reads, for which county ------------------------------------------------------------------------------

export type BudgetReader = { actor: Actor; client?: never } | { client: ApiClient; actor?: never };

/**
 * The county a reader reads: a county user's own; a supervisor above the counties names one of theirs (null: not yet
 * chosen); the budget token's (a county). Refused, with an audit row, for anyone else.
 */
export async function budgetCounty(core: Core, reader: BudgetReader, countyId: number | null): Promise<Region | null> {
  if (reader.client) {
    if (reader.client.purpose !== 'budget') throw new ForbiddenError('该接口令牌不能读取支付凭证和用款计划：须为“预算管理一体化”用途的令牌');
    const county = await findRegion(core.db, reader.client.regionId);
    if (!county || county.level !== 'county') throw new ForbiddenError('预算管理一体化系统按县交换数据：该接口令牌不属于县一级');
    return county;
  }
  const { actor } = reader;
  await authorize(core.db, actor, can(actor, 'budget_exchange', null), { objectType: 'page', objectId: '/bank/budget' });
  if (actor.regionLevel === 'county') return (await findRegion(core.db, actor.regionId))!;
  if (countyId === null) return null;
  const county = await regionInScope(core.db, actor, countyId);
  if (county.level !== 'county') throw new ValidationError({ county: '请选择县（区）' });
  return county;
}

/** The counties a reader above them chooses from. */
export async function budgetCounties(db: Conn, actor: Actor): Promise<Region[]> {
  return (await listRegionsInScope(db, actor)).filter((r) => r.level === 'county');
}

/** An export of vouchers or plans handed out (a file downloaded, an API answer): audited with what it held. */
export async function recordBudgetExport(core: Core, reader: BudgetReader, county: Region, summary: { kind: 'vouchers' | 'plans'; format: 'csv' | 'json'; from?: string; to?: string; year?: number; rows: number; amountFen: number }): Promise<void> {
  const who = reader.actor ?? apiAuditor(reader.client);
  await inTransaction(core.db, (trx) => recordAudit(trx, who, { action: `bank.budget.${summary.kind}`, objectType: 'region', objectId: county.id, summary: { county: county.name, ...summary } }));
}
