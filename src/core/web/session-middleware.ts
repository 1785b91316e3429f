import type { Context, Next } from 'koa';
import type { Core } from '../context.ts';
import { type PendingStep, pendingStep } from '../auth/service.ts';
import type { Actor, Role } from '../auth/roles.ts';
import { SESSION_COOKIE, invalidateSession, takeFlash, validateSessionToken } from '../auth/session.ts';

/** Paths anyone may open without a session. */
const PUBLIC_PREFIXES = ['/login', '/healthz', '/static/', '/favicon.ico', '/public/'];
/** While a step is pending (second factor, forced password change, TOTP enrolment), only these paths open. */
const PENDING_PATHS: Record<Exclude<PendingStep, null>, string> = {
  totp: '/login/totp',
  password: '/account/password',
  enrol_totp: '/account/totp',
};

export function sessionCookieOptions(ctx: Context) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: ctx.secure, overwrite: true, path: '/' };
}

/**
 * Loads the session and the acting user on every request (the one place where the user's scope is read),
 * sends anonymous requests to the login page, and holds a user at a pending login step until it is done.
 */
export function sessionMiddleware(core: Core) {
  return async (ctx: Context, next: Next) => {
    const token = ctx.cookies.get(SESSION_COOKIE);
    if (token) {
      const session = await validateSessionToken(core.db, token, core.config.sessionIdleMinutes);
      const user = session
        ? await core.db('core_user')
            .join('core_region', 'core_region.id', 'core_user.region_id')
            .leftJoin('core_org', 'core_org.id', 'core_user.org_id')
            .where('core_user.id', session.user_id)
            .first('core_user.*', 'core_region.path as region_path', 'core_region.name as region_name', 'core_org.name as org_name')
        : undefined;
      if (session && user && !user.disabled) {
        const roles = ((await core.db('core_user_role').where({ user_id: user.id }).select('role')) as { role: Role }[]).map((r) => r.role);
        const actor: Actor = {
          userId: Number(user.id),
          username: user.username,
          displayName: user.display_name,
          roles,
          regionId: Number(user.region_id),
          regionPath: user.region_path,
          regionName: user.region_name,
          orgId: user.org_id == null ? null : Number(user.org_id),
          orgName: user.org_name ?? null,
          ip: ctx.ip || null,
        };
        ctx.state.actor = actor;
        ctx.state.session = session;
        ctx.state.pendingStep = pendingStep(core, { must_change_password: Boolean(user.must_change_password), totp_enabled: Boolean(user.totp_enabled) }, roles, session);
        ctx.state.flash = await takeFlash(core.db, session);
      } else {
        if (session) await invalidateSession(core.db, session.id);
        ctx.cookies.set(SESSION_COOKIE, null, sessionCookieOptions(ctx));
      }
    }

    const isPublic = PUBLIC_PREFIXES.some((p) => ctx.path === p || ctx.path.startsWith(p.endsWith('/') ? p : `${p}/`));
    if (!ctx.state.actor) {
      if (!isPublic) {
        ctx.status = 303;
        ctx.redirect(ctx.method === 'GET' ? `/login?next=${encodeURIComponent(ctx.path)}` : '/login');
        return;
      }
    } else if (ctx.state.pendingStep) {
      const allowed = PENDING_PATHS[ctx.state.pendingStep as Exclude<PendingStep, null>];
      if (ctx.path !== allowed && ctx.path !== '/logout' && !ctx.path.startsWith('/static/') && ctx.path !== '/healthz') {
        ctx.status = 303;
        ctx.redirect(allowed);
        return;
      }
    }
    await next();
  };
}
