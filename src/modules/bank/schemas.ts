import { z } from 'zod';
import { businessDate, checkbox, id, idList, optional, reason, text, version, yuan } from '../../core/fields.ts';
import { FAILURE_STATES, type FailureState, RETURN_GROUNDS, type ReturnGround } from './model.ts';

/** Forms and query strings of the bank pages, built from the shared fields (core/fields.ts); messages in Chinese, keyed by field. */

/** A step on one failed payment that needs no words (verify, approve a reissue). */
export const caseStepSchema = z.object({ version });
/** What the station verified and corrected before the next payment. */
export const correctSchema = z.object({ version, note: reason('核实情况和修正内容', 500) });
/** What the person reported and the station verified, for a reissue. */
export const reissueRequestSchema = z.object({ version, note: reason('本人报备和核实的情况', 500) });
/** A correction sent back to the township, with the reason. */
export const sendBackSchema = z.object({ version, reason: reason('退回原因') });
/**
 * The department's decision not to pay again after a refund: only when the person is no longer entitled, the ground
 * chosen from RETURN_GROUNDS and the document that shows it (its name and number) recorded; an optional note.
 */
export const decideReturnSchema = z.object({
  version,
  ground: z.enum(Object.keys(RETURN_GROUNDS) as [ReturnGround], { error: '请选择不再发放的理由（收款人已死亡、已迁出或已取消资格）' }),
  evidence: text('证明材料（证明名称及编号）', 200),
  note: optional(text('补充说明', 300)),
});

export const approveCorrectionsSchema = z.object({ failureIds: idList('要办理的明细') });

/** A refund by the bank: one voucher may cover several lines of a round; its amount must be their total (the command checks). */
export const refundSchema = z.object({
  failureIds: idList('要办理的明细'),
  voucherNo: text('退款凭证号', 60),
  refundedOn: businessDate('退回日期', { notAfterToday: true }),
  amount: yuan('退回金额'),
});

/** The money of lines due back received by the treasury (暂缴回同级财政), one voucher for several lines. */
export const treasuryReturnSchema = z.object({
  failureIds: idList('要办理的明细'),
  voucherNo: text('缴款凭证号', 60),
  returnedOn: businessDate('缴回日期', { notAfterToday: true }),
  amount: yuan('缴回金额'),
});

export const retransferSchema = z.object({
  supplementId: id('补充代发文件'),
  amount: yuan('拨付金额'),
  voucherNo: text('拨付凭证号', 60),
  destinationAccount: text('资金清算账户', 80),
});

export const receiptSchema = z.object({ note: optional(text('说明', 200)) });

/** The filters of the failed-payments list (`/bank/failures`, failures.ts failureList); `overdue=1`: past the clock's due date. */
export const failureFilters = {
  state: optional(z.enum(Object.keys(FAILURE_STATES) as [FailureState], { error: '状态不正确' })),
  township: optional(id('乡镇')),
  round: optional(id('发放批次')),
  overdue: checkbox,
};

/** The bank's confirmed totals of each round of a reconciliation, typed in 元: fields paid-<round>, unpaid-<round>, refunded-<round>. */
export const confirmedTotalsSchema = (rounds: { id: number; title: string }[]) =>
  z.object(
    Object.fromEntries(
      rounds.flatMap((r) => [
        [`paid-${r.id}`, yuan(`${r.title}：已发放`)],
        [`unpaid-${r.id}`, yuan(`${r.title}：未发放`)],
        [`refunded-${r.id}`, yuan(`${r.title}：已退回`)],
      ]),
    ),
  );

/** The public pages' county (`?county=n`); not given: the only county, or a list to choose from. */
export const countyQuerySchema = z.object({ county: optional(id('县（区）')) });

/** `?supplement=n` picks a supplementary payout file. */
export const payoutQuerySchema = z.object({ supplement: optional(id('补充代发文件')) });

/** The clearing page's year (`?year=n`): a finished year from 2000 on; anything else shows the last finished one. */
export const clearingQuerySchema = (lastYear: number) => z.object({ year: z.coerce.number().int().min(2000).max(lastYear).catch(lastYear) });

