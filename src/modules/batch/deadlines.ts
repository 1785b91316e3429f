import type { DeadlineRule } from '../../core/deadlines.ts';

/**
 * The clocks of the batch module (限时办理, working days, the length set per county): one for each waiting state of
 * a roster (ROSTER_TRANSITIONS in model.ts says which step opens and closes which) and of a round (round-workflow.ts).
 */
const roster = (_type: string, id: string) => `/rosters/${id}`;
const round = (_type: string, id: string) => `/rounds/${id}`;

export const BATCH_DEADLINES = {
  batch_check: { code: 'batch_check', label: '清册复核比对', days: 3, unit: 'working', responsible: ['township_finance'], basis: '限时办理（县级设置，默认 3 个工作日）', href: roster },
  batch_submit: { code: 'batch_submit', label: '复核后上报主管部门', days: 2, unit: 'working', responsible: ['township_station'], basis: '限时办理（县级设置，默认 2 个工作日）', href: roster },
  batch_review: { code: 'batch_review', label: '主管部门审核清册', days: 5, unit: 'working', responsible: ['department'], basis: '限时办理（县级设置，默认 5 个工作日）', href: roster },
  batch_publicity: { code: 'batch_publicity', label: '审核后张榜公示', days: 3, unit: 'working', responsible: ['township_station'], basis: '限时办理（县级设置，默认 3 个工作日）', href: roster },
  batch_confirm: { code: 'batch_confirm', label: '公示结束后确认', days: 3, unit: 'working', responsible: ['township_finance'], basis: '限时办理（县级设置，默认 3 个工作日，自公示开始计）', href: roster },
  batch_report: { code: 'batch_report', label: '公示后再次上报', days: 2, unit: 'working', responsible: ['township_station'], basis: '限时办理（县级设置，默认 2 个工作日）', href: roster },
  batch_finance_review: { code: 'batch_finance_review', label: '财政程序性复核', days: 5, unit: 'working', responsible: ['finance_section'], basis: '限时办理（县级设置，默认 5 个工作日）', href: round },
  batch_transfer: { code: 'batch_transfer', label: '国库拨付资金', days: 3, unit: 'working', responsible: ['treasury'], basis: '限时办理（县级设置，默认 3 个工作日）', href: round },
} satisfies Record<string, DeadlineRule>;

export type BatchDeadline = keyof typeof BATCH_DEADLINES;
