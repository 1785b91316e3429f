import type { ModuleMove } from '../../core/county-move.ts';
import { selectInChunks } from '../../core/db.ts';

const PAGE = 5_000;

/** How the registry's rows move to a central deployment (core/county-move.ts). */
export const beneficiaryMove: ModuleMove = {
  tables: {
    beneficiary_household: { refs: { village_id: 'core_region', head_person_id: 'beneficiary_person' } },
    beneficiary_import: { refs: { township_id: 'core_region', imported_by: 'core_user', accounts_decided_by: 'core_user' } },
    beneficiary_import_warning: { refs: { import_id: 'beneficiary_import' } },
    beneficiary_person: { refs: { village_id: 'core_region', household_id: 'beneficiary_household', created_by: 'core_user', updated_by: 'core_user', import_id: 'beneficiary_import' } },
    beneficiary_account: {
      refs: { person_id: 'beneficiary_person', bank_org_id: 'core_org', active_person_id: 'beneficiary_person', opened_by: 'core_user', closed_by: 'core_user', import_id: 'beneficiary_import', decided_by: 'core_user' },
    },
    beneficiary_change_request: { refs: { person_id: 'beneficiary_person', requested_by: 'core_user', decided_by: 'core_user' } },
    beneficiary_person_event: {
      refs: {
        person_id: 'beneficiary_person',
        from_village_id: 'core_region',
        to_village_id: 'core_region',
        to_household_id: 'beneficiary_household',
        household_id: 'beneficiary_household',
        former_head_id: 'beneficiary_person',
        parent_event_id: 'beneficiary_person_event',
        registered_by: 'core_user',
        registered_region_id: 'core_region',
        decided_by: 'core_user',
      },
    },
    beneficiary_reference_snapshot: { refs: { loaded_by: 'core_user', region_id: 'core_region' } },
    beneficiary_reference_hit: { refs: { snapshot_id: 'beneficiary_reference_snapshot', person_id: 'beneficiary_person' } },
    beneficiary_name_gram: { skip: 'SQLite 的姓名检索表：PostgreSQL 按姓名列上的索引检索' },
    beneficiary_name_position: { skip: 'SQLite 的姓名检索表：PostgreSQL 按姓名列上的索引检索' },
  },
  // One person, one registry entry in a deployment (id_index is unique): someone the county registered who is already
  // registered in another county stops the move, counted, for the two counties to settle first.
  async check({ source, target, sourceCrypto, targetCrypto }) {
    let last = 0;
    let found = 0;
    for (;;) {
      const page = (await source('beneficiary_person').where('id', '>', last).orderBy('id').limit(PAGE).select('id', 'id_enc')) as { id: number; id_enc: string }[];
      if (page.length === 0) break;
      last = page.at(-1)!.id;
      const indexes = targetCrypto.blindIndexMany('id', sourceCrypto.decryptMany(page.map((p) => p.id_enc)));
      found += (await selectInChunks(indexes, (chunk) => target('beneficiary_person').whereIn('id_index', chunk).pluck('id'))).length;
    }
    return found ? [`县登记库中有 ${found} 人已在中心部署的其他县登记（按身份证号），须先由两县核实处理`] : [];
  },
};
