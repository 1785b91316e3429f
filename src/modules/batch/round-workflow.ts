import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, type Tx, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { closeDeadline, openDeadline } from '../../core/deadlines.ts';
import { ConflictError, ValidationError } from '../../core/errors.ts';
import { businessDate } from '../../core/dates.ts';
import { type Fen, fen, formatYuan } from '../../core/money.ts';
import { type RoundReads, runChecks } from './checks/engine.ts';
import { recordHistory } from './commands.ts';
import { BATCH_DEADLINES, type BatchDeadline } from './deadlines.ts';
import { ROSTER_STATES, ROUND_STATES, type RoundState } from './model.ts';
import { type RosterRow, type RoundRow, roundInScope, rosterQuery } from './repo.ts';
import { authorize } from '../../core/authz.ts';
import { agreementInForce, settlementAccountNumber } from '../agreement/index.ts';
import { allocatedFen } from '../policy/index.ts';
import { can } from './policy.ts';

/**
 * The round's steps after the townships (steps 7–10): the department aggregates its townships' reported rosters,
 * enters its payment plan (用款计划) and submits the round; the finance section's procedural review (程序性复核)
 * releases it to the agent bank or returns it, only within the budget allocation (指标, Haicheng 二 8–9: a warning
 * until then), against a payment plan that covers the round's total, and only to a bank whose agreement (代发协议)
 * is in force and serves the round's townships; the treasury
 * records the transfer (拨付) of exactly the round's total, straight to the settlement account named in that
 * agreement (Qinghai 二(三)7: never to a unit account or a township). Version-guarded like the roster's steps.
 */

/** The money of a round, to the fen: the sum of its active lines and what the treasury transferred. The bank's reconciliation reuses it. */
export async function roundMoney(db: Conn, roundId: number): Promise<{ linesFen: Fen; lines: number; transferredFen: Fen }> {
  const round = (await db('batch_round').where({ id: roundId }).first('released_lines', 'released_fen')) as { released_lines: number | null; released_fen: Fen | null } | undefined;
  const transfers = (await db('batch_transfer').where({ round_id: roundId }).sum({ total: 'amount_fen' }).first()) as { total: Fen | null };
  // sum() over no rows is null: nothing transferred yet. A released round's lines are kept on it (they no longer change).
  const lines = round?.released_fen != null ? { n: Number(round.released_lines), total: fen(Number(round.released_fen)) } : await activeTotals(db, roundId);
  return { linesFen: lines.total ?? fen(0), lines: lines.n, transferredFen: transfers.total ?? fen(0) };
}

/**
 * A round's active lines counted and summed from the lines themselves (they change until the round is released), with
 * the sum of those that are not reissues (补发), which is what the year's allocation is charged: one pass over the lines.
 */
async function activeTotals(db: Conn, roundId: number): Promise<{ n: number; total: Fen | null; firstPayments: Fen }> {
  const row = (await db('batch_line')
    .where({ round_id: roundId, state: 'active' })
    .count({ n: '*' })
    .sum({ total: 'amount_fen' })
    .select(db.raw('sum(case when ?? then 0 else ?? end) as first_payments', ['reissue', 'amount_fen']))
    .first()) as { n: number | string; total: Fen | string | null; first_payments: Fen | string | null };
  return { n: Number(row.n), total: row.total === null ? null : fen(Number(row.total)), firstPayments: fen(Number(row.first_payments ?? 0)) };
}

/** A round's rosters, each saying whether it holds an active line (one grouped count over the round's lines). */
async function rostersOf(db: Conn, roundId: number): Promise<(RosterRow & { hasLines: boolean })[]> {
  const rosters = (await rosterQuery(db).where('s.round_id', roundId).orderBy('t.id')) as RosterRow[];
  const withLines = new Set(((await db('batch_line').where({ round_id: roundId, state: 'active' }).groupBy('roster_id').select('roster_id')) as { roster_id: number }[]).map((r) => r.roster_id));
  return rosters.map((r) => ({ ...r, hasLines: withLines.has(r.id) }));
}

