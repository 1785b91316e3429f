import { type Calendar, loadCalendar } from '../../core/calendar.ts';
import { businessDate } from '../../core/dates.ts';
import { type Conn, selectInChunks } from '../../core/db.ts';
import { type Fen, formatYuan } from '../../core/money.ts';
import type { Region } from '../../core/regions.ts';
import { lineFacts, releasedAt, roundMoney, transferredRounds } from '../batch/index.ts';
import {
  COMPARISON_SIGNS, type Comparison, type ExecutionCurve, INDICATORS, INDICATOR_CODES, type Indicator, TIMELY_WORKING_DAYS, allocations, executionCurve, formatBp, formatIndicatorValue, formatPointsBp, meets, performanceGoals, policyList,
  presentVersion, rateBp, yearAllocations,
} from '../policy/index.ts';

/**
 * 双监控 (Chongqing 十二): for each policy of a county and year, the achieved value of each performance indicator beside
 * its goal, and the budget execution month by month (allocated, transferred by the treasury, paid to persons, cumulative)
 * against the county's expected curve, with a warning where it lags by more than the tolerance.
 *
 * Read here, in the bank module, because every figure is money after release: the rounds and their transfers (batch
 * module), the bank's results and failure cases (this module's tables), the allocations and goals (policy module). The
 * supervision page and the public column (both in the top layer) show the same figures. docs/performance-goals.md
 * defines each one; the arithmetic is computePerformance, pure, so that a test states it on a small fixture.
 */

// --- the facts ---------------------------------------------------------------------------------------------------

/** A transferred round of the year: its lines (count and fen), the treasury's first transfer, when released and transferred. */
export interface RoundFact {
  id: number;
  itemId: number;
  lines: number;
  transferredFen: number;
  /** Business dates. */
  releasedOn: string | null;
  transferredOn: string;
}

/** A result the bank returned for a line. */
export interface ResultFact {
  lineId: number;
  roundId: number;
  attempt: number;
  paid: boolean;
  amountFen: number;
  /** Business date it was recorded. */
  on: string;
}

export interface PerformanceFacts {
  year: number;
  /** Business date the figures are computed on (months after it are not yet known; timeliness counts rounds due by then). */
  today: string;
  items: { itemId: number; code: string; name: string; department: string; allocatedFen: number }[];
  /** Allocation documents: item, amount, document date. */
  allocationDocs: { itemId: number; amountFen: number; docDate: string }[];
  goals: { itemId: number; indicator: Indicator; comparison: Comparison; target: number }[];
  curve: ExecutionCurve;
  rounds: RoundFact[];
  results: ResultFact[];
  /** Failure cases (one per failed line) and whether the person was paid since: the line again, or its reissue line. */
  failures: { lineId: number; roundId: number; resolved: boolean }[];
  /** The person of each paid line. */
  personOfLine: Map<number, number>;
  /** The business date that is the N-th working day after a date (the working-day calendar). */
  addWorkingDays: (date: string, n: number) => string;
}

// --- the figures -------------------------------------------------------------------------------------------------

export interface IndicatorFigure {
  indicator: Indicator;
  /** null: nothing to count yet (a rate over zero). */
  achieved: number | null;
  numerator: number;
  denominator: number;
  goal: { comparison: Comparison; target: number } | null;
  /** null when there is no goal or nothing to count. */
  met: boolean | null;
}

export interface MonthFigure {
  month: number;
  /** Cumulative at the month end, in fen. */
  allocatedFen: number;
  transferredFen: number;
  paidFen: number;
  /** paid / the year's allocation, basis points; null without an allocation. */
  executionBp: number | null;
  transferBp: number | null;
  expectedBp: number;
  /** The month has ended (its figures are final for the comparison). */
  ended: boolean;
  /** The month has begun (a later month has no figures yet). */
  begun: boolean;
  /** Ended, with an allocation issued by its end, and execution lags the curve by more than the tolerance. */
  warning: boolean;
}

