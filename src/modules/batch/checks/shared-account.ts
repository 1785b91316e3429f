import type { CheckRule } from './rule.ts';

/** One account, one person (一人一卡): an account that is also someone else's active account, or on another line. */
export const sharedAccount: CheckRule = {
  code: 'shared-account',
  label: '多人共用一个账户',
  severity: 'warning',
  async check({ db, lines, facts, round }) {
    const withAccount = lines.filter((l) => l.account_index !== null);
    const others = new Map<string, number>();
    const indexes = [...new Set(withAccount.map((l) => l.account_index!))];
    for (let i = 0; i < indexes.length; i += 5_000) {
      const rows: { account_index: string; n: number | string }[] = await db('batch_line')
        .where({ round_id: round.id, state: 'active' })
        .whereIn('account_index', indexes.slice(i, i + 5_000))
        .groupBy('account_index')
        .select('account_index')
        .countDistinct({ n: 'person_id' });
      for (const r of rows) others.set(r.account_index, Number(r.n));
    }
    return withAccount.flatMap((l) => {
      const holders = Math.max(facts.get(l.person_id)?.accountHolders ?? 1, others.get(l.account_index!) ?? 1);
      return holders > 1 ? [{ lineId: l.id, message: `该账户（尾号 ${l.account_last4}）同时是另外 ${holders - 1} 人的发放账户，请核实` }] : [];
    });
  },
};
