import { CountyMoveError, type ModuleMove } from '../../core/county-move.ts';

/** What makes two versions of a policy the same version: a county's copy of the provincial list matches the deployment's. */
const VERSION_FACTS = ['version_no', 'state', 'name', 'legal_basis_title', 'legal_basis_number', 'payee', 'frequency', 'unit', 'from_year', 'to_year', 'confidential', 'means_tested', 'emergency_relief'] as const;

const same = (a: unknown, b: unknown) => (a === null || a === undefined ? null : typeof a === 'boolean' || typeof b === 'boolean' ? Boolean(Number(a)) : String(a)) === (b === null || b === undefined ? null : typeof b === 'boolean' || typeof a === 'boolean' ? Boolean(Number(b)) : String(b));

/**
 * How the policy list moves to a central deployment (core/county-move.ts). A code names one item in a deployment: the
 * provincial and city items a county keeps a copy of are found there by code, with their versions (same number, same
 * facts) and tiers (same position, same standard), and the county's rounds then point at the deployment's. A county's
 * own item whose code is already taken, or a copy that differs from the deployment's, stops the move.
 */
export const policyMove: ModuleMove = {
  tables: {
    policy_item: {
      refs: { region_id: 'core_region', department_org_id: 'core_org', created_by: 'core_user' },
      async shared(row, { target, ids }) {
        const found = (await target('policy_item').where({ code: row.code }).first('id', 'region_id')) as { id: number; region_id: number } | undefined;
        if (!found) return null;
        if (!ids.isShared('core_region', row.region_id) || found.region_id !== ids.of('core_region', row.region_id)) {
          throw new CountyMoveError(`补贴项目编码 ${String(row.code)} 在中心部署中已被另一地区的项目使用，须先改用不重复的编码`);
        }
        return found.id;
      },
    },
    policy_version: {
      refs: { item_id: 'policy_item', edited_by: 'core_user', published_by: 'core_user' },
      async shared(row, { target, ids }) {
        if (!ids.isShared('policy_item', row.item_id)) return null;
        const found = (await target('policy_version').where({ item_id: ids.of('policy_item', row.item_id), version_no: row.version_no }).first()) as Record<string, unknown> | undefined;
        if (!found) return null;
        const differs = VERSION_FACTS.filter((f) => !same(row[f], found[f]));
        if (differs.length) throw new CountyMoveError(`补贴项目“${String(row.name)}”第 ${String(row.version_no)} 版与中心部署中的同一版本不同（${differs.join('、')}），须先核对政策清单`);
        return Number(found.id);
      },
    },
    policy_tier: {
      refs: { version_id: 'policy_version' },
      async shared(row, { target, ids }) {
        if (!ids.isShared('policy_version', row.version_id)) return null;
        const found = (await target('policy_tier').where({ version_id: ids.of('policy_version', row.version_id), position: row.position }).first('id', 'name', 'standard_fen')) as { id: number; name: string; standard_fen: number } | undefined;
        if (!found || found.name !== row.name || Number(found.standard_fen) !== Number(row.standard_fen)) {
          throw new CountyMoveError(`补贴标准“${String(row.name)}”与中心部署中同一版本的标准不同，须先核对政策清单`);
        }
        return found.id;
      },
    },
    policy_exclusion: { refs: { version_id: 'policy_version' }, keep: (row, ids) => !ids.isShared('policy_version', row.version_id) },
    policy_allocation: { refs: { county_id: 'core_region', item_id: 'policy_item', recorded_by: 'core_user' } },
    policy_import: { refs: { department_org_id: 'core_org', imported_by: 'core_user' } },
    policy_allocation_import: { refs: { county_id: 'core_region', imported_by: 'core_user' } },
    policy_performance_goal: { refs: { county_id: 'core_region', item_id: 'policy_item', recorded_by: 'core_user' } },
    policy_execution_curve: { refs: { county_id: 'core_region', recorded_by: 'core_user' } },
  },
};