export interface PolicyPerformance {
  itemId: number;
  code: string;
  name: string;
  department: string;
  allocatedFen: number;
  indicators: IndicatorFigure[];
  months: MonthFigure[];
  /** The warning of the last ended month (the policy's standing now). */
  warning: boolean;
}

export interface CountyPerformance {
  year: number;
  today: string;
  curve: ExecutionCurve;
  policies: PolicyPerformance[];
  /** All policies together: the months only (the indicators are per policy). */
  total: { allocatedFen: number; months: MonthFigure[]; warning: boolean };
}

const monthEnd = (year: number, month: number) => {
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return `${year}-${String(month).padStart(2, '0')}-${String(last).padStart(2, '0')}`;
};

/** The month (1–12) of the year a business date counts in: dates before the year count in January, after it in December. */
export function monthInYear(year: number, date: string): number {
  if (date < `${year}-01-01`) return 1;
  if (date > `${year}-12-31`) return 12;
  return Number(date.slice(5, 7));
}

function months(year: number, today: string, curve: ExecutionCurve, allocatedFen: number, events: { allocated: [number, number][]; transferred: [number, number][]; paid: [number, number][] }): MonthFigure[] {
  const perMonth = (list: [number, number][]) => {
    const sums = new Array<number>(13).fill(0);
    for (const [m, fen] of list) sums[m]! += fen;
    return sums;
  };
  const a = perMonth(events.allocated);
  const tr = perMonth(events.transferred);
  const p = perMonth(events.paid);
  const out: MonthFigure[] = [];
  let cumA = 0;
  let cumT = 0;
  let cumP = 0;
  for (let m = 1; m <= 12; m++) {
    cumA += a[m]!;
    cumT += tr[m]!;
    cumP += p[m]!;
    const executionBp = rateBp(cumP, allocatedFen);
    const expectedBp = curve.points[m - 1]!;
    const ended = monthEnd(year, m) < today;
    out.push({
      month: m,
      allocatedFen: cumA,
      transferredFen: cumT,
      paidFen: cumP,
      executionBp,
      transferBp: rateBp(cumT, allocatedFen),
      expectedBp,
      ended,
      begun: `${year}-${String(m).padStart(2, '0')}-01` <= today,
      warning: ended && cumA > 0 && executionBp !== null && expectedBp - executionBp > curve.toleranceBp,
    });
  }
  return out;
}

const standing = (ms: MonthFigure[]) => ms.filter((m) => m.ended).at(-1)?.warning ?? false;

