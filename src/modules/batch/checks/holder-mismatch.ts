import type { CheckRule } from './rule.ts';

/**
 * The account must be the beneficiary's own (for 到户, the household head's): paying into another person's or a
 * unit's account is forbidden (Qinghai 二(三)8).
 */
export const holderMismatch: CheckRule = {
  code: 'holder-mismatch',
  notScreened: '比对的是当前档案中的账户户名，不能说明当时的发放',
  label: '账户户名不是本人',
  severity: 'blocking',
  check({ lines, round }) {
    const whose = round.payee === 'household' ? '户主' : '受益对象';
    return lines
      .filter((l) => l.account_id !== null && l.holder_name !== l.person_name)
      .map((l) => ({ lineId: l.id, message: `账户户名“${l.holder_name}”不是${whose}本人：不得发放到他人或单位账户` }));
  },
};
