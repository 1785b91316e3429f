import { z } from 'zod';
import { businessDate, checkbox, id, idList, optional, reason, text, version, yuan } from '../../core/fields.ts';
import { FAILURE_STATES, type FailureState } from './model.ts';

/** Forms and query strings of the bank pages, built from the shared fields (core/fields.ts); messages in Chinese, keyed by field. */

/** A step on one failed payment that needs no words (verify, approve a reissue). */
export const caseStepSchema = z.object({ version });
/** What the station verified and corrected before the next payment. */
export const correctSchema = z.object({ version, note: reason('核实情况和修正内容', 500) });
/** What the person reported and the station verified, for a reissue. */
export const reissueRequestSchema = z.object({ version, note: reason('本人报备和核实的情况', 500) });
/** A correction sent back to the township, with the reason. */
export const sendBackSchema = z.object({ version, reason: reason('退回原因') });
/** The department's decision not to pay again: the money goes back to the treasury. */
export const decideReturnSchema = z.object({ version, reason: reason('不再发放的原因') });

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

/** The year-end clearing: the year (a finished one: the command checks it against the date) and the voucher of the money returned. */
export const clearYearSchema = z.object({
  year: z.coerce.number({ error: '只能清算已结束的年度' }).int({ error: '只能清算已结束的年度' }).min(2000, { error: '只能清算已结束的年度' }),
  voucherNo: text('清算缴款凭证号', 60),
});
