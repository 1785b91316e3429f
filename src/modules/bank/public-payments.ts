import type { Conn } from '../../core/db.ts';
import { formatDateTime } from '../../core/dates.ts';
import type { Fen } from '../../core/money.ts';
import { paymentsOf } from '../batch/index.ts';
import { casesOfLines, resultsOfLines } from './queries.ts';

/** The words the portal's personal payment query uses for where a payment stands (issue 16 item 6). */
export const PUBLIC_PAYMENT_STATUS = {
  paid: '已发放',
  failing: '发放失败处理中',
  treasury: '已缴回财政（可申请补发）',
  treasuryReissued: '已缴回财政，已补发',
  treasuryNotEntitled: '已缴回财政（不再符合领取条件）',
  pending: '待发放',
} as const;

/** A payment line as the person sees it on the portal: no account, no case, no failure code. */
export interface PublicPayment {
  round: string;
  period: string;
  amountFen: Fen;
  status: (typeof PUBLIC_PAYMENT_STATUS)[keyof typeof PUBLIC_PAYMENT_STATUS];
  /** Business date of the bank's result (YYYY-MM-DD), or '' while none. */
  date: string;
}

/**
 * A person's payments in the rounds released to the bank (released or transferred), newest period first, each with
 * where its money stands in public words: paid (the bank's paid result or its case's funds paid), failed and being
 * handled, returned to the treasury (a reissue may be asked for; reissued once it is in a reissue round; none when it
 * went back early because the person is no longer entitled), or not
 * yet paid. Rounds not yet released are not shown: their amounts may still change. A person id that does not exist
 * (the portal's dummy lookup) runs the same reads and gives none.
 */
export async function publicPaymentsOf(db: Conn, personId: number): Promise<PublicPayment[]> {
  const lines = (await paymentsOf(db, personId, null)).filter((p) => p.round_state === 'released' || p.round_state === 'transferred');
  const ids = lines.map((l) => l.line_id);
  // One after another: the portal's query reads inside a transaction, whose connection takes one query at a time.
  const results = await resultsOfLines(db, ids);
  const cases = await casesOfLines(db, ids);
  return lines.map((l) => {
    const r = results.get(l.line_id);
    const c = cases.get(l.line_id);
    let status: PublicPayment['status'];
    // Money returned early because the person is no longer entitled is not to be asked for again.
    if (c?.funds === 'treasury') status = c.return_ground !== null ? PUBLIC_PAYMENT_STATUS.treasuryNotEntitled : c.reissue_line_id === null ? PUBLIC_PAYMENT_STATUS.treasury : PUBLIC_PAYMENT_STATUS.treasuryReissued;
    else if (c) status = c.funds === 'paid' ? PUBLIC_PAYMENT_STATUS.paid : PUBLIC_PAYMENT_STATUS.failing;
    else if (r?.result === 'paid') status = PUBLIC_PAYMENT_STATUS.paid;
    else if (r) status = PUBLIC_PAYMENT_STATUS.failing;
    else status = PUBLIC_PAYMENT_STATUS.pending;
    return { round: l.round_title, period: l.period, amountFen: l.amount_fen, status, date: r ? formatDateTime(r.recorded_at).slice(0, 10) : '' };
  });
}
