import { ACCOUNT_VERDICTS, type AccountVerdict } from '../model.ts';
import type { CheckRule } from './rule.ts';

/**
 * The agent bank found the account wrong when it was asked before any money moved (账户核验, Qinghai 二(二)6,
 * Haicheng 二(四)): closed, frozen, not found, or not the holder's name or ID number. Blocking while the line still
 * pays that account under that name; a corrected account (another account or name) or a later verdict of 一致 ends it.
 */
export const bankVerdict: CheckRule = {
  code: 'bank-verdict',
  notScreened: '核验的是发放前的账户状态，发放后不再适用',
  label: '代发银行核验账户有误',
  severity: 'blocking',
  async check({ db, lines, roster }) {
    const withAccount = lines.filter((l) => l.account_id !== null);
    if (withAccount.length === 0) return [];
    // The roster's verdicts other than 一致, read by one join on the roster (a query per chunk of line ids cost
    // PostgreSQL a plan of 5,000 parameters each: a second of a 500,000-line release).
    const verdicts = new Map(
      ((await db('batch_account_verdict as v')
        .join('batch_line as l', 'l.id', 'v.line_id')
        .where({ 'l.roster_id': roster.id, 'l.state': 'active' })
        .whereNot('v.outcome', 'ok')
        .select('v.line_id', 'v.account_id', 'v.holder_name', 'v.outcome', 'v.note', 'v.source')) as { line_id: number; account_id: number; holder_name: string; outcome: AccountVerdict; note: string | null; source: string }[]).map((v) => [v.line_id, v]),
    );
    return withAccount.flatMap((l) => {
      const v = verdicts.get(l.id);
      if (!v || v.account_id !== l.account_id || v.holder_name !== l.holder_name) return [];
      return [{ lineId: l.id, message: `代发银行核验（${v.source}）：${ACCOUNT_VERDICTS[v.outcome] ?? v.outcome}${v.note ? `，${v.note}` : ''}。请核实后更正账户，再请银行核验` }];
    });
  },
};
