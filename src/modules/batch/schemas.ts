import { z } from 'zod';
import { pageSchema } from '../../core/web/schemas.ts';
import { ROSTER_TRANSITIONS, type RosterAction } from './workflow.ts';

/** Forms and query strings of the batch pages; messages in Chinese, keyed by field. */
const optional = (v: unknown) => (v === '' || v === undefined ? null : v);
const id = (label: string) => z.coerce.number({ error: `请选择${label}` }).int({ error: `请选择${label}` }).positive({ error: `请选择${label}` });
const reason = (label: string) => z.string({ error: `请填写${label}` }).trim().min(1, { error: `请填写${label}` }).max(200, { error: `${label}不能超过 200 个字` });

export const roundCreateSchema = z.object({
  policyItemId: id('补贴项目'),
  period: z.string({ error: '请填写期间' }).trim().min(4, { error: '请填写期间，如 2026、2026-11 或 2026-Q4' }).max(10, { error: '期间格式不正确' }),
  meansTested: z.preprocess((v) => v === 'on' || v === '1', z.boolean()),
});

export const lineAddSchema = z.object({
  idNumber: z.string({ error: '请填写身份证号码' }),
  tierName: z.preprocess(optional, z.string().trim().max(20).nullable()),
  quantity: z.string({ error: '请填写数量' }).trim().min(1, { error: '请填写数量' }),
});

export const lineRemoveSchema = z.object({ reason: reason('删除原因') });

export const actSchema = z.object({
  action: z.enum(Object.keys(ROSTER_TRANSITIONS) as [RosterAction], { error: '未知的操作' }),
  version: z.coerce.number({ error: '页面已过期，请刷新' }).int().positive({ error: '页面已过期，请刷新' }),
  reason: z.preprocess(optional, z.string().trim().max(300, { error: '原因不能超过 300 个字' }).nullable()),
  publicityStart: z.string().optional(),
  publicityEnd: z.string().optional(),
});

export const resolveSchema = z.object({ reason: reason('核实说明') });

export const linesQuerySchema = z.object({
  villageId: z.preprocess(optional, id('村（社区）').nullable()),
  finding: z.preprocess(optional, z.enum(['any', 'blocking', 'warning'], { error: '筛选条件不正确' }).nullable()),
  page: pageSchema,
});

const version = z.coerce.number({ error: '页面已过期，请刷新' }).int().positive({ error: '页面已过期，请刷新' });

export const roundStepSchema = z.object({ version, reason: z.preprocess(optional, z.string().trim().max(300, { error: '原因不能超过 300 个字' }).nullable()) });

export const releaseSchema = z.object({ version, bankOrgId: id('代发金融机构') });

export const transferSchema = z.object({
  version,
  amount: z.string({ error: '请填写拨付金额' }).trim().min(1, { error: '请填写拨付金额' }),
  voucherNo: z.string({ error: '请填写拨付凭证号' }).trim().min(1, { error: '请填写拨付凭证号' }).max(60, { error: '凭证号不能超过 60 个字符' }),
  bankOrgId: id('收款的代发金融机构'),
  destinationAccount: z.string({ error: '请填写资金清算账户' }).trim().min(1, { error: '请填写资金清算账户' }).max(80, { error: '账户不能超过 80 个字符' }),
});

export const objectionSchema = z.object({
  lineId: z.preprocess(optional, id('发放明细').nullable()),
  raisedOn: z.string({ error: '请填写提出日期' }).trim(),
  content: reason('异议内容').max(500, { error: '异议内容不能超过 500 个字' }),
});

export const objectionResolveSchema = z.object({ resolution: reason('处理结果') });

export const returnLinesSchema = z.object({
  lineIds: z.preprocess((v) => (Array.isArray(v) ? v : v === undefined || v === '' ? [] : [v]), z.array(z.coerce.number().int().positive())),
  reason: reason('退回原因'),
});