/** The figures of every policy, and of all together, from the facts (pure: the same facts give the same figures). */
export function computePerformance(f: PerformanceFacts): CountyPerformance {
  const roundsOf = new Map<number, RoundFact[]>();
  for (const r of f.rounds) roundsOf.set(r.itemId, [...(roundsOf.get(r.itemId) ?? []), r]);
  const itemOfRound = new Map(f.rounds.map((r) => [r.id, r.itemId]));
  const resultsOf = new Map<number, ResultFact[]>();
  for (const r of f.results) {
    const item = itemOfRound.get(r.roundId);
    if (item !== undefined) resultsOf.set(item, [...(resultsOf.get(item) ?? []), r]);
  }
  const failuresOf = new Map<number, { resolved: boolean }[]>();
  for (const x of f.failures) {
    const item = itemOfRound.get(x.roundId);
    if (item !== undefined) failuresOf.set(item, [...(failuresOf.get(item) ?? []), x]);
  }
  const allEvents = { allocated: [] as [number, number][], transferred: [] as [number, number][], paid: [] as [number, number][] };

  const policies = f.items.map((item): PolicyPerformance => {
    const rounds = roundsOf.get(item.itemId) ?? [];
    const results = resultsOf.get(item.itemId) ?? [];
    const paid = results.filter((r) => r.paid);
    const paidFen = paid.reduce((s, r) => s + r.amountFen, 0);
    const transferredFen = rounds.reduce((s, r) => s + r.transferredFen, 0);

    // 发放及时率: the rounds whose N-th working day after release has passed by today; a line of theirs is in time when
    // its first paid result came by that day.
    const firstPaid = new Map<number, string>();
    for (const r of paid) if (!firstPaid.has(r.lineId) || r.on < firstPaid.get(r.lineId)!) firstPaid.set(r.lineId, r.on);
    const deadlines = new Map<number, string>();
    let dueLines = 0;
    for (const round of rounds) {
      if (!round.releasedOn) continue;
      const deadline = f.addWorkingDays(round.releasedOn, TIMELY_WORKING_DAYS);
      if (deadline >= f.today) continue;
      deadlines.set(round.id, deadline);
      dueLines += round.lines;
    }
    const roundOfLine = new Map(paid.map((r) => [r.lineId, r.roundId]));
    let inTime = 0;
    for (const [lineId, on] of firstPaid) {
      const deadline = deadlines.get(roundOfLine.get(lineId)!);
      if (deadline !== undefined && on <= deadline) inTime++;
    }
    const firstAttempts = results.filter((r) => r.attempt === 1);
    const failures = failuresOf.get(item.itemId) ?? [];
    const counts: Record<Indicator, [number, number] | number> = {
      coverage: new Set(paid.map((r) => f.personOfLine.get(r.lineId)).filter((p) => p !== undefined)).size,
      timeliness: [inTime, dueLines],
      first_attempt: [firstAttempts.filter((r) => r.paid).length, firstAttempts.length],
      funds_to_person: [paidFen, transferredFen],
      failure_resolved: [failures.filter((x) => x.resolved).length, failures.length],
      execution: [paidFen, item.allocatedFen],
    };
    const goals = new Map(f.goals.filter((g) => g.itemId === item.itemId).map((g) => [g.indicator, g]));
    const indicators = INDICATOR_CODES.map((indicator): IndicatorFigure => {
      const c = counts[indicator];
      const [numerator, denominator] = typeof c === 'number' ? [c, 1] : c;
      const achieved = typeof c === 'number' ? c : rateBp(numerator, denominator);
      const g = goals.get(indicator);
      return { indicator, achieved, numerator, denominator, goal: g ? { comparison: g.comparison, target: g.target } : null, met: g && achieved !== null ? meets(g.comparison, achieved, g.target) : null };
    });

    const events = {
      allocated: f.allocationDocs.filter((d) => d.itemId === item.itemId).map((d): [number, number] => [monthInYear(f.year, d.docDate), d.amountFen]),
      transferred: rounds.map((r): [number, number] => [monthInYear(f.year, r.transferredOn), r.transferredFen]),
      paid: paid.map((r): [number, number] => [monthInYear(f.year, r.on), r.amountFen]),
    };
    allEvents.allocated.push(...events.allocated);
    allEvents.transferred.push(...events.transferred);
    allEvents.paid.push(...events.paid);
    const ms = months(f.year, f.today, f.curve, item.allocatedFen, events);
    return { ...item, indicators, months: ms, warning: standing(ms) };
  });
  const allocatedFen = f.items.reduce((s, i) => s + i.allocatedFen, 0);
  const totalMonths = months(f.year, f.today, f.curve, allocatedFen, allEvents);
  return { year: f.year, today: f.today, curve: f.curve, policies, total: { allocatedFen, months: totalMonths, warning: standing(totalMonths) } };
}

// --- reading the facts -------------------------------------------------------------------------------------------

const dateOf = (at: string | Date) => businessDate(new Date(at));

/**
 * The facts of a county's year: the policies of its list for the year (the public list leaves out confidential ones:
 * `publicOnly`) and those with an allocation, their goals, the curve, the year's transferred rounds, the bank's results
 * and failure cases of their lines.
 */
