/**
 * The bank module's vocabulary: failed payments (case states, where the money is, attempts), the reconciliation's
 * line states and kinds of difference, the reasons for a card-opening request. Pure: no database.
 */
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

/**
 * The states in which a case is still being corrected before its corrected line reaches the bank (with `resend` while
 * its supplementary payout is not fetched): its group's correction clock runs.
 */
export const CORRECTION_OPEN_STATES: FailureState[] = ['correcting', 'verifying', 'reviewing'];
/** The states in which a refunded case is still to be paid again: its refund's repayment clock runs. */
export const REPAYMENT_OPEN_STATES: FailureState[] = ['refunded', 'correcting', 'verifying', 'reviewing', 'resend'];

export const FUNDS_LABELS = { bank: '在代发银行', source: '已退回原账户', treasury: '已缴回财政', paid: '已发放' } as const;

/**
 * Why the department may return a refunded line's money to the treasury before the further attempt (Qinghai 二(一)4
 * says pay again within 10 working days; only a person no longer entitled is not paid again): each with the document
 * that shows it, recorded with the decision. Such a person is not put on the public list of failed payments and
 * gets no reissue.
 */
export const RETURN_GROUNDS = {
  deceased: { label: '收款人已死亡', evidence: '死亡证明编号（或户籍注销证明）' },
  moved_away: { label: '收款人已迁出本地', evidence: '迁出证明（户口迁移证）编号' },
  disqualified: { label: '收款人已取消补贴资格', evidence: '取消资格的文件名称及文号' },
} as const;
export type ReturnGround = keyof typeof RETURN_GROUNDS;

/** Attempts a line gets: the first payout, the corrected resend, and the department's payment after the refund. */
export const MAX_ATTEMPTS = 3;

/** Where the bank says a line stands, in its reconciliation confirmation (docs/reconciliation-file-format.md). */
export const BANK_LINE_STATES = { paid: '已发放', unpaid: '未发放', refunded: '已退回' } as const;
export type BankLineState = keyof typeof BANK_LINE_STATES;

/** A reconciliation difference: of one line (missing, amount, state), or of a round's entered totals (paid, unpaid, refunded). */
export const DIFFERENCE_KINDS = { missing: '银行未确认', amount: '金额不符', state: '状态不符', paid: '已发放合计不符', unpaid: '未发放合计不符', refunded: '已退回合计不符' } as const;
export type DifferenceKind = keyof typeof DIFFERENCE_KINDS;

/** A difference's reference: the line's (as in the payout file), or the round for a difference of its totals. */
export const differenceRef = (d: { round_id: number; line_id: number | null }) => (d.line_id === null ? `批次 ${d.round_id} 合计` : `R${d.round_id}-${d.line_id}`);

/** Why the township station asks the bank to open a card. */
export const CARD_REASONS = { no_account: '无发放账户', lost_card: '卡（折）挂失', no_sscard: '未使用社保卡发放' } as const;
export type CardReason = keyof typeof CARD_REASONS;