/** Every roster with lines has been publicised (an 应急救助 round's: approved and confirmed, to be publicised after payment), confirmed and reported again; every check passes. */
async function assertReadyRosters(trx: Tx, round: RoundRow, rosters: (RosterRow & { hasLines: boolean })[]): Promise<ConflictError | null> {
  const withLines = rosters.filter((r) => r.hasLines);
  if (withLines.length === 0) return new ConflictError('本批次还没有任何发放明细');
  const notReady = withLines.filter((r) => r.state !== 'reported');
  if (notReady.length) return new ConflictError(`以下乡镇的清册尚未${round.expedited ? '确认后' : '公示后'}再次上报：${notReady.map((r) => `${r.township_name}（${ROSTER_STATES[r.state]}）`).join('、')}`);
  // The rosters are checked in one transaction: what the rules read about the whole round is read once for all.
  const roundReads: RoundReads = new Map();
  for (const roster of withLines) {
    const summary = await runChecks(trx, round, roster, roundReads);
    if (summary.blocking || summary.warnings) return new ConflictError(`${roster.township_name}清册复核比对有 ${summary.blocking} 个阻断性问题、${summary.warnings} 个未说明的提示`);
  }
  return null;
}

async function step(
  core: Core,
  actor: Actor,
  round: RoundRow,
  input: {
    from: RoundState;
    to: RoundState;
    version: number;
    action: string;
    reason?: string | null;
    closes?: BatchDeadline;
    opens?: BatchDeadline;
    /** A refusal found here still commits what the checks recorded (the findings to fix); nothing else is written. */
    guard?: (trx: Tx) => Promise<ConflictError | null>;
    /** Written with the step, after the state changed. */
    after?: (trx: Tx) => Promise<void>;
    extra?: Record<string, unknown>;
    /** What else the audit row names (beyond the state change, the reason and `extra`). */
    audit?: Record<string, unknown>;
  },
): Promise<void> {
  if (round.state !== input.from) throw new ConflictError(`批次现为“${ROUND_STATES[round.state]}”，不能办理此步骤`);
  const outcome = await inTransaction(core.db, async (trx) => {
    const problem = input.guard ? await input.guard(trx) : null;
    if (problem) return problem;
    const updated = await trx('batch_round')
      .where({ id: round.id, state: input.from, version: input.version })
      .update({ state: input.to, ...(input.extra ?? {}), updated_by: actor.userId, updated_at: nowIso(), version: input.version + 1 });
    if (updated !== 1) throw new ConflictError('批次已被他人处理，请刷新后再试');
    await input.after?.(trx);
    if (input.closes) await closeDeadline(trx, actor, { rule: input.closes, objectType: 'round', objectId: round.id, outcome: 'done' });
    if (input.opens) await openDeadline(trx, actor, { rule: BATCH_DEADLINES[input.opens], objectType: 'round', objectId: round.id, regionId: round.county_id, title: `${round.title}：${ROUND_STATES[input.to]}` });
    await recordHistory(trx, actor, { roundId: round.id, action: input.action, from: input.from, to: input.to, reason: input.reason ?? null });
    await recordAudit(trx, actor, { action: `batch.round.${input.action}`, objectType: 'round', objectId: round.id, summary: { from: input.from, to: input.to, reason: input.reason ?? null, ...(input.extra ?? {}), ...(input.audit ?? {}) } });
    return null;
  });
  if (outcome) throw outcome;
}

export interface PaymentPlan {
  planNo: string;
  planFen: Fen;
  /** YYYY-MM-DD. */
  planDate: string;
}

/**
 * The department enters (or corrects) the round's payment plan (用款计划) before it submits the round: the
 * finance section's release refers to it and refuses a round without one or beyond its amount.
 */
export async function recordPaymentPlan(core: Core, actor: Actor, roundId: number, input: PaymentPlan & { version: number }): Promise<void> {
  const round = await roundInScope(core.db, actor, roundId);
  await authorize(core.db, actor, can(actor, 'record_payment_plan', round), { objectType: 'round', objectId: roundId });
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('batch_round')
      .where({ id: round.id, state: 'compiling', version: input.version })
      .update({ payment_plan_no: input.planNo, payment_plan_fen: input.planFen, payment_plan_date: input.planDate, updated_by: actor.userId, updated_at: nowIso(), version: input.version + 1 });
    if (updated !== 1) throw new ConflictError('批次已被他人处理，请刷新后再试');
    const described = `${input.planNo}，${formatYuan(input.planFen)} 元，${input.planDate}`;
    await recordHistory(trx, actor, { roundId: round.id, action: 'payment_plan', reason: described });
    await recordAudit(trx, actor, { action: 'batch.round.payment_plan', objectType: 'round', objectId: round.id, summary: { planNo: input.planNo, planFen: input.planFen, planDate: input.planDate, replaced: round.payment_plan_no } });
  });
}