export async function performanceFacts(db: Conn, county: Region, year: number, options: { publicOnly: boolean; today?: string; calendar?: Calendar }): Promise<PerformanceFacts> {
  const today = options.today ?? businessDate();
  const [list, yearly, docs, goals, curve, transferred] = await Promise.all([
    policyList(db, county, year, { publicOnly: options.publicOnly }),
    yearAllocations(db, county.id, year),
    allocations(db, county.id, { year }),
    performanceGoals(db, county.id, year),
    executionCurve(db, county.id, year),
    transferredRounds(db, { countyId: county.id, year }),
  ]);
  const allocated = new Map(yearly.map((a) => [a.itemId, a.allocatedFen as number]));
  const listed = new Set(list.map((v) => v.itemId));
  const versions = [...list, ...yearly.filter((a) => !listed.has(a.itemId) && !(options.publicOnly && a.version.confidential)).map((a) => a.version)];
  const items = versions.map((v) => {
    const p = presentVersion(v);
    return { itemId: v.itemId, code: p.code, name: p.name, department: p.department, allocatedFen: allocated.get(v.itemId) ?? 0 };
  });
  const shown = new Set(items.map((i) => i.itemId));
  const rounds: RoundFact[] = [];
  for (const r of transferred.filter((r) => shown.has(r.policy_item_id))) {
    const money = await roundMoney(db, r.id);
    const released = await releasedAt(db, r.id);
    rounds.push({ id: r.id, itemId: r.policy_item_id, lines: money.lines, transferredFen: money.transferredFen, releasedOn: released ? dateOf(released) : null, transferredOn: dateOf(r.transferred_at) });
  }
  const roundIds = rounds.map((r) => r.id);
  const resultRows = (await selectInChunks(roundIds, (chunk) => db('bank_line_result').whereIn('round_id', chunk).orderBy('id').select('line_id', 'round_id', 'attempt', 'result', 'amount_fen', 'recorded_at'))) as {
    line_id: number;
    round_id: number;
    attempt: number;
    result: string;
    amount_fen: number | string;
    recorded_at: string | Date;
  }[];
  const results = resultRows.map((r): ResultFact => ({ lineId: r.line_id, roundId: r.round_id, attempt: Number(r.attempt), paid: r.result === 'paid', amountFen: Number(r.amount_fen), on: dateOf(r.recorded_at) }));
  const failureRows = (await selectInChunks(roundIds, (chunk) => db('bank_failure').whereIn('round_id', chunk).orderBy('id').select('line_id', 'round_id', 'reissue_line_id'))) as { line_id: number; round_id: number; reissue_line_id: number | null }[];
  const reissueLines = failureRows.map((x) => x.reissue_line_id).filter((id): id is number => id !== null);
  const paidReissues = new Set(((await selectInChunks(reissueLines, (chunk) => db('bank_line_result').whereIn('line_id', chunk).where({ result: 'paid' }).select('line_id'))) as { line_id: number }[]).map((r) => r.line_id));
  const paidLines = new Set(results.filter((r) => r.paid).map((r) => r.lineId));
  const failures = failureRows.map((x) => ({ lineId: x.line_id, roundId: x.round_id, resolved: paidLines.has(x.line_id) || (x.reissue_line_id !== null && paidReissues.has(x.reissue_line_id)) }));
  const personOfLine = new Map((await lineFacts(db, [...paidLines])).map((l) => [l.line_id, l.person_id]));
  const calendar = options.calendar ?? (await loadCalendar(db));
  return {
    year,
    today,
    items,
    allocationDocs: docs.filter((d) => shown.has(d.itemId)).map((d) => ({ itemId: d.itemId, amountFen: d.amountFen, docDate: d.docDate })),
    goals: goals.filter((g) => shown.has(g.itemId)),
    curve,
    rounds,
    results,
    failures,
    personOfLine,
    addWorkingDays: (date, n) => calendar.addWorkingDays(date, n).date,
  };
}

