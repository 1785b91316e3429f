import type { Conn } from '../../core/db.ts';
import { type Fen, fen } from '../../core/money.ts';
import { roundMoney } from '../batch/index.ts';

/**
 * A round's money after release, to the fen (docs/architecture.md, money invariants), each figure read from its own record:
 *
 *   transferred = the treasury's transfer + its transfers of refunded lines sent again (bank_supplement)
 *   paid        = the bank's results "paid", any attempt
 *   pending     = lines whose money is at the bank with no paid result yet (first payout or a resend)
 *   refunded    = the bank's refunds to the source account (bank_refund)
 *   re-sent     = refunded money the treasury sent to the bank again
 *   returned    = money returned to the treasury (bank_treasury_return)
 *   awaiting    = refunded money at the source account, no decision carried out yet
 *
 * and two identities that must hold at every moment: transferred = paid + pending + refunded, and
 * refunded = re-sent + returned + awaiting.
 */
export interface RoundLedger {
  lines: number;
  linesFen: number;
  transferredFen: number;
  firstTransferFen: number;
  paidFen: number;
  paid: number;
  pendingFen: number;
  pending: number;
  refundedFen: number;
  resentFen: number;
  returnedFen: number;
  returned: number;
  awaitingFen: number;
  awaiting: number;
  /** Both identities hold. */
  balanced: boolean;
}

/** Counts and sums as the database gives them (numbers, db.ts); a sum over no rows is null: nothing. */
type Totals = { n?: number | null; total: Fen | null } | undefined;
const sum = (row: Totals) => row?.total ?? fen(0);
const count = (row: Totals) => row?.n ?? 0;

export async function roundLedger(db: Conn, roundId: number): Promise<RoundLedger> {
  const money = await roundMoney(db, roundId);
  const resent = (await db('bank_supplement').where({ round_id: roundId, needs_transfer: true }).whereNotNull('transferred_at').sum({ total: 'amount_fen' }).first()) as Totals;
  const paid = (await db('bank_line_result').where({ round_id: roundId, result: 'paid' }).count({ n: '*' }).sum({ total: 'amount_fen' }).first()) as Totals;
  // Money not at the bank: paid lines, and failed lines whose money went back to the source account or the treasury.
  const away = (await db('bank_failure').where({ round_id: roundId }).whereIn('funds', ['source', 'treasury']).count({ n: '*' }).sum({ total: 'amount_fen' }).first()) as Totals;
  const refunded = (await db('bank_refund').where({ round_id: roundId }).sum({ total: 'amount_fen' }).first()) as Totals;
  const returned = (await db('bank_treasury_return').where({ round_id: roundId }).sum({ total: 'amount_fen' }).sum({ n: 'lines' }).first()) as Totals;
  const awaiting = (await db('bank_failure').where({ round_id: roundId, funds: 'source' }).count({ n: '*' }).sum({ total: 'amount_fen' }).first()) as Totals;
  const transferred = money.transferredFen > 0;
  const ledger = {
    lines: money.lines,
    linesFen: money.linesFen,
    firstTransferFen: money.transferredFen,
    transferredFen: money.transferredFen + sum(resent),
    paid: count(paid),
    paidFen: sum(paid),
    // Before the treasury's transfer nothing is at the bank.
    pending: transferred ? money.lines - count(paid) - count(away) : 0,
    pendingFen: transferred ? money.linesFen - sum(paid) - sum(away) : 0,
    refundedFen: sum(refunded),
    resentFen: sum(resent),
    returnedFen: sum(returned),
    returned: count(returned),
    awaitingFen: sum(awaiting),
    awaiting: count(awaiting),
  };
  return {
    ...ledger,
    balanced: ledger.transferredFen === ledger.paidFen + ledger.pendingFen + ledger.refundedFen && ledger.refundedFen === ledger.resentFen + ledger.returnedFen + ledger.awaitingFen,
  };
}