/**
 * What stops a release for money (Haicheng 二 8–9): the allocation of the round's policy and year must cover this
 * round after the rounds already released against it (a reissue's lines are covered by their original round's),
 * and the department's payment plan must be there and cover the round's total.
 */
async function moneyProblem(trx: Tx, round: RoundRow, totals: { total: Fen | null; firstPayments: Fen }): Promise<ConflictError | null> {
  const lines = () => trx('batch_line as l').join('batch_round as r', 'r.id', 'l.round_id').where({ 'l.state': 'active', 'l.reissue': false });
  const sum = async (q: ReturnType<typeof lines>) => ((await q.sum({ total: 'l.amount_fen' }).first()) as { total: Fen | null } | undefined)?.total ?? fen(0);
  const mine = totals.firstPayments;
  const used = await sum(lines().where({ 'r.county_id': round.county_id, 'r.policy_item_id': round.policy_item_id, 'r.period_year': round.period_year }).whereIn('r.state', ['released', 'transferred']).whereNot('r.id', round.id));
  const allocated = await allocatedFen(trx, round.county_id, round.policy_item_id, round.period_year);
  if (mine + used > allocated) {
    const heading = allocated === 0 ? `${round.period_year}年资金指标尚未下达（未登记指标文件），不能下达` : `超出${round.period_year}年资金指标，不能下达`;
    return new ConflictError(`${heading}：指标 ${formatYuan(allocated)} 元，本批次 ${formatYuan(mine)} 元，已下达的其他批次已用 ${formatYuan(used)} 元，缺 ${formatYuan(mine + used - allocated)} 元`);
  }
  const linesFen = totals.total ?? fen(0);
  if (round.payment_plan_no === null || round.payment_plan_fen === null) return new ConflictError('主管部门尚未录入本批次的用款计划（编号、金额、日期），不能下达；请退回主管部门补录');
  if (round.payment_plan_fen < linesFen) {
    return new ConflictError(`用款计划 ${round.payment_plan_no} 的金额 ${formatYuan(round.payment_plan_fen)} 元小于本批次合计 ${formatYuan(linesFen)} 元，不能下达；请退回主管部门更正`);
  }
  return null;
}

/** The department submits its round to the finance section once every township's roster is reported again. */
export async function submitRound(core: Core, actor: Actor, roundId: number, version: number): Promise<void> {
  const round = await roundInScope(core.db, actor, roundId);
  await authorize(core.db, actor, can(actor, 'submit_round', round), { objectType: 'round', objectId: roundId });
  await step(core, actor, round, { from: 'compiling', to: 'submitted', version, action: 'submit', opens: 'batch_finance_review', guard: async (trx) => assertReadyRosters(trx, round, await rostersOf(trx, round.id)) });
}

/** The finance section returns the round to the department with a reason. */
export async function returnRound(core: Core, actor: Actor, roundId: number, version: number, reason: string): Promise<void> {
  const round = await roundInScope(core.db, actor, roundId);
  await authorize(core.db, actor, can(actor, 'return_round', round), { objectType: 'round', objectId: roundId });
  await step(core, actor, round, { from: 'submitted', to: 'compiling', version, action: 'return', reason, closes: 'batch_finance_review' });
}

/**
 * The finance section's procedural review and release to the agent bank: totals within the allocation and the
 * payment plan, the policy's standards, no open finding, every roster publicised; nobody releases a round they
 * prepared. The history and the audit row name the payment plan released against. A round opened as 应急救助
 * （事后公示）is released without publicity; the release starts each paid roster's post-payment publicity clock
 * (deadlines.ts post_payment_publicity), stopped when the station records its publicity (workflow.ts).
 */
