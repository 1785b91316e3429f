import type { CheckRule } from './rule.ts';
import { otherLinesOf } from './other-lines.ts';

/** Paid at most once per policy and period: a line in another round of the same policy and period, released or paid, unless this is an approved reissue. */
export const alreadyPaid: CheckRule = {
  code: 'already-paid',
  label: '本期已发放',
  severity: 'blocking',
  async check({ db, lines, round }) {
    const paidRounds = await db('batch_round').where({ policy_item_id: round.policy_item_id, period: round.period, county_id: round.county_id }).whereNot('id', round.id).whereIn('state', ['released', 'transferred']).first('id');
    if (!paidRounds) return [];
    const others = await otherLinesOf(db, lines, (q) =>
      q.where({ 'r.policy_item_id': round.policy_item_id, 'r.period': round.period, 'r.county_id': round.county_id }).whereNot('r.id', round.id).whereIn('r.state', ['released', 'transferred']),
    );
    return lines
      .filter((l) => !l.reissue)
      .flatMap((l) => {
        const paid = others.get(l.person_id)?.[0];
        return paid ? [{ lineId: l.id, message: `此人本期（${round.period}）已在“${paid.round_title}”中发放，不能重复发放` }] : [];
      });
  },
};
