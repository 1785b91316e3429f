import { selectInChunks } from '../../../core/db.ts';
import { formatYuan } from '../../../core/money.ts';
import { type ScreeningHit, type ScreeningRule, listed } from './rule.ts';

/**
 * How many households one account must collect for before the screening names it. Two people of different households
 * on one account are already warned round by round (the batch check 多人共用一个账户); over a period the screening
 * looks for an account collecting for several households: the pattern of 代领、冒领 through one card.
 */
export const MIN_HOUSEHOLDS = 3;
/** How many hex digits of the account's blind index a finding's subject keeps: enough to tell accounts apart. */
export const SHARED_ACCOUNT_SUBJECT_DIGITS = 32;

/** One account receiving for many unrelated people (一个账户为多户领取): people of different households, over the period. */
export const sharedAccount: ScreeningRule = {
  code: 'shared-account',
  label: '一个账户为多户领取',
  description: `同一账户在期间内收到 ${MIN_HOUSEHOLDS} 户及以上不同家庭人员的补贴（不同户即非同一家庭成员）。`,
  async run({ db, lines }) {
    const household = 'coalesce(l.household_id, -l.person_id)';
    const accounts = ((await lines().whereNotNull('l.account_index').groupBy('l.account_index').havingRaw(`count(distinct ${household}) >= ?`, [MIN_HOUSEHOLDS]).select('l.account_index')) as { account_index: string }[]).map((a) => a.account_index);
    if (accounts.length === 0) return [];
    const rows = (await selectInChunks(accounts, (chunk) =>
      lines()
        .whereIn('l.account_index', chunk)
        .orderBy('l.id')
        .select('l.id', 'l.account_index', 'l.account_last4', 'l.person_id', 'l.person_name', 'l.id_masked', 'l.amount_fen', 't.name as township_name', db.raw(`${household} as household_key`)),
    )) as { id: number; account_index: string; account_last4: string; person_id: number; person_name: string; id_masked: string; amount_fen: number; township_name: string; household_key: number }[];
    const byAccount = new Map<string, typeof rows>();
    for (const row of rows) byAccount.set(row.account_index, [...(byAccount.get(row.account_index) ?? []), row]);
    return [...byAccount].map(([account, paid]): ScreeningHit => {
      const people = new Map(paid.map((p) => [Number(p.person_id), p]));
      const households = new Set(paid.map((p) => Number(p.household_key))).size;
      const total = paid.reduce((sum, p) => sum + Number(p.amount_fen), 0);
      return {
        // The account's blind index, shortened: enough to tell accounts apart, never the number.
        subject: `account:${account.slice(0, SHARED_ACCOUNT_SUBJECT_DIGITS)}`,
        lineId: paid.at(-1)!.id,
        title: `尾号 ${paid[0]!.account_last4 ?? '----'} 的账户为 ${households} 户 ${people.size} 人领取`,
        evidence: `期间内该账户共收到 ${paid.length} 笔、${formatYuan(total)} 元，领取人：${listed([...people.values()].map((p) => `${p.person_name}（${p.id_masked}，${p.township_name}）`))}。`,
        lineIds: paid.map((p) => p.id),
        amountFen: total,
      };
    });
  },
};
