import type Router from '@koa/router';
import { listAudit, requireAuditor, verifyAuditChain } from '../audit.ts';
import { type AuditLexicon, splitObjectRef } from '../audit-vocabulary.ts';
import { ValidationError } from '../errors.ts';
import { validate } from '../http/validate.ts';
import { presentAuditRow } from './presenters.ts';
import { auditQuerySchema } from './schemas.ts';
import type { Web } from './web.ts';

const PAGE_SIZE = 50;

/** The audit administrator's pages: the log with filters, and the verification of its hash chain. */
export function auditRoutes(router: Router, web: Web, lexicon: AuditLexicon): void {
  const { db } = web.core;
  const querySchema = auditQuerySchema((choice) => lexicon.codesFor(choice) !== null);

  router.get('/audit', async (ctx) => {
    const actor = web.actor(ctx);
    const page = { title: '审计日志', actionGroups: lexicon.groups };
    let filter;
    try {
      filter = validate(querySchema, ctx.query);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await requireAuditor(db, actor);
      return web.render(ctx, 'audit/list.njk', { ...page, errors: err.fieldErrors, values: ctx.query, rows: [], total: 0 }, 422);
    }
    const object = filter.object ? splitObjectRef(filter.object) : null;
    const { rows, total } = await listAudit(db, actor, {
      ...filter,
      actions: filter.action ? (lexicon.codesFor(filter.action) ?? []) : undefined,
      object: object ?? undefined,
      pageSize: PAGE_SIZE,
    });
    // The filtered object's name is looked up with the page's.
    const names = await lexicon.names(db, [...rows, ...(object ? [{ object_type: object.type, object_id: object.id }] : [])]);
    web.render(ctx, 'audit/list.njk', {
      ...page,
      values: filter,
      object: object ? lexicon.objectRef(object.type, object.id, names) : null,
      rows: rows.map((row) => presentAuditRow(lexicon, names, row)),
      total,
      page: filter.page,
      pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
      query: new URLSearchParams(Object.entries({ action: filter.action ?? '', object: filter.object ?? '', username: filter.username ?? '', from: filter.from ?? '', to: filter.to ?? '' })).toString(),
    });
  });

  router.get('/audit/verify', async (ctx) => {
    await requireAuditor(db, web.actor(ctx));
    const result = await verifyAuditChain(db);
    web.render(ctx, 'audit/verify.njk', { title: '审计日志完整性校验', result });
  });
}
