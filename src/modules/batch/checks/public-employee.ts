import type { CheckRule } from './rule.ts';

/**
 * Public employees (财政供养人员) are not paid means-tested programmes: a current mark from the finance data. Whether
 * a round is one is its policy's 救助类 flag, which the round keeps from its policy version (createRound).
 */
export const publicEmployee: CheckRule = {
  code: 'public-employee',
  label: '财政供养人员享受救助',
  severity: 'blocking',
  check({ lines, hits, round }) {
    if (!round.means_tested) return [];
    return lines.flatMap((l) => {
      const mark = (hits.get(l.person_id) ?? []).find((h) => h.kind === 'public_employee' && h.current);
      return mark ? [{ lineId: l.id, message: `财政供养人员名单（截至 ${mark.taken_on}）中有此人${mark.detail ? `（${mark.detail}）` : ''}，不能享受本救助类补贴` }] : [];
    });
  },
};
