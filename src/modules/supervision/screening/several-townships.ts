import { selectInChunks } from '../../../core/db.ts';
import { formatYuan } from '../../../core/money.ts';
import { type ScreeningHit, type ScreeningRule, listed } from './rule.ts';

/**
 * One person paid in several townships (一人多地领取): the same person paid under the same policy in one year by rosters
 * of more than one township. A move within the county explains it (the township answers with the move's date); two
 * townships paying the same person for the same months do not.
 */
export const severalTownships: ScreeningRule = {
  code: 'several-townships',
  label: '一人在多个乡镇领取',
  description: '同一人同一年度的同一项补贴，由两个及以上乡镇的清册发放（县内迁移可以说明，同期重复发放不能）。',
  async run({ lines }) {
    const groups = (await lines().groupBy('l.person_id', 'r.policy_item_id', 'r.period_year').havingRaw('count(distinct s.township_id) > 1').select('l.person_id', 'r.policy_item_id', 'r.period_year')) as {
      person_id: number;
      policy_item_id: number;
      period_year: number;
    }[];
    if (groups.length === 0) return [];
    const wanted = new Set(groups.map((g) => `${g.person_id}:${g.policy_item_id}:${g.period_year}`));
    const rows = (await selectInChunks([...new Set(groups.map((g) => Number(g.person_id)))], (chunk) =>
      lines()
        .whereIn('l.person_id', chunk)
        .orderBy('r.period_end')
        .orderBy('l.id')
        .select('l.id', 'l.person_id', 'l.person_name', 'l.id_masked', 'l.amount_fen', 'r.policy_item_id', 'r.period_year', 'r.period', 'r.title as round_title', 't.name as township_name'),
    )) as { id: number; person_id: number; person_name: string; id_masked: string; amount_fen: number; policy_item_id: number; period_year: number; period: string; round_title: string; township_name: string }[];
    const byGroup = new Map<string, typeof rows>();
    for (const row of rows) {
      const key = `${row.person_id}:${row.policy_item_id}:${row.period_year}`;
      if (wanted.has(key)) byGroup.set(key, [...(byGroup.get(key) ?? []), row]);
    }
    return [...byGroup].map(([key, paid]): ScreeningHit => {
      const first = paid[0]!;
      const townships = [...new Set(paid.map((p) => p.township_name))];
      const total = paid.reduce((sum, p) => sum + Number(p.amount_fen), 0);
      return {
        subject: `person:${key}`,
        lineId: paid.at(-1)!.id,
        title: `${first.person_name}（${first.id_masked}）${first.period_year}年在 ${townships.length} 个乡镇领取同一补贴`,
        evidence: `${listed(paid.map((p) => `${p.township_name}：${p.round_title}（${p.period}）${formatYuan(Number(p.amount_fen))} 元`), '；')}。合计 ${formatYuan(total)} 元。`,
        lineIds: paid.map((p) => p.id),
        amountFen: total,
      };
    });
  },
};
