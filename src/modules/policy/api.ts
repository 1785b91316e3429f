import type Router from '@koa/router';
import { API_PURPOSES, ApiRefusal, apiClient, importResponses, jsonBody, rowErrors } from '../../core/api.ts';
import type { Core } from '../../core/context.ts';
import { ValidationError } from '../../core/errors.ts';
import { ALLOCATION_PROPERTIES, type AllocationPush, pushAllocations } from './allocation-import.ts';

/**
 * The policy module's machine API: the budget system (预算管理一体化, token purpose 'budget') pushes the allocation
 * documents (指标文件) of its county, with the rules of the file upload (allocation-import.ts,
 * docs/budget-exchange-format.md). Row numbers in errors are the items' positions from 1, fields their JSON properties.
 */
export function policyApi(core: Core) {
  return {
    routes(router: Router) {
      router.post('/allocations', async (ctx) => {
        const body = (ctx.request.body ?? {}) as { allocations?: unknown };
        if (typeof body !== 'object' || Array.isArray(body)) throw new ValidationError({ body: '请求体应为 JSON 对象' });
        const outcome = await pushAllocations(core, apiClient(ctx), Array.isArray(body.allocations) ? (body.allocations as AllocationPush[]) : []);
        if (!outcome.ok) {
          if (!Array.isArray(body.allocations) || body.allocations.length === 0) throw new ValidationError({ allocations: '应为非空数组' });
          throw new ApiRefusal(rowErrors(outcome.errors, ALLOCATION_PROPERTIES));
        }
        ctx.status = outcome.repeated ? 200 : 201;
        ctx.body = { importId: outcome.importId, repeated: outcome.repeated, rows: outcome.rows, created: outcome.created, unchanged: outcome.unchanged };
      });
    },
    openapi: {
      '/allocations': {
        post: {
          operationId: 'pushAllocations',
          tags: ['budget'],
          summary: '推送指标文件（资金指标）',
          description: `令牌用途须为“${API_PURPOSES.budget}”，按令牌所属县登记。与财政局业务科室上传指标文件的规则相同（格式说明：/help/formats/budget-exchange-format）：逐条检查，有一条不符则整批不登记；已登记且内容相同的指标文件计为未变化，同一补贴项目、年度和文号而内容不同的拒收；同一批数据重复推送不做任何更改（返回 200 和第一次的结果）。`,
          requestBody: jsonBody({
            type: 'object',
            required: ['allocations'],
            properties: {
              allocations: {
                type: 'array',
                minItems: 1,
                items: {
                  type: 'object',
                  required: ['itemCode', 'year', 'amountFen', 'docNumber', 'docTitle', 'docDate'],
                  properties: {
                    itemCode: { type: 'string', description: '补贴项目编码（本县政策清单中的编码）' },
                    year: { type: 'integer', minimum: 2000, maximum: 2100, description: '指标所属年度' },
                    amountFen: { type: 'integer', minimum: 1, description: '指标金额（分）' },
                    docNumber: { type: 'string', maxLength: 60, description: '指标文件文号' },
                    docTitle: { type: 'string', maxLength: 200, description: '指标文件名称' },
                    docDate: { type: 'string', format: 'date', description: '发文日期（不晚于今天）' },
                  },
                },
              },
            },
          }),
          responses: importResponses({
            type: 'object',
            required: ['importId', 'repeated', 'rows', 'created', 'unchanged'],
            properties: {
              importId: { type: 'integer', description: '本次导入的编号（重复推送时为第一次的编号）' },
              repeated: { type: 'boolean', description: '同一批数据已推送过' },
              rows: { type: 'integer', description: '记录条数' },
              created: { type: 'integer', description: '新登记的指标文件条数' },
              unchanged: { type: 'integer', description: '此前已登记、内容相同的条数' },
            },
          }),
        },
      },
    },
  };
}
