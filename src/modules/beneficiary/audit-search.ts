import type { AuditPersonFinder } from '../../core/audit-trail.ts';
import type { Core } from '../../core/context.ts';
import { parseIdNumber } from './id-number.ts';

/**
 * The audit log's search by person (core/audit-trail.ts): the ID number checked by the registry's rules, then
 * found through its blind index (beneficiary_person.id_index), within the searching auditor's region subtree.
 */
export function auditPersonFinder(core: Core): AuditPersonFinder {
  return {
    check(input) {
      const parsed = parseIdNumber(input);
      return parsed.ok ? null : parsed.error;
    },
    async find(actor, input) {
      const parsed = parseIdNumber(input);
      if (!parsed.ok) return null;
      const row = (await core.db('beneficiary_person as p')
        .join('core_region as v', 'v.id', 'p.village_id')
        .where('p.id_index', core.crypto.blindIndex('id', parsed.value.idNumber))
        .where('v.path', 'like', `${actor.regionPath}%`)
        .first('p.id')) as { id: number | string } | undefined;
      return row ? { id: Number(row.id) } : null;
    },
  };
}
