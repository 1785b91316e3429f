import type { CheckRule } from './rule.ts';

const LABEL = { deceased: '死亡', moved: '迁出', cancelled: '注销' } as const;

/**
 * Nobody is paid for a period after their death or move: the registry's status, or the police data's current
 * marks, dated on or before the period's last day (a status without a date counts).
 */
export const deceasedOrMoved: CheckRule = {
  code: 'deceased-or-moved',
  notScreened: '由筛查规则“死亡或迁出后继续发放”按人跨批次比对',
  label: '死亡或迁出',
  severity: 'blocking',
  check({ lines, facts, hits, round }) {
    return lines.flatMap((l) => {
      const f = facts.get(l.person_id);
      if (f && f.status !== 'active' && (f.statusDate === null || f.statusDate <= round.period_end)) {
        return [{ lineId: l.id, message: `档案状态为“${LABEL[f.status]}”${f.statusDate ? `（${f.statusDate}）` : ''}，不能享受${round.period}期间的补贴` }];
      }
      const mark = (hits.get(l.person_id) ?? []).find((h) => (h.kind === 'deceased' || h.kind === 'moved') && h.current && (h.event_date === null || h.event_date <= round.period_end));
      if (mark) return [{ lineId: l.id, message: `公安数据（截至 ${mark.taken_on}）显示此人已${mark.kind === 'deceased' ? '死亡' : '迁出'}（${mark.event_date ?? '日期不详'}），请核实` }];
      return [];
    });
  },
};
