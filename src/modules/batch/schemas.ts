import { z } from 'zod';
import { businessDate, checkbox, id, idList, optional, page, reason, text, version, yuan } from '../../core/fields.ts';
import { ROSTER_STATES, ROSTER_TRANSITIONS, ROUND_STATES, type RosterAction, type RosterState, type RoundState } from './model.ts';

/** Forms and query strings of the batch pages, built from the shared fields (core/fields.ts); messages in Chinese, keyed by field. */

export const roundCreateSchema = z.object({
  policyItemId: id('补贴项目'),
  period: z.string({ error: '请填写期间' }).trim().min(4, { error: '请填写期间，如 2026、2026-11 或 2026-Q4' }).max(10, { error: '期间格式不正确' }),
  /** 应急救助（事后公示）: only offered, and only accepted, for a 突发灾害应急救助 policy. */
  expedited: checkbox,
});

export const lineAddSchema = z.object({
  idNumber: z.string({ error: '请填写身份证号码' }),
  tierName: optional(z.string().trim().max(20, { error: '档次不能超过 20 个字' })),
  quantity: z.string({ error: '请填写数量' }).trim().min(1, { error: '请填写数量' }).max(13, { error: '数量不能超过 13 个字符' }),
});

export const lineRemoveSchema = z.object({ reason: reason('删除原因', 200) });

/** A step on a roster: the reason where the step needs one (a return). */
export const actSchema = z
  .object({
    action: z.enum(Object.keys(ROSTER_TRANSITIONS) as [RosterAction], { error: '未知的操作' }),
    version,
    reason: optional(text('原因', 300)),
  })
  .superRefine((input, ctx) => {
    if (ROSTER_TRANSITIONS[input.action].reason && !input.reason) ctx.addIssue({ code: 'custom', path: ['reason'], message: '请填写退回原因' });
  });
export type ActInput = z.infer<typeof actSchema>;

export const resolveSchema = z.object({ reason: reason('核实说明', 200) });

export const linesQuerySchema = z.object({
  villageId: optional(id('村（社区）')),
  finding: optional(z.enum(['any', 'blocking', 'warning'], { error: '筛选条件不正确' })),
  page,
});

/** The rosters waiting for the actor: `?states=checking,publicity` (the states of a to-do line). */
export const waitingQuerySchema = z.object({
  states: z.preprocess(
    (v) => (typeof v === 'string' && v !== '' ? v.split(',') : Object.keys(ROSTER_STATES)),
    z.array(z.enum(Object.keys(ROSTER_STATES) as [RosterState], { error: '清册状态不正确' })),
  ),
});

export const roundSubmitSchema = z.object({ version });
export const roundReturnSchema = z.object({ version, reason: reason('退回原因') });

export const releaseSchema = z.object({ version, bankOrgId: id('代发金融机构') });

/** The department's payment plan (用款计划) of a round: its number, amount in 元 (kept in fen), date. */
export const paymentPlanSchema = z.object({
  version,
  planNo: text('用款计划编号', 60),
  planAmount: yuan('用款计划金额'),
  planDate: businessDate('用款计划日期'),
});

export const transferSchema = z.object({
  version,
  amount: yuan('拨付金额'),
  voucherNo: text('拨付凭证号', 60),
  bankOrgId: id('收款的代发金融机构'),
  destinationAccount: text('资金清算账户', 80),
});

export const objectionSchema = z.object({
  lineId: optional(id('发放明细')),
  raisedOn: businessDate('提出日期', { notAfterToday: true }),
  content: reason('异议内容', 500),
});

export const objectionResolveSchema = z.object({ resolution: reason('处理结果', 200) });

export const returnLinesSchema = z.object({ lineIds: idList('要退回的发放明细'), reason: reason('退回原因', 200) });

/** The filters of the rounds list (`/rounds`, queries.ts roundList): a year finds every period of that year. */
export const roundFilters = {
  policy: optional(id('补贴项目')),
  period: optional(z.string().trim().regex(/^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]))?$/, { error: '期间应写作 2026、2026-11 或 2026-Q4' })),
  state: optional(z.enum(Object.keys(ROUND_STATES) as [RoundState], { error: '请从列表中选择批次状态' })),
  department: optional(id('主管部门')),
};