/** The figures of a county's year (performanceFacts, then computePerformance). */
export async function countyPerformance(db: Conn, county: Region, year: number, options: { publicOnly: boolean; today?: string }): Promise<CountyPerformance> {
  return computePerformance(await performanceFacts(db, county, year, options));
}

// --- as shown ----------------------------------------------------------------------------------------------------

const bpText = (bp: number | null) => (bp === null ? '—' : formatBp(bp));

function presentMonths(ms: MonthFigure[]) {
  return ms.map((m) => ({
    month: `${m.month}月`,
    begun: m.begun,
    ended: m.ended,
    allocated: m.begun ? formatYuan(m.allocatedFen) : '',
    transferred: m.begun ? formatYuan(m.transferredFen) : '',
    paid: m.begun ? formatYuan(m.paidFen) : '',
    allocatedFen: m.allocatedFen,
    transferredFen: m.transferredFen,
    paidFen: m.paidFen,
    transfer: m.begun ? bpText(m.transferBp) : '',
    execution: m.begun ? bpText(m.executionBp) : '',
    expected: formatBp(m.expectedBp),
    warning: m.warning,
    state: !m.begun ? '未到' : !m.ended ? '进行中' : m.executionBp === null ? '无指标' : m.warning ? '预警' : '正常',
  }));
}

/** The figures to date (the last month begun) and of the last ended month, for the summary table. */
function standingOf(ms: MonthFigure[]) {
  const now = ms.filter((m) => m.begun).at(-1);
  const last = ms.filter((m) => m.ended).at(-1);
  return {
    transferred: now ? formatYuan(now.transferredFen) : '0.00',
    paid: now ? formatYuan(now.paidFen) : '0.00',
    execution: bpText(now?.executionBp ?? null),
    lastMonth: last ? `${last.month}月末` : '',
    lastExecution: last ? bpText(last.executionBp) : '—',
    lastExpected: last ? formatBp(last.expectedBp) : '—',
  };
}

/** The figures as the pages show them: rates as percentages, money in 元, 达成 / 未达成 beside each goal. */
export function presentPerformance(p: CountyPerformance) {
  return {
    year: p.year,
    today: p.today,
    curve: { points: p.curve.points.map(formatBp), tolerance: formatPointsBp(p.curve.toleranceBp), source: p.curve.source, fromYear: p.curve.fromYear },
    policies: p.policies.map((x) => ({
      itemId: x.itemId,
      code: x.code,
      name: x.name,
      department: x.department,
      allocated: formatYuan(x.allocatedFen as Fen),
      warning: x.warning,
      goalsSet: x.indicators.filter((i) => i.goal).length,
      goalsMet: x.indicators.filter((i) => i.met === true).length,
      standing: standingOf(x.months),
      indicators: x.indicators.map((i) => ({
        code: i.indicator,
        label: INDICATORS[i.indicator].label,
        target: i.goal ? `${COMPARISON_SIGNS[i.goal.comparison]} ${formatIndicatorValue(i.indicator, i.goal.target)}` : '未设定',
        achieved: i.achieved === null ? '—' : formatIndicatorValue(i.indicator, i.achieved),
        basis: INDICATORS[i.indicator].unit === 'bp' ? (i.denominator ? (i.indicator === 'funds_to_person' || i.indicator === 'execution' ? `${formatYuan(i.numerator)} / ${formatYuan(i.denominator)} 元` : `${i.numerator} / ${i.denominator} 笔`) : '无可计算的数据') : '',
        status: i.met === null ? (i.goal ? '暂无数据' : '') : i.met ? '达成' : '未达成',
        met: i.met,
      })),
      months: presentMonths(x.months),
    })),
    total: { allocated: formatYuan(p.total.allocatedFen), warning: p.total.warning, standing: standingOf(p.total.months), months: presentMonths(p.total.months) },
    warnings: p.policies.filter((x) => x.warning).length,
  };
}

export const INDICATOR_NOTES = INDICATOR_CODES.map((i) => ({ label: INDICATORS[i].label, definition: INDICATORS[i].definition }));
