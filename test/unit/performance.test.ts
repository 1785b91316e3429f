// Performance goals and 双监控 (issue 20 item 4, Chongqing 十二): the arithmetic of the achieved values and of the monthly
// budget execution (bank/performance.ts computePerformance), stated on a small fixture with every expected number
// worked out by hand; the integer rates (basis points) and the percentage field that reads them.
import { describe, expect, it } from 'vitest';
import { percentBp } from '../../src/core/fields.ts';
import { type PerformanceFacts, computePerformance, monthInYear } from '../../src/modules/bank/performance.ts';
import { DEFAULT_CURVE, formatBp, rateBp } from '../../src/modules/policy/performance.ts';

/** The n-th weekday after a date (Monday to Friday; the fixture's months have no holidays that matter to it). */
function addWeekdays(date: string, n: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  while (n > 0) {
    d.setUTCDate(d.getUTCDate() + 1);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) n--;
  }
  return d.toISOString().slice(0, 10);
}

const paid = (lineId: number, roundId: number, attempt: number, on: string) => ({ lineId, roundId, attempt, paid: true, amountFen: 100_000, on });
const failed = (lineId: number, roundId: number, attempt: number, on: string) => ({ lineId, roundId, attempt, paid: false, amountFen: 100_000, on });

/**
 * Policy 1: 10,000.00 元 allocated (6,000 dated December 2025, 4,000 in March); round 1 of 4 lines (released Monday
 * 2 March, transferred 4 March, 4,000 元) and round 2 of 2 lines (released 10 July, transferred 13 July, 2,000 元), each
 * line 1,000 元. Line 11 paid on 5 March, 12 on 20 March (after the 10th working day, 16 March), 13 failed then paid on
 * 10 April, 14 failed and still open; line 21 paid on 14 July, 22 not yet. Persons: 11→101, 12→102, 13→103, 21→104.
 * Policy 2: nothing allocated, no round. Today is 15 July 2026; the even curve, tolerance 5 points.
 */
function fixture(): PerformanceFacts {
  return {
    year: 2026,
    today: '2026-07-15',
    items: [
      { itemId: 1, code: 'A-1', name: '甲补贴', department: '农业农村局', allocatedFen: 1_000_000 },
      { itemId: 2, code: 'B-2', name: '乙补贴', department: '民政局', allocatedFen: 0 },
    ],
    allocationDocs: [
      { itemId: 1, amountFen: 600_000, docDate: '2025-12-20' },
      { itemId: 1, amountFen: 400_000, docDate: '2026-03-10' },
    ],
    goals: [
      { itemId: 1, indicator: 'coverage', comparison: 'gte', target: 4 },
      { itemId: 1, indicator: 'timeliness', comparison: 'gte', target: 9000 },
      { itemId: 1, indicator: 'funds_to_person', comparison: 'gte', target: 6667 },
      { itemId: 2, indicator: 'first_attempt', comparison: 'gte', target: 9500 },
    ],
    curve: { points: [...DEFAULT_CURVE], toleranceBp: 500, source: 'default', fromYear: null },
    rounds: [
      { id: 1, itemId: 1, lines: 4, transferredFen: 400_000, releasedOn: '2026-03-02', transferredOn: '2026-03-04' },
      { id: 2, itemId: 1, lines: 2, transferredFen: 200_000, releasedOn: '2026-07-10', transferredOn: '2026-07-13' },
    ],
    results: [paid(11, 1, 1, '2026-03-05'), paid(12, 1, 1, '2026-03-20'), failed(13, 1, 1, '2026-03-05'), paid(13, 1, 2, '2026-04-10'), failed(14, 1, 1, '2026-03-05'), paid(21, 2, 1, '2026-07-14')],
    failures: [
      { lineId: 13, roundId: 1, resolved: true },
      { lineId: 14, roundId: 1, resolved: false },
    ],
    personOfLine: new Map([
      [11, 101],
      [12, 102],
      [13, 103],
      [21, 104],
    ]),
    addWorkingDays: addWeekdays,
  };
}

describe('performance goals: the achieved values', () => {
  const result = computePerformance(fixture());
  const one = result.policies.find((p) => p.itemId === 1)!;
  const figure = (code: string) => one.indicators.find((i) => i.indicator === code)!;

  it('computes each indicator exactly as docs/performance-goals.md defines it', () => {
    // 覆盖人数: the persons of the paid lines 11, 12, 13 and 21.
    expect(figure('coverage')).toMatchObject({ achieved: 4, goal: { target: 4 }, met: true });
    // 发放及时率: only round 1 is due (round 2's 10th working day, 24 July, is after today); of its 4 lines only 11 was paid by 16 March.
    expect(figure('timeliness')).toMatchObject({ numerator: 1, denominator: 4, achieved: 2500, met: false });
    // 一次发放成功率: first attempts 11, 12, 13, 14, 21, of which 11, 12 and 21 paid.
    expect(figure('first_attempt')).toMatchObject({ numerator: 3, denominator: 5, achieved: 6000, goal: null, met: null });
    // 资金到人率: 4,000 元 paid of 6,000 元 transferred = 66.666…% → 6667 basis points (half up), which meets 6667.
    expect(figure('funds_to_person')).toMatchObject({ numerator: 400_000, denominator: 600_000, achieved: 6667, met: true });
    // 失败补发完成率: of the failed lines 13 and 14, 13 was paid since.
    expect(figure('failure_resolved')).toMatchObject({ numerator: 1, denominator: 2, achieved: 5000 });
    // 预算执行率: 4,000 元 paid of 10,000 元 allocated.
    expect(figure('execution')).toMatchObject({ numerator: 400_000, denominator: 1_000_000, achieved: 4000 });
  });

  it('gives no rate and no verdict where there is nothing to count', () => {
    const two = result.policies.find((p) => p.itemId === 2)!;
    expect(two.indicators.find((i) => i.indicator === 'first_attempt')).toMatchObject({ achieved: null, goal: { target: 9500 }, met: null });
    expect(two.indicators.find((i) => i.indicator === 'coverage')).toMatchObject({ achieved: 0, met: null });
    expect(two.months.every((m) => m.executionBp === null && !m.warning)).toBe(true);
    expect(two.warning).toBe(false);
  });
});

