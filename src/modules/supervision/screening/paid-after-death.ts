import { selectInChunks } from '../../../core/db.ts';
import { formatYuan } from '../../../core/money.ts';
import { ineligiblePeople } from '../../beneficiary/index.ts';
import { type ScreeningHit, type ScreeningRule, listed } from './rule.ts';

const KIND = { deceased: '死亡', moved: '迁出', cancelled: '注销' } as const;

/**
 * Payments continued after death or moving away (死亡、迁出后继续发放): a person the registry or the police data has
 * as dead, moved or cancelled since a date, paid for a period ending on or after it (the batch check's rule, over
 * every round of the period at once). One hit per person, with every such payment and their total: money to recover.
 */
export const paidAfterDeath: ScreeningRule = {
  code: 'after-death',
  label: '死亡或迁出后继续发放',
  description: '档案状态或公安数据显示已死亡、迁出（注销）的人员，在该日期之后的期间仍有发放；按人汇总金额，供追回。',
  async run({ db, scope, lines }) {
    const facts = new Map((await ineligiblePeople(db, scope.regionPath)).map((f) => [f.personId, f]));
    if (facts.size === 0) return [];
    const rows = (await selectInChunks([...facts.keys()], (chunk) =>
      lines()
        .whereIn('l.person_id', chunk)
        .orderBy('r.period_end')
        .orderBy('l.id')
        .select('l.id', 'l.person_id', 'l.person_name', 'l.id_masked', 'l.amount_fen', 'r.period', 'r.period_end', 'r.title as round_title'),
    )) as { id: number; person_id: number; person_name: string; id_masked: string; amount_fen: number; period: string; period_end: string; round_title: string }[];
    const byPerson = new Map<number, typeof rows>();
    for (const row of rows) {
      const fact = facts.get(Number(row.person_id))!;
      if (fact.since !== null && fact.since > row.period_end) continue;
      const mine = byPerson.get(Number(row.person_id));
      if (mine) mine.push(row);
      else byPerson.set(Number(row.person_id), [row]);
    }
    return [...byPerson].map(([personId, paid]): ScreeningHit => {
      const fact = facts.get(personId)!;
      const total = paid.reduce((sum, p) => sum + Number(p.amount_fen), 0);
      const basis = fact.source === 'registry' ? `档案状态为“${KIND[fact.kind]}”` : `公安数据（截至 ${fact.takenOn}）显示已${KIND[fact.kind]}`;
      const first = paid[0]!;
      return {
        subject: `person:${personId}`,
        lineId: paid.at(-1)!.id,
        title: `${first.person_name}（${first.id_masked}）${KIND[fact.kind]}后仍发放 ${paid.length} 笔`,
        evidence: `${basis}（${fact.since ?? '日期不详'}），此后仍发放：${listed(paid.map((p) => `${p.round_title}（${p.period}）${formatYuan(Number(p.amount_fen))} 元`), '；')}。合计 ${formatYuan(total)} 元。`,
        lineIds: paid.map((p) => p.id),
        amountFen: total,
      };
    });
  },
};
