import type Router from '@koa/router';
import type { Actor } from '../../core/auth/roles.ts';
import { recordAudit } from '../../core/audit.ts';
import { loadCalendar } from '../../core/calendar.ts';
import { businessDate } from '../../core/dates.ts';
import { type Conn, inTransaction } from '../../core/db.ts';
import { XLSX_TYPE } from '../../core/downloads.ts';
import { chosen, defineList, describeFilters, listWorkbook } from '../../core/lists.ts';
import type { Web } from '../../core/web/web.ts';
import { type ComplaintStanding, TIMELINESS_MONTHS, monthsEndingWith } from './model.ts';
import { supervisionOverview } from './overview.ts';
import { can } from './policy.ts';
import { type MonitorRow, type RuleNames, presentClock, timelinessTable } from './presenters.ts';
import { type ClockRow, clockRegions, closedClocksSince, openClocksQuery, roleHolders } from './queries.ts';
import { monitorFilters } from './schemas.ts';

/**
 * The supervisors' pages: the overview (监督工作台, /supervision) and the deadline monitor (限时办理监控,
 * /supervision/deadlines) with its workbook. Read-only; every figure in the actor's region scope.
 */
export function supervisionRoutes(router: Router, web: Web, deps: { names: RuleNames; complaints: (db: Conn, actor: Actor) => Promise<ComplaintStanding[]> }): void {
  const { db } = web.core;
  const { names } = deps;

  const monitorList = defineList({
    path: '/supervision/deadlines',
    filters: monitorFilters(names.rules.all().map((r) => r.code)),
    sorts: {
      due: { label: '到期日', by: ['d.due_on'] },
      started: { label: '开始日', by: ['d.started_on'], first: 'desc' },
      unit: { label: '责任单位', by: ['g.path', 'd.responsible_roles'] },
    },
    defaultSort: 'due',
    defaultDir: 'asc',
    id: 'd.id',
  });

  /** The monitor's lines as the page and the workbook show them: each with its unit's people and its working days late. */
  async function present(rows: ClockRow[], today: string): Promise<MonitorRow[]> {
    const calendar = await loadCalendar(db);
    const holders = await roleHolders(db, rows.map((r) => r.region_id), rows.flatMap((r) => r.responsible_roles.split(',')));
    return rows.map((r) => presentClock(r, names, holders, calendar, today));
  }

  router.get('/supervision', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'view_overview', null));
    web.render(ctx, 'supervision/overview.njk', await supervisionOverview(db, actor, deps));
  });

  router.get('/supervision/deadlines', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'view_deadlines', null));
    const query = monitorList.parse(ctx.query);
    const today = businessDate();
    const { rows, total } = await monitorList.page<ClockRow>(openClocksQuery(db, actor, query.filters, today), query);
    const months = monthsEndingWith(today.slice(0, 7));
    const closed = await closedClocksSince(db, actor, months[0]!, query.filters);
    web.render(ctx, 'supervision/deadlines.njk', {
      title: '限时办理监控',
      rows: await present(rows, today),
      links: monitorList.links(query, total),
      filter: query.filters,
      choices: { rules: names.choices(), units: await clockRegions(db, actor) },
      timeliness: timelinessTable(closed, today),
      timelinessMonths: TIMELINESS_MONTHS,
    });
  });

  router.get('/supervision/deadlines/export.xlsx', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'export_deadlines', null));
    const query = monitorList.parse(ctx.query);
    const today = businessDate();
    const rows = await present(await monitorList.all<ClockRow>(openClocksQuery(db, actor, query.filters, today), query), today);
    const { rule, unit, overdue } = query.filters;
    const file = await listWorkbook(
      {
        title: '限时办理监控',
        filter: describeFilters([['类别', chosen(names.choices(), rule)], ['责任单位', chosen(await clockRegions(db, actor), unit)], ['只看逾期', overdue && '是']]),
        sort: monitorList.describeSort(query),
        by: actor.displayName,
      },
      [
        { header: '事项', width: 40, value: (r: MonitorRow) => r.title },
        { header: '模块', width: 14, value: (r) => r.module },
        { header: '类别', width: 20, value: (r) => r.rule },
        { header: '责任单位', width: 14, value: (r) => r.unit },
        { header: '责任岗位', width: 24, value: (r) => r.roles },
        { header: '岗位人员', width: 24, value: (r) => r.people },
        { header: '开始日期', width: 12, value: (r) => r.startedOn },
        { header: '时限', width: 12, value: (r) => r.length },
        { header: '到期日期', width: 12, value: (r) => r.dueOn },
        { header: '逾期工作日', width: 10, value: (r) => (r.overdue ? r.daysLate : '') },
      ],
      rows,
    );
    await inTransaction(db, (trx) => recordAudit(trx, actor, { action: 'supervision.deadlines.export', summary: file.summary }));
    web.sendFile(ctx, file.fileName, XLSX_TYPE, file.body);
  });
}
