import type Router from '@koa/router';
import { listAudit, requireAuditor, verifyAuditChain } from '../audit.ts';
import { ValidationError } from '../errors.ts';
import { validate } from '../http/validate.ts';
import { presentAuditRow } from './presenters.ts';
import { auditQuerySchema } from './schemas.ts';
import type { Web } from './web.ts';

const PAGE_SIZE = 50;

/** The audit administrator's pages: the log with filters, and the verification of its hash chain. */
export function auditRoutes(router: Router, web: Web): void {
  const { db } = web.core;

  router.get('/audit', async (ctx) => {
    const actor = web.actor(ctx);
    let filter;
    try {
      filter = validate(auditQuerySchema, ctx.query);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await requireAuditor(db, actor);
      return web.render(ctx, 'audit/list.njk', { title: '审计日志', errors: err.fieldErrors, values: ctx.query, rows: [], total: 0 }, 422);
    }
    const { rows, total } = await listAudit(db, actor, { ...filter, pageSize: PAGE_SIZE });
    web.render(ctx, 'audit/list.njk', {
      title: '审计日志',
      values: filter,
      rows: rows.map(presentAuditRow),
      total,
      page: filter.page,
      pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
      query: new URLSearchParams(Object.entries({ action: filter.action ?? '', username: filter.username ?? '', from: filter.from ?? '', to: filter.to ?? '' })).toString(),
    });
  });

  router.get('/audit/verify', async (ctx) => {
    await requireAuditor(db, web.actor(ctx));
    const result = await verifyAuditChain(db);
    web.render(ctx, 'audit/verify.njk', { title: '审计日志完整性校验', result });
  });
}
