import { recordAudit } from '../../core/audit.ts';
import { authorize } from '../../core/authz.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, inTransaction, nowIso } from '../../core/db.ts';
import { NotFoundError } from '../../core/errors.ts';
import { type Region, pathIds } from '../../core/regions.ts';
import { can } from './policy.ts';
import { listRegionFor } from './queries.ts';

/**
 * Performance goals (绩效目标) and the expected budget execution curve (预算执行进度), Chongqing 十二 深化绩效管理: 绩效目标
 * 与预算同步审核、同步下达, so the county's finance section, which records the budget allocation (指标) of a policy and
 * year, records its goals beside it; the platform computes the achieved values from its own data (bank module,
 * performance.ts) and the supervision and publicity pages show both (双监控). docs/performance-goals.md defines each one.
 *
 * Rates are integers in basis points (万分之一: 9850 = 98.50%), persons a count; never floating point.
 */

/** The working days from a round's release within which a line paid counts as paid in time (Qinghai 二(一)4's 10 working days). */
export const TIMELY_WORKING_DAYS = 10;

export type IndicatorUnit = 'bp' | 'persons';
export type Comparison = 'gte' | 'lte';

export interface IndicatorDefinition {
  label: string;
  unit: IndicatorUnit;
  /** How the achieved value is compared with the target (every indicator of the catalogue: higher is better). */
  comparison: Comparison;
  /** The definition in one sentence, as the pages' notes and docs/performance-goals.md say it. */
  definition: string;
}

/** The catalogue: only indicators the platform computes exactly from its own records. */
export const INDICATORS = {
  coverage: { label: '覆盖人数', unit: 'persons', comparison: 'gte', definition: '该年度已拨付批次中，代发银行回盘“发放成功”的明细所涉及的不同人数。' },
  timeliness: {
    label: '发放及时率',
    unit: 'bp',
    comparison: 'gte',
    definition: `批次下达后 ${TIMELY_WORKING_DAYS} 个工作日内首次发放成功的明细笔数 ÷ 已满 ${TIMELY_WORKING_DAYS} 个工作日的已拨付批次的明细笔数（按工作日历，下达当日不计）。`,
  },
  first_attempt: { label: '一次发放成功率', unit: 'bp', comparison: 'gte', definition: '第一次发送银行即发放成功的明细笔数 ÷ 已有第一次回盘结果的明细笔数。' },
  funds_to_person: { label: '资金到人率', unit: 'bp', comparison: 'gte', definition: '已发放到人的金额 ÷ 国库拨付金额（各批次首次拨付之和，不含退回后再次拨付）。' },
  failure_resolved: { label: '失败补发完成率', unit: 'bp', comparison: 'gte', definition: '发放失败的明细中，此后再次发放成功或补发成功的笔数 ÷ 发放失败的明细笔数。' },
  execution: { label: '预算执行率', unit: 'bp', comparison: 'gte', definition: '已发放到人的金额 ÷ 该年度下达的指标金额。' },
} as const satisfies Record<string, IndicatorDefinition>;
export type Indicator = keyof typeof INDICATORS;
export const INDICATOR_CODES = Object.keys(INDICATORS) as Indicator[];

/** A rate in basis points as a percentage with two decimals ("98.50%"), by integer arithmetic. */
/** Percentage points (a difference of two rates, as the curve's tolerance is): 500 → “5 个百分点”, 250 → “2.5 个百分点”. */
export function formatPointsBp(bp: number): string {
  const whole = Math.floor(bp / 100);
  const rest = bp % 100;
  return `${whole}${rest ? `.${String(rest).padStart(2, '0').replace(/0$/, '')}` : ''} 个百分点`;
}

