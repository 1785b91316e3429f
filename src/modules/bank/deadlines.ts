import type { DeadlineRule } from '../../core/deadlines.ts';

/**
 * The clocks of failed payments (failures.ts), with the lengths of Qinghai 2020 implementing opinions 二(一)4 as
 * defaults; a county sets its own on the 时限设置 page.
 */
/** A group of cases (one result file and township, or one refund) is worked on in the list of cases in that state. */
const cases = (state: string) => () => `/bank/failures?state=${state}`;

export const BANK_DEADLINES = {
  // Ends when the corrected lines reach the bank (it fetches the supplementary payout file holding them): 核实和信息修正，并反馈受托银行业金融机构.
  failure_correction: { code: 'failure_correction', label: '发放失败核实修正', days: 10, unit: 'working', responsible: ['department', 'township_station', 'township_finance', 'finance_section'], basis: '青海实施意见二(一)4：实施部门会同乡镇政府在10个工作日内核实和修正，并反馈受托银行业金融机构（修正后的明细送达代发银行时办结）', href: cases('correcting') },
  bank_refund: { code: 'bank_refund', label: '二次发放失败资金退回', days: 5, unit: 'working', responsible: ['bank'], basis: '青海实施意见二(一)4：第二次发放失败的，受托银行业金融机构在5个工作日内将资金退回原账户', href: cases('refund_due') },
  // Ends when the bank reports the lines paid (重新发放完毕), or failed again, or returned early (no longer entitled).
  repayment: { code: 'repayment', label: '退回后重新发放', days: 10, unit: 'working', responsible: ['department'], basis: '青海实施意见二(一)4：实施部门核实原因，在10个工作日内重新发放完毕（代发银行回盘发放成功时办结）', href: cases('refunded') },
} satisfies Record<string, DeadlineRule>;
