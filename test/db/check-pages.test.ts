import { afterEach, describe, expect, it } from 'vitest';
import { inTransaction } from '../../src/core/db.ts';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { CHECK_READS, runChecks } from '../../src/modules/batch/checks/engine.ts';
import { asRound, roundQuery, rosterQuery, type RosterRow, type RoundRow } from '../../src/modules/batch/repo.ts';
import { importRosterFile } from '../../src/modules/batch/roster-import.ts';
import { TEST_DB, type TestDb, createSeededDb, farmlandRound } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  CHECK_READS.linesPerPage = 2_500;
  await t?.cleanup();
  t = undefined;
});

/** The roster's open and accepted findings as `line|rule|message`, sorted. */
async function findingsOf(db: TestDb, rosterId: number): Promise<string[]> {
  const rows = (await db.core.db('batch_finding').where({ roster_id: rosterId }).whereIn('state', ['open', 'resolved']).select('line_id', 'rule', 'message')) as { line_id: number | null; rule: string; message: string }[];
  return rows.map((r) => `${r.line_id ?? ''}|${r.rule}|${r.message}`).sort();
}

describe(`the checks read a roster a page of lines at a time (${TEST_DB})`, () => {
  it('find the same whatever the page size, a person with lines on two pages and a deceased person on a later page included', async () => {
    t = await createSeededDb();
    const { station, heads, rosterId } = await farmlandRound(t, 12, 23);
    const file = await writeTableXlsx('清册', ['村（社区）', '姓名', '身份证号码', '档次', '数量'], heads.map((h) => [h[0]!, h[1]!, h[2]!, '标准', '2']));
    const outcome = await importRosterFile(t.core, station, rosterId, { name: '清册.xlsx', buffer: file });
    if (!outcome.ok) throw new Error('roster import failed');
    const lines = (await t.core.db('batch_line').where({ roster_id: rosterId, state: 'active' }).orderBy('id')) as Record<string, unknown>[];
    expect(lines.length).toBeGreaterThanOrEqual(8);
    // The first person again at the end of the roster (another page at any size below the roster's), and the last
    // but one dead.
    const { id: _id, ...copy } = lines[0]!;
    await t.core.db('batch_line').insert(copy);
    await t.core.db('beneficiary_person').where({ id: lines.at(-2)!.person_id }).update({ status: 'deceased', status_date: '2026-01-15' });

    const roster = (await rosterQuery(t.core.db).where('s.id', rosterId).first()) as RosterRow;
    const round = asRound((await roundQuery(t.core.db).where('r.id', roster.round_id).first()) as RoundRow);
    const check = async (linesPerPage: number) => {
      CHECK_READS.linesPerPage = linesPerPage;
      const summary = await inTransaction(t!.core.db, (trx) => runChecks(trx, round, roster));
      return { summary, findings: await findingsOf(t!, rosterId) };
    };

    const whole = await check(10_000);
    const rules = new Set(whole.findings.map((f) => f.split('|')[1]));
    expect(rules.has('duplicate-in-round')).toBe(true);
    expect(rules.has('deceased-or-moved')).toBe(true);
    expect(whole.findings.filter((f) => f.startsWith(`${lines.at(-2)!.id}|deceased-or-moved|`))).toHaveLength(1);
    for (const size of [1, 2, 3, 5]) expect(await check(size)).toEqual(whole);
  });
});