export async function releaseRound(core: Core, actor: Actor, roundId: number, input: { version: number; bankOrgId: number }): Promise<void> {
  const round = await roundInScope(core.db, actor, roundId);
  await authorize(core.db, actor, can(actor, 'release_round', round), { objectType: 'round', objectId: roundId });
  const bank = (await core.db('core_org').where({ id: input.bankOrgId, kind: 'bank' }).first('id')) as { id: number } | undefined;
  if (!bank) throw new ValidationError({ bankOrgId: '请选择代发金融机构' });
  const townshipIds = (await rostersOf(core.db, round.id)).filter((r) => r.hasLines).map((r) => r.township_id);
  const agreement = await agreementInForce(core.db, { countyId: round.county_id, bankOrgId: bank.id, on: businessDate(), townshipIds });
  if (typeof agreement === 'string') throw new ValidationError({ bankOrgId: agreement });
  // What the guard reads in the step's transaction, kept for `after` in the same transaction (the lines do not change between).
  let read: { rosters: (RosterRow & { hasLines: boolean })[]; totals: Awaited<ReturnType<typeof activeTotals>> } | undefined;
  await step(core, actor, round, {
    from: 'submitted',
    to: 'released',
    version: input.version,
    action: 'release',
    closes: 'batch_finance_review',
    opens: 'batch_transfer',
    extra: { bank_org_id: bank.id },
    reason: [round.payment_plan_no === null ? null : `用款计划 ${round.payment_plan_no}`, round.expedited ? '应急救助，发放后公示' : null].filter(Boolean).join('；') || null,
    audit: { paymentPlan: { no: round.payment_plan_no, amountFen: round.payment_plan_fen, date: round.payment_plan_date }, ...(round.expedited ? { expedited: true } : {}) },
    guard: async (trx) => {
      const rosters = await rostersOf(trx, round.id);
      const problem = await assertReadyRosters(trx, round, rosters);
      if (problem) return problem;
      const unpublicised = rosters.filter((r) => r.hasLines && !r.publicity_end);
      if (unpublicised.length && !round.expedited) return new ConflictError(`${unpublicised.map((r) => r.township_name).join('、')}的清册没有公示记录`);
      read = { rosters, totals: await activeTotals(trx, round.id) };
      return moneyProblem(trx, round, read.totals);
    },
    after: async (trx) => {
      // From now on the lines are the bank's order: their count and total are kept on the round (roundMoney).
      const { rosters, totals } = read!;
      await trx('batch_round').where({ id: round.id }).update({ released_lines: totals.n, released_fen: totals.total ?? 0 });
      if (!round.expedited) return;
      for (const roster of rosters.filter((r) => r.hasLines)) {
        await openDeadline(trx, actor, {
          rule: BATCH_DEADLINES.post_payment_publicity,
          objectType: 'roster',
          objectId: roster.id,
          regionId: roster.township_id,
          title: `${round.title}（${roster.township_name}）：应急救助已发放，待发放后公示（事后公示）`,
        });
      }
    },
  });
}

/**
 * The treasury records the transfer: exactly the released total, to the round's agent bank, with the voucher.
 * Anything else (another amount, another destination) is refused.
 */
export async function recordTransfer(core: Core, actor: Actor, roundId: number, input: { version: number; amountFen: number; voucherNo: string; bankOrgId: number; destinationAccount: string }): Promise<void> {
  const round = await roundInScope(core.db, actor, roundId);
  await authorize(core.db, actor, can(actor, 'transfer', round), { objectType: 'round', objectId: roundId });
  if (round.bank_org_id === null || input.bankOrgId !== round.bank_org_id) throw new ValidationError({ bankOrgId: '资金只能直接拨付到本批次的代发金融机构，不得拨付到单位账户或乡镇' });
  const { voucherNo } = input;
  const agreement = await agreementInForce(core.db, { countyId: round.county_id, bankOrgId: round.bank_org_id, on: businessDate(), townshipIds: [] });
  if (typeof agreement === 'string') throw new ValidationError({ bankOrgId: agreement });
  const settlementAccount = settlementAccountNumber(core.crypto, agreement);
  if (input.destinationAccount.replace(/\s/g, '') !== settlementAccount) {
    throw new ValidationError({ destinationAccount: `只能拨付到代发协议（${agreement.agreement_no}）约定的资金清算账户 ${settlementAccount}` });
  }
  await step(core, actor, round, {
    from: 'released',
    to: 'transferred',
    version: input.version,
    action: 'transfer',
    closes: 'batch_transfer',
    reason: `凭证 ${voucherNo}，${formatYuan(input.amountFen)} 元`,
    guard: async (trx) => {
      const { linesFen } = await roundMoney(trx, round.id);
      return input.amountFen === linesFen ? null : new ConflictError(`拨付金额应与下达金额一致：${formatYuan(linesFen)} 元`);
    },
    after: async (trx) => {
      await insertReturningId(trx, 'batch_transfer', {
        round_id: round.id,
        amount_fen: input.amountFen,
        voucher_no: voucherNo,
        bank_org_id: round.bank_org_id,
        destination_account: `${agreement.settlement_account_name} ****${agreement.settlement_account_last4}`,
        recorded_by: actor.userId,
        recorded_at: nowIso(),
      });
    },
  });
}
