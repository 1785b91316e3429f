import { z } from 'zod';
import { businessDate, id, optional, personName, text } from '../../core/fields.ts';
import { normaliseSheetCode } from './model.ts';

/** The kinds of what the public files on the portal. */
export const COMPLAINT_KINDS = { objection: '公示异议', complaint: '投诉举报' } as const;
export type ComplaintKind = keyof typeof COMPLAINT_KINDS;

/** A mobile or fixed-line number as people write it. */
const phone = text('联系电话', 20).refine((v) => /^[0-9][0-9\- ]{5,18}[0-9]$/.test(v) && (v.match(/\d/g)?.length ?? 0) >= 7, { message: '联系电话应为手机号码或固定电话，例如 13800000000 或 0971-1234567' });

/**
 * The portal's form (no login): an objection to a notice in publicity, named by the verification code printed on the
 * sheet, or a complaint/report with its subject and county; the content either way; an optional contact.
 */
export const complaintSchema = z
  .object({
    kind: z.enum(['objection', 'complaint'], { error: '请选择“公示异议”或“投诉举报”' }),
    sheetCode: optional(z.string().trim().max(20, { error: '公示表验证码为 10 位字母和数字' })),
    countyId: optional(id('所在县（区）')),
    subject: optional(text('投诉举报事项', 100)),
    content: text('具体内容', 1000),
    contactName: optional(personName('联系人姓名')),
    phone: optional(phone),
  })
  .superRefine((v, ctx) => {
    if (v.kind === 'objection') {
      if (v.sheetCode === null) ctx.addIssue({ code: 'custom', path: ['sheetCode'], message: '请填写公示表上的验证码（10 位字母和数字，例如 7K3QD-M9X2A）' });
      else if (!normaliseSheetCode(v.sheetCode)) ctx.addIssue({ code: 'custom', path: ['sheetCode'], message: '公示表验证码为 10 位字母和数字，例如 7K3QD-M9X2A，请核对后重新输入' });
      if (v.content.length > 500) ctx.addIssue({ code: 'custom', path: ['content'], message: '公示异议的具体内容不能超过 500 个字符' });
    } else {
      if (v.subject === null) ctx.addIssue({ code: 'custom', path: ['subject'], message: '请填写投诉举报事项（例如涉及的补贴项目或乡镇）' });
      if (v.countyId === null) ctx.addIssue({ code: 'custom', path: ['countyId'], message: '请选择所在县（区）' });
    }
  });
export type ComplaintInput = z.infer<typeof complaintSchema>;

/** The status query: the tracking number and the query code given at filing (posted, never in an address). */
export const complaintStatusSchema = z.object({
  trackingNo: z.string({ error: '请填写受理编号' }).trim().toUpperCase().min(1, { error: '请填写受理编号' }).max(20, { error: '受理编号为 TS 加 14 位数字' }),
  code: z.string({ error: '请填写查询码' }).trim().min(1, { error: '请填写查询码' }).max(20, { error: '查询码为 8 位字母和数字' }),
});

/** Staff's answer to a complaint. */
export const complaintAnswerSchema = z.object({ answer: text('答复内容', 1000) });

/** How a complaint reached the county: the portal, or by phone, letter or visit (entered by staff). */
export const COMPLAINT_CHANNELS = { portal: '门户网站', phone: '电话', letter: '来信', visit: '来访' } as const;
export type ComplaintChannel = keyof typeof COMPLAINT_CHANNELS;

/**
 * A complaint received by phone, letter or visit, entered by staff: the channel and the date received, then the
 * portal's pieces (county, subject, content, optional contact); a township of the county is optional.
 */
export const staffComplaintSchema = z.object({
  channel: z.enum(['phone', 'letter', 'visit'], { error: '请选择受理渠道（电话、来信或来访）' }),
  receivedOn: businessDate('收到日期', { notAfterToday: true }),
  countyId: id('所在县（区）'),
  subject: text('投诉举报事项', 100),
  content: text('具体内容', 1000),
  contactName: optional(personName('联系人姓名')),
  phone: optional(phone),
});
export type StaffComplaintInput = z.infer<typeof staffComplaintSchema>;

/** Who a complaint is assigned to: a township of its county, or a department (主管部门) of its county — one of the two. */
export type ComplaintAssignee = { townshipId: number; departmentId: null } | { townshipId: null; departmentId: number };

/**
 * Assigning a complaint: to the township whose station and finance office answer it, or to the department (主管部门)
 * whose users answer it — one of the two.
 */
export const complaintAssignSchema = z
  .object({ townshipId: optional(id('承办乡镇')), departmentId: optional(id('承办主管部门')) })
  .superRefine((v, ctx) => {
    if (v.townshipId === null && v.departmentId === null) ctx.addIssue({ code: 'custom', path: ['townshipId'], message: '请选择承办乡镇或承办主管部门' });
    if (v.townshipId !== null && v.departmentId !== null) ctx.addIssue({ code: 'custom', path: ['departmentId'], message: '承办乡镇和承办主管部门只能选一个' });
  })
  .transform((v): ComplaintAssignee => (v.townshipId !== null ? { townshipId: v.townshipId, departmentId: null } : { townshipId: null, departmentId: v.departmentId! }));

/** Sending an answer back for a better one: why. */
export const complaintReturnSchema = z.object({ note: text('退回原因', 300) });