/** Opening a year's clearing: the year (a finished one: the command checks it against the date). */
export const openClearingSchema = z.object({
  year: z.coerce.number({ error: '只能清算已结束的年度' }).int({ error: '只能清算已结束的年度' }).min(2000, { error: '只能清算已结束的年度' }),
});
/** Re-opening it with fresh figures, the draft's version as the page showed it. */
export const reopenClearingSchema = z.object({ version });
/** A party's confirmation; the finance section's, the last, names the voucher of the money returned (the command requires it then). */
export const confirmClearingSchema = z.object({ version, voucherNo: optional(text('清算缴款凭证号', 60)) });
/** A department's or bank's dispute: what does not agree. */
export const disputeClearingSchema = z.object({ version, reason: reason('异议的理由', 500) });

/**
 * The bank's confirmations of payment notices posted through the API (docs/notice-format.md): per notice, sent or
 * failed with the reason; 1–10,000 per call. Checked whole at the edge; the command checks them against the notices.
 */
export const noticeConfirmationsSchema = z.object({
  confirmations: z
    .array(
      z
        .object({
          noticeId: z.number({ error: '告知编号应为整数' }).int({ error: '告知编号应为整数' }).positive({ error: '告知编号应为正整数' }).max(2 ** 31 - 1, { error: '告知编号无效' }),
          result: z.enum(['sent', 'failed'], { error: '结果应为 sent 或 failed' }),
          reason: z.string({ error: '失败原因应为文字' }).trim().max(200, { error: '失败原因不超过 200 字' }).optional(),
        })
        .superRefine((c, ctx) => {
          if (c.result === 'failed' && !c.reason) ctx.addIssue({ code: 'custom', path: ['reason'], message: '发送失败须写明原因' });
          if (c.result === 'sent' && c.reason) ctx.addIssue({ code: 'custom', path: ['reason'], message: '已发送的告知不填失败原因' });
        }),
      { error: '应为发送结果的数组' },
    )
    .min(1, { error: '应为非空数组' })
    .max(10_000, { error: '每次最多提交 10000 条' }),
});

/** How many notices the bank fetches at a time through the API (default and most: 10,000). */
export const noticeFetchSchema = z.object({
  limit: z.preprocess((v) => (v === undefined || v === '' ? 10_000 : v), z.coerce.number({ error: 'limit 应为 1–10000 的整数' }).int({ error: 'limit 应为 1–10000 的整数' }).min(1, { error: 'limit 应为 1–10000 的整数' }).max(10_000, { error: 'limit 应为 1–10000 的整数' })),
});

// --- The exchange with the budget system (预算管理一体化, budget.ts) -------------------------------------------

const budgetYear = z.coerce.number({ error: '年度应为年份' }).int({ error: '年度应为年份' }).min(2000, { error: '年度应在 2000 到 2100 之间' }).max(2100, { error: '年度应在 2000 到 2100 之间' });
const MAX_VOUCHER_DAYS = 366;

/** A range of business dates, both ends counted, at most a year long. */
function dateRange<T extends { from: string | null; to: string | null }>(value: T, ctx: z.RefinementCtx): void {
  if (value.from === null || value.to === null) return;
  if (value.to < value.from) ctx.addIssue({ code: 'custom', path: ['to'], message: '截止日期不能早于起始日期' });
  else if ((Date.parse(value.to) - Date.parse(value.from)) / 86_400_000 + 1 > MAX_VOUCHER_DAYS) ctx.addIssue({ code: 'custom', path: ['to'], message: `日期范围不能超过 ${MAX_VOUCHER_DAYS} 天` });
}

/** The page's choice: a month, or a range of dates (both), of one county (a reader above the county chooses it). */
export const budgetPageSchema = z
  .object({
    month: optional(z.string().trim().regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: '月份应为 YYYY-MM 格式，如 2026-09' })),
    from: optional(businessDate('起始日期')),
    to: optional(businessDate('截止日期')),
    year: optional(budgetYear),
    county: optional(id('县（区）')),
  })
  .superRefine((value, ctx) => {
    if ((value.from === null) !== (value.to === null)) ctx.addIssue({ code: 'custom', path: [value.from === null ? 'from' : 'to'], message: '起始日期和截止日期应同时填写' });
    dateRange(value, ctx);
  });

/** GET /api/v1/payment-vouchers: both dates required. */
export const voucherApiSchema = z.object({ from: businessDate('起始日期'), to: businessDate('截止日期') }).superRefine(dateRange);

/** GET /api/v1/payment-plans: the year of the rounds' periods. */
export const planApiSchema = z.object({ year: budgetYear });
