import type { CheckRule } from './rule.ts';

/** The payee must be in the registry, in this roster's township. */
export const unknownPerson: CheckRule = {
  code: 'unknown-person',
  label: '不在受益对象档案中',
  severity: 'blocking',
  check({ lines, facts, roster }) {
    return lines.flatMap((l) => {
      const f = facts.get(l.person_id);
      if (!f) return [{ lineId: l.id, message: '此人已不在受益对象档案中' }];
      if (f.townshipId !== roster.township_id) return [{ lineId: l.id, message: '此人的档案已不在本乡镇（可能已迁出或调整）' }];
      return [];
    });
  },
};
