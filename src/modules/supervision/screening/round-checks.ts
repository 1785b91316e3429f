import { formatYuan } from '../../../core/money.ts';
import { lineFacts, paidRostersOfPeriod, screenRoster } from '../../batch/index.ts';
import { type ScreeningHit, type ScreeningRule, listed } from './rule.ts';

/**
 * The batch checks (复核比对) run again over every paid roster of the period (batch's SCREENED_RULES: those that still
 * say something about a past payment; a warning explained at the time is not found again). One hit per roster and
 * check, so that a township answers for its roster once.
 */
export const roundChecks: ScreeningRule = {
  code: 'round-checks',
  label: '发放规则复核（已发放清册重新比对）',
  description: '对期间内已下达的每个清册重新运行发放批次的比对规则（重复发放、超标准、互斥、财政供养人员等）；发放时已说明的提示不再列出。',
  async run({ db, scope }) {
    const hits: ScreeningHit[] = [];
    for (const { round, roster } of await paidRostersOfPeriod(db, scope)) {
      const found = await screenRoster(db, round, roster);
      if (found.length === 0) continue;
      const amounts = new Map((await lineFacts(db, found.map((f) => f.lineId))).map((l) => [Number(l.line_id), l]));
      const byRule = new Map<string, typeof found>();
      for (const f of found) byRule.set(f.rule, [...(byRule.get(f.rule) ?? []), f]);
      for (const [rule, mine] of byRule) {
        const total = mine.reduce((sum, f) => sum + Number(amounts.get(f.lineId)?.amount_fen ?? 0), 0);
        hits.push({
          subject: `${rule}:roster:${roster.id}`,
          lineId: mine[0]!.lineId,
          title: `${mine[0]!.label}：${round.title}（${roster.township_name}）${mine.length} 行`,
          evidence: `${mine[0]!.severity === 'blocking' ? '按规则不应发放' : '未经说明的提示'}，涉及 ${formatYuan(total)} 元：${listed(
            mine.map((f) => {
              const line = amounts.get(f.lineId);
              return `${line?.person_name ?? ''}（${line?.id_masked ?? ''}）${f.message}`;
            }),
            '；',
          )}。`,
          lineIds: mine.map((f) => f.lineId),
          amountFen: total,
        });
      }
    }
    return hits;
  },
};
