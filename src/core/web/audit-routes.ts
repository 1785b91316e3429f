import type Router from '@koa/router';
import type { Context } from 'koa';
import { type ArchivedLog, type AuditFilter, type AuditRow, archivedLogs, listArchivedAudit, listAudit, recordAudit, requireAuditor } from '../audit.ts';
import { checkAuditLog } from '../audit-anchor.ts';
import { type AuditPersonFinder, latestVerification, recordFailedVerification } from '../audit-trail.ts';
import { type AuditLexicon, splitObjectRef } from '../audit-vocabulary.ts';
import { type Actor, ROLE_LABELS } from '../auth/roles.ts';
import { businessDate, formatDateTime } from '../dates.ts';
import { inTransaction } from '../db.ts';
import { XLSX_TYPE } from '../downloads.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { requireId, validate } from '../http/validate.ts';
import { type ExportColumn, chosen, defineList, describeFilters, listWorkbook } from '../lists.ts';
import { csvLine } from '../spreadsheet.ts';
import { THREE_OFFICER_ALERT_DAYS, type ThreeOfficerChange, threeOfficerAlerts } from '../users.ts';
import { objectHistoryHref, presentAuditRow } from './presenters.ts';
import { auditFilters, auditPersonSearchSchema } from './schemas.ts';
import type { Web } from './web.ts';

/** Rows whose objects' names are looked up together in an export (each lookup is one query a kind, `where id in`). */
const NAMES_CHUNK = 5_000;
/** An object's history page shows up to this many rows; the list (paged) shows the rest. */
const HISTORY_CAP = 2_000;
/** An object id as audit rows hold it (numbers, task names, codes). */
const OBJECT_ID = /^[0-9A-Za-z_.:-]{1,60}$/;

/** What the archived log's page says of its county and of the ids its rows name. */
const presentArchive = (log: ArchivedLog) => ({ county: log.countyName, movedAt: formatDateTime(log.movedAt), rows: log.rows, offset: log.offset, path: `/audit/archives/${log.id}` });

const THREE_OFFICER_CHANGES: Record<ThreeOfficerChange, string> = { password_reset: '重置了密码', created: '新建了账户', role_granted: '授予了角色' };

/**
 * The audit administrator's pages: the log with filters, its export, and the verification of its hash chain and
 * anchor. The log's page opens with what the administrator did to 三员 accounts lately (users.ts threeOfficerAlerts).
 */
