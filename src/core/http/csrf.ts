import crypto from 'node:crypto';
import type { Context, Next } from 'koa';
import { constantTimeEqual, randomToken } from '../crypto.ts';
import { ForbiddenError } from '../errors.ts';

/**
 * CSRF protection for every form, logged in or not (the login form included): a random value in an HttpOnly
 * cookie, and in each form a token that is the HMAC of it; a state-changing request must carry the token
 * (field `_csrf`, or header X-CSRF-Token from htmx). Cross-site requests are refused by Sec-Fetch-Site and
 * Origin before the token is even looked at.
 */
export const CSRF_COOKIE = 'ykt_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class CsrfError extends ForbiddenError {
  constructor() {
    super('表单已过期或来源不明，请返回上一页刷新后重新提交');
  }
}

export function csrfProtection(key: Buffer, onReject: (ctx: Context, reason: string) => Promise<void>) {
  const tokenFor = (value: string) => crypto.createHmac('sha256', key).update(value).digest('base64url');

  return async (ctx: Context, next: Next) => {
    let value = ctx.cookies.get(CSRF_COOKIE);
    if (!value || value.length !== 43) {
      value = randomToken(32);
      ctx.cookies.set(CSRF_COOKIE, value, { httpOnly: true, sameSite: 'lax', secure: ctx.secure, overwrite: true });
    }
    ctx.state.csrfToken = tokenFor(value);

    if (!SAFE_METHODS.has(ctx.method)) {
      const site = ctx.get('Sec-Fetch-Site');
      const origin = ctx.get('Origin');
      let reason: string | null = null;
      // Browsers that send Sec-Fetch-Site are judged by it; older ones by Origin, compared with this server's
      // own scheme and host (Koa 3's ctx.origin echoes the header). An opaque "null" origin is refused.
      if (site) {
        if (site !== 'same-origin' && site !== 'none') reason = `sec-fetch-site:${site}`;
      } else if (origin && origin !== `${ctx.protocol}://${ctx.host}`) reason = 'origin';
      if (!reason) {
        const body = ctx.request.body as Record<string, unknown> | undefined;
        const given = String((body && body._csrf) || ctx.get('X-CSRF-Token') || '');
        if (!constantTimeEqual(Buffer.from(given), Buffer.from(ctx.state.csrfToken as string))) reason = 'token';
      }
      if (reason) {
        await onReject(ctx, reason);
        throw new CsrfError();
      }
    }
    await next();
  };
}
