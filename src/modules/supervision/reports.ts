import { z } from 'zod';
import type { Actor } from '../../core/auth/roles.ts';
import { loadCalendar } from '../../core/calendar.ts';
import { businessDate } from '../../core/dates.ts';
import type { Conn } from '../../core/db.ts';
import { optional } from '../../core/fields.ts';
import { formatYuan } from '../../core/money.ts';
import { lineOutcomesOfRounds } from '../bank/index.ts';
import { type ReportLine, releasedLinesForReports } from '../batch/index.ts';
import { versionsById } from '../policy/index.ts';
import { timelinessRate } from './model.ts';

/**
 * The supervision reports (发放统计报表, issue 17 item 6): for the rounds released to a bank in a period, per policy,
 * department, county, township or village: the lines planned, paid, failed, refunded, returned to the treasury and reissued
 * — counts and fen — and how fast the money arrived (working days from the round's release to a line's paid result).
 * Every figure is read through the batch and bank modules' index.ts; docs/supervision.md says what each one counts.
 */

export const REPORT_GROUPS = { policy: '补贴政策', department: '主管部门', county: '县（区）', township: '乡镇', village: '村（社区）' } as const;
export type ReportGroup = keyof typeof REPORT_GROUPS;

/** The default N of "paid within N working days of release". */
export const DEFAULT_WITHIN_DAYS = 10;

const month = (label: string) => optional(z.string().trim().regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: `${label}应写作 2026-01 这样的年月` }));

/**
 * The report's form (a GET query): grouping, a year or a range of months (by the round's period), N. A year is
 * used when no month is given; from and to go together and from comes first.
 */
export const reportQuerySchema = z
  .object({
    group: z.preprocess((v) => (v === undefined || v === '' ? 'policy' : v), z.enum(Object.keys(REPORT_GROUPS) as [ReportGroup, ...ReportGroup[]], { error: '分组方式无效：请选择按补贴政策、主管部门、县（区）、乡镇或村（社区）' })),
    year: optional(z.coerce.number({ error: '年度应为四位数字，如 2026' }).int({ error: '年度应为四位数字，如 2026' }).min(2000, { error: '年度应在 2000 至 2100 之间' }).max(2100, { error: '年度应在 2000 至 2100 之间' })),
    from: month('起始月份'),
    to: month('截止月份'),
    days: optional(z.coerce.number({ error: '到账时限应为 1 至 60 之间的整数（工作日）' }).int({ error: '到账时限应为 1 至 60 之间的整数（工作日）' }).min(1, { error: '到账时限应为 1 至 60 之间的整数（工作日）' }).max(60, { error: '到账时限应为 1 至 60 之间的整数（工作日）' })),
  })
  .superRefine((q, ctx) => {
    if (q.from && !q.to) ctx.addIssue({ code: 'custom', path: ['to'], message: '请同时填写截止月份' });
    if (q.to && !q.from) ctx.addIssue({ code: 'custom', path: ['from'], message: '请同时填写起始月份' });
    if (q.from && q.to && q.from > q.to) ctx.addIssue({ code: 'custom', path: ['to'], message: '截止月份不能早于起始月份' });
    if (q.from && q.to && Number(q.to.slice(0, 4)) - Number(q.from.slice(0, 4)) > 10) ctx.addIssue({ code: 'custom', path: ['to'], message: '起止月份最多相隔十年' });
  });

/** What the report covers, as validated. */
export interface ReportParams {
  group: ReportGroup;
  /** First and last month (YYYY-MM) of the rounds' periods. */
  from: string;
  to: string;
  /** The period in words ("2026年", "2026-03 至 2026-08"). */
  periodLabel: string;
  days: number;
}

export function reportParams(query: z.infer<typeof reportQuerySchema>, today: string): ReportParams {
  const days = query.days ?? DEFAULT_WITHIN_DAYS;
  if (query.from && query.to) return { group: query.group, from: query.from, to: query.to, periodLabel: `${query.from} 至 ${query.to}`, days };
  const year = query.year ?? Number(today.slice(0, 4));
  return { group: query.group, from: `${year}-01`, to: `${year}-12`, periodLabel: `${year}年`, days };
}

/**
 * The month a round's period counts in: a month is itself, a quarter its last month, a year its December (the
 * period's last day, as the batch module's parsePeriod ends it).
 */
export function periodMonth(period: string): string {
  const q = /^(\d{4})-Q([1-4])$/.exec(period);
  if (q) return `${q[1]}-${String(Number(q[2]) * 3).padStart(2, '0')}`;
  if (/^\d{4}$/.test(period)) return `${period}-12`;
  return period.slice(0, 7);
}

export interface Figure {
  count: number;
  fen: number;
}

export interface Timeliness {
  /** Lines with a paid result. */
  paid: number;
  /** Median working days from release to the paid result, null when none was paid. */
  median: number | null;
  /** Lines paid within N working days of release. */
  within: number;
  /** within / planned lines, "92.3%", null when none was planned. */
  share: string | null;
}

export const FIGURES = ['planned', 'paid', 'failed', 'refunded', 'returned', 'reissued'] as const;
export type FigureName = (typeof FIGURES)[number];
export const FIGURE_LABELS: Record<FigureName, string> = { planned: '计划发放', paid: '发放成功', failed: '发放失败', refunded: '退回原账户', returned: '缴回国库', reissued: '补发' };

export type ReportRow = { key: string; label: string; timeliness: Timeliness } & Record<FigureName, Figure>;

export interface Report {
  params: ReportParams;
  rows: ReportRow[];
  totals: ReportRow;
  /** The rounds the report covers (their ledgers reconcile with the totals). */
  roundIds: number[];
  /** Years the working-day calendar does not know (timeliness counted Monday to Friday there). */
  unknownYears: number[];
}

