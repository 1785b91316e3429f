import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { ConflictError, ValidationError } from '../../core/errors.ts';
import { uploadedFile } from '../../core/http/upload.ts';
import { parseId, requireId } from '../../core/http/validate.ts';
import type { Web } from '../../core/web/web.ts';
import { peopleWithoutAccount } from '../beneficiary/index.ts';
import { banksServing } from '../agreement/index.ts';
import { answerCardRequest, cardRequestFile, sendCardRequest } from './cards.ts';
import { can } from './policy.ts';
import { presentCardLine, presentCardRequest, presentCardRequestListRow, presentCardRequestPermissions } from './presenters.ts';
import { cardRequestInScope, cardRequestLines, listCardRequests } from './queries.ts';

/** Card-opening requests (开卡申请): the station's list to the bank, the bank's download and answer. */
export function cardRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const reader = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'read_cards', null));
  const idParam = (ctx: Context) => requireId(ctx.params.id, '开卡申请');

  async function listPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const station = can(actor, 'send_card_request', null).ok;
    web.render(
      ctx,
      'bank/card-requests.njk',
      {
        title: '开卡申请',
        rows: (await listCardRequests(db, actor)).map(presentCardRequestListRow),
        station,
        isBank: can(actor, 'bank_files', null).ok,
        people: station ? await peopleWithoutAccount(db, actor.regionId) : [],
        banks: station ? (await banksServing(db, actor.regionId)).map((b) => ({ value: b.id, label: b.name })) : [],
        values: {},
        ...extra,
      },
      status,
    );
  }

  router.get('/bank/card-requests', async (ctx) => listPage(ctx, await reader(ctx)));

  router.post('/bank/card-requests', async (ctx) => {
    const actor = await reader(ctx);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined || v === '' ? [] : [v]).map((x) => String(x));
    await web.formStep(
      ctx,
      '/bank/card-requests',
      async () => {
        const ids = list(body.noAccount).map((v) => parseId(v));
        if (ids.some((id) => id === null)) throw new ValidationError({ noAccount: '所选人员无效，请刷新后重选' });
        const bankOrgId = parseId(String(body.bankOrgId ?? ''));
        if (bankOrgId === null) throw new ValidationError({ bankOrgId: '请选择代发金融机构' });
        const requestId = await sendCardRequest(web.core, actor, { bankOrgId, noAccount: ids as number[], lostIdNumbers: String(body.lostIdNumbers ?? '').split(/[\s,，;；]+/) });
        return { message: '开卡申请已发送代发金融机构', to: `/bank/card-requests/${requestId}` };
      },
      (extra, status) => listPage(ctx, actor, extra, status),
    );
  });

  async function requestPage(ctx: Context, actor: Actor, id: number, extra: Record<string, unknown> = {}, status = 200) {
    const request = await cardRequestInScope(db, actor, id);
    const lines = await cardRequestLines(db, request.id);
    web.render(
      ctx,
      'bank/card-request.njk',
      {
        title: `开卡申请 ${request.id}`,
        request: presentCardRequest(request),
        lines: lines.map(presentCardLine),
        can: presentCardRequestPermissions(actor, request),
        ...extra,
      },
      status,
    );
  }

  router.get('/bank/card-requests/:id', async (ctx) => requestPage(ctx, await reader(ctx), idParam(ctx)));

  router.get('/bank/card-requests/:id/list.xlsx', async (ctx) => {
    const file = await cardRequestFile(web.core, await reader(ctx), idParam(ctx));
    web.sendFile(ctx, file.fileName, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', file.body);
  });

  router.post('/bank/card-requests/:id/answer', async (ctx) => {
    const actor = await reader(ctx);
    const id = idParam(ctx);
    const upload = uploadedFile(ctx);
    if (!upload) return requestPage(ctx, actor, id, { conflict: '请选择填好开卡结果的名单（.xlsx 或 .csv）' }, 422);
    try {
      const outcome = await answerCardRequest(web.core, actor, id, upload);
      if (!outcome.ok) return requestPage(ctx, actor, id, { refusal: await web.importRefusal(ctx, '开卡结果', upload.name, outcome.errors, outcome.report) }, 422);
      const message = outcome.repeated ? '该文件已上传过，本次没有做任何更改' : `开卡结果已导入：已开卡 ${outcome.opened} 人（账户变更待乡镇财政所确认），未开卡 ${outcome.notOpened} 人`;
      await web.redirectWith(ctx, `/bank/card-requests/${id}`, { kind: outcome.repeated ? 'info' : 'success', message });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      await requestPage(ctx, actor, id, { conflict: err.message }, 409);
    }
  });
}