export function auditRoutes(router: Router, web: Web, lexicon: AuditLexicon, personFinder?: AuditPersonFinder): void {
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

  /** The log's list, at /audit, or a moved county's archived log at its own address, with the same filters. */
  const listAt = (path: string) =>
    defineList({
      path,
      filters: auditFilters(
        (choice) => lexicon.codesFor(choice) !== null,
        (type) => lexicon.hasKind(type),
      ),
      sorts: { time: { label: '时间', by: ['at'], first: 'desc' } },
      defaultSort: 'time',
      defaultDir: 'desc',
      id: 'id',
    });
  const auditList = listAt('/audit');
  type Query = ReturnType<typeof auditList.parse>;
  const actionChoices = lexicon.groups.flatMap((g) => [g.all, ...g.options]);
  const objectKinds = lexicon.kindTypes().map((type) => ({ value: type, label: lexicon.kindLabel(type) }));
  const personSchema = personFinder ? auditPersonSearchSchema((input) => personFinder.check(input)) : null;

  /**
   * The page's filters as listAudit takes them: the chosen actions as their codes, an object as its type and id
   * (from the form's two fields, or an older link's `object=type:id`), a kind of object alone. What no single field
   * can say wrong (an id without its kind, a period that ends before it starts) is a ValidationError too.
   */
  const auditFilter = (filters: Query['filters']): AuditFilter => {
    const errors: Record<string, string> = {};
    if (filters.objectId && !filters.objectType) errors.objectType = '填写了对象编号，请同时选择对象类型';
    if (filters.from && filters.to && filters.from > filters.to) errors.to = '截止日期不能早于起始日期';
    if (Object.keys(errors).length) throw new ValidationError(errors);
    const object = filters.objectType && filters.objectId ? { type: filters.objectType, id: filters.objectId } : filters.object ? splitObjectRef(filters.object) : null;
    return {
      actions: filters.action ? [...new Set(filters.action.flatMap((choice) => lexicon.codesFor(choice) ?? []))] : undefined,
      object: object ?? undefined,
      objectType: object ? undefined : (filters.objectType ?? undefined),
      username: filters.username,
      from: filters.from,
      to: filters.to,
    };
  };

  /** A list's query string and the filters it makes, or the messages refusing them (field → Chinese). */
  function readQuery(list: typeof auditList, input: unknown): { query: Query; filter: AuditFilter } | { refused: Record<string, string> } {
    try {
      const query = list.parse(input);
      return { query, filter: auditFilter(query.filters) };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return { refused: err.fieldErrors };
    }
  }

  /** What the filter form shows: the chosen actions as a set, an older link's object in the two object fields. */
  function formValues(values: Record<string, unknown>) {
    const raw = values.action;
    const actions = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string' && v !== '');
    const legacy = typeof values.object === 'string' ? splitObjectRef(values.object) : null;
    return {
      ...values,
      selectedActions: Object.fromEntries(actions.map((a) => [a, true])),
      objectType: values.objectType ?? legacy?.type,
      objectId: values.objectId ?? legacy?.id,
    };
  }

  const exportHrefs = (links: { exportHref: string }) => ({ xlsx: links.exportHref, csv: links.exportHref.replace('/audit/export.xlsx', '/audit/export.csv') });

  async function pageFrame(actor: Actor) {
    const latest = await latestVerification(db, web.core.config);
    return {
      title: '审计日志',
      actionGroups: lexicon.groups,
      objectKinds,
      personSearch: personFinder !== undefined,
      latest: latest && { ...latest, at: formatDateTime(latest.at) },
      archives: (await archivedLogs(db, actor)).map((a) => ({ href: `/audit/archives/${a.id}`, county: a.countyName, movedAt: formatDateTime(a.movedAt), rows: a.rows })),
      ...(await threeOfficerAlertLines(actor)),
    };
  }

  /**
   * A moved county's log from before the move (core/audit-archive.ts): the same filters and columns, the rows as the
   * county wrote them. Their objects are named by the county's own ids, which the deployment's objects no longer carry:
   * no name is looked up and no object is linked.
   */
  router.get('/audit/archives/:moveId', async (ctx) => {
    const actor = web.actor(ctx);
    const moveId = requireId(ctx.params.moveId, '迁入前的审计日志');
    const list = listAt(`/audit/archives/${moveId}`);
    const frame = { title: '迁入前的审计日志', actionGroups: lexicon.groups, objectKinds };
    const read = readQuery(list, ctx.query);
    if ('refused' in read) {
      const { log } = await listArchivedAudit(db, actor, moveId, {}, async () => null);
      const links = list.links(list.parse({}), 0);
      return web.render(ctx, 'audit/list.njk', { ...frame, archive: presentArchive(log), errors: read.refused, values: formValues(ctx.query), rows: [], links }, 422);
    }
    const { query, filter } = read;
    const { log, result } = await listArchivedAudit(db, actor, moveId, filter, (q) => list.page<AuditRow>(q, query));
    const links = list.links(query, result.total);
    web.render(ctx, 'audit/list.njk', {
      ...frame,
      title: `${log.countyName}迁入前的审计日志`,
      archive: presentArchive(log),
      values: formValues(query.filters),
      rows: result.rows.map((row) => ({ ...presentAuditRow(lexicon, new Map(), row), objectHref: null })),
      links,
    });
  });

  /** The page refused: its filters' (or the person search's) messages, what was typed kept, no rows. */
  async function renderRefused(ctx: Context, actor: Actor, errors: Record<string, string>, values: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    const links = auditList.links(auditList.parse({}), 0);
    web.render(ctx, 'audit/list.njk', { ...(await pageFrame(actor)), errors, values: formValues(values), rows: [], links, exports: exportHrefs(links), ...extra }, 422);
  }

  router.get('/audit', async (ctx) => {
    const actor = web.actor(ctx);
    const read = readQuery(auditList, ctx.query);
    if ('refused' in read) {
      await requireAuditor(db, actor);
      return renderRefused(ctx, actor, read.refused, ctx.query);
    }
    const { query, filter } = read;
    const { rows, total } = await listAudit(db, actor, filter, (q) => auditList.page<AuditRow>(q, query));
    // The filtered object's name is looked up with the page's.
    const names = await lexicon.names(db, [...rows, ...(filter.object ? [{ object_type: filter.object.type, object_id: filter.object.id }] : [])]);
    const links = auditList.links(query, total);
    web.render(ctx, 'audit/list.njk', {
      ...(await pageFrame(actor)),
      values: formValues(query.filters),
      object: filter.object ? lexicon.objectRef(filter.object.type, filter.object.id, names) : null,
      objectHistoryHref: filter.object ? objectHistoryHref(filter.object.type, filter.object.id) : null,
      rows: rows.map((row) => presentAuditRow(lexicon, names, row)),
      links,
      exports: exportHrefs(links),
    });
  });

  /**
   * Search by person: the full ID number comes in a POST body only (never an address, never a log line), is checked
   * by the registry's rules and found through its blind index; the search is audited with the person's id only, and
   * the answer is that person's history, at an address that holds the person's id, not the number.
   */
  router.post('/audit/person', async (ctx) => {
    const actor = web.actor(ctx);
    await requireAuditor(db, actor);
    if (!personFinder || !personSchema) throw new NotFoundError();
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    let idNumber: string;
    try {
      ({ idNumber } = validate(personSchema, body));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return renderRefused(ctx, actor, err.fieldErrors, {}, { idNumberTyped: typeof body.idNumber === 'string' ? body.idNumber.slice(0, 40) : '' });
    }
    const person = await personFinder.find(actor, idNumber);
    await inTransaction(db, (trx) =>
      recordAudit(trx, actor, { action: 'audit.person_search', objectType: person ? 'person' : undefined, objectId: person?.id ?? null, summary: person ? { found: true } : {} }),
    );
    if (person) return web.redirect(ctx, objectHistoryHref('person', String(person.id)));
    const links = auditList.links(auditList.parse({}), 0);
    web.render(ctx, 'audit/list.njk', {
      ...(await pageFrame(actor)),
      values: formValues({}),
      personNotFound: true,
      rows: [],
      links,
      exports: exportHrefs(links),
    });
  });

  /** One object's whole history in the log, oldest first, as sentences (up to HISTORY_CAP rows; the list pages the rest). */
  router.get('/audit/objects/:type/:id', async (ctx) => {
    const actor = web.actor(ctx);
    const { type, id } = ctx.params as { type: string; id: string };
    await requireAuditor(db, actor);
    if (!lexicon.hasKind(type) || !OBJECT_ID.test(id)) throw new NotFoundError('该对象不存在');
    const rows = await listAudit(db, actor, { object: { type, id } }, (q) => q.orderBy('id', 'asc').limit(HISTORY_CAP + 1) as Promise<AuditRow[]>);
    const shown = rows.slice(0, HISTORY_CAP);
    const names = await lexicon.names(db, [...shown, { object_type: type, object_id: id }]);
    const name = lexicon.objectRef(type, id, names);
    const listParams = new URLSearchParams({ objectType: type, objectId: id });
    web.render(ctx, 'audit/object.njk', {
      title: `${name}的审计记录`,
      name,
      rows: shown.map((row) => presentAuditRow(lexicon, names, row)),
      more: rows.length > HISTORY_CAP,
      cap: HISTORY_CAP,
      listHref: `/audit?${listParams}`,
      exports: { xlsx: `/audit/export.xlsx?${listParams}`, csv: `/audit/export.csv?${listParams}` },
    });
  });

  /** What the filter selects, every row, as the page reads it (labels, names, sentences), for the exports. */
  async function exportSelection(ctx: Context, actor: Actor) {
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
    const filterText = describeFilters([
      ['操作类型', action ? action.map((a) => chosen(actionChoices, a)).join('、') : null],
      ['对象', objectName ?? (filter.objectType ? `全部${lexicon.kindLabel(filter.objectType)}` : null)],
      ['用户名', username],
      ['起始日期', from],
      ['截止日期', to],
    ]);
    return { query, shown, filterText, period: from || to ? `${from ?? '开始'}至${to ?? businessDate()}` : null };
  }

  const EXPORT_COLUMNS: ExportColumn<ReturnType<typeof presentAuditRow>>[] = [
    { header: '序号', width: 10, value: (r) => r.id },
    { header: '时间', width: 18, value: (r) => r.at },
    { header: '用户', width: 14, value: (r) => r.who },
    { header: '角色', width: 16, value: (r) => r.roles },
    { header: '操作', width: 24, value: (r) => r.action },
    { header: '对象', width: 30, value: (r) => r.object },
    { header: '内容摘要', width: 60, value: (r) => r.summary },
    { header: 'IP', width: 16, value: (r) => r.ip },
  ];

  router.get('/audit/export.xlsx', async (ctx) => {
    const actor = web.actor(ctx);
    const { query, shown, filterText } = await exportSelection(ctx, actor);
    const file = await listWorkbook({ title: '审计日志', filter: filterText, sort: auditList.describeSort(query), by: actor.displayName }, EXPORT_COLUMNS, shown);
    await inTransaction(db, (trx) => recordAudit(trx, actor, { action: 'audit.export', summary: file.summary }));
    web.sendFile(ctx, file.fileName, XLSX_TYPE, file.body);
  });

  // The same rows for the audit office's own tools: UTF-8 with a BOM (Excel opens it as Chinese), every cell
  // neutralised against formulas (csvLine), one header row, no title row.
  router.get('/audit/export.csv', async (ctx) => {
    const actor = web.actor(ctx);
    const { query, shown, filterText, period } = await exportSelection(ctx, actor);
    const text = [csvLine(EXPORT_COLUMNS.map((c) => c.header)), ...shown.map((r) => csvLine(EXPORT_COLUMNS.map((c) => c.value(r))))].join('\r\n') + '\r\n';
    const summary = { rows: shown.length, filter: filterText, sort: auditList.describeSort(query), format: 'csv' };
    await inTransaction(db, (trx) => recordAudit(trx, actor, { action: 'audit.export', summary }));
    web.sendFile(ctx, `审计日志-${period ?? businessDate()}.csv`, 'text/csv; charset=utf-8', Buffer.from(`\ufeff${text}`, 'utf8'));
  });

  // The same check as the nightly task and `ykt verify-audit`: the chain, then the anchor outside the database,
  // which it renews and shows for keeping elsewhere.
  router.get('/audit/verify', async (ctx) => {
    const actor = web.actor(ctx);
    await requireAuditor(db, actor);
    const result = await checkAuditLog(db, web.core.config, [], actor.username);
    await recordFailedVerification(db, actor, result);
    web.render(ctx, 'audit/verify.njk', { title: '审计日志完整性校验', result });
  });
}
