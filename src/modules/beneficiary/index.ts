import type { Core } from '../../core/context.ts';
import type { AppModule } from '../../core/module.ts';
import { beneficiaryAuditVocabulary } from './audit-labels.ts';
import { beneficiaryApi } from './api.ts';
import { pendingChanges } from './queries.ts';
import { beneficiaryRoutes } from './routes.ts';
import { REGISTRY_READERS } from './policy.ts';

/**
 * The beneficiary module (一张卡片领补贴): households, people and their one payout account, the registry every
 * round is checked against. Other modules use only what this file exports.
 */
export { parseIdNumber } from './id-number.ts';
export { type HitRow as ReferenceHit, type RegistryFacts, accountNumbersById, idNumbersById, peopleWithoutAccount, referenceHitsOf, registryFactsById, registryFactsByIdNumberIndex } from './queries.ts';
export { type AccountInput, proposeOpenedAccount } from './commands.ts';
export { ACCOUNT_KIND_LABELS, type AccountKind } from './account-number.ts';

export function createBeneficiaryModule(core: Core): AppModule {
  return {
    name: 'beneficiary',
    audit: beneficiaryAuditVocabulary,
    nav: [{ href: '/beneficiaries', label: '受益对象', roles: REGISTRY_READERS }],
    routes: beneficiaryRoutes,
    api: beneficiaryApi(core),
    async queues(actor) {
      if (!actor.roles.includes('township_finance')) return [];
      const pending = await pendingChanges(core.db, actor);
      return pending.length ? [{ title: '待确认的账户和状态变更', count: pending.length, href: '/beneficiaries/changes' }] : [];
    },
  };
}
