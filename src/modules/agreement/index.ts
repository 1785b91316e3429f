import type { AppModule } from '../../core/module.ts';
import { agreementAuditVocabulary } from './audit-labels.ts';
import { agreementRoutes } from './routes.ts';

/**
 * The agreement module (代发协议): the agent bank agreements a county finance section records — the bank, branch,
 * number, term, the townships it serves, the free services it promised (SMS notice of each payment, withdrawal) and
 * its settlement account (stored encrypted, shown by its last four digits). A bottom-layer module: batch releases a
 * round only to a bank whose agreement is in force and serves every township of the round, and the treasury
 * transfers only to that settlement account; bank names it in its payout files, sends card requests to the banks
 * that serve a township, and transfers resent money to that account too. Other modules use only what this file
 * exports.
 */
export { type AgreementRow, agreementInForce, banksServing, settlementAccountNumber } from './queries.ts';
export { sealSettlementAccounts, sealedSettlementAccount } from './commands.ts';

export function createAgreementModule(): AppModule {
  return {
    name: 'agreement',
    audit: agreementAuditVocabulary,
    nav: [{ href: '/agreements', label: '代发协议', roles: ['finance_section', 'treasury', 'bank'] }],
    routes: agreementRoutes,
  };
}
