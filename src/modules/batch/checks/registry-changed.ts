import type { CheckRule } from './rule.ts';

/**
 * A line keeps the registry as it was compiled; a later change does not silently change it but raises this:
 * a different payout account is blocking (the line would pay the old one), a different name a warning.
 */
export const registryChanged: CheckRule = {
  code: 'registry-changed',
  notScreened: '比对的是当前档案，发放后档案变更不能说明当时的发放',
  label: '档案已变化',
  severity: 'blocking',
  check({ lines, facts }) {
    return lines.flatMap((l) => {
      const f = facts.get(l.person_id);
      if (!f) return [];
      const current = f.account?.index ?? null;
      if (current !== l.account_index && (current !== null || l.account_index !== null)) {
        return [{ lineId: l.id, message: `编制后发放账户已变更（现为${f.account ? `尾号 ${f.account.last4}` : '无账户'}），请按现档案重新编制此行` }];
      }
      return [];
    });
  },
};

export const registryRenamed: CheckRule = {
  code: 'registry-renamed',
  notScreened: '比对的是当前档案，发放后档案变更不能说明当时的发放',
  label: '档案姓名已变化',
  severity: 'warning',
  check({ lines, facts }) {
    return lines.flatMap((l) => {
      const f = facts.get(l.person_id);
      return f && f.name !== l.person_name ? [{ lineId: l.id, message: `编制后档案姓名已更正为“${f.name}”，请核实` }] : [];
    });
  },
};
