import type { AppModule } from '../../core/module.ts';
import { agreementAuditVocabulary } from './audit-labels.ts';
import { agreementRoutes } from './routes.ts';
import { agreementMove } from './move.ts';

/**
 * The agreement module (代发协议): the agent bank agreements a county finance section records and manages over their
 * life — the bank, branch, number, term, the townships it serves, the government procurement that chose the bank,
 * the terms set on payment, notice, withdrawal and data security (重庆 二(五)), the free services it promised and its
 * settlement account (stored encrypted, shown by its last four digits); edits of the terms, extensions, termination
 * with its reason, and the bank's breaches. A bottom-layer module: batch releases a round only to a bank whose
 * agreement is in force (not expired, not terminated) and serves every township of the round, and the treasury
 * transfers only to that settlement account; bank names it in its payout files, sends card requests to the banks
 * that serve a township, and transfers resent money to that account too. Other modules use only what this file
 * exports.
 */
export { type AgreementRow, type BankKeyTerms, agreementInForce, bankKeyTerms, banksServing, checkBankSignature, encryptionKeyOf, noticeChannelOf, settlementAccountNumber } from './queries.ts';
export { NOTICE_CHANNELS, type NoticeChannel } from './model.ts';
export { sealSettlementAccounts, sealedSettlementAccount } from './commands.ts';

export function createAgreementModule(): AppModule {
  return {
    name: 'agreement',
    move: agreementMove,
    audit: agreementAuditVocabulary,
    rekey: (r) => r.rewrite('agreement_contract', { encrypted: ['settlement_account_enc'] }),
    nav: [{ href: '/agreements', label: '代发协议', roles: ['finance_section', 'treasury', 'bank'] }],
    routes: agreementRoutes,
  };
}
