import type Router from '@koa/router';
import { ApiRefusal, apiClient, jsonBody } from '../../core/api.ts';
import type { Core } from '../../core/context.ts';
import { ValidationError } from '../../core/errors.ts';
import { requireId, validate } from '../../core/http/validate.ts';
import { bankRounds, payoutFile } from './commands.ts';
import { payoutQuerySchema } from './schemas.ts';
import { PAYOUT_FORMATS } from './payout.ts';
import { supplementsOf } from './queries.ts';
import { FAILURE_CODES, postResults } from './results.ts';
import { noticeApi } from './notice-routes.ts';

/** The agent bank's machine API: the rounds released to it and their payout files (token purpose 'bank'). */
export function bankApi(core: Core) {
  const notices = noticeApi(core);
  return {
    routes(router: Router) {
      notices.routes(router);
      router.get('/payouts', async (ctx) => {
        const rounds = await bankRounds(core, { client: apiClient(ctx) });
        ctx.body = {
          rounds: await Promise.all(
            rounds.map(async (r) => ({ roundId: r.id, title: r.title, period: r.period, state: r.state, supplements: (await supplementsOf(core.db, r.id, { fetchableOnly: true })).map((s) => ({ seq: s.seq, lines: s.lines, amountFen: s.amount_fen })) })),
          ),
        };
      });
      router.get('/payouts/:id', async (ctx) => {
        const roundId = requireId(ctx.params.id, '发放批次');
        const payout = await payoutFile(core, { client: apiClient(ctx) }, roundId, String(ctx.query.format ?? 'csv'), validate(payoutQuerySchema, ctx.query).supplement);
        ctx.set('X-Checksum-SM3', payout.sm3);
        ctx.set('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(payout.fileName)}`);
        ctx.type = payout.contentType;
        ctx.body = payout.body;
      });
      router.post('/payouts/:id/results', async (ctx) => {
        const roundId = requireId(ctx.params.id, '发放批次');
        const body = (ctx.request.body ?? {}) as { results?: unknown };
        if (!Array.isArray(body.results) || body.results.length === 0) throw new ValidationError({ results: '应为非空数组' });
        const outcome = await postResults(core, apiClient(ctx), roundId, body.results);
        if (!outcome.ok) throw new ApiRefusal('回盘未导入：请按 errors 改正后重新提交（整批通过检查才会导入）', outcome.errors.map((e) => ({ row: e.rowNumber, field: e.field, message: e.message })));
        ctx.status = outcome.repeated ? 200 : 201;
        ctx.body = outcome;
      });
    },
    openapi: {
      ...notices.openapi,
      '/payouts': { get: { summary: '下达给本机构的发放批次', description: '令牌用途须为“代发银行”，并指定本机构。', responses: { '200': { description: '{ rounds: [{ roundId, title, period, state, supplements: [{ seq, lines, amountFen }] }] }' }, '401': { description: '缺少或无效的令牌' } } } },
      '/payouts/{roundId}/results': {
        post: {
          summary: '提交回盘结果',
          description: '与上传回盘文件的规则相同（格式说明：/help/formats/result-file-format）：整批检查，可分次提交，同一批结果重复提交不做任何更改。',
          requestBody: jsonBody({
            type: 'object',
            required: ['results'],
            properties: {
              results: {
                type: 'array',
                items: { type: 'object', required: ['ref', 'amountFen', 'result'], properties: { ref: { type: 'string' }, amountFen: { type: 'integer' }, result: { type: 'string', enum: ['paid', 'failed'] }, code: { type: 'string', enum: Object.keys(FAILURE_CODES) }, reason: { type: 'string' } } },
              },
            },
          }),
          responses: { '201': { description: '已导入 {rows, paid, failed, unchanged}' }, '200': { description: '已导入过，未做更改' }, '422': { description: '有误，未导入；errors 为 [{row, field, message}]' } },
        },
      },
      '/payouts/{roundId}': {
        get: {
          summary: '下载代发文件',
          description: '与页面下载的文件相同（按下达时间生成，每次下载内容一致）；响应头 X-Checksum-SM3 为文件的 SM3 校验值。格式说明：/help/formats/payout-file-format。每次下载记入审计日志。',
          parameters: [
            { name: 'roundId', in: 'path', required: true, schema: { type: 'integer' } },
            { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: PAYOUT_FORMATS.map((f) => f.code), default: 'csv' } },
            { name: 'supplement', in: 'query', required: false, description: '补充代发文件序号（修正后再次发送的明细，流水号带发放次数）；不填为原代发文件', schema: { type: 'integer', minimum: 1 } },
          ],
          responses: { '200': { description: '代发文件' }, '403': { description: '令牌不是代发金融机构的' }, '404': { description: '没有下达给本机构的该批次' } },
        },
      },
    },
  };
}
