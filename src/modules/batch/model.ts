import type { Frequency } from '../policy/index.ts';

/**
 * The batch module's vocabulary: round and roster states with their labels, periods, and the one rule for a
 * line's amount. Pure: no database.
 */
export const ROUND_STATES = { compiling: '编制中', submitted: '待财政复核', released: '已下达银行', transferred: '已拨付' } as const;
export type RoundState = keyof typeof ROUND_STATES;

export const ROSTER_STATES = {
  draft: '经办站所编制中',
  checking: '待财政所复核比对',
  checked: '复核比对完成，待上报',
  submitted: '待主管部门审核',
  approved: '审核通过，待公示',
  publicity: '公示中',
  confirmed: '公示结束，财政所已确认',
  reported: '已再次上报主管部门',
} as const;
export type RosterState = keyof typeof ROSTER_STATES;

export interface Period {
  /** 2026 | 2026-11 | 2026-Q4 */
  period: string;
  year: number;
  /** The period's last day: deaths and moves up to it disqualify. */
  end: string;
  label: string;
}

const lastDayOf = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10);

/** The period of a round from what the department typed (2026, 2026-11, 2026-Q4), as the policy's frequency wants it. */
export function parsePeriod(frequency: Frequency, text: string): Period | { error: string } {
  const t = text.trim().toUpperCase();
  if (frequency === 'monthly') {
    const m = /^(\d{4})-(\d{1,2})$/.exec(t);
    const month = m ? Number(m[2]) : 0;
    if (!m || month < 1 || month > 12) return { error: '按月发放的补贴，期间应为年月，如 2026-11' };
    const year = Number(m[1]);
    return { period: `${year}-${String(month).padStart(2, '0')}`, year, end: lastDayOf(year, month), label: `${year}年${month}月` };
  }
  if (frequency === 'quarterly') {
    const m = /^(\d{4})-Q([1-4])$/.exec(t);
    if (!m) return { error: '按季发放的补贴，期间应为年和季度，如 2026-Q4' };
    const year = Number(m[1]);
    const quarter = Number(m[2]);
    return { period: `${year}-Q${quarter}`, year, end: lastDayOf(year, quarter * 3), label: `${year}年第${'一二三四'[quarter - 1]}季度` };
  }
  const m = /^(\d{4})$/.exec(t);
  if (!m) return { error: '按年或一次性发放的补贴，期间应为年度，如 2026' };
  const year = Number(m[1]);
  return { period: String(year), year, end: `${year}-12-31`, label: `${year}年` };
}

/**
 * Quantities as typed (亩, 人, 月 …): up to three decimals, stored in thousandths, so that no floating point
 * touches money. 12.5 → 12500.
 */
export function parseQuantity(text: string): number | { error: string } {
  const m = /^(\d{1,9})(?:\.(\d{1,3}))?$/.exec(text.trim());
  if (!m) return { error: '数量应为不超过三位小数的正数，如 12.5' };
  const milli = Number(m[1]) * 1000 + Number((m[2] ?? '').padEnd(3, '0'));
  return milli > 0 ? milli : { error: '数量必须大于 0' };
}

export function formatQuantity(milli: number): string {
  const whole = Math.floor(milli / 1000);
  const rest = String(milli % 1000).padStart(3, '0').replace(/0+$/, '');
  return rest ? `${whole}.${rest}` : String(whole);
}
