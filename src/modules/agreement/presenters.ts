import type { Actor } from '../../core/auth/roles.ts';
import { businessDate } from '../../core/dates.ts';
import { AGREEMENT_TERMS, NOTICE_CHANNELS, PROCUREMENT_METHODS, agreementStateLabel } from './model.ts';
import { can } from './policy.ts';
import type { AgreementRow, BankKey } from './queries.ts';

const procurementLabel = (code: string | null) => (code ? (PROCUREMENT_METHODS[code as keyof typeof PROCUREMENT_METHODS] ?? code) : '');

/** An agreement as its line on the page shows it: the settlement account masked, as a payee's is. */
export function presentAgreement(a: AgreementRow, today = businessDate()) {
  return {
    id: a.id,
    bank: a.bank_name,
    branch: a.branch,
    number: a.agreement_no,
    term: `${a.starts_on} 至 ${a.ends_on}`,
    state: agreementStateLabel(a, today),
    townships: a.townships.join('、'),
    services: [a.free_sms ? `免费短信告知（${a.notice_channel ? `经${NOTICE_CHANNELS[a.notice_channel as keyof typeof NOTICE_CHANNELS] ?? a.notice_channel}` : '未约定告知渠道，平台仅写入日志'}）` : '', a.free_withdrawal ? '免费取款' : '', a.data_security_pledged ? '已承诺数据安全' : ''].filter(Boolean).join('、') || '无',
    settlementAccountName: a.settlement_account_name,
    settlementAccountNo: `****${a.settlement_account_last4}`,
    procurement: a.procurement_project_no ? `${procurementLabel(a.procurement_method)} ${a.procurement_project_no}` : '未登记',
    terms: [
      { label: AGREEMENT_TERMS.termPayment, text: a.term_payment ?? '' },
      { label: AGREEMENT_TERMS.termNotice, text: a.term_notice ?? '' },
      { label: AGREEMENT_TERMS.termWithdrawal, text: a.term_withdrawal ?? '' },
      { label: AGREEMENT_TERMS.termDataSecurity, text: a.term_data_security ?? '' },
    ],
    fileSecurity: [a.require_bank_signature ? '回盘文件和银行回复须附银行的 SM2 签名' : '不要求银行签名', a.encrypt_files ? '代发文件、开卡名单和核验名单加密后交给银行' : '代发文件不加密'].join('；'),
    terminated: a.terminated_on ? { on: a.terminated_on, reason: a.termination_reason ?? '' } : null,
    version: a.version,
  };
}

/** The agreement's terms as the edit form starts: what is recorded now. */
export function editValues(a: AgreementRow) {
  return {
    branch: a.branch,
    settlementAccountName: a.settlement_account_name,
    procurementProjectNo: a.procurement_project_no ?? '',
    procurementMethod: a.procurement_method ?? '',
    termPayment: a.term_payment ?? '',
    termNotice: a.term_notice ?? '',
    termWithdrawal: a.term_withdrawal ?? '',
    termDataSecurity: a.term_data_security ?? '',
    freeSms: a.free_sms ? 'on' : '',
    noticeChannel: a.notice_channel ?? '',
    freeWithdrawal: a.free_withdrawal ? 'on' : '',
    dataSecurityPledged: a.data_security_pledged ? 'on' : '',
  };
}

/** What the agreement's page offers this actor: exactly the steps its commands would accept (can). */
export function presentAgreementPermissions(actor: Actor, a: AgreementRow) {
  return {
    edit: can(actor, 'edit', a).ok,
    extend: can(actor, 'extend', a).ok,
    terminate: can(actor, 'terminate', a).ok,
    recordBreach: can(actor, 'record_breach', a).ok,
    setBankKey: can(actor, 'set_bank_key', a).ok,
  };
}

export const procurementOptions = Object.entries(PROCUREMENT_METHODS).map(([value, label]) => ({ value, label }));
export const noticeChannelOptions = Object.entries(NOTICE_CHANNELS).map(([value, label]) => ({ value, label }));

/** A bank key as the agreement's page lists it: the fingerprint to compare with the bank's notice, and its state. */
export function presentBankKey(k: BankKey) {
  return { fingerprint: k.fingerprint, recordedAt: k.recordedAt, state: k.retiredAt ? `${k.retiredAt.slice(0, 10)} 起停用（此前验过的签名仍可核对）` : '使用中' };
}

/** The bank key form as it starts: the requirements recorded now, the key left empty (kept unless replaced). */
export function bankKeyValues(a: AgreementRow) {
  return { bankPublicKey: '', requireBankSignature: a.require_bank_signature ? 'on' : '', encryptFiles: a.encrypt_files ? 'on' : '' };
}
