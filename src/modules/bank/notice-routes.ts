import type Router from '@koa/router';
import type { Context } from 'koa';
import { ApiRefusal, apiClient, errorResponses, importResponses, jsonBody, rowErrors } from '../../core/api.ts';
import type { Core } from '../../core/context.ts';
import { businessDate, formatDateTime } from '../../core/dates.ts';
import { uploadedFile } from '../../core/http/upload.ts';
import { validate } from '../../core/http/validate.ts';
import type { Web } from '../../core/web/web.ts';
import { NOTICE_CONFIRM_DAYS, fetchNotices, importNoticeConfirmations, noticeFileCsv, noticeStateLabel, noticesOfBank, postNoticeConfirmations } from './notices.ts';
import { SignatureRefusal, bankTermsToday } from './commands.ts';
import { can } from './policy.ts';
import { signatureHeader, signedBody, signedRequest } from './signed-api.ts';
import { noticeConfirmationsSchema, noticeFetchSchema } from './schemas.ts';

/**
 * The agent bank's payment notices (docs/notice-format.md): on its page, the notice file to download and its
 * confirmations to upload; through the API, the same notices and confirmations as JSON.
 */
export function noticeRoutes(router: Router, web: Web): void {
  const bankUser = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'bank_files', null));

  async function noticesPage(ctx: Context, actor: Awaited<ReturnType<typeof bankUser>>, extra: Record<string, unknown> = {}, status = 200) {
    const { counts, latest, channels } = await noticesOfBank(web.core.db, actor.orgId!);
    const demo = web.core.config.demo;
    web.render(ctx, 'bank/notices.njk', {
      title: '补贴发放告知',
      counts: { queued: counts.queued ?? 0, handed: counts.handed ?? 0, sent: counts.sent ?? 0, failed: counts.failed ?? 0, logged: counts.logged ?? 0 },
      fileChannel: channels.includes('file'),
      apiChannel: channels.includes('api'),
      confirmDays: NOTICE_CONFIRM_DAYS,
      signatureRequired: Boolean((await bankTermsToday(web.core, actor.orgId!))?.requireSignature),
      notices: latest.map((n) => ({ id: n.id, text: n.text, queuedAt: formatDateTime(n.queued_at), state: noticeStateLabel(n, demo) })),
      ...extra,
    }, status);
  }

  router.get('/bank/notices', async (ctx) => noticesPage(ctx, await bankUser(ctx)));

  // The notice file: every notice on the file channel the bank has still to confirm; the new ones become handed.
  router.get('/bank/notices/file.csv', async (ctx) => {
    const actor = await bankUser(ctx);
    const notices = await fetchNotices(web.core, { actor }, 'file');
    web.sendFile(ctx, `补贴发放告知-${businessDate()}.csv`, 'text/csv; charset=utf-8', noticeFileCsv(notices));
  });

  router.post('/bank/notices/confirmations', async (ctx) => {
    const actor = await bankUser(ctx);
    const upload = uploadedFile(ctx);
    if (!upload) return noticesPage(ctx, actor, { uploadErrors: { file: '请选择告知发送结果文件（.csv 或 .xlsx）' } }, 422);
    let outcome;
    try {
      outcome = await importNoticeConfirmations(web.core, { actor }, upload, uploadedFile(ctx, 'signature')?.buffer ?? null);
    } catch (err) {
      if (!(err instanceof SignatureRefusal)) throw err;
      return noticesPage(ctx, actor, { uploadErrors: err.fieldErrors }, 422);
    }
    if (!outcome.ok) return noticesPage(ctx, actor, { refusal: await web.importRefusal(ctx, '告知发送结果导入', upload.name, outcome.errors, outcome.report) }, 422);
    const message = outcome.repeated ? '该发送结果文件已导入过，本次没有做任何更改' : `发送结果已导入：已发送 ${outcome.sent} 条，失败 ${outcome.failed} 条，已有相同结果 ${outcome.unchanged} 条`;
    await web.redirectWith(ctx, '/bank/notices', { kind: outcome.repeated ? 'info' : 'success', message });
  });
}

