import type { Context, Next } from 'koa';
import type { Core } from '../context.ts';
import { type PendingStep, pendingStep } from '../auth/service.ts';
import { loadActor } from '../auth/actor.ts';
import { SESSION_COOKIE, invalidateSession, takeFlash, validateSessionToken } from '../auth/session.ts';

/** Paths anyone may open without a session (/help: the help routes themselves keep the staff chapters for logged-in users). */
const PUBLIC_PREFIXES = ['/login', '/healthz', '/static/', '/favicon.ico', '/public', '/help'];
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
      const user = session ? await loadActor(core.db, { id: session.user_id }, ctx.ip || null) : null;
      if (session && user && !user.disabled) {
        ctx.state.actor = user.actor;
        ctx.state.session = session;
        ctx.state.pendingStep = pendingStep(core, { must_change_password: user.mustChangePassword, totp_enabled: user.totpEnabled }, user.actor.roles, session);
        ctx.state.flash = await takeFlash(core.db, session);
      } else {
        if (session) await invalidateSession(core.db, session.id);
        ctx.cookies.set(SESSION_COOKIE, null, sessionCookieOptions(ctx));
      }
    }

    const isPublic = PUBLIC_PREFIXES.some((p) => ctx.path === p || ctx.path.startsWith(p.endsWith('/') ? p : `${p}/`));
    if (!ctx.state.actor) {
      if (!isPublic) {
        // Back to the page after login: the page asked for, or for a form posted after the session ended, the page
        // the form was on (its Referer, same site only); the login page says why when a session had ended.
        const next = ctx.method === 'GET' ? ctx.url : (refererPath(ctx) ?? ctx.path);
        ctx.status = 303;
        ctx.redirect(`/login?next=${encodeURIComponent(next)}${token ? '&expired=1' : ''}`);
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

/** The path and query of a same-site Referer, or null. */
function refererPath(ctx: Context): string | null {
  const referer = ctx.get('Referer');
  if (!referer) return null;
  try {
    const url = new URL(referer);
    return url.host === ctx.host ? url.pathname + url.search : null;
  } catch {
    return null;
  }
}
