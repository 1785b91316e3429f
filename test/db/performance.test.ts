// Performance goals and 双监控 on a real database (issue 20 item 4): the achieved values and the monthly execution that
// bank/performance.ts reads from the rounds, transfers, results and failure cases, on a small fixture built from the
// demo county's two transferred rounds of one policy — the bank's results written through the real result-file import,
// then dated — with every expected number stated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCalendar } from '../../src/core/calendar.ts';
import { findRegion } from '../../src/core/regions.ts';
import { countyPerformance } from '../../src/modules/bank/performance.ts';
import { importResultFile } from '../../src/modules/bank/results.ts';
import { resultFileCsv } from '../../src/modules/bank/simulator.ts';
import { TEST_DB, type TestDb, actorFor, createSeededDb } from '../factories.ts';

let t: TestDb;
let itemId: number;
let countyId: number;
let august: number;
let september: number;
type Line = { id: number; amount: number; person: number };
const lines: Record<number, Line[]> = {};

/** Remove what the demo's bank wrote for these rounds (the fixture writes its own). */
async function clearBank(roundIds: number[]) {
  const db = t.core.db;
  await db('bank_failure_event').whereIn('failure_id', db('bank_failure').select('id').whereIn('round_id', roundIds)).delete();
  await db('bank_supplement_line').whereIn('supplement_id', db('bank_supplement').select('id').whereIn('round_id', roundIds)).delete();
  await db('bank_failure').whereIn('round_id', roundIds).delete();
  for (const table of ['bank_supplement', 'bank_refund', 'bank_treasury_return', 'bank_notice', 'bank_line_result', 'bank_result_file']) await db(table).whereIn('round_id', roundIds).delete();
}

const at = (date: string) => `${date}T02:00:00.000Z`; // 10:00 in Shanghai, the same business date

beforeAll(async () => {
  t = await createSeededDb({ demo: true }, { people: true });
  const db = t.core.db;
  const a = await db('batch_round').where({ state: 'transferred', period: '2026-08' }).first('id', 'policy_item_id', 'county_id');
  const b = await db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id', 'policy_item_id');
  expect(Number(b.policy_item_id)).toBe(Number(a.policy_item_id));
  [august, september, itemId, countyId] = [Number(a.id), Number(b.id), Number(a.policy_item_id), Number(a.county_id)];
  await clearBank([august, september]);
  for (const r of [august, september]) {
    lines[r] = ((await db('batch_line').where({ round_id: r, state: 'active' }).orderBy('id').select('id', 'amount_fen', 'person_id')) as { id: number; amount_fen: number; person_id: number }[]).map((l) => ({ id: Number(l.id), amount: Number(l.amount_fen), person: Number(l.person_id) }));
  }
  // The bank's first results: August's first two lines fail, September's first; the others are paid.
  const bank = await actorFor(t, 'bank');
  for (const [round, failing] of [[august, 2], [september, 1]] as const) {
    const csv = resultFileCsv(lines[round]!.map((l, i) => (i < failing ? { ref: `R${round}-${l.id}`, amountFen: l.amount, result: '失败', code: 'F03' } : { ref: `R${round}-${l.id}`, amountFen: l.amount, result: '成功' })));
    const outcome = await importResultFile(t.core, bank, round, { name: `回盘-${round}.csv`, buffer: csv });
    expect(outcome.ok).toBe(true);
  }
  // August's first failed line is paid on its second attempt (as the resend's result would record it).
  const file = await db('bank_result_file').where({ round_id: august }).first('id');
  const resent = lines[august]![0]!;
  await db('bank_line_result').insert({ line_id: resent.id, round_id: august, attempt: 2, result: 'paid', amount_fen: resent.amount, result_file_id: file.id, recorded_at: at('2026-10-12') });
  // The dates: released 3 August and 1 September; transferred 5 August and 3 September; August's paid on 10 August
  // except its last line on 20 August (after its 10th working day), September's all on 30 September (late).
  await db('batch_history').where({ round_id: august, action: 'release' }).whereNull('roster_id').update({ at: at('2026-08-03') });
  await db('batch_history').where({ round_id: september, action: 'release' }).whereNull('roster_id').update({ at: at('2026-09-01') });
  await db('batch_transfer').where({ round_id: august }).update({ recorded_at: at('2026-08-05') });
  await db('batch_transfer').where({ round_id: september }).update({ recorded_at: at('2026-09-03') });
  await db('bank_line_result').where({ round_id: august, attempt: 1 }).update({ recorded_at: at('2026-08-10') });
  await db('bank_line_result').where({ round_id: august, line_id: lines[august]!.at(-1)!.id }).update({ recorded_at: at('2026-08-20') });
  await db('bank_line_result').where({ round_id: september }).update({ recorded_at: at('2026-09-30') });
});

afterAll(async () => t?.cleanup());

