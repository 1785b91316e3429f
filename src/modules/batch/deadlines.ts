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
  batch_expedited_confirm: { code: 'batch_expedited_confirm', label: '应急救助清册财政所确认', days: 2, unit: 'working', responsible: ['township_finance'], basis: '限时办理（县级设置，默认 2 个工作日；应急救助批次不经发放前公示，主管部门审核后即由财政所确认）', href: roster },
  batch_report: { code: 'batch_report', label: '公示后再次上报', days: 2, unit: 'working', responsible: ['township_station'], basis: '限时办理（县级设置，默认 2 个工作日）', href: roster },
  batch_finance_review: { code: 'batch_finance_review', label: '财政程序性复核', days: 5, unit: 'working', responsible: ['finance_section'], basis: '限时办理（县级设置，默认 5 个工作日）', href: round },
  batch_transfer: { code: 'batch_transfer', label: '国库拨付资金', days: 3, unit: 'working', responsible: ['treasury'], basis: '限时办理（县级设置，默认 3 个工作日）', href: round },
  /**
   * A roster of a round opened as 应急救助（事后公示）is publicised after payment: the clock opens for each roster
   * when the finance section releases the round and stops when the station records the publicity dates (≥ 7 days).
   * The documents set no length for it (Qinghai 二(一)2 exempts emergency relief, 二(四)11 still asks for ≥ 7 days of
   * publicity); Haicheng 三.3 asks each county to set time limits (限时办理). The default, 10 working days from the
   * release, leaves the treasury's transfer (batch_transfer, 3 working days) and the bank's payment before it and
   * matches the documents' own limit for the township's follow-up after payment (Qinghai 二(一)4: 10 working days).
   */
  post_payment_publicity: {
    code: 'post_payment_publicity',
    label: '应急救助发放后公示（事后公示）',
    days: 10,
    unit: 'working',
    responsible: ['township_station'],
    basis: '青海 二(一)2 突发灾害应急救助先行发放，二(四)11 公示不少于 7 天；限时办理（海城 三.3，县级设置），默认自下达之日起 10 个工作日内开始公示（同 二(一)4 乡镇核实时限）',
    href: roster,
  },
} satisfies Record<string, DeadlineRule>;

export type BatchDeadline = keyof typeof BATCH_DEADLINES;
