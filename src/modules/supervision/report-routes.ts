import type Router from '@koa/router';
import type { Context } from 'koa';
import { recordAudit } from '../../core/audit.ts';
import { businessDate } from '../../core/dates.ts';
import { inTransaction } from '../../core/db.ts';
import { XLSX_TYPE } from '../../core/downloads.ts';
import { ValidationError } from '../../core/errors.ts';
import { validate } from '../../core/http/validate.ts';
import { type ExportColumn, describeFilters, listWorkbook } from '../../core/lists.ts';
import { formatYuan } from '../../core/money.ts';
import { barChartSvg } from '../../core/web/svg-chart.ts';
import type { Web } from '../../core/web/web.ts';
import { can } from './policy.ts';
import { FIGURES, FIGURE_LABELS, REPORT_GROUPS, type Report, type ReportParams, type ReportRow, buildReport, medianText, presentReportRow, reportParams, reportQuerySchema } from './reports.ts';

const REPORT_TITLE = '发放统计报表';

/** The report's choices in words, for the page's heading, the workbook's title row and the export's audit row. */
const describe = (p: ReportParams) => describeFilters([['分组', REPORT_GROUPS[p.group]], ['期间', p.periodLabel], ['到账时限', `${p.days}个工作日`]]);

/** The query string kept by the export link and the charts' heading (what the form submitted, normalised). */
function queryOf(p: ReportParams): string {
  const q = new URLSearchParams({ group: p.group });
  if (p.periodLabel.endsWith('年')) q.set('year', p.from.slice(0, 4));
  else {
    q.set('from', p.from);
    q.set('to', p.to);
  }
  q.set('days', String(p.days));
  return q.toString();
}

/** The workbook's columns: each figure's count, its amount in fen (integer) and in 元; then the timeliness. */
function columns(days: number): ExportColumn<ReportRow>[] {
  const cols: ExportColumn<ReportRow>[] = [{ header: '分组', width: 28, value: (r) => r.label }];
  for (const f of FIGURES) {
    cols.push({ header: `${FIGURE_LABELS[f]}笔数`, width: 12, value: (r) => r[f].count });
    cols.push({ header: `${FIGURE_LABELS[f]}金额（分）`, width: 16, value: (r) => r[f].fen });
    cols.push({ header: `${FIGURE_LABELS[f]}金额（元）`, width: 16, value: (r) => formatYuan(r[f].fen) });
  }
  cols.push({ header: '到账工作日中位数', width: 14, value: (r) => medianText(r.timeliness.median) });
  cols.push({ header: `${days}个工作日内到账笔数`, width: 16, value: (r) => r.timeliness.within });
  cols.push({ header: `${days}个工作日内到账比例`, width: 16, value: (r) => r.timeliness.share ?? '—' });
  return cols;
}

/** The two charts: amounts paid per group, and the share paid within N working days. */
function charts(report: Report): string[] {
  const group = REPORT_GROUPS[report.params.group];
  return [
    barChartSvg({
      title: `按${group}的发放成功金额（元）`,
      desc: `${report.params.periodLabel}各${group}发放成功的金额，单位元；共 ${report.rows.length} 项，合计 ${formatYuan(report.totals.paid.fen)} 元。`,
      bars: report.rows.map((r) => ({ label: r.label, value: r.paid.fen, text: formatYuan(r.paid.fen) })),
    }),
    barChartSvg({
      title: `按${group}的 ${report.params.days} 个工作日内到账比例`,
      desc: `${report.params.periodLabel}各${group}的计划发放笔数中，自批次下达起 ${report.params.days} 个工作日内发放成功的比例；合计 ${report.totals.timeliness.share ?? '—'}。`,
      bars: report.rows.map((r) => ({ label: r.label, value: r.planned.count ? r.timeliness.within / r.planned.count : 0, text: r.timeliness.share ?? '—' })),
    }),
  ];
}

/**
 * The supervision reports (发放统计报表): /supervision/reports (a GET form: the URL is the report) and its workbook.
 * Read-only; the figures are reports.ts's, in the actor's region scope.
 */
export function reportRoutes(router: Router, web: Web): void {
  const { db } = web.core;

  router.get('/supervision/reports', async (ctx: Context) => {
    const actor = await web.permit(ctx, (a) => can(a, 'view_reports', null));
    const today = businessDate();
    let params: ReportParams;
    try {
      params = reportParams(validate(reportQuerySchema, ctx.query), today);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return web.render(ctx, 'supervision/reports.njk', { title: REPORT_TITLE, groups: groupChoices(), errors: err.fieldErrors, values: ctx.query, report: null }, 422);
    }
    const report = await buildReport(db, actor, params);
    web.render(ctx, 'supervision/reports.njk', {
      title: REPORT_TITLE,
      groups: groupChoices(),
      values: { group: params.group, year: ctx.query.from ? '' : params.from.slice(0, 4), from: ctx.query.from ? params.from : '', to: ctx.query.from ? params.to : '', days: String(params.days) },
      report: {
        description: describe(params),
        group: REPORT_GROUPS[params.group],
        days: params.days,
        labels: FIGURES.map((f) => FIGURE_LABELS[f]),
        rows: report.rows.map(presentReportRow),
        totals: presentReportRow(report.totals),
        rounds: report.roundIds.length,
        unknownYears: report.unknownYears,
        charts: charts(report),
        exportHref: `/supervision/reports/export.xlsx?${queryOf(params)}`,
      },
    });
  });

  router.get('/supervision/reports/export.xlsx', async (ctx: Context) => {
    const actor = await web.permit(ctx, (a) => can(a, 'export_reports', null));
    const params = reportParams(validate(reportQuerySchema, ctx.query), businessDate());
    const report = await buildReport(db, actor, params);
    const file = await listWorkbook({ title: REPORT_TITLE, filter: describe(params), sort: `按${REPORT_GROUPS[params.group]}名称排列，末行合计`, by: actor.displayName }, columns(params.days), [...report.rows, report.totals]);
    await inTransaction(db, (trx) => recordAudit(trx, actor, { action: 'supervision.reports.export', summary: { ...file.summary, rounds: report.roundIds.length } }));
    web.sendFile(ctx, file.fileName, XLSX_TYPE, file.body);
  });
}

const groupChoices = () => Object.entries(REPORT_GROUPS).map(([value, label]) => ({ value, label }));
