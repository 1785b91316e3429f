import type { CheckRule } from './rule.ts';

/** One account, one person (一人一卡): an account that is also someone else's active account, or on another line. */
export const sharedAccount: CheckRule = {
  code: 'shared-account',
  label: '多人共用一个账户',
  severity: 'warning',
  async check({ db, lines, facts, round, roundWide }) {
    // One grouped query over the round finds the accounts on lines of more than one person.
    const inRound = await roundWide('shared-account', async () =>
      new Map(
        ((await db('batch_line').where({ round_id: round.id, state: 'active' }).whereNotNull('account_index').groupBy('account_index').havingRaw('count(distinct person_id) > 1').select('account_index').countDistinct({ n: 'person_id' })) as { account_index: string; n: number }[]).map((r) => [r.account_index, r.n]),
      ),
    );
    return lines.flatMap((l) => {
      if (l.account_index === null) return [];
      const holders = Math.max(facts.get(l.person_id)?.accountHolders ?? 1, inRound.get(l.account_index) ?? 1);
      return holders > 1 ? [{ lineId: l.id, message: `该账户（尾号 ${l.account_last4}）同时是另外 ${holders - 1} 人的发放账户，请核实` }] : [];
    });
  },
};
