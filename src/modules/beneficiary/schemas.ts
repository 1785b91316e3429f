import { z } from 'zod';
import { businessDate, checkbox, id, optional, page, personName, text, version } from '../../core/fields.ts';
import { RELATIONS, STATUSES } from './model.ts';
import { parsePhone } from './typed-number.ts';
import { REFERENCE_SOURCES, type ReferenceSource } from './reference.ts';
import { NON_CARD_REASONS, type NonCardReason, nonCardReasonProblems } from './card-first.ts';

/**
 * Forms and query strings of the registry pages, built from the shared fields (core/fields.ts); messages in Chinese,
 * keyed by field. ID and account numbers are checked by the commands, with parseIdNumber and parseAccountNumber, the
 * rules the registry import applies to its cells; the phone number here with parsePhone, as the import does.
 */
const phone = optional(
  z.string().transform((value, ctx) => {
    const parsed = parsePhone(value);
    if (parsed.ok) return parsed.phone;
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }),
);

const accountFields = {
  accountKind: z.enum(['sscard', 'bankcard', 'passbook'], { error: '请选择账户类型' }),
  bankName: text('开户金融机构', 80),
  accountNumber: z.string({ error: '请填写账号' }),
  holderName: personName('户名'),
  nonCardReason: optional(z.enum(Object.keys(NON_CARD_REASONS) as [NonCardReason], { error: '请从列表中选择未使用社保卡的原因' })),
  nonCardNote: optional(z.string().trim()),
};

/** 社保卡优先: a bank card or passbook needs a reason from the list (card-first.ts), 其他 an explanation; keyed by field. */
function refineNonCardReason(v: { accountKind?: string | null; nonCardReason?: string | null; nonCardNote?: string | null }, ctx: z.RefinementCtx): void {
  const kind = v.accountKind;
  if (kind !== 'bankcard' && kind !== 'passbook') return;
  for (const [field, message] of Object.entries(nonCardReasonProblems({ kind, nonCardReason: v.nonCardReason, nonCardNote: v.nonCardNote }))) ctx.addIssue({ code: 'custom', path: [field], message });
}

export const registerSchema = z
  .object({
    name: personName('姓名'),
    idNumber: z.string({ error: '请填写身份证号码' }),
    villageId: id('村（社区）'),
    relation: z.enum(Object.keys(RELATIONS) as [keyof typeof RELATIONS], { error: '请选择与户主关系' }),
    headPersonId: optional(id('户主')),
    phone,
    hasAccount: checkbox,
    accountKind: z.string().optional(),
    bankName: z.string().optional(),
    accountNumber: z.string().optional(),
    holderName: optional(personName('户名')),
    nonCardReason: accountFields.nonCardReason,
    nonCardNote: accountFields.nonCardNote,
  })
  .superRefine((v, ctx) => {
    if (v.relation !== 'head' && !v.headPersonId) ctx.addIssue({ code: 'custom', path: ['headPersonId'], message: '非户主须选择所属户的户主' });
    if (v.hasAccount) refineNonCardReason(v, ctx);
  });

export const correctionSchema = z.object({
  name: personName('姓名'),
  phone,
  relation: z.enum(Object.keys(RELATIONS) as [keyof typeof RELATIONS], { error: '请选择与户主关系' }),
  version,
});

export const accountChangeSchema = z.object({ ...accountFields, reason: text('变更原因', 200) }).superRefine(refineNonCardReason);

export const statusChangeSchema = z.object({
  status: z.enum(Object.keys(STATUSES) as [keyof typeof STATUSES], { error: '请选择状态' }),
  statusDate: businessDate('日期', { notAfterToday: true }),
  source: text('信息来源', 80),
  reason: text('变更原因', 200),
});

export const decisionSchema = z.object({
  decision: z.enum(['confirm', 'reject'], { error: '请选择确认或退回' }),
  note: optional(text('说明', 200)),
});

/** The township finance office's decision on an import's new accounts, all together, from the page at `version`; a refusal says why. */
export const importAccountsDecisionSchema = decisionSchema.extend({ version }).superRefine((v, ctx) => {
  if (v.decision === 'reject' && !v.note) ctx.addIssue({ code: 'custom', path: ['note'], message: '全部退回时请写明原因，以便经办站所改正' });
});

export const importAccountsPageSchema = z.object({ page });

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