const zero = (): Figure => ({ count: 0, fen: 0 });
const add = (f: Figure, amount: number) => {
  f.count += 1;
  f.fen += amount;
};

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The group a line counts in: its key and its label. */
async function grouper(db: Conn, group: ReportGroup, lines: readonly ReportLine[]): Promise<(l: ReportLine) => { key: string; label: string }> {
  if (group === 'department') return (l) => ({ key: String(l.department_org_id), label: l.department_name });
  if (group === 'county') return (l) => ({ key: String(l.county_id), label: l.county_name });
  if (group === 'township') return (l) => ({ key: String(l.township_id), label: l.township_name });
  if (group === 'village') return (l) => ({ key: String(l.village_id), label: `${l.township_name} ${l.village_name}` });
  // A policy by its item, named as its newest version of the period's rounds names it.
  const newest = new Map<number, number>();
  for (const l of lines) newest.set(l.policy_item_id, Math.max(newest.get(l.policy_item_id) ?? 0, l.policy_version_id));
  const names = new Map((await versionsById(db, [...newest.values()])).map((v) => [v.itemId, `${v.code} ${v.name}`]));
  return (l) => ({ key: String(l.policy_item_id), label: names.get(l.policy_item_id) ?? String(l.policy_item_id) });
}

/** The report of the actor's scope: one row per group with a line in the period, sorted by label, and the totals. */
export async function buildReport(db: Conn, actor: Actor, params: ReportParams): Promise<Report> {
  const { lines: all, releasedAt } = await releasedLinesForReports(db, actor, { from: Number(params.from.slice(0, 4)), to: Number(params.to.slice(0, 4)) });
  const lines = all.filter((l) => {
    const m = periodMonth(l.period);
    return m >= params.from && m <= params.to;
  });
  const roundIds = [...new Set(lines.map((l) => l.round_id))].sort((a, b) => a - b);
  const outcomes = await lineOutcomesOfRounds(db, roundIds);
  const calendar = await loadCalendar(db);
  const groupOf = await grouper(db, params.group, lines);

  type Acc = { key: string; label: string; figures: Record<FigureName, Figure>; days: number[] };
  const newAcc = (key: string, label: string): Acc => ({ key, label, figures: Object.fromEntries(FIGURES.map((f) => [f, zero()])) as Record<FigureName, Figure>, days: [] });
  const groups = new Map<string, Acc>();
  const total = newAcc('', '合计');
  const accOfLine = new Map<number, Acc>();
  for (const l of lines) {
    const g = groupOf(l);
    const acc = groups.get(g.key) ?? newAcc(g.key, g.label);
    groups.set(g.key, acc);
    accOfLine.set(l.line_id, acc);
    add(acc.figures.planned, l.amount_fen);
    add(total.figures.planned, l.amount_fen);
  }
  const count = (name: FigureName, lineId: number, amount: number) => {
    const acc = accOfLine.get(lineId);
    if (!acc) return;
    add(acc.figures[name], amount);
    add(total.figures[name], amount);
  };
  const firstPaid = new Map<number, string>();
  for (const p of outcomes.paid) {
    count('paid', p.line_id, p.amount_fen);
    const before = firstPaid.get(p.line_id);
    if (!before || p.recorded_at < before) firstPaid.set(p.line_id, p.recorded_at);
  }
  for (const f of outcomes.failures) {
    count('failed', f.line_id, f.amount_fen);
    if (f.returned) count('returned', f.line_id, f.amount_fen);
    if (f.reissued) count('reissued', f.line_id, f.amount_fen);
  }
  for (const r of outcomes.refunds) count('refunded', r.line_id, r.amount_fen);

  // Timeliness: working days from the round's release (its business date) to the line's first paid result.
  const unknown = new Set<number>();
  const roundOf = new Map(lines.map((l) => [l.line_id, l.round_id]));
  for (const [lineId, paidAt] of firstPaid) {
    const acc = accOfLine.get(lineId);
    const released = releasedAt.get(roundOf.get(lineId) ?? -1);
    if (!acc || !released) continue;
    const from = businessDate(new Date(released));
    const to = businessDate(new Date(paidAt));
    const between = to > from ? calendar.workingDaysBetween(from, to) : { days: 0, unknownYears: [] };
    for (const y of between.unknownYears) unknown.add(y);
    acc.days.push(between.days);
    total.days.push(between.days);
  }

  const finish = (acc: Acc): ReportRow => {
    const within = acc.days.filter((d) => d <= params.days).length;
    return { key: acc.key, label: acc.label, ...acc.figures, timeliness: { paid: acc.days.length, median: median(acc.days), within, share: timelinessRate(within, acc.figures.planned.count) } };
  };
  return {
    params,
    rows: [...groups.values()].sort((a, b) => a.label.localeCompare(b.label, 'zh-CN') || a.key.localeCompare(b.key)).map(finish),
    totals: finish(total),
    roundIds,
    unknownYears: [...unknown].sort((a, b) => a - b),
  };
}

/** A median in words: "3", "3.5", or a dash. */
export const medianText = (m: number | null) => (m === null ? '—' : Number.isInteger(m) ? String(m) : m.toFixed(1));

/** A row for the page: each figure's count and its amount in 元. */
export function presentReportRow(row: ReportRow) {
  return {
    label: row.label,
    figures: FIGURES.map((f) => ({ name: f, count: row[f].count, yuan: formatYuan(row[f].fen) })),
    median: medianText(row.timeliness.median),
    within: row.timeliness.within,
    share: row.timeliness.share ?? '—',
  };
}
