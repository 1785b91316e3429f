import type { Context, Next } from 'koa';

/**
 * Security headers on every response: a strict CSP (no inline script or style, no third-party origin),
 * no framing, no MIME sniffing, no referrer sent to other sites. Pages behind a login are not cached anywhere, since they
 * may hold personal data.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

export function securityHeaders() {
  return async (ctx: Context, next: Next) => {
    ctx.set('Content-Security-Policy', CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    // same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on same-site form posts.
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
    ctx.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    if (ctx.secure) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    await next();
    // The manual's screenshots (/help/img/, core/web/help-routes.ts) keep the cache header they were sent with.
    if (!ctx.path.startsWith('/static/') && !(ctx.path.startsWith('/help/img/') && ctx.status === 200)) ctx.set('Cache-Control', 'no-store');
  };
}

// 18-character resident ID numbers (also percent-encoded X) anywhere in the path or query string.
const ID_IN_URL = /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/;

/**
 * No ID number ever travels in a URL (URLs end up in browser history, proxy logs and Referer headers):
 * such a request is refused before any route sees it. Search forms that take an ID number use POST.
 */
export function noIdNumbersInUrls() {
  return async (ctx: Context, next: Next) => {
    let url = ctx.url;
    try {
      url = decodeURIComponent(url);
    } catch {
      // a malformed escape: judge the raw URL
    }
    if (ID_IN_URL.test(url)) {
      ctx.status = 400;
      ctx.type = 'text';
      ctx.body = '网址中不能包含身份证号码。请使用页面上的查询表单提交。';
      return;
    }
    await next();
  };
}
