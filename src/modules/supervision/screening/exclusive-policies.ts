import { sm3Hex } from '../../../core/crypto.ts';
import { selectInChunks } from '../../../core/db.ts';
import { formatYuan } from '../../../core/money.ts';
import { versionsById } from '../../policy/index.ts';
import { type ScreeningHit, type ScreeningRule, listed } from './rule.ts';

/**
 * People paid under mutually exclusive policies (享受互斥补贴) in different rounds of the same year: the policy list's
 * 互斥组, over every round of the period (the batch check sees only the rounds that existed when a roster was checked).
 */
export const exclusivePolicies: ScreeningRule = {
  code: 'exclusive-policies',
  label: '同一年度享受互斥的补贴',
  description: '同一人同一年度在不同批次中领取了政策清单列为同一互斥组的两项及以上补贴。',
  async run({ db, lines }) {
    const used = (await lines().distinct('r.policy_version_id')) as { policy_version_id: number }[];
    const versions = new Map((await versionsById(db, used.map((u) => Number(u.policy_version_id)))).map((v) => [v.id, v]));
    const grouped = [...versions.values()].filter((v) => v.exclusiveGroups.length > 0);
    // A group matters only when two policies of the period share it.
    const items = new Map<string, Set<number>>();
    for (const v of grouped) for (const g of v.exclusiveGroups) items.set(g, (items.get(g) ?? new Set()).add(v.itemId));
    const clashing = grouped.filter((v) => v.exclusiveGroups.some((g) => items.get(g)!.size > 1)).map((v) => v.id);
    if (clashing.length === 0) return [];
    const candidates = (await lines().whereIn('r.policy_version_id', clashing).groupBy('l.person_id', 'r.period_year').havingRaw('count(distinct r.policy_item_id) > 1').select('l.person_id', 'r.period_year')) as { person_id: number; period_year: number }[];
    if (candidates.length === 0) return [];
    const years = new Set(candidates.map((c) => `${c.person_id}:${c.period_year}`));
    const rows = (await selectInChunks([...new Set(candidates.map((c) => Number(c.person_id)))], (chunk) =>
      lines()
        .whereIn('r.policy_version_id', clashing)
        .whereIn('l.person_id', chunk)
        .orderBy('r.period_end')
        .orderBy('l.id')
        .select('l.id', 'l.person_id', 'l.person_name', 'l.id_masked', 'l.amount_fen', 'r.policy_version_id', 'r.policy_item_id', 'r.period_year', 'r.period', 'r.title as round_title'),
    )) as { id: number; person_id: number; person_name: string; id_masked: string; amount_fen: number; policy_version_id: number; policy_item_id: number; period_year: number; period: string; round_title: string }[];
    const byPersonYear = new Map<string, typeof rows>();
    for (const row of rows) {
      const key = `${row.person_id}:${row.period_year}`;
      if (years.has(key)) byPersonYear.set(key, [...(byPersonYear.get(key) ?? []), row]);
    }
    const hits: ScreeningHit[] = [];
    for (const [key, paid] of byPersonYear) {
      // Per group: the lines of the person's policies in that group; two policies or more is a hit.
      for (const [group, members] of items) {
        const inGroup = paid.filter((p) => members.has(Number(p.policy_item_id)) && versions.get(Number(p.policy_version_id))!.exclusiveGroups.includes(group));
        if (new Set(inGroup.map((p) => Number(p.policy_item_id))).size < 2) continue;
        const first = inGroup[0]!;
        const total = inGroup.reduce((sum, p) => sum + Number(p.amount_fen), 0);
        hits.push({
          // The group's name may be long: its digest's first 12 hex digits tell groups apart.
          subject: `person:${key}:${sm3Hex(group).slice(0, 12)}`,
          lineId: inGroup.at(-1)!.id,
          title: `${first.person_name}（${first.id_masked}）${first.period_year}年同时享受互斥组“${group}”的补贴`,
          evidence: `${listed(inGroup.map((p) => `${p.round_title}（${p.period}，${versions.get(Number(p.policy_version_id))!.name}）${formatYuan(Number(p.amount_fen))} 元`), '；')}。合计 ${formatYuan(total)} 元。`,
          lineIds: inGroup.map((p) => p.id),
          amountFen: total,
        });
      }
    }
    return hits;
  },
};
