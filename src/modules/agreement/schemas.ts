import { z } from 'zod';
import { businessDate, checkbox, id, idList, reason, text, version } from '../../core/fields.ts';
import { AGREEMENT_TERMS, NOTICE_CHANNELS, type NoticeChannel, PROCUREMENT_METHODS, type ProcurementMethod } from './model.ts';

const procurementMethod = z.enum(Object.keys(PROCUREMENT_METHODS) as [ProcurementMethod, ...ProcurementMethod[]], { error: '请选择政府采购方式' });

/** The channel of the free SMS notices, or none (empty): the platform then only writes notices to its log. */
const noticeChannel = z.preprocess((v) => (v === undefined || v === null || v === '' ? null : v), z.enum(Object.keys(NOTICE_CHANNELS) as [NoticeChannel, ...NoticeChannel[]], { error: '请选择短信告知渠道' }).nullable().optional());

/** A channel for notices is agreed only with the free SMS service it carries. */
function channelNeedsSms(input: { freeSms: boolean; noticeChannel?: NoticeChannel | null | undefined }, ctx: z.RefinementCtx) {
  if (input.noticeChannel && !input.freeSms) ctx.addIssue({ code: 'custom', path: ['noticeChannel'], message: '约定了短信告知渠道，须同时勾选“每笔发放免费短信告知”' });
}

/** What the agreement sets the bank on each term of 重庆 二(五) (资金支付、补贴通知、便捷取款、数据安全). */
const terms = {
  termPayment: text(`${AGREEMENT_TERMS.termPayment}要求`, 300),
  termNotice: text(`${AGREEMENT_TERMS.termNotice}要求`, 300),
  termWithdrawal: text(`${AGREEMENT_TERMS.termWithdrawal}要求`, 300),
  termDataSecurity: text(`${AGREEMENT_TERMS.termDataSecurity}要求`, 300),
};

/** The terms of an agreement the finance section keeps up to date: all but its bank, number, term, account and townships. */
const editable = {
  branch: text('承办网点', 80),
  settlementAccountName: text('资金清算账户名称', 80),
  procurementProjectNo: text('政府采购项目编号', 60),
  procurementMethod,
  ...terms,
  freeSms: checkbox,
  noticeChannel,
  freeWithdrawal: checkbox,
  dataSecurityPledged: checkbox,
};

/**
 * The form of a new agreement, built from the shared fields (core/fields.ts); messages in Chinese, keyed by field.
 * The procurement and the four terms are required of a new agreement (those recorded before may lack them until
 * edited). The dates, the account number and the townships are checked by recordAgreement, with the rest of the
 * form's errors.
 */
export const agreementSchema = z.object({
  bankOrgId: id('代发金融机构'),
  agreementNo: text('协议编号', 60),
  startsOn: z.string({ error: '请填写开始日期' }).trim(),
  endsOn: z.string({ error: '请填写结束日期' }).trim(),
  settlementAccountNo: z.string({ error: '请填写资金清算账号' }).trim().transform((v) => v.replace(/\s/g, '')),
  townshipIds: idList('服务乡镇', { allowEmpty: true }),
  ...editable,
}).superRefine(channelNeedsSms);
export type AgreementInput = z.infer<typeof agreementSchema>;

/** Editing an agreement's terms, from the page of the version shown. */
export const agreementEditSchema = z.object({ version, ...editable }).superRefine(channelNeedsSms);
export type AgreementEdit = z.infer<typeof agreementEditSchema>;

/** Extending the term: the new end date (checked against the current one by the command) and the document that agrees it. */
export const agreementExtendSchema = z.object({
  version,
  newEndsOn: businessDate('延期后的结束日期'),
  extensionDocNo: text('延期文件文号', 60),
});
export type AgreementExtension = z.infer<typeof agreementExtendSchema>;

/** Terminating: from which day, and why (required). */
export const agreementTerminateSchema = z.object({
  version,
  terminatedOn: businessDate('终止日期'),
  terminationReason: reason('终止原因'),
});
export type AgreementTermination = z.infer<typeof agreementTerminateSchema>;

/** A breach by the bank (违约记录): when, what happened, and the measure taken or penalty under the agreement. */
export const breachSchema = z.object({
  breachOn: businessDate('违约发生日期', { notAfterToday: true }),
  breachWhat: reason('违约情形'),
  breachMeasure: reason('处理措施或违约责任'),
});
export type BreachInput = z.infer<typeof breachSchema>;

/**
 * The bank's SM2 public key and what the agreement makes of it (Liaoning 三(二)2): its signature required on result
 * files and answers, files encrypted for it. The key may be left empty to keep the one recorded.
 */
export const bankKeySchema = z.object({
  version,
  bankPublicKey: z.string().trim().max(2000, { error: '公钥过长：请粘贴 PEM 或 130 位十六进制公钥' }).optional().default(''),
  requireBankSignature: checkbox,
  encryptFiles: checkbox,
});
export type BankKeyInput = z.infer<typeof bankKeySchema>;
