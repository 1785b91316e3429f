import type { CheckRule } from './rule.ts';

/** Money goes to an account, never in cash: a payee without an active payout account cannot be paid. */
export const noAccount: CheckRule = {
  code: 'no-account',
  notScreened: '比对的是当前账户，发放后销户不能说明当时的发放',
  label: '无有效发放账户',
  severity: 'blocking',
  check({ lines }) {
    return lines.filter((l) => l.account_id === null).map((l) => ({ lineId: l.id, message: '没有有效的发放账户（不得发放现金）：请先登记账户，经财政所确认后重新编制此行' }));
  },
};
