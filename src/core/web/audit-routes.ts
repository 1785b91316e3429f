import type Router from '@koa/router';
import { type AuditRow, listAudit, recordAudit, requireAuditor } from '../audit.ts';
import { checkAuditLog } from '../audit-anchor.ts';
import { type AuditLexicon, splitObjectRef } from '../audit-vocabulary.ts';
import { type Actor, ROLE_LABELS } from '../auth/roles.ts';
import { formatDateTime } from '../dates.ts';
import { inTransaction } from '../db.ts';
import { XLSX_TYPE } from '../downloads.ts';
import { ValidationError } from '../errors.ts';
import { chosen, defineList, describeFilters, listWorkbook } from '../lists.ts';
import { THREE_OFFICER_ALERT_DAYS, type ThreeOfficerChange, threeOfficerAlerts } from '../users.ts';
import { presentAuditRow } from './presenters.ts';
import { auditFilters } from './schemas.ts';
import type { Web } from './web.ts';

/** Rows whose objects' names are looked up together in an export (each lookup is one query a kind, `where id in`). */
const NAMES_CHUNK = 5_000;

const THREE_OFFICER_CHANGES: Record<ThreeOfficerChange, string> = { password_reset: '重置了密码', created: '新建了账户', role_granted: '授予了角色' };

/**
 * The audit administrator's pages: the log with filters, its export, and the verification of its hash chain and
 * anchor. The log's page opens with what the administrator did to 三员 accounts lately (users.ts threeOfficerAlerts).
 */
export function auditRoutes(router: Router, web: Web, lexicon: AuditLexicon): void {
  const { db } = web.core;

  /** The alert at the top of the log: one sentence a change, the account linked to its history in the log. */
  async function threeOfficerAlertLines(actor: Actor) {
    return {
      alertDays: THREE_OFFICER_ALERT_DAYS,
      alerts: (await threeOfficerAlerts(db, actor)).map((a) => ({
        at: formatDateTime(a.at),
        by: a.by ?? '',
        change: THREE_OFFICER_CHANGES[a.change],
        account: `${a.roles.map((r) => ROLE_LABELS[r]).join('、')} ${a.username}`,
        href: `/audit?${new URLSearchParams({ object: `user:${a.userId}` })}`,
      })),
    };
  }

  const auditList = defineList({
    path: '/audit',
    filters: auditFilters((choice) => lexicon.codesFor(choice) !== null),
    sorts: { time: { label: '时间', by: ['at'], first: 'desc' } },
    defaultSort: 'time',
    defaultDir: 'desc',
    id: 'id',
  });
  type Query = ReturnType<typeof auditList.parse>;
  const actionChoices = lexicon.groups.flatMap((g) => [g.all, ...g.options]);

  /** The page's filters as listAudit takes them: a choice of actions as their codes, an object as its type and id. */
  const auditFilter = (filters: Query['filters']) => ({
    ...filters,
    actions: filters.action ? (lexicon.codesFor(filters.action) ?? []) : undefined,
    object: (filters.object && splitObjectRef(filters.object)) || undefined,
  });

  router.get('/audit', async (ctx) => {
    const actor = web.actor(ctx);
    const page = { title: '审计日志', actionGroups: lexicon.groups };
    let query: Query;
    try {
      query = auditList.parse(ctx.query);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await requireAuditor(db, actor);
      return web.render(ctx, 'audit/list.njk', { ...page, ...(await threeOfficerAlertLines(actor)), errors: err.fieldErrors, values: ctx.query, rows: [], links: auditList.links(auditList.parse({}), 0) }, 422);
    }
    const filter = auditFilter(query.filters);
    const { rows, total } = await listAudit(db, actor, filter, (q) => auditList.page<AuditRow>(q, query));
    // The filtered object's name is looked up with the page's.
    const names = await lexicon.names(db, [...rows, ...(filter.object ? [{ object_type: filter.object.type, object_id: filter.object.id }] : [])]);
    web.render(ctx, 'audit/list.njk', {
      ...page,
      ...(await threeOfficerAlertLines(actor)),
      values: query.filters,
      object: filter.object ? lexicon.objectRef(filter.object.type, filter.object.id, names) : null,
      rows: rows.map((row) => presentAuditRow(lexicon, names, row)),
      links: auditList.links(query, total),
    });
  });

  // What the filter selects, every page of it, as the page reads it (labels, names, sentences).
  router.get('/audit/export.xlsx', async (ctx) => {
    const actor = web.actor(ctx);
    await requireAuditor(db, actor);
    const query = auditList.parse(ctx.query);
    const filter = auditFilter(query.filters);
    const rows = await listAudit(db, actor, filter, (q) => auditList.all<AuditRow>(q, query));
    const shown = [];
    for (let i = 0; i < rows.length; i += NAMES_CHUNK) {
      const chunk = rows.slice(i, i + NAMES_CHUNK);
      const names = await lexicon.names(db, chunk);
      shown.push(...chunk.map((row) => presentAuditRow(lexicon, names, row)));
    }
    const { action, username, from, to } = query.filters;
    const objectName = filter.object ? lexicon.objectRef(filter.object.type, filter.object.id, await lexicon.names(db, [{ object_type: filter.object.type, object_id: filter.object.id }])) : null;
    const file = await listWorkbook(
      {
        title: '审计日志',
        filter: describeFilters([['操作类型', chosen(actionChoices, action ?? null)], ['对象', objectName], ['用户名', username], ['起始日期', from], ['截止日期', to]]),
        sort: auditList.describeSort(query),
        by: actor.displayName,
      },
      [
        { header: '序号', width: 10, value: (r) => r.id },
        { header: '时间', width: 18, value: (r) => r.at },
        { header: '用户', width: 14, value: (r) => r.who },
        { header: '角色', width: 16, value: (r) => r.roles },
        { header: '操作', width: 24, value: (r) => r.action },
        { header: '对象', width: 30, value: (r) => r.object },
        { header: '内容摘要', width: 60, value: (r) => r.summary },
        { header: 'IP', width: 16, value: (r) => r.ip },
      ],
      shown,
    );
    await inTransaction(db, (trx) => recordAudit(trx, actor, { action: 'audit.export', summary: file.summary }));
    web.sendFile(ctx, file.fileName, XLSX_TYPE, file.body);
  });

  // The same check as the nightly task and `ykt verify-audit`: the chain, then the anchor outside the database,
  // which it renews and shows for keeping elsewhere.
  router.get('/audit/verify', async (ctx) => {
    await requireAuditor(db, web.actor(ctx));
    const result = await checkAuditLog(db, web.core.config);
    web.render(ctx, 'audit/verify.njk', { title: '审计日志完整性校验', result });
  });
}
