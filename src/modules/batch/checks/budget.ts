import { type Fen, fen, formatYuan } from '../../../core/money.ts';
import { allocatedFen } from '../../policy/index.ts';
import type { CheckRule } from './rule.ts';

/**
 * The round stays within the budget allocation (指标) of its policy and year, after the county's other rounds. A
 * warning while the townships and the department prepare the round (the allocation may not be recorded yet, Haicheng
 * 二 8–9); the finance section's release refuses a round beyond it (round-workflow.ts).
 */
export const budget: CheckRule = {
  code: 'budget',
  notScreened: '由财政部门在下达时决定，事后不再比对',
  label: '超出资金指标',
  severity: 'warning',
  decidedAtRelease: true,
  async check({ db, round, roundWide }) {
    const { allocated, mine, others } = await roundWide('budget', async () => {
      const allocated = await allocatedFen(db, round.county_id, round.policy_item_id, round.period_year);
      // sum() over no lines is null: 0 fen.
      const sum = async (q: ReturnType<typeof db>) => ((await q.sum({ total: 'l.amount_fen' }).first()) as { total: Fen | null }).total ?? fen(0);
      // A reissue (补发) pays money the original round's allocation covered and the treasury got back: not counted again.
      const lines = () => db('batch_line as l').where({ 'l.state': 'active', 'l.reissue': false });
      const mine = await sum(lines().where('l.round_id', round.id));
      const others = await sum(lines().join('batch_round as r', 'r.id', 'l.round_id').where({ 'r.county_id': round.county_id, 'r.policy_item_id': round.policy_item_id, 'r.period_year': round.period_year }).whereNot('r.id', round.id));
      return { allocated, mine, others };
    });
    if (mine + others <= allocated) return [];
    const release = '财政局业务科室复核下达时须在指标之内';
    if (allocated === 0) return [{ lineId: null, message: `${round.period_year}年资金指标尚未登记，本批次合计 ${formatYuan(mine)} 元；${release}` }];
    return [{ lineId: null, message: `本批次合计 ${formatYuan(mine)} 元，加本年度其他批次 ${formatYuan(others)} 元，超出${round.period_year}年资金指标 ${formatYuan(allocated)} 元；${release}` }];
  },
};
