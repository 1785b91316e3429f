import type Router from '@koa/router';
import { ApiRefusal, apiClient, errorResponses, importResponses, jsonBody, jsonResponse, rowErrors } from '../../core/api.ts';
import type { Core } from '../../core/context.ts';
import { ValidationError } from '../../core/errors.ts';
import { requireId, validate } from '../../core/http/validate.ts';
import { bankRounds, delivered, payoutFile, payoutHeaders } from './commands.ts';
import { sendToBank, signatureHeader, signedBody, signedRequest } from './signed-api.ts';
import { payoutQuerySchema } from './schemas.ts';
import { PAYOUT_FORMATS } from './payout.ts';
import { supplementsOf } from './queries.ts';
import { accountCheckFile, accountChecksOfBank, postAccountAnswers } from './account-checks.ts';
import { ACCOUNT_VERDICTS } from '../batch/index.ts';
import { isoWithOffset } from '../../core/dates.ts';
import { FAILURE_CODES, postResults } from './results.ts';
import { noticeApi } from './notice-routes.ts';
import { budgetApi } from './budget-api.ts';

/** The result file's columns as the results API's properties (the rules are the file's, results.ts). */
const RESULT_PROPERTIES = { 流水号: 'ref', '金额（分）': 'amountFen', 结果: 'result', 失败代码: 'code', 失败原因: 'reason' };

const checkIdParameter = { name: 'checkId', in: 'path', required: true, description: '账户核验编号', schema: { type: 'integer', minimum: 1 } };

const roundIdParameter = { name: 'roundId', in: 'path', required: true, description: '发放批次编号', schema: { type: 'integer', minimum: 1 } };