/** The notices through the API (token purpose 'bank'), and their OpenAPI description. */
export function noticeApi(core: Core) {
  return {
    routes(router: Router) {
      router.get('/notices', async (ctx) => {
        const { limit } = validate(noticeFetchSchema, ctx.query);
        ctx.body = { notices: await fetchNotices(core, { client: apiClient(ctx) }, 'api', limit) };
      });
      router.post('/notices/confirmations', async (ctx) => {
        const parsed = noticeConfirmationsSchema.safeParse(ctx.request.body ?? {});
        if (!parsed.success) {
          throw new ApiRefusal(parsed.error.issues.map((i) => (i.path.length >= 2 ? { row: Number(i.path[1]) + 1, field: String(i.path[2] ?? i.path[0]), message: i.message } : { field: String(i.path[0] ?? 'confirmations'), message: i.message })));
        }
        const outcome = await signedRequest(() => postNoticeConfirmations(core, { client: apiClient(ctx) }, parsed.data.confirmations, signedBody(ctx)));
        if (!outcome.ok) throw new ApiRefusal(rowErrors(outcome.errors, { 告知编号: 'noticeId', 结果: 'result', 失败原因: 'reason' }));
        ctx.status = outcome.repeated ? 200 : 201;
        ctx.body = outcome;
      });
    },
    openapi: {
      '/notices': {
        get: {
          operationId: 'listNotices',
          tags: ['bank'],
          summary: '获取待发送的补贴发放告知',
          description:
            '代发协议约定经接口发送免费短信告知时使用（格式说明：/help/formats/notice-format）。返回本机构尚未回传发送结果的告知（含此前已获取、尚未确认的），按告知编号从小到大；新获取的告知记为“已交银行待确认”。银行按流水号找到账户及其预留手机号发送短信，每个告知编号只发送一次。每次获取记入审计日志。',
          parameters: [{ name: 'limit', in: 'query', required: false, description: '最多返回条数', schema: { type: 'integer', minimum: 1, maximum: 10000, default: 10000 } }],
          responses: {
            '200': {
              description: '待发送的告知',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['notices'],
                    properties: {
                      notices: {
                        type: 'array',
                        items: {
                          type: 'object',
                          required: ['noticeId', 'ref', 'roundId', 'text', 'queuedAt'],
                          properties: { noticeId: { type: 'integer' }, ref: { type: 'string', description: '代发文件中的流水号（发放成功的那次）' }, roundId: { type: 'integer' }, text: { type: 'string', description: '短信内容' }, queuedAt: { type: 'string', format: 'date-time', description: '北京时间，带时区，如 2026-11-23T09:05:00+08:00' } },
                        },
                      },
                    },
                  },
                },
              },
            },
            ...errorResponses(401, 403, 422),
          },
        },
      },
      '/notices/confirmations': {
        post: {
          operationId: 'postNoticeConfirmations',
          tags: ['bank'],
          summary: '回传告知发送结果',
          description: '逐条回传已发送或发送失败（写明原因）。整批检查，有一条不符则整批不导入；同一批结果重复提交不做任何更改；已确认发送的告知不能改为失败，发送失败的告知重发成功后可再回传已发送。代发协议要求银行签名时，须在 X-Signature-SM2 中给出对请求体的签名。',
          parameters: [signatureHeader],
          requestBody: jsonBody({
            type: 'object',
            required: ['confirmations'],
            properties: {
              confirmations: {
                type: 'array',
                minItems: 1,
                maxItems: 10000,
                items: {
                  type: 'object',
                  required: ['noticeId', 'result'],
                  properties: { noticeId: { type: 'integer', minimum: 1 }, result: { type: 'string', enum: ['sent', 'failed'] }, reason: { type: 'string', maxLength: 200, description: '发送失败的原因（失败时必填）' } },
                },
              },
            },
          }),
          responses: importResponses(confirmationOutcome),
        },
      },
    },
  };
}

const confirmationOutcome = {
  type: 'object',
  required: ['ok', 'repeated', 'rows', 'sent', 'failed', 'unchanged'],
  properties: { ok: { const: true }, repeated: { type: 'boolean' }, rows: { type: 'integer' }, sent: { type: 'integer' }, failed: { type: 'integer' }, unchanged: { type: 'integer' } },
};
