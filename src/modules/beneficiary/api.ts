import type Router from '@koa/router';
import { ApiRefusal, apiClient, jsonBody, importResponses, rowErrors } from '../../core/api.ts';
import type { Core } from '../../core/context.ts';
import { ValidationError } from '../../core/errors.ts';
import { REFERENCE_SOURCES, type ReferencePush, pushReferenceSnapshot, referenceProperties } from './reference.ts';

/**
 * The registry's machine API: the data-sharing platform pushes a reference snapshot (same rules as the file
 * upload, docs/reference-data-format.md). Row numbers in errors are the records' positions from 1.
 */
export function beneficiaryApi(core: Core) {
  return {
    routes(router: Router) {
      router.post('/reference-snapshots', async (ctx) => {
        const body = (ctx.request.body ?? {}) as Partial<ReferencePush>;
        if (typeof body !== 'object' || Array.isArray(body)) throw new ValidationError({ body: '请求体应为 JSON 对象' });
        const outcome = await pushReferenceSnapshot(core, apiClient(ctx), { source: body.source as ReferencePush['source'], takenOn: String(body.takenOn ?? ''), people: body.people as ReferencePush['people'] });
        if (!outcome.ok) throw new ApiRefusal(rowErrors(outcome.errors, referenceProperties(body.source as ReferencePush['source'])));
        ctx.status = outcome.repeated ? 200 : 201;
        ctx.body = { snapshotId: outcome.snapshotId, repeated: outcome.repeated, rows: outcome.rows, matched: outcome.matched, takenOn: outcome.takenOn };
      });
    },
    openapi: {
      '/reference-snapshots': {
        post: {
          operationId: 'pushReferenceSnapshot',
          tags: ['reference'],
          summary: '推送部门共享数据（比对数据）',
          description: '令牌用途须为“部门共享数据推送”，按令牌所属县比对受益对象档案，只保存比对上的人员。整批通过检查才导入；同一批数据重复推送不做任何更改（返回 200 和原快照）。',
          requestBody: jsonBody({
            type: 'object',
            required: ['source', 'takenOn', 'people'],
            properties: {
              source: { type: 'string', enum: Object.keys(REFERENCE_SOURCES), description: Object.entries(REFERENCE_SOURCES).map(([k, v]) => `${k}：${v.label}`).join('；') },
              takenOn: { type: 'string', format: 'date', description: '数据截止日期' },
              people: {
                type: 'array',
                minItems: 1,
                items: {
                  type: 'object',
                  required: ['name', 'idNumber'],
                  properties: {
                    name: { type: 'string' },
                    idNumber: { type: 'string', description: '18 位身份证号码' },
                    date: { type: 'string', description: '死亡日期、迁出日期、享受起始日期或入职日期（财政供养人员可空）' },
                    detail: { type: 'string', description: '迁往地、救助项目或工作单位，最多 100 字' },
                  },
                },
              },
            },
          }),
          responses: importResponses(snapshotSchema),
        },
      },
    },
  };
}

const snapshotSchema = {
  type: 'object',
  required: ['snapshotId', 'repeated', 'rows', 'matched', 'takenOn'],
  properties: { snapshotId: { type: 'integer' }, repeated: { type: 'boolean' }, rows: { type: 'integer' }, matched: { type: 'integer', description: '比对上本县受益对象的人数' }, takenOn: { type: 'string', format: 'date' } },
};