describe(`performance goals: computed from the platform's records (${TEST_DB})`, () => {
  it('has the fixture it states: two rounds of one policy, the working days of the calendar', async () => {
    const calendar = await loadCalendar(t.core.db);
    expect(calendar.addWorkingDays('2026-08-03', 10).date).toBe('2026-08-17');
    expect(calendar.addWorkingDays('2026-09-01', 10).date).toBe('2026-09-15');
    expect(lines[august]!.length).toBeGreaterThan(3);
    expect(lines[september]!.length).toBeGreaterThan(1);
    // The treasury transferred exactly each round's total.
    for (const r of [august, september]) {
      const sum = Number((await t.core.db('batch_transfer').where({ round_id: r }).sum({ s: 'amount_fen' }).first())!.s);
      expect(sum).toBe(lines[r]!.reduce((s, l) => s + l.amount, 0));
    }
  });

  it('computes each indicator and each month to the unit', async () => {
    const county = (await findRegion(t.core.db, countyId))!;
    const result = await countyPerformance(t.core.db, county, 2026, { publicOnly: false, today: '2027-01-10' });
    const policy = result.policies.find((p) => p.itemId === itemId)!;
    const figure = (code: string) => policy.indicators.find((i) => i.indicator === code)!;
    const A = lines[august]!;
    const B = lines[september]!;
    const sum = (ls: Line[]) => ls.reduce((s, l) => s + l.amount, 0);
    const paidA = [A[0]!, ...A.slice(2)]; // the resent first line and all but the second
    const paidB = B.slice(1);
    const paidFen = sum(paidA) + sum(paidB);
    const allocated = Number((await t.core.db('policy_allocation').where({ county_id: countyId, item_id: itemId, year: 2026 }).sum({ s: 'amount_fen' }).first())!.s);
    const rate = (n: number, d: number) => Math.floor((n * 20000 + d) / (2 * d));

    // The demo's rounds: 30 lines each, 6,000.00 元 each round, to the same 30 persons; 86,000.00 元 allocated for the year.
    expect([A.length, B.length, sum(A), sum(B), allocated]).toEqual([30, 30, 600_000, 600_000, 8_600_000]);
    expect(policy.indicators.map((i) => [i.indicator, i.numerator, i.denominator, i.achieved])).toEqual([
      ['coverage', 30, 1, 30],
      ['timeliness', 27, 60, 4500],
      ['first_attempt', 57, 60, 9500],
      ['funds_to_person', 1_170_000, 1_200_000, 9750],
      ['failure_resolved', 1, 3, 3333],
      ['execution', 1_170_000, 8_600_000, 1360],
    ]);
    expect(policy.months.map((x) => x.paidFen)).toEqual([0, 0, 0, 0, 0, 0, 0, 570_000, 1_160_000, 1_170_000, 1_170_000, 1_170_000]);
    // The same, as formulas of the fixture:
    expect(figure('coverage').achieved).toBe(new Set([...paidA, ...paidB].map((l) => l.person)).size);
    // In time: August's lines paid on 10 August (all paid at the first attempt but the last, paid on the 20th); none of September's.
    expect(figure('timeliness')).toMatchObject({ numerator: A.length - 3, denominator: A.length + B.length });
    expect(figure('first_attempt')).toMatchObject({ numerator: A.length - 2 + B.length - 1, denominator: A.length + B.length });
    expect(figure('funds_to_person')).toMatchObject({ numerator: paidFen, denominator: sum(A) + sum(B), achieved: rate(paidFen, sum(A) + sum(B)) });
    expect(figure('failure_resolved')).toMatchObject({ numerator: 1, denominator: 3, achieved: 3333 });
    expect(figure('execution')).toMatchObject({ numerator: paidFen, denominator: allocated, achieved: rate(paidFen, allocated) });

    // The months: the allocation dated 10 February; the transfers in August and September; the money paid in August
    // (first payments of August's round), September (September's round) and October (the resend).
    const m = (month: number) => policy.months[month - 1]!;
    expect([m(1).allocatedFen, m(2).allocatedFen, m(12).allocatedFen]).toEqual([0, allocated, allocated]);
    expect([m(7).transferredFen, m(8).transferredFen, m(9).transferredFen, m(12).transferredFen]).toEqual([0, sum(A), sum(A) + sum(B), sum(A) + sum(B)]);
    expect([m(7).paidFen, m(8).paidFen, m(9).paidFen, m(10).paidFen, m(12).paidFen]).toEqual([0, sum(A.slice(2)), sum(A.slice(2)) + sum(paidB), paidFen, paidFen]);
    expect(m(10).executionBp).toBe(rate(paidFen, allocated));
    // January had no allocation yet: no warning; from February the even curve is far ahead of the demo's small payments.
    expect(m(1).warning).toBe(false);
    expect(policy.months.slice(1).every((x) => x.warning === (x.expectedBp - x.executionBp! > 500))).toBe(true);
    expect(m(12).warning).toBe(true);
  });

  it('counts a failed line paid through a reissue round as resolved', async () => {
    const db = t.core.db;
    const failed = lines[august]![1]!;
    // A reissue line stands in another round; what counts is the bank's paid result on it.
    const other = lines[september]![1]!;
    await db('bank_failure').where({ line_id: failed.id }).update({ reissue_line_id: other.id });
    try {
      const county = (await findRegion(db, countyId))!;
      const policy = (await countyPerformance(db, county, 2026, { publicOnly: false, today: '2027-01-10' })).policies.find((p) => p.itemId === itemId)!;
      expect(policy.indicators.find((i) => i.indicator === 'failure_resolved')).toMatchObject({ numerator: 2, denominator: 3 });
    } finally {
      await db('bank_failure').where({ line_id: failed.id }).update({ reissue_line_id: null });
    }
  });
});