/** The agent bank's machine API: the rounds released to it and their payout files (token purpose 'bank'). */
export function bankApi(core: Core) {
  const notices = noticeApi(core);
  const budget = budgetApi(core);
  return {
    schemas: budget.schemas,
    routes(router: Router) {
      notices.routes(router);
      router.get('/account-checks', async (ctx) => {
        ctx.body = { checks: (await accountChecksOfBank(core.db, apiClient(ctx))).map((c) => ({ checkId: c.id, roundId: c.round_id, roundTitle: c.round_title, state: c.state, lines: c.lines, requestedAt: isoWithOffset(c.requested_at) })) };
      });
      router.get('/account-checks/:checkId/list', async (ctx) => {
        const file = await accountCheckFile(core, { client: apiClient(ctx) }, requireId(ctx.params.checkId, '账户核验'));
        ctx.set({ 'X-Signature-SM2': file.signature.signature, 'X-Signature-Key': file.signature.key });
        sendToBank(ctx, delivered({ fileName: file.fileName, contentType: 'text/csv; charset=utf-8', body: file.body }, file.encryptFor));
      });
      router.post('/account-checks/:checkId/answers', async (ctx) => {
        const checkId = requireId(ctx.params.checkId, '账户核验');
        const body = (ctx.request.body ?? {}) as { answers?: unknown };
        if (!Array.isArray(body.answers) || body.answers.length === 0) throw new ValidationError({ answers: '应为非空数组' });
        const outcome = await signedRequest(() => postAccountAnswers(core, apiClient(ctx), checkId, body.answers as never[], signedBody(ctx)));
        if (!outcome.ok) throw new ApiRefusal(rowErrors(outcome.errors, { 核验编号: 'ref', 核验结果: 'result', 说明: 'note' }));
        ctx.status = outcome.repeated ? 200 : 201;
        ctx.body = outcome;
      });
      budget.routes(router);
      router.get('/payouts', async (ctx) => {
        const rounds = await bankRounds(core, { client: apiClient(ctx) });
        ctx.body = {
          rounds: await Promise.all(
            rounds.map(async (r) => ({ roundId: r.id, title: r.title, period: r.period, state: r.state, supplements: (await supplementsOf(core.db, r.id, { fetchableOnly: true })).map((s) => ({ seq: s.seq, lines: s.lines, amountFen: s.amount_fen })) })),
          ),
        };
      });
      router.get('/payouts/:roundId', async (ctx) => {
        const roundId = requireId(ctx.params.roundId, '发放批次');
        const payout = await payoutFile(core, { client: apiClient(ctx) }, roundId, String(ctx.query.format ?? 'csv'), validate(payoutQuerySchema, ctx.query).supplement);
        ctx.set(payoutHeaders(payout));
        sendToBank(ctx, delivered(payout, payout.encryptFor));
      });
      router.post('/payouts/:roundId/results', async (ctx) => {
        const roundId = requireId(ctx.params.roundId, '发放批次');
        const body = (ctx.request.body ?? {}) as { results?: unknown };
        if (!Array.isArray(body.results) || body.results.length === 0) throw new ValidationError({ results: '应为非空数组' });
        const outcome = await signedRequest(() => postResults(core, apiClient(ctx), roundId, body.results as never[], signedBody(ctx)));
        if (!outcome.ok) throw new ApiRefusal(rowErrors(outcome.errors, RESULT_PROPERTIES));
        ctx.status = outcome.repeated ? 200 : 201;
        ctx.body = outcome;
      });
    },
    openapi: {
      ...notices.openapi,
      '/account-checks': {
        get: {
          operationId: 'listAccountChecks',
          tags: ['bank'],
          summary: '发给本机构的账户核验',
          description: '令牌用途须为“代发银行”，并指定本机构。待回复的在前。格式说明：/help/formats/account-check-format。',
          responses: {
            '200': jsonResponse('账户核验', {
              type: 'object',
              required: ['checks'],
              properties: {
                checks: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['checkId', 'roundId', 'roundTitle', 'state', 'lines', 'requestedAt'],
                    properties: {
                      checkId: { type: 'integer' },
                      roundId: { type: 'integer' },
                      roundTitle: { type: 'string' },
                      state: { type: 'string', enum: ['sent', 'answered'], description: 'sent 待回复，answered 已回复' },
                      lines: { type: 'integer' },
                      requestedAt: { type: 'string', format: 'date-time' },
                    },
                  },
                },
              },
            }),
            ...errorResponses(401, 403),
          },
        },
      },
      '/account-checks/{checkId}/list': {
        get: {
          operationId: 'getAccountCheckList',
          tags: ['bank'],
          summary: '下载账户核验名单',
          description: '与页面下载的名单相同（CSV，含完整身份证号码和账号），每次下载记入审计日志；响应头为平台的 SM2 签名。代发协议约定加密时，响应体为以银行公钥加密的数字信封（见 /help/formats/signature-format）。',
          parameters: [checkIdParameter],
          responses: {
            '200': {
              description: '账户核验名单（附件）',
              headers: {
                'X-Signature-SM2': { required: true, description: '平台对名单的 SM2 签名（DER，十六进制）', schema: { type: 'string', pattern: '^30[0-9a-f]+$' } },
                'X-Signature-Key': { required: true, description: '签名公钥的指纹', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
                'X-Encryption': { description: '加密时：SM4-CBC', schema: { type: 'string', enum: ['SM4-CBC'] } },
                'X-Encryption-Key-Id': { description: '加密时：所用银行公钥的指纹', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
              },
              content: { 'text/csv; charset=utf-8': { schema: { type: 'string' } }, 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
            },
            ...errorResponses(401, 403, 404),
          },
        },
      },
      '/account-checks/{checkId}/answers': {
        post: {
          operationId: 'postAccountCheckAnswers',
          tags: ['bank'],
          summary: '提交账户核验结果',
          description: '与上传核验结果文件的规则相同：名单中每一行恰好一条，整批检查，有一条不符则整批不导入；同一批结果重复提交不做任何更改。核验结果不是 ok 的，note 必填。代发协议要求银行签名时，须在 X-Signature-SM2 中给出对请求体的签名。',
          parameters: [checkIdParameter, signatureHeader],
          requestBody: jsonBody({
            type: 'object',
            required: ['answers'],
            properties: {
              answers: {
                type: 'array',
                minItems: 1,
                items: {
                  type: 'object',
                  required: ['ref', 'result'],
                  properties: {
                    ref: { type: 'string', description: '核验名单中的核验编号，如 V7-3401' },
                    result: { type: 'string', enum: Object.keys(ACCOUNT_VERDICTS), description: Object.entries(ACCOUNT_VERDICTS).map(([k, v]) => `${k} ${v}`).join('；') },
                    note: { type: 'string', maxLength: 200, description: '说明（结果不是 ok 时必填）' },
                  },
                },
              },
            },
          }),
          responses: importResponses(
            { type: 'object', required: ['ok', 'repeated', 'verified', 'wrong'], properties: { ok: { const: true }, repeated: { type: 'boolean' }, verified: { type: 'integer', description: '一致的笔数' }, wrong: { type: 'integer', description: '有误的笔数' } } },
            404,
            409,
          ),
        },
      },
      ...budget.openapi,
      '/payouts': {
        get: {
          operationId: 'listPayoutRounds',
          tags: ['bank'],
          summary: '下达给本机构的发放批次',
          description: '令牌用途须为“代发银行”，并指定本机构。含每个批次可下载的补充代发文件。',
          responses: {
            '200': jsonResponse('发放批次，新的在前', {
              type: 'object',
              required: ['rounds'],
              properties: {
                rounds: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['roundId', 'title', 'period', 'state', 'supplements'],
                    properties: {
                      roundId: { type: 'integer' },
                      title: { type: 'string' },
                      period: { type: 'string', description: '期间，如 2026 或 2026-10' },
                      state: { type: 'string', enum: ['released', 'transferred'], description: 'released 已下达待拨付，transferred 资金已拨付到本机构' },
                      supplements: {
                        type: 'array',
                        items: { type: 'object', required: ['seq', 'lines', 'amountFen'], properties: { seq: { type: 'integer', minimum: 1 }, lines: { type: 'integer' }, amountFen: { type: 'integer', description: '金额（分）' } } },
                      },
                    },
                  },
                },
              },
            }),
            ...errorResponses(401, 403),
          },
        },
      },
      '/payouts/{roundId}': {
        get: {
          operationId: 'getPayoutFile',
          tags: ['bank'],
          summary: '下载代发文件',
          description: '与页面下载的文件相同（按下达时间生成，每次下载内容一致）；响应头 X-Checksum-SM3 为文件的 SM3 校验值，X-Signature-SM2 为平台的 SM2 签名。代发协议约定加密时，响应体为以银行公钥加密的数字信封（application/octet-stream，响应头 X-Encryption），校验值和签名对应解密后的文件。格式说明：/help/formats/payout-file-format、/help/formats/signature-format。每次下载记入审计日志。',
          parameters: [
            roundIdParameter,
            { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: PAYOUT_FORMATS.map((f) => f.code), default: 'csv' } },
            { name: 'supplement', in: 'query', required: false, description: '补充代发文件序号（修正后再次发送的明细，流水号带发放次数）；不填为原代发文件', schema: { type: 'integer', minimum: 1 } },
          ],
          responses: {
            '200': {
              description: '代发文件（附件）',
              headers: {
                'X-Checksum-SM3': { required: true, description: '文件的 SM3 校验值（64 位十六进制）', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
                'X-Signature-SM2': { required: true, description: '平台对文件的 SM2 签名（SM3 杂凑，用户标识 1234567812345678，DER 编码，十六进制）；格式见 /help/formats/signature-format', schema: { type: 'string', pattern: '^30[0-9a-f]+$' } },
                'X-Signature-Key': { required: true, description: '签名公钥的指纹（公钥的 SM3，十六进制）', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
                'X-Encryption': { description: '加密时：SM4-CBC（数字信封，见 /help/formats/signature-format）；不加密时无此响应头', schema: { type: 'string', enum: ['SM4-CBC'] } },
                'X-Encryption-Key-Id': { description: '加密时：所用银行公钥的指纹（公钥的 SM3，十六进制）', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
              },
              content: Object.fromEntries([...new Set([...PAYOUT_FORMATS.map((f) => f.contentType), 'application/octet-stream'])].map((type) => [type, { schema: { type: 'string', contentMediaType: type } }])),
            },
            ...errorResponses(401, 403, 404, 409, 422),
          },
        },
      },
      '/payouts/{roundId}/results': {
        post: {
          operationId: 'postPayoutResults',
          tags: ['bank'],
          summary: '提交回盘结果',
          description: '与上传回盘文件的规则相同（格式说明：/help/formats/result-file-format）：整批检查，有一条不符则整批不导入，可分次提交，同一批结果重复提交不做任何更改。资金拨付到本机构后才能提交。代发协议要求银行签名时，须在 X-Signature-SM2 中给出对请求体的签名。',
          parameters: [roundIdParameter, signatureHeader],
          requestBody: jsonBody({
            type: 'object',
            required: ['results'],
            properties: {
              results: {
                type: 'array',
                minItems: 1,
                items: {
                  type: 'object',
                  required: ['ref', 'amountFen', 'result'],
                  properties: {
                    ref: { type: 'string', description: '代发文件中的流水号' },
                    amountFen: { type: 'integer', description: '金额（分），与代发文件相同' },
                    result: { type: 'string', enum: ['paid', 'failed'] },
                    code: { type: 'string', enum: Object.keys(FAILURE_CODES), description: '失败代码（失败时必填）' },
                    reason: { type: 'string', description: '失败原因（失败代码为 F99 时必填）' },
                  },
                },
              },
            },
          }),
          responses: importResponses(outcomeSchema, 404, 409),
        },
      },
    },
  };
}

const outcomeSchema = {
  type: 'object',
  required: ['ok', 'repeated', 'rows', 'paid', 'failed', 'unchanged'],
  properties: { ok: { const: true }, repeated: { type: 'boolean' }, rows: { type: 'integer' }, paid: { type: 'integer' }, failed: { type: 'integer' }, unchanged: { type: 'integer', description: '此前已登记、结果相同的条数' } },
};
