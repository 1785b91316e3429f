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

export const regionImportSchema = z.object({ countyId: id('县（区）') });

export const regionRenameSchema = z.object({ name: text('地区名称', 60) });

export const orgCreateSchema = z.object({
  kind: z.enum(['department', 'bank'], { error: '请选择单位类型' }),
  regionId: id('所在地区'),
  name: text('单位名称', 80),
  code: z.preprocess((v) => (v === '' ? undefined : v), z.string().trim().max(40, { error: '单位代码不能超过 40 个字符' }).optional()),
});

const optionalDate = (label: string) =>
  z.preprocess((v) => (v === '' ? undefined : v), z.string().refine(isBusinessDate, { error: `${label}应为 YYYY-MM-DD 格式的有效日期` }).optional());


/** The audit log's filters (core/lists.ts): each `action` one of the choices the page offers (an action code, or a module's `name.*`), an object by kind and id, a user name, a period. */
export const auditFilters = (isActionChoice: (value: string) => boolean, isObjectKind: (type: string) => boolean) => ({
  // One or more choices (`action=a&action=b`), each an action code or a module's `name.*`; an old URL's single value still reads.
  action: z.preprocess(
    (v) => {
      const values = (Array.isArray(v) ? v : [v]).filter((x) => x !== undefined && x !== '');
      return values.length ? values : undefined;
    },
    z
      .array(z.string({ error: '请从列表中选择操作类型' }), { error: '请从列表中选择操作类型' })
      .max(100, { error: '操作类型最多选择 100 项' })
      .refine((values) => values.every(isActionChoice), { error: '请从列表中选择操作类型' })
      .optional(),
  ),
  // An object as "type:id" (the links of the log and of its alerts), or its kind and id as the form sends them.
  object: z.preprocess((v) => (v === '' ? undefined : v), z.string({ error: '对象无效' }).max(120, { error: '对象无效' }).regex(/^[a-z_]+:\S+$/, { error: '对象无效' }).optional()),
  objectType: z.preprocess((v) => (v === '' ? undefined : v), z.string({ error: '请从列表中选择对象类型' }).refine(isObjectKind, { error: '请从列表中选择对象类型' }).optional()),
  objectId: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.string({ error: '对象编号无效' }).trim().max(60, { error: '对象编号不能超过 60 个字符' }).regex(/^[0-9A-Za-z_.:-]+$/, { error: '对象编号只能由数字、字母和 _ . : - 组成' }).optional(),
  ),
  username: z.preprocess((v) => (v === '' ? undefined : v), z.string({ error: '用户名无效' }).trim().max(40, { error: '用户名过长' }).optional()),
  from: optionalDate('起始日期'),
  to: optionalDate('截止日期'),
});

/** The audit log's search by person: the full ID number, checked by the registry's rules (the module's parser, passed in). */
export const auditPersonSearchSchema = (checkIdNumber: (input: string) => string | null) =>
  z.object({
    idNumber: z
      .string({ error: '请填写身份证号码' })
      .trim()
      .min(1, { error: '请填写身份证号码' })
      .max(40, { error: '身份证号码应为 18 位' })
      .superRefine((value, ctx) => {
        const problem = checkIdNumber(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
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
