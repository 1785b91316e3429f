import type Router from '@koa/router';
import type { Context } from 'koa';
import { recordAudit } from '../audit.ts';
import { changeOwnPassword, confirmTotpEnrolment, login, newTotpEnrolment, unsealTotpEnrolment, verifyLoginTotp } from '../auth/service.ts';
import { SESSION_COOKIE, invalidateSession } from '../auth/session.ts';
import { totpQrDataUri } from '../auth/totp.ts';
import { formatDateTime } from '../dates.ts';
import { inTransaction } from '../db.ts';
import { ValidationError } from '../errors.ts';
import { validate } from '../http/validate.ts';
import { loginSchema, passwordChangeSchema, totpSchema } from './schemas.ts';
import { sessionCookieOptions } from './session-middleware.ts';
import { type Web, safeNext } from './web.ts';

/**
 * The answer to an attempt refused by the login throttle (429): when to try again, also as Retry-After. The same
 * for every username, existing or not.
 */
function throttledMessage(ctx: Context, until: string): string {
  const seconds = Math.max(1, Math.ceil((Date.parse(until) - Date.now()) / 1000));
  ctx.set('Retry-After', String(seconds));
  const minute = 60_000;
  const when =
    seconds < 60 ? `请 ${seconds} 秒后再试` : `请于 ${formatDateTime(new Date(Math.ceil(Date.parse(until) / minute) * minute).toISOString()).slice(11)} 以后再试（约 ${Math.ceil(seconds / 60)} 分钟）`;
  return `登录尝试过于频繁，${when}；输错的次数越多，需要等待的时间越长`;
}

