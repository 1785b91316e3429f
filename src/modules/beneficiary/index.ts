import type { Core } from '../../core/context.ts';
import type { AppModule, WorkQueue } from '../../core/module.ts';
import { beneficiaryAuditVocabulary } from './audit-labels.ts';
import { beneficiaryApi } from './api.ts';
import { pendingAccounts, pendingChanges, pendingImports } from './queries.ts';
import { pendingLifeEvents } from './life-event-queries.ts';
import { beneficiaryRoutes } from './routes.ts';
import { REGISTRY_READERS } from './policy.ts';
import { BENEFICIARY_MAPPINGS } from './column-kinds.ts';
import { beneficiaryMove } from './move.ts';

/**
 * The beneficiary module (一张卡片领补贴): households, people and their one payout account, the registry every
 * round is checked against. Other modules use only what this file exports.
 */
export { parseIdNumber } from './id-number.ts';
export { auditPersonFinder } from './audit-search.ts';
export { type CheckFacts, type CompiledPerson, type HitRow as ReferenceHit, type RegistryFacts, accountLast4sOf, accountNumbersById, checkFactsOf, factsAsCompiled, idNumbersById, peopleWithoutAccount, referenceHitsOf, registryDiffsOf, registryFactsById, registryFactsByIdNumberIndex } from './queries.ts';
export { type AccountInput, proposeOpenedAccount } from './commands.ts';
export { ACCOUNT_KIND_LABELS, type AccountKind, luhnValid } from './account-number.ts';
export { checkCharacter } from './id-number.ts';
export { NOT_ON_CARD_KIND_CHOICES, NOT_ON_CARD_REASON_CHOICES, type NotOnCardFilter, type NotOnCardRow, defineNotOnCardList, notOnCardQuery, presentNotOnCard } from './not-on-card.ts';
export { type ExportPersonRow, peopleForExport } from './queries.ts';
export { type IneligibleFact, ineligiblePeople } from './queries.ts';

export function createBeneficiaryModule(core: Core): AppModule {
  return {
    name: 'beneficiary',
    move: beneficiaryMove,
    audit: beneficiaryAuditVocabulary,
    // The registry holds the ID and account numbers: their indexes' new values are recorded for the other modules.
    rekey: async (r) => {
      await r.rewrite('beneficiary_person', { encrypted: ['id_enc', 'phone_enc'], indexes: { id_index: { kind: 'id', of: 'id_enc' } } });
      await r.rewrite('beneficiary_account', { encrypted: ['account_enc'], indexes: { account_index: { kind: 'account', of: 'account_enc' } } });
      await r.rewrite('beneficiary_change_request', { encrypted: ['payload_enc'] });
    },
    nav: [{ href: '/beneficiaries', label: '受益对象', roles: REGISTRY_READERS }],
    routes: beneficiaryRoutes,
    columnMappings: BENEFICIARY_MAPPINGS,
    api: beneficiaryApi(core),
    async queues(actor) {
      if (!actor.roles.includes('township_finance')) return [];
      const queues: WorkQueue[] = [];
      const pending = (await pendingChanges(core.db, actor)).length + (await pendingAccounts(core.db, actor)).length;
      if (pending) queues.push({ title: '待确认的账户和状态变更', count: pending, href: '/beneficiaries/changes' });
      const lifeEvents = (await pendingLifeEvents(core.db, actor)).length;
      if (lifeEvents) queues.push({ title: '待确认的迁移、户主变更和死亡登记', count: lifeEvents, href: '/beneficiaries/changes#life-events' });
      // A file's new accounts are confirmed together: one import opens its list, several the list of imports.
      const imports = await pendingImports(core.db, actor);
      if (imports.length) {
        queues.push({
          title: '待确认的导入新账户（按导入文件一并确认）',
          count: imports.reduce((n, i) => n + i.new_accounts, 0),
          href: imports.length === 1 ? `/beneficiaries/imports/${imports[0]!.id}/accounts` : '/beneficiaries/changes#imports',
        });
      }
      return queues;
    },
  };
}
