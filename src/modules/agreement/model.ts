/**
 * The vocabulary of an agreement's life: how the bank was chosen (政府采购方式, 青海 实施意见 二(一)1), the terms a
 * county sets it (重庆 政策清单 二(五): 资金支付、补贴通知、便捷取款、数据安全) and when it is in force.
 */

/** The procurement methods of the Government Procurement Law (政府采购法 第二十六条) and its framework agreements. */
export const PROCUREMENT_METHODS = {
  open_tender: '公开招标',
  invited_tender: '邀请招标',
  competitive_negotiation: '竞争性谈判',
  competitive_consultation: '竞争性磋商',
  single_source: '单一来源采购',
  inquiry: '询价',
  framework: '框架协议采购',
} as const;
export type ProcurementMethod = keyof typeof PROCUREMENT_METHODS;

/** The terms 重庆 二(五) asks a county to set its agent bank, each recorded as the agreement words it. */
export const AGREEMENT_TERMS = {
  termPayment: '资金支付',
  termNotice: '补贴通知',
  termWithdrawal: '便捷取款',
  termDataSecurity: '数据安全',
} as const;

/**
 * How the bank takes the payment notices it sends free by SMS (青海 二(一)1: 通过手机短信等方式及时向受益对象发送补贴
 * 项目、补贴标准、发放部门等信息): a notice file it downloads (docs/notice-format.md) or the API; none agreed, and the
 * platform only writes them to its log (and says so).
 */
export const NOTICE_CHANNELS = {
  file: '告知文件（银行下载、上传发送结果）',
  api: '接口（/api/v1/notices）',
} as const;
export type NoticeChannel = keyof typeof NOTICE_CHANNELS;

/** What decides whether an agreement is in force on a day. */
export interface AgreementTerm {
  starts_on: string;
  ends_on: string;
  /** The day from which a terminated agreement no longer applies. */
  terminated_on: string | null;
}

/** In force on a day: within its term and not terminated on or before it. */
export function inForceOn(a: AgreementTerm, day: string): boolean {
  return a.starts_on <= day && day <= a.ends_on && (a.terminated_on === null || day < a.terminated_on);
}

/** How the page names an agreement's state on a day. */
export function agreementStateLabel(a: AgreementTerm, day: string): string {
  if (a.terminated_on !== null && a.terminated_on <= day) return `已于 ${a.terminated_on} 终止`;
  if (day < a.starts_on) return '尚未生效';
  if (day > a.ends_on) return '已到期';
  return a.terminated_on === null ? '有效' : `有效（将于 ${a.terminated_on} 终止）`;
}
