import type Router from '@koa/router';
import type { Context } from 'koa';
import { API_PURPOSES, API_TOKEN_STATES, type ApiTokenRow, canDecideApiToken, createApiToken, decideApiToken, listApiTokens, revokeApiToken } from '../api.ts';
import { type Actor, INCOMPATIBLE_ROLES, ROLE_LABELS } from '../auth/roles.ts';
import { formatDateTime } from '../dates.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { parseId, validate } from '../http/validate.ts';
import { uploadedFile } from '../http/upload.ts';
import { importRegions } from '../region-import.ts';
import { createOrg, createRegion, listOrgsInScope, listRegionsInScope, renameRegion } from '../regions.ts';
import { createUser, getUser, isThreeOfficer, listUsers, resetUserPassword, resetUserTotp, unlockUser, updateUser } from '../users.ts';
import { presentRegionOptions, presentUser, roleOptions } from './presenters.ts';
import { apiTokenSchema, orgCreateSchema, regionCreateSchema, regionImportSchema, regionRenameSchema, userCreateSchema, userListQuerySchema, userUpdateSchema } from './schemas.ts';
import type { Web } from './web.ts';

const PAGE_SIZE = 50;

/** The incompatible role pairs as the user form lists them. */
const incompatibleRoles = INCOMPATIBLE_ROLES.map((p) => ({ roles: `${ROLE_LABELS[p.roles[0]]}与${ROLE_LABELS[p.roles[1]]}`, reason: p.reason }));

/** A token as both its pages show it: what it is for, and its state with who decided. */
function presentToken(t: ApiTokenRow) {
  const decided = t.decided_by_name ? `（${t.decided_by_name}，${formatDateTime(t.decided_at)}）` : '';
  const state = t.revoked_at !== null ? '已停用' : t.state === 'approved' ? `有效：已批准${decided}` : `${API_TOKEN_STATES[t.state]}${decided}`;
  return {
    id: t.id,
    name: t.name,
    purpose: API_PURPOSES[t.purpose] ?? t.purpose,
    region: t.region_name,
    org: t.org_name,
    createdBy: t.created_by_name,
    createdAt: formatDateTime(t.created_at),
    lastUsedAt: formatDateTime(t.last_used_at),
    state,
    revocable: t.revoked_at === null && t.state !== 'refused',
  };
}

/**
 * The system administrator's pages: users, regions and organisations, all inside the admin's subtree; and API
 * tokens, which the administrator makes and the finance section approves (/api-tokens).
 */
