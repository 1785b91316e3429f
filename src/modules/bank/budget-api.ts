import type Router from '@koa/router';
import { API_PURPOSES, apiClient, errorResponses, jsonResponse } from '../../core/api.ts';
import type { Core } from '../../core/context.ts';
import { validate } from '../../core/http/validate.ts';
import { ROUND_STATES } from '../batch/index.ts';
import { VOUCHER_KINDS, budgetCounty, paymentPlans, paymentVouchers, recordBudgetExport, voucherTotals } from './budget.ts';
import { planApiSchema, voucherApiSchema } from './schemas.ts';

const dateParameter = (name: string, description: string) => ({ name, in: 'query', required: true, description, schema: { type: 'string', format: 'date' } });

/** Properties that name a voucher's or a plan's round (budget.ts). */
const roundProperties = {
  roundId: { type: 'integer', description: '发放批次号' },
  roundTitle: { type: 'string', description: '批次名称' },
  period: { type: 'string', description: '期间，如 2026、2026-09、2026-Q3' },
  itemCode: { type: 'string', description: '补贴项目编码' },
  itemName: { type: 'string', description: '补贴项目名称（批次所依据的版本）' },
  department: { type: 'string', description: '主管部门' },
};

/**
 * The budget system's reads (token purpose 'budget'): the payment vouchers of a range of dates and the payment plans of
 * a year of its county, as the 预算一体化对接 page's files (budget.ts). Each answer is audited as the token.
 */
export function budgetApi(core: Core) {
  return {
    routes(router: Router) {
      router.get('/payment-vouchers', async (ctx) => {
        const client = apiClient(ctx);
        const county = (await budgetCounty(core, { client }, null))!;
        const { from, to } = validate(voucherApiSchema, ctx.query);
        const vouchers = await paymentVouchers(core.db, county.id, from, to);
        await recordBudgetExport(core, { client }, county, { kind: 'vouchers', format: 'json', from, to, rows: vouchers.length, amountFen: vouchers.reduce((s, v) => s + v.amountFen, 0) });
        ctx.body = { county: county.name, from, to, vouchers, totals: voucherTotals(vouchers) };
      });
      router.get('/payment-plans', async (ctx) => {
        const client = apiClient(ctx);
        const county = (await budgetCounty(core, { client }, null))!;
        const { year } = validate(planApiSchema, ctx.query);
        const plans = await paymentPlans(core.db, county.id, year);
        await recordBudgetExport(core, { client }, county, { kind: 'plans', format: 'json', year, rows: plans.length, amountFen: plans.reduce((s, p) => s + p.planFen, 0) });
        ctx.body = { county: county.name, year, plans };
      });
    },
    openapi: {
      '/payment-vouchers': {
        get: {
          operationId: 'listPaymentVouchers',
          tags: ['budget'],
          summary: '支付凭证（零余额账户的资金往来）',
          description: `令牌用途须为“${API_PURPOSES.budget}”，按令牌所属县。起止日期之间（含两端，北京时间的业务日期，不超过 366 天）的每一笔：国库拨付、退回后的再次拨付、代发银行退回原账户、缴回国库。金额一律为正数（分），方向由凭证类型表示。与“预算一体化对接”页面下载的 CSV 文件相同，不含个人信息。格式：/help/formats/budget-exchange-format。每次调用记入审计日志。`,
          parameters: [dateParameter('from', '起始日期（YYYY-MM-DD）'), dateParameter('to', '截止日期（YYYY-MM-DD，不早于起始日期）')],
          responses: {
            '200': jsonResponse('按日期排列的支付凭证和按凭证类型的合计', {
              type: 'object',
              required: ['county', 'from', 'to', 'vouchers', 'totals'],
              properties: {
                county: { type: 'string', description: '县（区）' },
                from: { type: 'string', format: 'date' },
                to: { type: 'string', format: 'date' },
                vouchers: { type: 'array', items: { $ref: '#/components/schemas/PaymentVoucher' } },
                totals: {
                  type: 'object',
                  required: Object.keys(VOUCHER_KINDS),
                  properties: Object.fromEntries(Object.entries(VOUCHER_KINDS).map(([k, label]) => [k, { type: 'object', required: ['count', 'fen'], description: label, properties: { count: { type: 'integer' }, fen: { type: 'integer', description: '金额（分）' } } }])),
                },
              },
            }),
            ...errorResponses(401, 403, 422),
          },
        },
      },
      '/payment-plans': {
        get: {
          operationId: 'listPaymentPlans',
          tags: ['budget'],
          summary: '用款计划（各发放批次）',
          description: `令牌用途须为“${API_PURPOSES.budget}”，按令牌所属县。期间属于该年度、已录入用款计划的发放批次，每批次一条：计划编号、金额、日期，批次状态，已下达和已拨付金额（分）。与“预算一体化对接”页面下载的 CSV 文件相同。格式：/help/formats/budget-exchange-format。每次调用记入审计日志。`,
          parameters: [{ name: 'year', in: 'query', required: true, description: '年度（批次所属期间的年份）', schema: { type: 'integer', minimum: 2000, maximum: 2100 } }],
          responses: {
            '200': jsonResponse('按发放批次号排列的用款计划', {
              type: 'object',
              required: ['county', 'year', 'plans'],
              properties: { county: { type: 'string' }, year: { type: 'integer' }, plans: { type: 'array', items: { $ref: '#/components/schemas/PaymentPlan' } } },
            }),
            ...errorResponses(401, 403, 422),
          },
        },
      },
    },
    schemas: {
      PaymentVoucher: {
        type: 'object',
        additionalProperties: false,
        required: ['kind', 'voucherNo', 'date', 'amountFen', ...Object.keys(roundProperties), 'bank', 'paymentPlanNo', 'allocationDocs'],
        properties: {
          kind: { type: 'string', enum: Object.keys(VOUCHER_KINDS), description: Object.entries(VOUCHER_KINDS).map(([k, v]) => `${k}：${v}`).join('；') },
          voucherNo: { type: 'string', description: '凭证号（拨付凭证、退款凭证或缴款凭证）' },
          date: { type: 'string', format: 'date', description: '日期（北京时间的业务日期）' },
          amountFen: { type: 'integer', minimum: 1, description: '金额（分），一律为正数' },
          ...roundProperties,
          bank: { type: 'string', description: '代发金融机构' },
          paymentPlanNo: { type: 'string', description: '用款计划号（未录入时为空）' },
          allocationDocs: { type: 'string', description: '该补贴项目该年度的指标文件文号，以“；”分隔（未登记时为空）' },
        },
      },
      PaymentPlan: {
        type: 'object',
        additionalProperties: false,
        required: ['planNo', 'planFen', 'planDate', ...Object.keys(roundProperties), 'state', 'releasedFen', 'transferredFen'],
        properties: {
          planNo: { type: 'string', description: '用款计划号' },
          planFen: { type: 'integer', minimum: 0, description: '计划金额（分）' },
          planDate: { type: 'string', format: 'date', description: '计划日期' },
          ...roundProperties,
          state: { type: 'string', enum: Object.keys(ROUND_STATES), description: Object.entries(ROUND_STATES).map(([k, v]) => `${k}：${v}`).join('；') },
          releasedFen: { type: 'integer', minimum: 0, description: '已下达代发银行的金额（分），未下达为 0' },
          transferredFen: { type: 'integer', minimum: 0, description: '国库已拨付的金额（分，不含退回后的再次拨付）' },
        },
      },
    },
  };
}
