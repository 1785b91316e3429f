import type { AgreementRow } from './queries.ts';

/** An agreement as its line on the page shows it: the settlement account masked, as a payee's is. */
export function presentAgreement(a: AgreementRow) {
  return {
    bank: a.bank_name,
    branch: a.branch,
    number: a.agreement_no,
    term: `${a.starts_on} 至 ${a.ends_on}`,
    townships: a.townships.join('、'),
    services: [a.free_sms ? '免费短信告知' : '', a.free_withdrawal ? '免费取款' : ''].filter(Boolean).join('、') || '无',
    settlementAccountName: a.settlement_account_name,
    settlementAccountNo: `****${a.settlement_account_last4}`,
  };
}
