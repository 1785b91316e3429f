import type Router from '@koa/router';
import { API_PURPOSES, apiClient, errorResponses, jsonResponse, readerOf } from '../../core/api.ts';
import type { Core } from '../../core/context.ts';
import { businessDate } from '../../core/dates.ts';
import { ForbiddenError } from '../../core/errors.ts';
import { validate } from '../../core/http/validate.ts';
import { canApiClient } from './policy.ts';
import { DEFAULT_WITHIN_DAYS, FIGURES, FIGURE_LABELS, REPORT_GROUPS, type ReportRow, buildReport, reportParams, reportQuerySchema } from './reports.ts';

/**
 * Reporting upward (Chongqing 十二, Liaoning 三(二)4): the upper level's platform pulls the figures of the
 * supervision reports (reports.ts) for its region — per policy, department, county, township or village and period,
 * counts and fen of the lines planned, paid, failed, refunded, returned and reissued, and how fast the money arrived —
 * with a token of purpose 'platform' (上级平台). The same figures as the 发放统计 page for a supervisor of that region.
 */
export function supervisionApi(core: Core) {
  return {
    routes(router: Router) {
      router.get('/reports', async (ctx) => {
        const client = apiClient(ctx);
        const decision = canApiClient(client, 'view_reports');
        if (!decision.ok) throw new ForbiddenError(decision.reason);
        const params = reportParams(validate(reportQuerySchema, ctx.query), businessDate());
        const report = await buildReport(core.db, await readerOf(core.db, client), params);
        ctx.body = {
          group: params.group,
          from: params.from,
          to: params.to,
          withinDays: params.days,
          rows: report.rows.map(reportRowJson),
          totals: reportRowJson(report.totals),
          unknownCalendarYears: report.unknownYears,
        };
      });
    },
    openapi: {
      '/reports': {
        get: {
          operationId: 'getPaymentReport',
          tags: ['platform'],
          summary: '发放统计（向上级报送）',
          description: `令牌用途须为“${API_PURPOSES.platform}”，按令牌所属地区统计：已下达代发银行的批次中，按期间（批次的所属期间）的计划发放、发放成功、发放失败、退回原账户、缴回国库和补发的笔数与金额（分），以及到账时效（自下达之日至发放成功的工作日数）。与“发放统计”页面相同。统计口径：/help/formats/report-api-format。`,
          parameters: [
            { name: 'group', in: 'query', required: false, description: Object.entries(REPORT_GROUPS).map(([k, v]) => `${k}：按${v}`).join('；'), schema: { type: 'string', enum: Object.keys(REPORT_GROUPS), default: 'policy' } },
            { name: 'year', in: 'query', required: false, description: '年度（不填 from、to 时使用；都不填为本年）', schema: { type: 'integer', minimum: 2000, maximum: 2100 } },
            { name: 'from', in: 'query', required: false, description: '起始月份，与 to 同时填写', schema: { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])$' } },
            { name: 'to', in: 'query', required: false, description: '截止月份（不早于 from，相隔不超过十年）', schema: { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])$' } },
            { name: 'days', in: 'query', required: false, description: '到账时限（工作日）', schema: { type: 'integer', minimum: 1, maximum: 60, default: DEFAULT_WITHIN_DAYS } },
          ],
          responses: {
            '200': jsonResponse('每组一行（按名称排列）和合计', {
              type: 'object',
              required: ['group', 'from', 'to', 'withinDays', 'rows', 'totals', 'unknownCalendarYears'],
              properties: {
                group: { type: 'string', enum: Object.keys(REPORT_GROUPS) },
                from: { type: 'string', description: '起始月份' },
                to: { type: 'string', description: '截止月份' },
                withinDays: { type: 'integer' },
                rows: { type: 'array', items: { $ref: '#/components/schemas/ReportRow' } },
                totals: { $ref: '#/components/schemas/ReportRow' },
                unknownCalendarYears: { type: 'array', items: { type: 'integer' }, description: '工作日历未收录的年份（这些年份按周一至周五计算时效）' },
              },
            }),
            ...errorResponses(401, 403, 422),
          },
        },
      },
    },
    schemas: {
      ReportRow: {
        type: 'object',
        required: ['key', 'label', ...FIGURES, 'timeliness'],
        properties: {
          key: { type: 'string', description: '分组的编号（合计行为空）' },
          label: { type: 'string' },
          ...Object.fromEntries(FIGURES.map((f) => [f, { $ref: '#/components/schemas/Figure', description: FIGURE_LABELS[f] }])),
          timeliness: {
            type: 'object',
            required: ['paid', 'median', 'within', 'share'],
            properties: {
              paid: { type: 'integer', description: '发放成功的笔数' },
              median: { type: ['number', 'null'], description: '自下达至发放成功的工作日数的中位数' },
              within: { type: 'integer', description: '时限内发放成功的笔数' },
              share: { type: ['string', 'null'], description: '时限内发放成功占计划笔数的比例，如 92.3%' },
            },
          },
        },
      },
      Figure: { type: 'object', required: ['count', 'fen'], properties: { count: { type: 'integer' }, fen: { type: 'integer', description: '金额（分）' } } },
    },
  };
}

function reportRowJson(row: ReportRow) {
  return { key: row.key, label: row.label, ...Object.fromEntries(FIGURES.map((f) => [f, { count: row[f].count, fen: row[f].fen }])), timeliness: row.timeliness };
}
