import { formatYuan } from '../../../core/money.ts';
import type { ScreeningHit, ScreeningRule } from './rule.ts';

/** A village's total jumps when it changes from one period to the next by at least this share of the larger total… */
export const JUMP_PERCENT = 30;
/** …and by at least this much (1,000 yuan), so that small villages' ordinary changes are not named. */
export const JUMP_MIN_FEN = 100_000;

interface VillagePeriod {
  policy_item_id: number;
  period: string;
  period_end: string;
  village_id: number;
  village_name: string;
  fen: number;
  people: number;
  line_id: number;
  round_title: string;
}

/**
 * A village whose totals jump between periods (村级发放额异常波动): for each policy, the regular rounds' totals per
 * village and period, each period against the one before it within the screening's dates (a village absent from a
 * period counts 0). Reissue rounds are left out: they pay late money, not a period's roster.
 */
export const villageJump: ScreeningRule = {
  code: 'village-jump',
  label: '村级发放额异常波动',
  description: `同一补贴相邻两期之间，某村发放总额变化达 ${JUMP_PERCENT}% 且不少于 ${formatYuan(JUMP_MIN_FEN)} 元（含新出现或消失的村）。`,
  async run({ lines }) {
    const rows = (await lines()
      .join('core_region as v', 'v.id', 'l.village_id')
      .where('r.kind', 'regular')
      .groupBy('r.policy_item_id', 'r.period', 'l.village_id', 'v.name')
      .select('r.policy_item_id', 'r.period', 'l.village_id', 'v.name as village_name')
      .max({ period_end: 'r.period_end', round_title: 'r.title' })
      .sum({ fen: 'l.amount_fen' })
      .count({ people: '*' })
      .min({ line_id: 'l.id' })) as VillagePeriod[];
    const byPolicy = new Map<number, VillagePeriod[]>();
    for (const row of rows) byPolicy.set(Number(row.policy_item_id), [...(byPolicy.get(Number(row.policy_item_id)) ?? []), row]);
    const hits: ScreeningHit[] = [];
    for (const [policyItemId, cells] of byPolicy) {
      const ends = new Map(cells.map((c) => [c.period, c.period_end]));
      const periods = [...ends.keys()].sort((a, b) => (ends.get(a)! < ends.get(b)! ? -1 : 1));
      const cell = new Map(cells.map((c) => [`${c.village_id}|${c.period}`, c]));
      const villages = [...new Set(cells.map((c) => Number(c.village_id)))];
      for (let i = 1; i < periods.length; i++) {
        for (const village of villages) {
          const before = cell.get(`${village}|${periods[i - 1]}`);
          const now = cell.get(`${village}|${periods[i]}`);
          const a = Number(before?.fen ?? 0);
          const b = Number(now?.fen ?? 0);
          const change = Math.abs(b - a);
          if (change < JUMP_MIN_FEN || change * 100 < JUMP_PERCENT * Math.max(a, b)) continue;
          const named = (now ?? before)!;
          const percent = a === 0 ? '新出现' : `${b > a ? '增加' : '减少'} ${Math.round((change * 100) / a)}%`;
          hits.push({
            subject: `village:${village}:${policyItemId}:${ends.get(periods[i]!)}`,
            lineId: Number(named.line_id),
            title: `${named.village_name} ${periods[i]} 发放额较上期${percent}（${named.round_title}）`,
            evidence: `${periods[i - 1]}：${Number(before?.people ?? 0)} 人 ${formatYuan(a)} 元；${periods[i]}：${Number(now?.people ?? 0)} 人 ${formatYuan(b)} 元；变化 ${formatYuan(change)} 元。`,
            lineIds: [Number(named.line_id)],
            amountFen: change,
          });
        }
      }
    }
    return hits;
  },
};
