import type { Conn } from '../../core/db.ts';
import type { Fen } from '../../core/money.ts';
import { publicMaskRule } from '../../core/public-mask.ts';
import { selectInChunks } from '../../core/db.ts';
import { presentFailedListRow } from './presenters.ts';
import { failedPaymentsQuery, orgNames, returnedCases } from './queries.ts';

/** A line of the public list of failed payments, as shown (masked), with its amount in fen for the open data. */
export type PublicFailedPayment = ReturnType<typeof presentFailedListRow> & { amountFen: Fen };

/**
 * The county's list of failed payments returned to the treasury as the portal shows it (Qinghai 二(一)4): names and
 * ID numbers under the county's public mask, no account data. The public page and the open data both read it here.
 */
export async function publicFailedPayments(db: Conn, countyId: number): Promise<PublicFailedPayment[]> {
  const rows = await returnedCases(failedPaymentsQuery(db).where('f.county_id', countyId));
  const departments = await orgNames(db, rows.map((r) => r.department_org_id));
  const rule = await publicMaskRule(db, countyId);
  return rows.map((r) => ({ ...presentFailedListRow(r, departments, rule), amountFen: r.amount_fen }));
}

/**
 * The bank's "paid" results of these rounds' lines (any attempt): what reached the people, for the fund ledgers
 * (三级台账). Money of a failed line that went back is never among them.
 */
export async function paidResultsOfRounds(db: Conn, roundIds: number[]): Promise<{ line_id: number; amount_fen: Fen }[]> {
  return selectInChunks(roundIds, (chunk) => db('bank_line_result').whereIn('round_id', chunk).where({ result: 'paid' }).orderBy('line_id').select('line_id', 'amount_fen'));
}
