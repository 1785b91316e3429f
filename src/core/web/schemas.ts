import { z } from 'zod';
import { API_PURPOSES, type ApiPurpose } from '../api.ts';
import { ROLES } from '../auth/roles.ts';
import { isBusinessDate } from '../dates.ts';

/** Schemas of the core forms and query strings; every message in Chinese, keyed by field. */
const text = (label: string, max: number) =>
  z
    .string({ error: `请填写${label}` })
    .trim()
    .min(1, { error: `请填写${label}` })
    .max(max, { error: `${label}不能超过 ${max} 个字符` });

const id = (label: string) =>
  z.coerce.number({ error: `请选择${label}` }).int({ error: `请选择${label}` }).positive({ error: `请选择${label}` });

export const loginSchema = z.object({
  username: text('用户名', 40),
  password: z.string({ error: '请填写密码' }).min(1, { error: '请填写密码' }).max(128, { error: '密码不能超过 128 位' }),
  next: z.string().optional(),
});

export const totpSchema = z.object({
  code: z.string({ error: '请填写动态口令' }).trim().regex(/^\d{6}$/, { error: '动态口令是 6 位数字' }),
});

export const passwordChangeSchema = z.object({
  current: z.string({ error: '请填写当前密码' }).min(1, { error: '请填写当前密码' }),
  next: z.string({ error: '请填写新密码' }).min(1, { error: '请填写新密码' }),
  confirm: z.string({ error: '请再次填写新密码' }).min(1, { error: '请再次填写新密码' }),
});

const roleList = z.preprocess(
  (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]),
  z.array(z.enum(ROLES, { error: '角色无效' })).min(1, { error: '请至少选择一个角色' }),
);
const optionalOrg = z.preprocess((v) => (v === '' || v === undefined ? null : v), id('所属单位').nullable());

export const userCreateSchema = z.object({
  username: text('用户名', 40).regex(/^[a-z][a-z0-9_]{2,39}$/, { error: '用户名须以小写字母开头，由 3–40 位小写字母、数字或下划线组成' }),
  displayName: text('姓名', 40),
  roles: roleList,
  regionId: id('所属地区'),
  orgId: optionalOrg,
});

export const userUpdateSchema = z.object({
  displayName: text('姓名', 40),
  roles: roleList,
  regionId: id('所属地区'),
  orgId: optionalOrg,
  disabled: z.preprocess((v) => v === 'on' || v === '1' || v === 'true', z.boolean()),
  version: z.coerce.number().int().positive({ error: '表单版本无效，请刷新后重试' }),
});

export const regionCreateSchema = z.object({
  parentId: id('上级地区'),
  name: text('地区名称', 60),
  code: z.preprocess((v) => (v === '' ? undefined : v), z.string().trim().regex(/^\d{6,12}$/, { error: '行政区划代码应为 6 到 12 位数字' }).optional()),
});

export const regionRenameSchema = z.object({ name: text('地区名称', 60) });

export const orgCreateSchema = z.object({
  kind: z.enum(['department', 'bank'], { error: '请选择单位类型' }),
  regionId: id('所在地区'),
  name: text('单位名称', 80),
  code: z.preprocess((v) => (v === '' ? undefined : v), z.string().trim().max(40, { error: '单位代码不能超过 40 个字符' }).optional()),
});

const optionalDate = (label: string) =>
  z.preprocess((v) => (v === '' ? undefined : v), z.string().refine(isBusinessDate, { error: `${label}应为 YYYY-MM-DD 格式的有效日期` }).optional());

export const pageSchema = z.preprocess((v) => (v === undefined || v === '' ? 1 : v), z.coerce.number({ error: '页码无效' }).int({ error: '页码无效' }).min(1, { error: '页码无效' }).max(100_000, { error: '页码无效' }));

export const auditQuerySchema = z.object({
  action: z.preprocess((v) => (v === '' ? undefined : v), z.string().max(60, { error: '操作类型过长' }).regex(/^[a-z_.]+$/, { error: '操作类型无效' }).optional()),
  username: z.preprocess((v) => (v === '' ? undefined : v), z.string().trim().max(40, { error: '用户名过长' }).optional()),
  from: optionalDate('起始日期'),
  to: optionalDate('截止日期'),
  page: pageSchema,
});

export const userListQuerySchema = z.object({
  q: z.preprocess((v) => (v === '' ? undefined : v), z.string().trim().max(40, { error: '查询内容过长' }).optional()),
  page: pageSchema,
});

export const apiTokenSchema = z.object({
  name: text('令牌名称', 80),
  purpose: z.enum(Object.keys(API_PURPOSES) as [ApiPurpose], { error: '请选择用途' }),
  regionId: id('所属地区'),
  orgId: z.preprocess((v) => (v === '' || v === undefined ? null : v), id('单位').nullable()),
});

export const agreementSchema = z.object({
  bankOrgId: id('代发金融机构'),
  branch: text('承办网点', 80),
  agreementNo: text('协议编号', 60),
  startsOn: z.string({ error: '请填写开始日期' }).trim(),
  endsOn: z.string({ error: '请填写结束日期' }).trim(),
  settlementAccountName: text('资金清算账户名称', 80),
  settlementAccountNo: z.string({ error: '请填写资金清算账号' }).trim().transform((v) => v.replace(/\s/g, '')),
  freeSms: z.preprocess((v) => v === 'on', z.boolean()),
  freeWithdrawal: z.preprocess((v) => v === 'on', z.boolean()),
  townshipIds: z.preprocess((v) => (Array.isArray(v) ? v : v === undefined || v === '' ? [] : [v]), z.array(z.coerce.number().int().positive())),
});
