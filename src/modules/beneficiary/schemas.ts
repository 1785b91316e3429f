import { z } from 'zod';
import { businessDate, checkbox, id, optional, page, text, version } from '../../core/fields.ts';
import { RELATIONS, STATUSES } from './model.ts';
import { REFERENCE_SOURCES, type ReferenceSource } from './reference.ts';

/** Forms and query strings of the registry pages, built from the shared fields (core/fields.ts); messages in Chinese, keyed by field. */
const phone = optional(z.string().trim().regex(/^1[3-9]\d{9}$/, { error: '手机号码应为 11 位数字' }));

const accountFields = {
  accountKind: z.enum(['sscard', 'bankcard', 'passbook'], { error: '请选择账户类型' }),
  bankName: text('开户金融机构', 80),
  accountNumber: z.string({ error: '请填写账号' }),
  holderName: text('户名', 40),
};

export const registerSchema = z
  .object({
    name: text('姓名', 40),
    idNumber: z.string({ error: '请填写身份证号码' }),
    villageId: id('村（社区）'),
    relation: z.enum(Object.keys(RELATIONS) as [keyof typeof RELATIONS], { error: '请选择与户主关系' }),
    headPersonId: optional(id('户主')),
    phone,
    hasAccount: checkbox,
    accountKind: z.string().optional(),
    bankName: z.string().optional(),
    accountNumber: z.string().optional(),
    holderName: z.string().optional(),
  })
  .superRefine((v, ctx) => {
    if (v.relation !== 'head' && !v.headPersonId) ctx.addIssue({ code: 'custom', path: ['headPersonId'], message: '非户主须选择所属户的户主' });
  });

export const correctionSchema = z.object({
  name: text('姓名', 40),
  phone,
  relation: z.enum(Object.keys(RELATIONS) as [keyof typeof RELATIONS], { error: '请选择与户主关系' }),
  version,
});

export const accountChangeSchema = z.object({ ...accountFields, reason: text('变更原因', 200) });

export const statusChangeSchema = z.object({
  status: z.enum(Object.keys(STATUSES) as [keyof typeof STATUSES], { error: '请选择状态' }),
  statusDate: businessDate('日期', { notAfterToday: true }),
  source: text('信息来源', 80),
  reason: text('变更原因', 200),
});

export const decisionSchema = z.object({
  decision: z.enum(['confirm', 'reject'], { error: '请选择确认或退回' }),
  note: optional(z.string().trim().max(200, { error: '说明不能超过 200 个字符' })),
});

/** The filters of the registry list (`/beneficiaries`, queries.ts registryList): part of a name, village, status, whether a payout account is active. */
export const registryFilters = {
  name: optional(z.string().trim().max(40, { error: '姓名过长' })),
  villageId: optional(id('村（社区）')),
  status: optional(z.enum(Object.keys(STATUSES) as [keyof typeof STATUSES], { error: '请从列表中选择状态' })),
  account: optional(z.enum(['yes', 'no'], { error: '请从列表中选择有无发放账户' })),
};

export const idSearchSchema = z.object({ idNumber: z.string({ error: '请填写身份证号码' }) });

export const referenceUploadSchema = z.object({
  source: z.enum(Object.keys(REFERENCE_SOURCES) as [ReferenceSource], { error: '请选择数据来源' }),
  takenOn: businessDate('数据截止日期', { notAfterToday: true }),
});

export const hitPageSchema = z.object({ page });
