import { z } from 'zod';
import { API_PURPOSES, type ApiPurpose } from '../api.ts';
import { ROLES } from '../auth/roles.ts';
import { isBusinessDate } from '../dates.ts';
import { checkbox, id, optional, page, text } from '../fields.ts';

/** Schemas of the core forms and query strings, built from the shared fields (core/fields.ts); messages in Chinese, keyed by field. */
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
const optionalOrg = optional(id('所属单位'));

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
  disabled: checkbox,
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


/** The audit log's filters (core/lists.ts); `action` is one of the choices the page offers (an action code, or a module's `name.*`). */
export const auditFilters = (isActionChoice: (value: string) => boolean) => ({
  action: z.preprocess((v) => (v === '' ? undefined : v), z.string().refine(isActionChoice, { error: '请从列表中选择操作类型' }).optional()),
  object: z.preprocess((v) => (v === '' ? undefined : v), z.string().max(120, { error: '对象无效' }).regex(/^[a-z_]+:\S+$/, { error: '对象无效' }).optional()),
  username: z.preprocess((v) => (v === '' ? undefined : v), z.string().trim().max(40, { error: '用户名过长' }).optional()),
  from: optionalDate('起始日期'),
  to: optionalDate('截止日期'),
});

export const userListQuerySchema = z.object({
  q: z.preprocess((v) => (v === '' ? undefined : v), z.string().trim().max(40, { error: '查询内容过长' }).optional()),
  page,
});

export const apiTokenSchema = z.object({
  name: text('令牌名称', 80),
  purpose: z.enum(Object.keys(API_PURPOSES) as [ApiPurpose], { error: '请选择用途' }),
  regionId: id('所属地区'),
  orgId: z.preprocess((v) => (v === '' || v === undefined ? null : v), id('单位').nullable()),
});