describe('performance goals: the budget execution by month', () => {
  const result = computePerformance(fixture());
  const months = result.policies.find((p) => p.itemId === 1)!.months;

  it('adds up allocated, transferred and paid fen cumulatively by the month of each event', () => {
    expect(months.map((m) => m.allocatedFen)).toEqual([600_000, 600_000, ...new Array(10).fill(1_000_000)]);
    expect(months.map((m) => m.transferredFen)).toEqual([0, 0, 400_000, 400_000, 400_000, 400_000, ...new Array(6).fill(600_000)]);
    expect(months.map((m) => m.paidFen)).toEqual([0, 0, 200_000, 300_000, 300_000, 300_000, ...new Array(6).fill(400_000)]);
    expect(months.map((m) => m.executionBp)).toEqual([0, 0, 2000, 3000, 3000, 3000, 4000, 4000, 4000, 4000, 4000, 4000]);
    expect(months.map((m) => m.transferBp)).toEqual([0, 0, 4000, 4000, 4000, 4000, 6000, 6000, 6000, 6000, 6000, 6000]);
  });

  it('warns for an ended month whose execution lags the curve by more than the tolerance, and not at exactly the tolerance', () => {
    // Even curve: 8.33%, 16.67%, 25%, 33.33%, 41.67%, 50% … Lags: 833, 1667, 500 (not more), 333, 1167, 2000; July has not ended.
    expect(months.map((m) => m.expectedBp).slice(0, 7)).toEqual([833, 1667, 2500, 3333, 4167, 5000, 5833]);
    expect(months.map((m) => m.warning)).toEqual([true, true, false, false, true, true, false, false, false, false, false, false]);
    expect(months.map((m) => m.ended)).toEqual([true, true, true, true, true, true, false, false, false, false, false, false]);
    expect(months.filter((m) => m.begun).length).toBe(7);
    expect(result.policies.find((p) => p.itemId === 1)!.warning).toBe(true);
    // All policies together: policy 2 adds nothing.
    expect(result.total.allocatedFen).toBe(1_000_000);
    expect(result.total.months.map((m) => m.paidFen)).toEqual(months.map((m) => m.paidFen));
    expect(result.total.warning).toBe(true);
  });

  it('a county curve with a wider tolerance lifts the warnings it no longer exceeds', () => {
    const wide = computePerformance({ ...fixture(), curve: { points: [...DEFAULT_CURVE], toleranceBp: 2000, source: 'set', fromYear: 2026 } });
    expect(wide.policies[0]!.months.map((m) => m.warning).slice(0, 6)).toEqual([false, false, false, false, false, false]);
  });

  it('counts money dated before the year in January and after it in December', () => {
    expect([monthInYear(2026, '2025-12-20'), monthInYear(2026, '2026-03-10'), monthInYear(2026, '2027-01-05')]).toEqual([1, 3, 12]);
  });
});

describe('performance goals: integer rates', () => {
  it('rounds a rate half up to a basis point, by integers', () => {
    expect([rateBp(2, 3), rateBp(1, 3), rateBp(1, 8), rateBp(1, 20_000), rateBp(0, 5), rateBp(5, 5), rateBp(1, 0)]).toEqual([6667, 3333, 1250, 1, 0, 10_000, null]);
    // A province's fen: the product with 20,000 passes 2^53, and the rate is still exact.
    expect([rateBp(2_000_000_000_000_000, 3_000_000_000_000_000), rateBp(9_007_199_254_740, 9_007_199_254_741)]).toEqual([6667, 10_000]);
    expect([formatBp(9850), formatBp(5), formatBp(10_000), formatBp(0)]).toEqual(['98.50%', '0.05%', '100.00%', '0.00%']);
    expect(DEFAULT_CURVE).toEqual([833, 1667, 2500, 3333, 4167, 5000, 5833, 6667, 7500, 8333, 9167, 10_000]);
  });

  it('reads a typed percentage into basis points without floating point, and refuses what is not one', () => {
    const field = percentBp('目标');
    expect(['98.5', '98.50%', '100', '0', '7%', ' 0.05 '].map((v) => field.parse(v))).toEqual([9850, 9850, 10_000, 0, 700, 5]);
    for (const bad of ['100.01', '98.505', '-1', 'abc', '1e2', '']) expect(field.safeParse(bad).success, bad).toBe(false);
  });
});
