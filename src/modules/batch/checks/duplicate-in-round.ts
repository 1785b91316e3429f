import type { CheckRule } from './rule.ts';
import { otherLinesOf } from './other-lines.ts';

/** A person once per round: another active line for them in this round (this roster or another township's). */
export const duplicateInRound: CheckRule = {
  code: 'duplicate-in-round',
  label: '同一批次重复',
  severity: 'blocking',
  async check({ db, lines, round }) {
    const others = await otherLinesOf(db, lines, (q) => q.where('l.round_id', round.id));
    return lines.flatMap((l) => {
      const twice = (others.get(l.person_id) ?? []).filter((o) => o.id !== l.id);
      return twice.length ? [{ lineId: l.id, message: `此人在本批次中还有 ${twice.length} 行（${[...new Set(twice.map((o) => o.township_name))].join('、')}）` }] : [];
    });
  },
};
