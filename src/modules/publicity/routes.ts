import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { requireId, validate } from '../../core/http/validate.ts';
import { publicMaskRule } from '../../core/public-mask.ts';
import { type Region, listRegionsInScope } from '../../core/regions.ts';
import { settingsAt } from '../../core/settings.ts';
import type { Web } from '../../core/web/web.ts';
import { rosterInScope } from '../batch/index.ts';
import { printSheets, publishNotice, recordPosting, savePublicitySettings, settingsCounty } from './commands.ts';
import { DEFAULT_OBJECTION_NOTE, OBJECTION_NOTE_KEY, SUPERVISION_PHONE_KEY, normaliseSheetCode } from './model.ts';
import { complaintRoutes } from './complaint-routes.ts';
import { can } from './policy.ts';
import { maskOptions, presentRosterPublicity, presentVerifiedSheet } from './presenters.ts';
import { noticeRoutes } from './notice-routes.ts';
import { paymentQueryRoutes } from './payment-query-routes.ts';
import { noticesOfRoster, postingsOf, rosterSheets, sheetsOfRoster, verifySheet } from './queries.ts';
import { postingSchema, publishSchema, sheetsQuerySchema, verifySchema } from './schemas.ts';

/** 公示: a roster's publicity sheets for staff, the county's publicity settings, and the portal's check of a printed sheet. */
export function publicityRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  /** The address a printed QR code and verification line point to: YKT_PUBLIC_URL, or the address this page was asked at. */
  // The address the sheet's QR code and text give: YKT_PUBLIC_URL, else this server as asked (Koa 3's ctx.origin is
  // the request's Origin header, absent on a download, so the sheets read "null/public/verify").
  const portal = (ctx: Context) => web.core.config.publicUrl ?? `${ctx.protocol}://${ctx.host}`;

  /**
   * A roster's publicity page: its publication (the form that publishes the notice, where the actor may), the
   * postings of the paper, the sheets to print and those printed, and every notice the roster had.
   */
  async function rosterPublicityPage(ctx: Context, actor: Actor, rosterId: number, extra: Record<string, unknown> = {}, status = 200) {
    const { roster, round } = await rosterInScope(db, actor, rosterId);
    await authorize(db, actor, can(actor, 'view_publicity', { round, roster }), { objectType: 'roster', objectId: roster.id });
    const [sheets, printed, notices] = await Promise.all([rosterSheets(db, roster, round), sheetsOfRoster(db, roster.id), noticesOfRoster(db, roster.id)]);
    const postings = await postingsOf(db, notices.map((n) => n.id));
    web.render(ctx, 'publicity/roster.njk', { title: `公示：${round.title}（${roster.township_name}）`, ...presentRosterPublicity(actor, { roster, round, sheets, printed, notices, postings }), ...extra }, status);
  }

  router.get('/publicity/rosters/:id', async (ctx) => rosterPublicityPage(ctx, web.actor(ctx), requireId(ctx.params.id, '清册')));

  router.post('/publicity/rosters/:id/publish', async (ctx) => {
    const actor = web.actor(ctx);
    const rosterId = requireId(ctx.params.id, '清册');
    await web.formStep(
      ctx,
      `/publicity/rosters/${rosterId}`,
      async () => {
        const { start, end } = await publishNotice(web.core, actor, rosterId, validate(publishSchema, ctx.request.body));
        return `已发布公示，公示期 ${start} 至 ${end}：请打印各村（社区）公示表和乡镇汇总表张贴，并登记张贴情况`;
      },
      (extra, status) => rosterPublicityPage(ctx, actor, rosterId, { ...extra, posted: 'publish' }, status),
    );
  });

  router.post('/publicity/rosters/:id/notices/:nid/postings', async (ctx) => {
    const actor = web.actor(ctx);
    const rosterId = requireId(ctx.params.id, '清册');
    const noticeId = requireId(ctx.params.nid, '公示');
    await web.formStep(
      ctx,
      `/publicity/rosters/${rosterId}`,
      async () => {
        const { repeated } = await recordPosting(web.core, actor, rosterId, noticeId, validate(postingSchema, ctx.request.body));
        return repeated ? { message: '该张贴情况此前已登记，未重复记录', kind: 'info' } : '已登记张贴情况';
      },
      (extra, status) => rosterPublicityPage(ctx, actor, rosterId, { ...extra, posted: 'posting' }, status),
    );
  });

  router.get('/publicity/rosters/:id/sheets.pdf', async (ctx) => {
    const { village } = validate(sheetsQuerySchema, ctx.query);
    const file = await printSheets(web.core, web.actor(ctx), requireId(ctx.params.id, '清册'), { village }, portal(ctx));
    web.sendFile(ctx, file.fileName, 'application/pdf', file.body);
  });

  router.get('/publicity/rosters/:id/summary.pdf', async (ctx) => {
    const file = await printSheets(web.core, web.actor(ctx), requireId(ctx.params.id, '清册'), 'summary', portal(ctx));
    web.sendFile(ctx, file.fileName, 'application/pdf', file.body);
  });

  async function townshipsOf(actor: Actor, county: Region | null): Promise<Region[]> {
    if (!county) return [];
    return (await listRegionsInScope(db, actor)).filter((r) => r.parent_id === county.id && r.level === 'township');
  }

  async function settingsPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const county = await settingsCounty(web.core, actor);
    const townships = await townshipsOf(actor, county);
    let values: Record<string, unknown> = {};
    if (county) {
      const [rule, own, phones] = await Promise.all([
        publicMaskRule(db, county.id),
        settingsAt(db, county.id, [OBJECTION_NOTE_KEY, SUPERVISION_PHONE_KEY]),
        Promise.all(townships.map(async (t) => [`phone_${t.id}`, (await settingsAt(db, t.id, [SUPERVISION_PHONE_KEY])).get(SUPERVISION_PHONE_KEY) ?? ''] as const)),
      ]);
      values = { idMask: rule.id, nameMask: rule.name, objectionNote: own.get(OBJECTION_NOTE_KEY) ?? DEFAULT_OBJECTION_NOTE, countyPhone: own.get(SUPERVISION_PHONE_KEY) ?? '', ...Object.fromEntries(phones) };
    }
    web.render(ctx, 'publicity/settings.njk', { title: '公示设置', county, townships, maskOptions, values, errors: {}, ...extra }, status);
  }

  router.get('/publicity/settings', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'set_publicity_settings', null));
    await settingsPage(ctx, actor);
  });

  router.post('/publicity/settings', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'set_publicity_settings', null));
    const body = ctx.request.body as Record<string, unknown>;
    await web.formStep(
      ctx,
      '/publicity/settings',
      async () => {
        await savePublicitySettings(web.core, actor, body, await townshipsOf(actor, await settingsCounty(web.core, actor)));
        return '公示设置已保存：此后打印的公示表和公开页面按新的设置显示';
      },
      (extra, status) => settingsPage(ctx, actor, extra, status),
    );
  });

  // The portal (no login): the check of a printed sheet, by its code typed in or scanned from its QR code.
  router.get('/public/verify', async (ctx) => {
    const title = '核对公示表';
    let code: string | null;
    try {
      ({ code } = validate(verifySchema, ctx.query));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return web.render(ctx, 'publicity/verify.njk', { title, errors: err.fieldErrors, values: ctx.query }, 422);
    }
    if (code) return web.redirect(ctx, `/public/verify/${code}`);
    web.render(ctx, 'publicity/verify.njk', { title, errors: {}, values: {} });
  });

  router.get('/public/verify/:code', async (ctx) => {
    const code = normaliseSheetCode(ctx.params.code ?? '');
    const found = code ? await verifySheet(db, code) : null;
    if (!found) throw new NotFoundError('没有这个验证码的公示表：请核对验证码，或向乡镇（街道）咨询');
    web.render(ctx, 'publicity/verified.njk', { title: `公示表核对：${found.content.title}`, ...presentVerifiedSheet(found.sheet.code, found.content, found.status, found.sheet.created_at) });
  });

  complaintRoutes(router, web);

  paymentQueryRoutes(router, web);

  noticeRoutes(router, web);
}
