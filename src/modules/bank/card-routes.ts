import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { ConflictError, ValidationError } from '../../core/errors.ts';
import { uploadedFile } from '../../core/http/upload.ts';
import { parseId, requireId } from '../../core/http/validate.ts';
import type { Web } from '../../core/web/web.ts';
import { NOT_ON_CARD_KIND_CHOICES, NOT_ON_CARD_REASON_CHOICES, type NotOnCardRow, defineNotOnCardList, notOnCardQuery, peopleWithoutAccount, presentNotOnCard } from '../beneficiary/index.ts';
import { recordAudit } from '../../core/audit.ts';
import { inTransaction } from '../../core/db.ts';
import { XLSX_TYPE } from '../../core/downloads.ts';
import { chosen, describeFilters, listWorkbook } from '../../core/lists.ts';
import { listRegionsInScope } from '../../core/regions.ts';
import { banksServing } from '../agreement/index.ts';
import { answerCardRequest, cardRequestFile, peopleAwaitingCard, sendCardRequest } from './cards.ts';
import { SignatureRefusal, bankTermsToday } from './commands.ts';
import { bankListRoutes } from './list-routes.ts';
import { can } from './policy.ts';
import { presentCardLine, presentCardRequest, presentCardRequestListRow, presentCardRequestPermissions, presentFileTerms } from './presenters.ts';
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

  // --- 社保卡优先 (qinghai 二(一)1–2): the people paid to a bank card or passbook, and the request for their 社保卡 ---

  const notOnCardList = defineNotOnCardList('/bank/not-on-card');
  const notOnCardReader = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'read_not_on_card', null));
  const villagesOf = async (actor: Actor) => (await listRegionsInScope(db, actor)).filter((r) => r.level === 'village').map((r) => ({ value: r.id, label: r.name }));

  async function notOnCardPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const query = notOnCardList.parse(ctx.query);
    const { rows, total } = await notOnCardList.page<NotOnCardRow>(notOnCardQuery(db, actor, query.filters), query);
    const awaiting = await peopleAwaitingCard(web.core, rows.map((r) => r.id));
    const station = can(actor, 'send_card_request', null).ok;
    web.render(
      ctx,
      'bank/not-on-card.njk',
      {
        title: '未使用社保卡发放的人员',
        rows: rows.map((r) => ({ ...presentNotOnCard(r), awaiting: awaiting.has(r.id) })),
        links: notOnCardList.links(query, total),
        total,
        filter: query.filters,
        villages: await villagesOf(actor),
        reasons: NOT_ON_CARD_REASON_CHOICES,
        kinds: NOT_ON_CARD_KIND_CHOICES,
        station,
        banks: station ? (await banksServing(db, actor.regionId)).map((b) => ({ value: b.id, label: b.name })) : [],
        values: {},
        ...extra,
      },
      status,
    );
  }

  router.get('/bank/not-on-card', async (ctx) => notOnCardPage(ctx, await notOnCardReader(ctx)));

  // What the filter selects, every page of it; ID numbers masked, accounts by their last digits.
  router.get('/bank/not-on-card/export.xlsx', async (ctx) => {
    const actor = await notOnCardReader(ctx);
    const query = notOnCardList.parse(ctx.query);
    const rows = (await notOnCardList.all<NotOnCardRow>(notOnCardQuery(db, actor, query.filters), query)).map(presentNotOnCard);
    const { name, villageId, reason, kind } = query.filters;
    const file = await listWorkbook(
      {
        title: '未使用社保卡发放的人员',
        filter: describeFilters([['姓名含', name], ['村（社区）', chosen(await villagesOf(actor), villageId)], ['原因', chosen(NOT_ON_CARD_REASON_CHOICES, reason)], ['账户类型', chosen(NOT_ON_CARD_KIND_CHOICES, kind)]]),
        sort: notOnCardList.describeSort(query),
        by: actor.displayName,
      },
      [
        { header: '村（社区）', width: 14, value: (p) => p.village },
        { header: '姓名', width: 12, value: (p) => p.name },
        { header: '身份证号码（脱敏）', width: 22, value: (p) => p.idMasked },
        { header: '发放账户', width: 30, value: (p) => p.account },
        { header: '未使用社保卡原因', width: 30, value: (p) => p.reason },
      ],
      rows,
    );
    await inTransaction(db, (trx) => recordAudit(trx, actor, { action: 'bank.not_on_card.export', summary: file.summary }));
    web.sendFile(ctx, file.fileName, XLSX_TYPE, file.body);
  });

  // 申请办理社保卡: a card-opening request for the people ticked, or for all the filter selects (those already
  // waiting for the bank left out), through the one command that sends card requests.
  router.post('/bank/not-on-card/request', async (ctx) => {
    const actor = await notOnCardReader(ctx);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined || v === '' ? [] : [v]).map((x) => String(x));
    await web.formStep(
      ctx,
      '/bank/not-on-card',
      async () => {
        const bankOrgId = parseId(String(body.bankOrgId ?? ''));
        if (bankOrgId === null) throw new ValidationError({ bankOrgId: '请选择代发金融机构' });
        let ids: number[];
        let skipped = 0;
        if (body.scope === 'all') {
          const query = notOnCardList.parse(body);
          const listed = ((await notOnCardList.all<NotOnCardRow>(notOnCardQuery(db, actor, query.filters), query)) as NotOnCardRow[]).map((r) => r.id);
          const awaiting = await peopleAwaitingCard(web.core, listed);
          ids = listed.filter((id) => !awaiting.has(id));
          skipped = listed.length - ids.length;
          if (ids.length === 0) throw new ValidationError({ notOnCard: listed.length ? '筛选出的人员都已在待银行办理的开卡申请中' : '按当前筛选没有人员' });
        } else {
          const parsed = list(body.personId).map((v) => parseId(v));
          if (parsed.some((id) => id === null)) throw new ValidationError({ notOnCard: '所选人员无效，请刷新后重选' });
          ids = parsed as number[];
          if (ids.length === 0) throw new ValidationError({ notOnCard: '请勾选要办理社保卡的人员，或选择“为筛选出的全部人员申请”' });
        }
        const requestId = await sendCardRequest(web.core, actor, { bankOrgId, noAccount: [], lostIdNumbers: [], notOnCard: ids });
        return { message: `已为 ${ids.length} 人向代发金融机构申请办理社保卡${skipped ? `（另有 ${skipped} 人已在待办理的开卡申请中，未重复申请）` : ''}`, to: `/bank/card-requests/${requestId}` };
      },
      (extra, status) => notOnCardPage(ctx, actor, extra, status),
    );
  });

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
        fileTerms: presentFileTerms(await bankTermsToday(web.core, request.bank_org_id, request.county_id)),
        ...extra,
      },
      status,
    );
  }

  router.get('/bank/card-requests/:id', async (ctx) => requestPage(ctx, await reader(ctx), idParam(ctx)));

  bankListRoutes(router, web, '/bank/card-requests/:id/list.xlsx', XLSX_TYPE, async (ctx, options) => cardRequestFile(web.core, await reader(ctx), idParam(ctx), options));

  router.post('/bank/card-requests/:id/answer', async (ctx) => {
    const actor = await reader(ctx);
    const id = idParam(ctx);
    const upload = uploadedFile(ctx);
    if (!upload) return requestPage(ctx, actor, id, { answerErrors: { file: '请选择填好开卡结果的名单（.xlsx 或 .csv）' } }, 422);
    try {
      const outcome = await answerCardRequest(web.core, actor, id, upload, uploadedFile(ctx, 'signature')?.buffer ?? null);
      if (!outcome.ok) return requestPage(ctx, actor, id, { refusal: await web.importRefusal(ctx, '开卡结果', upload.name, outcome.errors, outcome.report) }, 422);
      const message = outcome.repeated ? '该文件已上传过，本次没有做任何更改' : `开卡结果已导入：已开卡 ${outcome.opened} 人（账户变更待乡镇财政所确认），未开卡 ${outcome.notOpened} 人`;
      await web.redirectWith(ctx, `/bank/card-requests/${id}`, { kind: outcome.repeated ? 'info' : 'success', message });
    } catch (err) {
      if (err instanceof SignatureRefusal) return requestPage(ctx, actor, id, { answerErrors: err.fieldErrors }, 422);
      if (!(err instanceof ConflictError)) throw err;
      await requestPage(ctx, actor, id, { conflict: err.message }, 409);
    }
  });
}
