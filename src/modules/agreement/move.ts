import type { ModuleMove } from '../../core/county-move.ts';

/** How the agreement module's rows move to a central deployment (core/county-move.ts). */
export const agreementMove: ModuleMove = {
  tables: {
    agreement_contract: { refs: { county_id: 'core_region', bank_org_id: 'core_org', recorded_by: 'core_user', terminated_by: 'core_user' } },
    agreement_township: { refs: { agreement_id: 'agreement_contract', township_id: 'core_region' } },
    agreement_breach: { refs: { agreement_id: 'agreement_contract', recorded_by: 'core_user' } },
    agreement_extension: { refs: { agreement_id: 'agreement_contract', recorded_by: 'core_user' } },
    // public_key is the bank's SM2 public key (hex), not an id: kept as it is.
    agreement_bank_key: { refs: { agreement_id: 'agreement_contract', recorded_by: 'core_user' }, text: { public_key: (value) => value } },
  },
};
