import type { CheckRule } from './rule.ts';

/**
 * 到户 subsidies pay the household head's card (一张卡片领补贴). A line compiled for a head keeps that person; when the
 * registry's head changes afterwards (a confirmed 户主变更, beneficiary life events), the line would pay the former
 * head: it must be compiled again for the new head. Reissue lines (补发) were approved for their person and are left alone.
 */
export const householdHead: CheckRule = {
  code: 'household-head',
  notScreened: '比对的是当前户主，编制后户主变更不能说明当时的发放',
  label: '已不是户主',
  severity: 'blocking',
  check({ lines, facts, round }) {
    if (round.payee !== 'household') return [];
    return lines.flatMap((l) => {
      const f = facts.get(l.person_id);
      if (!f || l.reissue || f.headPersonId === f.personId) return [];
      return [{ lineId: l.id, message: '到户补贴发给户主：编制后此人已不是户主（户主已变更），请删除此行并为现户主重新编制' }];
    });
  },
};
