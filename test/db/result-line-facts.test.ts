import { afterEach, describe, expect, it } from 'vitest';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { resultLineFacts } from '../../src/modules/batch/queries.ts';
import { importRosterFile } from '../../src/modules/batch/roster-import.ts';
import { TEST_DB, type TestDb, createSeededDb, farmlandRound } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe(`what a bank's result is checked against (${TEST_DB})`, () => {
  it('reads the named active lines of the round alone, whether their ids lie close together or far apart', async () => {
    t = await createSeededDb();
    const { station, heads, roundId, rosterId } = await farmlandRound(t, 12, 31);
    const file = await writeTableXlsx('清册', ['村（社区）', '姓名', '身份证号码', '档次', '数量'], heads.map((h) => [h[0]!, h[1]!, h[2]!, '标准', '2']));
    if (!(await importRosterFile(t.core, station, rosterId, { name: '清册.xlsx', buffer: file })).ok) throw new Error('roster import failed');
    const lines = (await t.core.db('batch_line').where({ round_id: roundId }).orderBy('id')) as Record<string, unknown>[];
    expect(lines.length).toBeGreaterThanOrEqual(6);
    // Among the round's lines, ids of another round's line and of a removed line of this round.
    const { id: _a, ...copy } = lines[0]!;
    const round = (await t.core.db('batch_round').where({ id: roundId }).first()) as Record<string, unknown>;
    const { id: _b, ...otherRound } = round;
    const [other] = await t.core.db('batch_round').insert({ ...otherRound, title: '另一批次', period: '2099' }).returning('id');
    const [foreign] = await t.core.db('batch_line').insert({ ...copy, round_id: Number(typeof other === 'object' ? other.id : other) }).returning('id');
    const [removed] = await t.core.db('batch_line').insert({ ...copy, state: 'removed' }).returning('id');
    const foreignId = Number(typeof foreign === 'object' ? foreign.id : foreign);
    const removedId = Number(typeof removed === 'object' ? removed.id : removed);
    const active = lines.map((l) => Number(l.id));

    const expectFacts = (facts: Map<number, { amount_fen: number; person_id: number }>, ids: number[]) => {
      expect([...facts.keys()].sort((a, b) => a - b)).toEqual(ids);
      for (const id of ids) {
        const line = lines.find((l) => Number(l.id) === id)!;
        expect(facts.get(id)).toMatchObject({ amount_fen: Number(line.amount_fen), person_id: Number(line.person_id) });
      }
    };
    // Close together: every line of the round (read as one range of ids), in any order, the others' ids named too.
    expectFacts(await resultLineFacts(t.core.db, roundId, [...active].reverse().concat(foreignId, removedId)), active);
    // Far apart: the first and the last line and an id beyond every line (read one by one).
    expectFacts(await resultLineFacts(t.core.db, roundId, [active[0]!, active.at(-1)!, removedId + 1_000_000]), [active[0]!, active.at(-1)!]);
    // A range that holds lines not named: only the named are read.
    expectFacts(await resultLineFacts(t.core.db, roundId, [active[0]!, active[2]!]), [active[0]!, active[2]!]);
  });
});
