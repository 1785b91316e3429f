import { versionsById } from '../../policy/index.ts';
import type { CheckRule } from './rule.ts';
import { otherLinesOf } from './other-lines.ts';

/** Mutually exclusive policies (互斥组): a person on a line of another policy of the same group in the same year. */
export const exclusivePolicies: CheckRule = {
  code: 'exclusive-policies',
  label: '享受互斥的补贴',
  severity: 'blocking',
  async check({ db, lines, round, version }) {
    if (version.exclusiveGroups.length === 0) return [];
    // Only rounds of the same year under a version that shares a group can clash.
    const candidates = (await db('batch_round').where({ county_id: round.county_id, period_year: round.period_year }).whereNot('policy_item_id', round.policy_item_id).select('policy_version_id')) as { policy_version_id: number }[];
    const clashing = (await versionsById(db, candidates.map((c) => c.policy_version_id))).filter((v) => v.exclusiveGroups.some((g) => version.exclusiveGroups.includes(g)));
    if (clashing.length === 0) return [];
    const others = await otherLinesOf(db, lines, (q) => q.where('r.period_year', round.period_year).whereNot('r.policy_item_id', round.policy_item_id));
    const versions = new Map((await versionsById(db, [...others.values()].flat().map((o) => o.policy_version_id))).map((v) => [v.id, v]));
    return lines.flatMap((l) => {
      const clash = (others.get(l.person_id) ?? []).find((o) => versions.get(o.policy_version_id)?.exclusiveGroups.some((g) => version.exclusiveGroups.includes(g)));
      if (!clash) return [];
      const group = versions.get(clash.policy_version_id)!.exclusiveGroups.find((g) => version.exclusiveGroups.includes(g));
      return [{ lineId: l.id, message: `此人已列入“${clash.round_title}”，与本补贴同属互斥组“${group}”，不能同时享受` }];
    });
  },
};
