import type { Role } from '../../core/auth/roles.ts';
import type { Frequency } from '../policy/index.ts';
import type { BatchDeadline } from './deadlines.ts';

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
  expedited: '审核通过（应急救助，事后公示），待财政所确认',
  publicity: '公示中',
  confirmed: '公示结束，财政所已确认',
  reported: '已再次上报主管部门',
} as const;
export type RosterState = keyof typeof ROSTER_STATES;

/**
 * The roster's state machine (steps 3–6 of the flow), in one place: each action names the states it leaves, the
 * state it reaches, the role that takes it, whether a reason is required, and the four-eyes rule. Checks run
 * again before every step forward. Each waiting state runs a clock (限时办理, working days, per county).
 * policy.ts decides from it who may take a step; workflow.ts takes it.
 */
export type RosterAction =
  | 'send_check'
  | 'return_check'
  | 'confirm_check'
  | 'submit'
  | 'approve'
  | 'approve_expedited'
  | 'return'
  | 'start_publicity'
  | 'confirm_publicity'
  | 'return_publicity'
  | 'confirm_expedited'
  | 'return_expedited'
  | 'report';

/**
 * Which rounds a step belongs to: every round, the ordinary ones (publicity before payment), or those opened as
 * 应急救助（事后公示）(round.expedited: only under a 突发灾害应急救助 policy, Qinghai 二(一)2), whose rosters go from
 * the department's approval to the finance office's confirmation and are publicised after the round is released.
 */
export type RoundPath = 'any' | 'ordinary' | 'expedited';

interface Transition {
  label: string;
  from: RosterState[];
  to: RosterState;
  roles: Role[];
  reason: boolean;
  /** Whoever last changed the roster's lines may not take this step. */
  fourEyes: boolean;
  /** Run the checks first and refuse while a blocking finding (or, if set, an open warning) remains. */
  checks: 'none' | 'blocking' | 'all';
  /** The clock this step stops, and the one it starts for the next (deadlines.ts). */
  closes: BatchDeadline | null;
  opens: BatchDeadline | null;
  path: RoundPath;
  /** Whoever approved the roster (the department's step) may not take this one either: an approval is not confirmed by its author. */
  notApprover?: boolean;
}

export const ROSTER_TRANSITIONS: Record<RosterAction, Transition> = {
  send_check: { label: '送财政所复核比对', from: ['draft'], to: 'checking', roles: ['township_station'], reason: false, fourEyes: false, checks: 'none', closes: null, opens: 'batch_check', path: 'any' },
  return_check: { label: '退回经办站所修改', from: ['checking'], to: 'draft', roles: ['township_finance'], reason: true, fourEyes: false, checks: 'none', closes: 'batch_check', opens: null, path: 'any' },
  confirm_check: { label: '复核比对通过', from: ['checking'], to: 'checked', roles: ['township_finance'], reason: false, fourEyes: true, checks: 'all', closes: 'batch_check', opens: 'batch_submit', path: 'any' },
  submit: { label: '上报主管部门', from: ['checked'], to: 'submitted', roles: ['township_station'], reason: false, fourEyes: false, checks: 'all', closes: 'batch_submit', opens: 'batch_review', path: 'any' },
  approve: { label: '审核通过，交乡镇公示', from: ['submitted'], to: 'approved', roles: ['department'], reason: false, fourEyes: true, checks: 'all', closes: 'batch_review', opens: 'batch_publicity', path: 'ordinary' },
  approve_expedited: { label: '审核通过（应急救助，先发放后公示）', from: ['submitted'], to: 'expedited', roles: ['department'], reason: false, fourEyes: true, checks: 'all', closes: 'batch_review', opens: 'batch_expedited_confirm', path: 'expedited' },
  return: { label: '退回乡镇修改', from: ['submitted', 'reported'], to: 'draft', roles: ['department'], reason: true, fourEyes: false, checks: 'none', closes: 'batch_review', opens: null, path: 'any' },
  start_publicity: { label: '发布公示', from: ['approved'], to: 'publicity', roles: ['township_station'], reason: false, fourEyes: false, checks: 'none', closes: 'batch_publicity', opens: 'batch_confirm', path: 'ordinary' },
  return_publicity: { label: '公示有异议，退回修改', from: ['publicity'], to: 'draft', roles: ['township_finance'], reason: true, fourEyes: false, checks: 'none', closes: 'batch_confirm', opens: null, path: 'ordinary' },
  confirm_publicity: { label: '确认公示结果', from: ['publicity'], to: 'confirmed', roles: ['township_finance'], reason: false, fourEyes: true, checks: 'all', closes: 'batch_confirm', opens: 'batch_report', path: 'ordinary' },
  confirm_expedited: { label: '确认发放数据（应急救助，发放后公示）', from: ['expedited'], to: 'confirmed', roles: ['township_finance'], reason: false, fourEyes: true, notApprover: true, checks: 'all', closes: 'batch_expedited_confirm', opens: 'batch_report', path: 'expedited' },
  return_expedited: { label: '有误，退回修改（应急救助）', from: ['expedited'], to: 'draft', roles: ['township_finance'], reason: true, fourEyes: false, checks: 'none', closes: 'batch_expedited_confirm', opens: null, path: 'expedited' },
  report: { label: '再次上报主管部门', from: ['confirmed'], to: 'reported', roles: ['township_station'], reason: false, fourEyes: false, checks: 'all', closes: 'batch_report', opens: null, path: 'any' },
};

/** A roster's state as its page names it: a roster of a round paid before its publicity (应急救助) is confirmed without one. */
export function rosterStateLabel(state: RosterState, expedited: boolean): string {
  if (expedited && state === 'confirmed') return '财政所已确认（应急救助，发放后公示），待再次上报';
  return ROSTER_STATES[state];
}

/** Publicity lasts at least this many days, both ends included (Qinghai 二(四)11, Chongqing 二(八)). */
export const MIN_PUBLICITY_DAYS = 7;

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

/**
 * What the agent bank answers of an account before money moves (docs/account-check-format.md): as the answer file
 * words it. Anything but ok is a blocking finding on the line (checks/bank-verdict.ts).
 */
export const ACCOUNT_VERDICTS = {
  ok: '一致',
  name_mismatch: '户名不符',
  id_mismatch: '证件号码不符',
  not_found: '账户不存在',
  closed: '已销户',
  frozen: '已冻结',
  abnormal: '状态异常（挂失、止付等）',
} as const;
export type AccountVerdict = keyof typeof ACCOUNT_VERDICTS;
