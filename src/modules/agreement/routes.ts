import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { validate } from '../../core/http/validate.ts';
import type { Web } from '../../core/web/web.ts';
import { recordAgreement } from './commands.ts';
import { can } from './policy.ts';
import { presentAgreement } from './presenters.ts';
import { countyOf, listAgreements, recordingChoices } from './queries.ts';
import { agreementSchema } from './schemas.ts';

/** 代发协议: the county's agent bank agreements; the finance section records them, the money roles read them. */
export function agreementRoutes(router: Router, web: Web): void {
  const { db } = web.core;

  async function page(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const county = await countyOf(db, actor.regionId);
    const canRecord = can(actor, 'record', { countyId: county?.id ?? null }).ok;
    const choices = canRecord ? await recordingChoices(db, county!.id) : { banks: [], townships: [] };
    web.render(
      ctx,
      'agreement/list.njk',
      {
        title: '代发协议',
        agreements: (county ? await listAgreements(db, county.id) : []).map(presentAgreement),
        canRecord,
        banks: choices.banks.map((b) => ({ value: b.id, label: b.name })),
        townships: choices.townships,
        values: { freeSms: 'on', freeWithdrawal: 'on' },
        ...extra,
      },
      status,
    );
  }

  router.get('/agreements', async (ctx) => page(ctx, await web.permit(ctx, (actor) => can(actor, 'read', null))));

  router.post('/agreements', async (ctx) => {
    const actor = web.actor(ctx);
    await web.formStep(
      ctx,
      '/agreements',
      async () => {
        await recordAgreement(web.core, actor, validate(agreementSchema, ctx.request.body));
        return '代发协议已登记';
      },
      (extra, status) => page(ctx, actor, extra, status),
    );
  });
}
