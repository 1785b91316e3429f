import { selectInChunks } from '../../../core/db.ts';
import { formatYuan } from '../../../core/money.ts';
import { type ScreeningHit, type ScreeningRule, listed } from './rule.ts';

/**
 * Lines changed after publicity (公示后变动): lines added or changed on a roster once its publicity had begun, then paid.
 * The public saw a list without them; one hit per roster, for the township to show on what basis they changed.
 */
export const changedAfterPublicity: ScreeningRule = {
  code: 'changed-after-publicity',
  label: '公示后新增或修改的发放',
  description: '清册公示开始后才新增或修改、随后发放的明细（公众看到的名单中没有）；按清册汇总，请乡镇说明依据。',
  async run({ lines }) {
    const rosters = ((await lines().where('l.changed_after_publicity', true).groupBy('l.roster_id').select('l.roster_id')) as { roster_id: number }[]).map((r) => Number(r.roster_id));
    if (rosters.length === 0) return [];
    const rows = (await selectInChunks(rosters, (chunk) =>
      lines()
        .whereIn('l.roster_id', chunk)
        .where('l.changed_after_publicity', true)
        .orderBy('l.id')
        .select('l.id', 'l.roster_id', 'l.person_name', 'l.id_masked', 'l.amount_fen', 'r.title as round_title', 't.name as township_name'),
    )) as { id: number; roster_id: number; person_name: string; id_masked: string; amount_fen: number; round_title: string; township_name: string }[];
    const byRoster = new Map<number, typeof rows>();
    for (const row of rows) byRoster.set(Number(row.roster_id), [...(byRoster.get(Number(row.roster_id)) ?? []), row]);
    return [...byRoster].map(([rosterId, changed]): ScreeningHit => {
      const first = changed[0]!;
      const total = changed.reduce((sum, c) => sum + Number(c.amount_fen), 0);
      return {
        subject: `roster:${rosterId}`,
        lineId: first.id,
        title: `${first.round_title}（${first.township_name}）公示后变动 ${changed.length} 行`,
        evidence: `公示开始后新增或修改并已发放的明细 ${changed.length} 行、${formatYuan(total)} 元：${listed(changed.map((c) => `${c.person_name}（${c.id_masked}）${formatYuan(Number(c.amount_fen))} 元`))}。`,
        lineIds: changed.map((c) => c.id),
        amountFen: total,
      };
    });
  },
};