export function adminRoutes(router: Router, web: Web): void {
  const { core } = web;

  /** Refuse non-admins before anything is read, with an audit row. */
  const admin = (ctx: Context): Promise<Actor> => web.requireRole(ctx, ['admin'], '此页面仅系统管理员可以使用');

  function userIdParam(ctx: Context): number {
    const id = parseId(ctx.params.id);
    if (id === null) throw new NotFoundError('用户不存在');
    return id;
  }

  async function formOptions(actor: Actor) {
    const [regions, orgs] = await Promise.all([listRegionsInScope(core.db, actor), listOrgsInScope(core.db, actor)]);
    return { regionOptions: presentRegionOptions(regions), orgOptions: orgs.map((o) => ({ id: o.id, label: `${o.name}（${o.region_name}）`, kind: o.kind })), roleOptions, incompatibleRoles };
  }

  // --- API tokens for machines (core/api.ts) -----------------------------------------------------------

  async function tokensPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    web.render(
      ctx,
      'admin/api-tokens.njk',
      {
        title: '接口令牌',
        tokens: (await listApiTokens(core.db, actor)).map(presentToken),
        purposes: Object.entries(API_PURPOSES).map(([value, label]) => ({ value, label })),
        values: {},
        ...(await formOptions(actor)),
        ...extra,
      },
      status,
    );
  }

  router.get('/admin/api-tokens', async (ctx) => tokensPage(ctx, await admin(ctx)));

  router.post('/admin/api-tokens', async (ctx) => {
    const actor = await admin(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      const input = validate(apiTokenSchema, body);
      const { token } = await createApiToken(core, actor, input);
      // Shown once, on this response; only its hash is stored.
      await tokensPage(ctx, actor, { created: { name: input.name, token } });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await tokensPage(ctx, actor, { values: body, errors: err.fieldErrors }, 422);
    }
  });

  router.post('/admin/api-tokens/:id/revoke', async (ctx) => {
    const actor = await admin(ctx);
    const id = parseId(ctx.params.id);
    if (id === null) throw new NotFoundError('令牌不存在');
    await revokeApiToken(core, actor, id);
    await web.redirectWith(ctx, '/admin/api-tokens', { kind: 'success', message: '令牌已停用' });
  });

  // --- The finance section's approval of API tokens ------------------------------------------------------

  const financeSection = (ctx: Context): Promise<Actor> => web.requireRole(ctx, ['finance_section'], '接口令牌由财政局业务科室批准');

  async function approvalsPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const tokens = await listApiTokens(core.db, actor);
    const present = (t: ApiTokenRow) => {
      const decision = canDecideApiToken(actor, t);
      return { ...presentToken(t), decidable: decision.ok, notYours: !decision.ok && decision.kind === 'four_eyes' ? decision.reason : null };
    };
    web.render(
      ctx,
      'core/api-tokens.njk',
      { title: '接口令牌审批', waiting: tokens.filter((t) => t.state === 'pending' && t.revoked_at === null).map(present), decided: tokens.filter((t) => t.state !== 'pending' || t.revoked_at !== null).map(present), ...extra },
      status,
    );
  }

  router.get('/api-tokens', async (ctx) => approvalsPage(ctx, await financeSection(ctx)));

  router.post('/api-tokens/:id/:decision', async (ctx) => {
    const actor = await financeSection(ctx);
    const id = parseId(ctx.params.id);
    const decision = ctx.params.decision;
    if (id === null || (decision !== 'approve' && decision !== 'refuse')) throw new NotFoundError('令牌不存在');
    await web.formStep(
      ctx,
      '/api-tokens',
      async () => {
        const { name } = await decideApiToken(core, actor, id, decision);
        return decision === 'approve' ? `已批准令牌“${name}”，对方系统现在可以使用` : `已拒绝令牌“${name}”，该令牌不能使用`;
      },
      (extra, status) => approvalsPage(ctx, actor, extra, status),
    );
  });

  router.get('/admin/users', async (ctx) => {
    const actor = await admin(ctx);
    const query = validate(userListQuerySchema, ctx.query);
    const { rows, total } = await listUsers(core, actor, { ...query, pageSize: PAGE_SIZE });
    web.render(ctx, 'admin/users.njk', {
      title: '用户管理',
      rows: rows.map(presentUser),
      total,
      q: query.q ?? '',
      page: query.page,
      pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
    });
  });

  router.get('/admin/users/new', async (ctx) => {
    const actor = await admin(ctx);
    web.render(ctx, 'admin/user-form.njk', { title: '新建用户', creating: true, values: { roles: [] }, ...(await formOptions(actor)) });
  });

  router.post('/admin/users', async (ctx) => {
    const actor = await admin(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      const input = validate(userCreateSchema, body);
      const { id, temporaryPassword } = await createUser(core, actor, input);
      // The temporary password is shown once, on this response, and stored nowhere in clear.
      web.render(ctx, 'admin/user-created.njk', { title: '用户已创建', user: presentUser((await getUser(core, actor, id))), temporaryPassword, reason: 'created' });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      web.render(ctx, 'admin/user-form.njk', { title: '新建用户', creating: true, errors: err.fieldErrors, values: { ...body, roles: [body.roles ?? []].flat() }, ...(await formOptions(actor)) }, 422);
    }
  });

  router.get('/admin/users/:id', async (ctx) => {
    const actor = await admin(ctx);
    const user = await getUser(core, actor, userIdParam(ctx));
    web.render(ctx, 'admin/user-form.njk', {
      title: `编辑用户 ${user.username}`,
      user: presentUser(user),
      userId: user.id,
      self: user.id === actor.userId,
      values: { displayName: user.display_name, roles: user.roles, regionId: user.region_id, orgId: user.org_id, disabled: user.disabled, version: user.version },
      ...(await formOptions(actor)),
    });
  });

  router.post('/admin/users/:id', async (ctx) => {
    const actor = await admin(ctx);
    const id = userIdParam(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      await updateUser(core, actor, id, validate(userUpdateSchema, body));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const user = await getUser(core, actor, id);
      return web.render(
        ctx,
        'admin/user-form.njk',
        { title: `编辑用户 ${user.username}`, user: presentUser(user), userId: id, self: id === actor.userId, errors: err.fieldErrors, values: { ...body, roles: [body.roles ?? []].flat() }, ...(await formOptions(actor)) },
        422,
      );
    }
    await web.redirectWith(ctx, '/admin/users', { kind: 'success', message: '用户信息已保存' });
  });

  router.post('/admin/users/:id/reset-password', async (ctx) => {
    const actor = await admin(ctx);
    const id = userIdParam(ctx);
    const temporaryPassword = await resetUserPassword(core, actor, id);
    const user = await getUser(core, actor, id);
    web.render(ctx, 'admin/user-created.njk', { title: '密码已重置', user: presentUser(user), temporaryPassword, reason: 'reset', threeOfficer: isThreeOfficer(user.roles) });
  });

  router.post('/admin/users/:id/unlock', async (ctx) => {
    const actor = await admin(ctx);
    await unlockUser(core, actor, userIdParam(ctx));
    await web.redirectWith(ctx, `/admin/users/${ctx.params.id}`, { kind: 'success', message: '已解除该用户名的登录限制' });
  });

  router.post('/admin/users/:id/reset-totp', async (ctx) => {
    const actor = await admin(ctx);
    await resetUserTotp(core, actor, userIdParam(ctx));
    await web.redirectWith(ctx, `/admin/users/${ctx.params.id}`, { kind: 'success', message: '动态口令已重置，该用户下次登录时需重新绑定' });
  });

  async function regionsPage(ctx: Context, actor: Actor, data: Record<string, unknown> = {}, status = 200) {
    const [regions, orgs] = await Promise.all([listRegionsInScope(core.db, actor), listOrgsInScope(core.db, actor)]);
    web.render(
      ctx,
      'admin/regions.njk',
      {
        title: '地区与单位',
        regions: presentRegionOptions(regions),
        counties: regions.filter((r) => r.level === 'county').map((r) => ({ value: r.id, label: r.code ? `${r.name}（${r.code}）` : r.name })),
        orgs: orgs.map((o) => ({ ...o, kindLabel: o.kind === 'bank' ? '代发金融机构' : '业务主管部门' })),
        ...data,
      },
      status,
    );
  }

  router.get('/admin/regions', async (ctx) => regionsPage(ctx, await admin(ctx)));

  router.post('/admin/regions', async (ctx) => {
    const actor = await admin(ctx);
    try {
      const region = await createRegion(core.db, actor, validate(regionCreateSchema, ctx.request.body));
      await web.redirectWith(ctx, '/admin/regions', { kind: 'success', message: `已新增地区“${region.name}”` });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await regionsPage(ctx, actor, { regionErrors: err.fieldErrors, regionValues: ctx.request.body }, 422);
    }
  });

  router.post('/admin/regions/import', async (ctx) => {
    const actor = await admin(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    const values = { countyId: body.countyId };
    const file = uploadedFile(ctx);
    let countyId: number | null = null;
    let errors: Record<string, string> = {};
    try {
      countyId = validate(regionImportSchema, body).countyId;
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      errors = err.fieldErrors;
    }
    if (!file) errors.file = '请选择要导入的区划代码文件（Excel 或 CSV）';
    if (countyId === null || !file) return regionsPage(ctx, actor, { importErrors: errors, importValues: values }, 422);
    const result = await importRegions(core.db, actor, countyId, file);
    if (!result.ok) return regionsPage(ctx, actor, { importRefusal: await web.importRefusal(ctx, '地区导入', file.name, result.errors, result.report!), importValues: values }, 422);
    const changed = result.created + result.coded + result.renamed;
    const kept = result.notInFile ? `；本县已有、文件中没有的 ${result.notInFile} 个地区保持不变` : '';
    const message = changed === 0 ? `地区表已与文件一致，本次没有做任何更改${kept}` : `地区导入完成：新增 ${result.created} 个，设置代码 ${result.coded} 个，更名 ${result.renamed} 个，未变化 ${result.unchanged} 个${kept}`;
    await web.redirectWith(ctx, '/admin/regions', { kind: 'success', message });
  });

  router.post('/admin/regions/:id/rename', async (ctx) => {
    const actor = await admin(ctx);
    const id = parseId(ctx.params.id);
    if (id === null) throw new NotFoundError('地区不存在');
    try {
      const { name } = validate(regionRenameSchema, ctx.request.body);
      await renameRegion(core.db, actor, id, name);
      await web.redirectWith(ctx, '/admin/regions', { kind: 'success', message: '地区名称已修改' });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await regionsPage(ctx, actor, { renameErrors: err.fieldErrors, renameId: id, renameValue: (ctx.request.body as Record<string, unknown>).name }, 422);
    }
  });

  router.post('/admin/orgs', async (ctx) => {
    const actor = await admin(ctx);
    try {
      await createOrg(core.db, actor, validate(orgCreateSchema, ctx.request.body));
      await web.redirectWith(ctx, '/admin/regions', { kind: 'success', message: '单位已新增' });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await regionsPage(ctx, actor, { orgErrors: err.fieldErrors, orgValues: ctx.request.body }, 422);
    }
  });
}
