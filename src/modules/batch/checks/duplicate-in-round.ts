import type { CheckRule } from './rule.ts';
import { otherLinesOf } from './other-lines.ts';

/** A person once per round: another active line for them in this round (this roster or another township's). */
export const duplicateInRound: CheckRule = {
  code: 'duplicate-in-round',
  label: '同一批次重复',
  severity: 'blocking',
  async check({ db, lines, round, roundWide }) {
    // One grouped query over the round finds the people on more than one line; only they are looked at further.
    const twice = await roundWide('duplicate-in-round', async () =>
      new Set(((await db('batch_line').where({ round_id: round.id, state: 'active' }).groupBy('person_id').havingRaw('count(*) > 1').select('person_id')) as { person_id: number }[]).map((r) => r.person_id)),
    );
    const mine = lines.filter((l) => twice.has(l.person_id));
    if (mine.length === 0) return [];
    const others = await otherLinesOf(db, mine, (q) => q.where('l.round_id', round.id));
    return mine.flatMap((l) => {
      const more = (others.get(l.person_id) ?? []).filter((o) => o.id !== l.id);
      return more.length ? [{ lineId: l.id, message: `此人在本批次中还有 ${more.length} 行（${[...new Set(more.map((o) => o.township_name))].join('、')}）` }] : [];
    });
  },
};