/** Login (password, then second factor), logout, and the user's own account security. */
export function authRoutes(router: Router, web: Web): void {
  const { core } = web;

  function loginPage(ctx: Context, data: Record<string, unknown> = {}, status = 200) {
    web.render(ctx, 'core/login.njk', { title: '登录', next: safeNext(ctx.query.next), expired: ctx.query.expired === '1', ...data }, status);
  }

  router.get('/login', (ctx) => {
    if (ctx.state.actor && !ctx.state.pendingStep) return web.redirect(ctx, '/');
    loginPage(ctx);
  });

  router.post('/login', async (ctx) => {
    const body = ctx.request.body as Record<string, unknown>;
    let input;
    try {
      input = validate(loginSchema, body);
    } catch (err) {
      if (err instanceof ValidationError) return loginPage(ctx, { errors: err.fieldErrors, values: { username: body.username } }, 422);
      throw err;
    }
    const result = await login(core, { username: input.username, password: input.password, ip: ctx.ip || null, userAgent: ctx.get('User-Agent') || null });
    if (result.kind !== 'ok') {
      const values = { username: input.username };
      if (result.kind === 'throttled') return loginPage(ctx, { errors: { password: throttledMessage(ctx, result.until) }, values, next: safeNext(input.next) }, 429);
      const message = result.kind === 'disabled' ? '该账户已停用，请联系系统管理员' : '用户名或密码错误';
      return loginPage(ctx, { errors: { password: message }, values, next: safeNext(input.next) }, result.kind === 'invalid' ? 422 : 403);
    }
    const old = ctx.state.session;
    if (old) await invalidateSession(core.db, old.id);
    ctx.cookies.set(SESSION_COOKIE, result.token, sessionCookieOptions(ctx));
    web.redirect(ctx, safeNext(input.next));
  });

  router.get('/login/totp', (ctx) => {
    if (!ctx.state.actor) return web.redirect(ctx, '/login');
    web.render(ctx, 'core/totp-login.njk', { title: '动态口令验证' });
  });

  router.post('/login/totp', async (ctx) => {
    if (!ctx.state.actor) return web.redirect(ctx, '/login');
    const page = (errors: Record<string, string>, status: number) => web.render(ctx, 'core/totp-login.njk', { title: '动态口令验证', errors }, status);
    try {
      const { code } = validate(totpSchema, ctx.request.body);
      const result = await verifyLoginTotp(core, web.actor(ctx), web.session(ctx).id, code);
      if (result.kind === 'ok') return web.redirect(ctx, '/');
      if (result.kind === 'throttled') return page({ code: throttledMessage(ctx, result.until) }, 429);
      throw new ValidationError({ code: '动态口令不正确或已使用过，请输入手机上当前显示的 6 位数字' });
    } catch (err) {
      if (err instanceof ValidationError) return page(err.fieldErrors, 422);
      throw err;
    }
  });

  router.post('/logout', async (ctx) => {
    const session = ctx.state.session;
    if (session) {
      await inTransaction(core.db, async (trx) => {
        await invalidateSession(trx, session.id);
        await recordAudit(trx, web.actor(ctx), { action: 'logout', objectType: 'user', objectId: session.user_id });
      });
    }
    ctx.cookies.set(SESSION_COOKIE, null, sessionCookieOptions(ctx));
    web.redirect(ctx, '/login');
  });

  router.get('/account', async (ctx) => {
    const user = await core.db('core_user').where({ id: web.actor(ctx).userId }).first('totp_enabled', 'password_changed_at', 'last_login_at');
    web.render(ctx, 'core/account.njk', { title: '账户安全', totpEnabled: Boolean(user.totp_enabled), passwordChangedAt: user.password_changed_at });
  });

  const passwordPage = (ctx: Context, data: Record<string, unknown> = {}, status = 200) =>
    web.render(ctx, 'core/password.njk', { title: '修改密码', forced: ctx.state.pendingStep === 'password', ...data }, status);

  router.get('/account/password', (ctx) => passwordPage(ctx));
  router.post('/account/password', async (ctx) => {
    try {
      const input = validate(passwordChangeSchema, ctx.request.body);
      await changeOwnPassword(core, web.actor(ctx), web.session(ctx).id, input);
    } catch (err) {
      if (err instanceof ValidationError) return passwordPage(ctx, { errors: err.fieldErrors }, 422);
      throw err;
    }
    await web.redirectWith(ctx, '/', { kind: 'success', message: '密码已修改，其他设备上的登录已退出' });
  });

  /** The enrolment page; after a wrong code the same secret is shown again, so the phone need not rescan. */
  const totpPage = async (ctx: Context, data: Record<string, unknown> = {}, status = 200, sealed?: string) => {
    const actor = web.actor(ctx);
    const user = await core.db('core_user').where({ id: actor.userId }).first('totp_enabled');
    if (user.totp_enabled) return web.render(ctx, 'core/totp-enrol.njk', { title: '动态口令', enabled: true });
    const previous = sealed ? unsealTotpEnrolment(core, actor, sealed) : null;
    const enrolment = previous && sealed ? { secret: previous, sealed } : await newTotpEnrolment(core, actor);
    web.render(
      ctx,
      'core/totp-enrol.njk',
      {
        title: '绑定动态口令',
        forced: ctx.state.pendingStep === 'enrol_totp',
        qr: await totpQrDataUri(enrolment.secret, actor.username),
        secret: enrolment.secret.replace(/(.{4})/g, '$1 ').trim(),
        sealed: enrolment.sealed,
        ...data,
      },
      status,
    );
  };

  router.get('/account/totp', (ctx) => totpPage(ctx));
  router.post('/account/totp', async (ctx) => {
    const sealed = String((ctx.request.body as Record<string, unknown>).sealed ?? '');
    try {
      const { code } = validate(totpSchema, ctx.request.body);
      await confirmTotpEnrolment(core, web.actor(ctx), web.session(ctx).id, { sealed, code });
    } catch (err) {
      if (err instanceof ValidationError) return totpPage(ctx, { errors: err.fieldErrors }, 422, sealed);
      throw err;
    }
    await web.redirectWith(ctx, '/', { kind: 'success', message: '动态口令已启用，今后登录需输入手机上的 6 位动态口令' });
  });
}
