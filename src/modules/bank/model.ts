/** The bank module's vocabulary for failed payments: case states, where the money is, attempts. Pure: no database. */
export const FAILURE_STATES = {
  correcting: '待乡镇核实修正',
  verifying: '待主管部门核实',
  reviewing: '待财政再次复核',
  resend: '已再次发送银行',
  refund_due: '待银行退回资金',
  refunded: '资金已退回原账户，待重新发放或缴回',
  return_due: '待缴回财政',
  returned: '已暂缴回财政（公开名单）',
  reissue_verifying: '补发申请待主管部门核实',
  reissue_reviewing: '补发申请待财政复核',
  reissue_approved: '补发已批准，待编入补发批次',
  reissued: '已编入补发批次',
  paid: '再次发放成功',
} as const;
export type FailureState = keyof typeof FAILURE_STATES;

export const FUNDS_LABELS = { bank: '在代发银行', source: '已退回原账户', treasury: '已缴回财政', paid: '已发放' } as const;

/** Attempts a line gets: the first payout, the corrected resend, and the department's payment after the refund. */
export const MAX_ATTEMPTS = 3;
