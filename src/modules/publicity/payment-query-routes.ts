import type Router from '@koa/router';
import type { Context } from 'koa';
import { formatDateTime } from '../../core/dates.ts';
import { ValidationError } from '../../core/errors.ts';
import type { Web } from '../../core/web/web.ts';
import { NO_MATCH_MESSAGE, type PaymentQueryAnswer, queryPayments } from './payment-query.ts';

/** When a refused query may be tried again, as the page says it (also as Retry-After). */
function throttledMessage(ctx: Context, until: number): string {
  const seconds = Math.max(1, Math.ceil((until - Date.now()) / 1000));
  ctx.set('Retry-After', String(seconds));
  const minute = 60_000;
  const at = formatDateTime(new Date(Math.ceil(until / minute) * minute).toISOString()).slice(11);
  return `查询过于频繁：同一网络地址或同一身份证号码在一段时间内的查询次数有限，请于 ${at} 以后再试（约 ${Math.ceil(seconds / 60)} 分钟）`;
}

/**
 * 个人发放结果查询 on the portal (no login): the form, and its answer by POST so that the ID number is never in an
 * address. The answer shows the form again empty, so that the ID number does not stay on a shared screen.
 */
export function paymentQueryRoutes(router: Router, web: Web): void {
  const title = '个人发放结果查询';
  const page = (ctx: Context, data: Record<string, unknown>, status = 200) =>
    web.render(ctx, 'publicity/payment-query.njk', { title, errors: {}, values: {}, answer: null, noMatch: NO_MATCH_MESSAGE, ...data }, status);

  router.get('/public/payments', (ctx) => page(ctx, {}));

  router.post('/public/payments', async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    let answer: PaymentQueryAnswer;
    try {
      answer = await queryPayments(web.core, body, ctx.ip || null);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const values = { name: body.name, idNumber: body.idNumber, last4: body.last4 };
      return page(ctx, { errors: err.fieldErrors, values }, 422);
    }
    if (answer.kind === 'throttled') return page(ctx, { refused: throttledMessage(ctx, answer.until) }, 429);
    page(ctx, { answer });
  });
}
