import { type Conn, type Tx, bulkInsert, nowIso, selectInChunks } from '../../core/db.ts';
import type { AccountVerdict } from './model.ts';

/** A line as the agent bank is asked to verify its account: whose, which account, under what name. */
export interface AccountCheckLine {
  line_id: number;
  person_id: number;
  account_id: number;
  holder_name: string;
}

/** The round's active lines that pay an account, in line order: what an account verification asks the bank about. */
export async function accountCheckLines(db: Conn, roundId: number): Promise<AccountCheckLine[]> {
  return db('batch_line').where({ round_id: roundId, state: 'active' }).whereNotNull('account_id').orderBy('id').select('id as line_id', 'person_id', 'account_id', 'holder_name');
}

/**
 * The bank's verdicts on lines' accounts, each replacing the line's previous one, in the caller's transaction (the
 * bank module's answer, which audits it). The cross-checks read them (checks/bank-verdict.ts).
 */
export async function recordAccountVerdicts(trx: Tx, source: string, verdicts: readonly { lineId: number; accountId: number; holderName: string; outcome: AccountVerdict; note: string | null }[]): Promise<void> {
  const ids = verdicts.map((v) => v.lineId);
  await selectInChunks(ids, async (chunk) => {
    await trx('batch_account_verdict').whereIn('line_id', chunk).delete();
    return [];
  });
  const at = nowIso();
  await bulkInsert(trx, 'batch_account_verdict', verdicts, (v) => ({ line_id: v.lineId, account_id: v.accountId, holder_name: v.holderName, outcome: v.outcome, note: v.note, source, verified_at: at }));
}