export function formatBp(bp: number): string {
  const sign = bp < 0 ? '-' : '';
  const abs = Math.abs(bp);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}%`;
}

/** A value of an indicator in words: a rate as a percentage, persons with 人. */
export const formatIndicatorValue = (indicator: Indicator, value: number) => (INDICATORS[indicator].unit === 'bp' ? formatBp(value) : `${value} 人`);

/** numerator / denominator in basis points, rounded half up, by integers; null when the denominator is 0. */
export function rateBp(numerator: number, denominator: number): number | null {
  if (denominator <= 0) return null;
  // In BigInt: a province's fen times 20,000 passes 2^53.
  return Number((BigInt(numerator) * 20000n + BigInt(denominator)) / (2n * BigInt(denominator)));
}

export const COMPARISON_SIGNS: Record<Comparison, string> = { gte: '≥', lte: '≤' };

/** Whether an achieved value meets its target. */
export const meets = (comparison: Comparison, achieved: number, target: number) => (comparison === 'gte' ? achieved >= target : achieved <= target);

// --- the execution curve ------------------------------------------------------------------------------------------

/** The even curve (均衡进度): a twelfth of the year's allocation each month, cumulative, in basis points. */
export const DEFAULT_CURVE: readonly number[] = Array.from({ length: 12 }, (_, i) => rateBp(i + 1, 12)!);
/** The default tolerance: a warning when execution lags the curve by more than 5 percentage points. */
export const DEFAULT_TOLERANCE_BP = 500;

export interface ExecutionCurve {
  /** Expected cumulative execution at each month end, January first, in basis points. */
  points: number[];
  toleranceBp: number;
  /** 'set': recorded for this year; 'earlier': the latest earlier year's (named by `fromYear`); 'default': the even curve. */
  source: 'set' | 'earlier' | 'default';
  fromYear: number | null;
}

/** The county's curve of a year: its own, else the latest earlier year's, else the even curve with the default tolerance. */
export async function executionCurve(db: Conn, countyId: number, year: number): Promise<ExecutionCurve> {
  const row = (await db('policy_execution_curve').where({ county_id: countyId }).where('year', '<=', year).orderBy('year', 'desc').first('year', 'points', 'tolerance_bp')) as { year: number; points: string; tolerance_bp: number } | undefined;
  if (!row) return { points: [...DEFAULT_CURVE], toleranceBp: DEFAULT_TOLERANCE_BP, source: 'default', fromYear: null };
  return { points: row.points.split(',').map(Number), toleranceBp: Number(row.tolerance_bp), source: Number(row.year) === year ? 'set' : 'earlier', fromYear: Number(row.year) };
}

/** Which of the performance forms the actor may use for the county (the pages show their links only then). */
export function canSetPerformance(actor: Actor, county: { id: number; level: string }): { goals: boolean; curve: boolean } {
  return { goals: can(actor, 'set_goals', county).ok, curve: can(actor, 'set_curve', county).ok };
}

/** A policy item of the county's list (central, or set at the county or above), or NotFoundError. */
export async function itemOfCountyList(db: Conn, county: Region, itemId: number): Promise<{ code: string }> {
  const item = (await db('policy_item').where({ id: itemId }).first('code', 'region_id')) as { code: string; region_id: number | null } | undefined;
  if (!item || !(item.region_id === null || pathIds(county.path).includes(item.region_id))) throw new NotFoundError('本县政策清单中没有这个补贴项目');
  return item;
}

// --- goals -------------------------------------------------------------------------------------------------------

export interface PerformanceGoal {
  itemId: number;
  indicator: Indicator;
  comparison: Comparison;
  target: number;
}

/** The goals recorded for a county's policies in a year (of one policy when itemId is given), in catalogue order. */
export async function performanceGoals(db: Conn, countyId: number, year: number, itemId?: number): Promise<PerformanceGoal[]> {
  const q = db('policy_performance_goal').where({ county_id: countyId, year });
  if (itemId !== undefined) q.where({ item_id: itemId });
  const rows = (await q.select('item_id', 'indicator', 'comparison', 'target')) as { item_id: number; indicator: string; comparison: Comparison; target: number | string }[];
  return rows
    .filter((r): r is typeof r & { indicator: Indicator } => r.indicator in INDICATORS)
    .map((r) => ({ itemId: r.item_id, indicator: r.indicator, comparison: r.comparison, target: Number(r.target) }))
    .sort((a, b) => a.itemId - b.itemId || INDICATOR_CODES.indexOf(a.indicator) - INDICATOR_CODES.indexOf(b.indicator));
}

export interface GoalsInput {
  itemId: number;
  year: number;
  /** The target of each indicator the county sets; an indicator left out has no goal. */
  targets: Partial<Record<Indicator, number>>;
}

const goalText = (goals: Partial<Record<Indicator, number>>) =>
  INDICATOR_CODES.filter((i) => goals[i] !== undefined)
    .map((i) => `${INDICATORS[i].label}${COMPARISON_SIGNS[INDICATORS[i].comparison]}${formatIndicatorValue(i, goals[i]!)}`)
    .join('；');

/**
 * The county's finance section records a policy's goals for a year (绩效目标, set with its allocation): one command for
 * the whole set, which replaces the year's goals; audited with the goals before and after. Goals of another year are
 * never touched (each year is its own version).
 */
export async function setPerformanceGoals(core: Core, actor: Actor, input: GoalsInput): Promise<{ changed: boolean }> {
  const county = await listRegionFor(core.db, actor.regionId);
  await authorize(core.db, actor, can(actor, 'set_goals', county), { objectType: 'policy', objectId: input.itemId });
  const item = await itemOfCountyList(core.db, county, input.itemId);
  return inTransaction(core.db, async (trx) => {
    const before = Object.fromEntries((await performanceGoals(trx, county.id, input.year, input.itemId)).map((g) => [g.indicator, g.target])) as Partial<Record<Indicator, number>>;
    const after = Object.fromEntries(INDICATOR_CODES.filter((i) => input.targets[i] !== undefined).map((i) => [i, input.targets[i]!])) as Partial<Record<Indicator, number>>;
    if (goalText(before) === goalText(after)) return { changed: false };
    await trx('policy_performance_goal').where({ county_id: county.id, item_id: input.itemId, year: input.year }).delete();
    const rows = INDICATOR_CODES.filter((i) => after[i] !== undefined).map((i) => ({ county_id: county.id, item_id: input.itemId, year: input.year, indicator: i, comparison: INDICATORS[i].comparison, target: after[i]!, recorded_by: actor.userId, recorded_at: nowIso() }));
    if (rows.length) await trx('policy_performance_goal').insert(rows);
    await recordAudit(trx, actor, { action: 'policy.goals.set', objectType: 'policy', objectId: input.itemId, summary: { code: item.code, year: input.year, before: goalText(before), after: goalText(after) } });
    return { changed: true };
  });
}

export interface CurveInput {
  year: number;
  points: number[];
  toleranceBp: number;
}

const curveText = (c: { points: readonly number[]; toleranceBp: number }) => `${c.points.map((p, i) => `${i + 1}月${formatBp(p)}`).join('、')}；容差 ${formatPointsBp(c.toleranceBp)}`;

/** The county's finance section records the year's expected execution curve and tolerance; audited before and after. */
export async function setExecutionCurve(core: Core, actor: Actor, input: CurveInput): Promise<{ changed: boolean }> {
  const county = await listRegionFor(core.db, actor.regionId);
  await authorize(core.db, actor, can(actor, 'set_curve', county), { objectType: 'region', objectId: county.id });
  return inTransaction(core.db, async (trx) => {
    const current = await executionCurve(trx, county.id, input.year);
    const before = current.source === 'set' ? curveText(current) : null;
    const after = curveText(input);
    if (before === after) return { changed: false };
    await trx('policy_execution_curve').where({ county_id: county.id, year: input.year }).delete();
    await trx('policy_execution_curve').insert({ county_id: county.id, year: input.year, points: input.points.join(','), tolerance_bp: input.toleranceBp, recorded_by: actor.userId, recorded_at: nowIso() });
    await recordAudit(trx, actor, { action: 'policy.curve.set', objectType: 'region', objectId: county.id, summary: { year: input.year, before: before ?? `默认（${curveText({ points: current.points, toleranceBp: current.toleranceBp })}）`, after } });
    return { changed: true };
  });
}
