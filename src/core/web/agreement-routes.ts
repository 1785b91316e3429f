import type Router from '@koa/router';
import type { Context } from 'koa';
import { listAgreements, recordAgreement } from '../agreements.ts';
import type { Actor } from '../auth/roles.ts';
import { hasRole } from '../auth/roles.ts';
import { ValidationError } from '../errors.ts';
import { validate } from '../http/validate.ts';
import { regionLineage, findRegion } from '../regions.ts';
import { agreementSchema } from './schemas.ts';
import type { Web } from './web.ts';

/** 代发协议: the county's agent bank agreements; the finance section records them, the money roles read them. */
export function agreementRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const readers = ['finance_section', 'treasury', 'bank', 'department', 'supervisor'] as const;

  async function countyOf(actor: Actor) {
    const region = await findRegion(db, actor.regionId);
    return region ? (await regionLineage(db, region)).find((r) => r.level === 'county') : undefined;
  }

  async function page(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const county = await countyOf(actor);
    const agreements = county ? await listAgreements(db, county.id) : [];
    const canRecord = hasRole(actor, 'finance_section') && county?.id === actor.regionId;
    web.render(
      ctx,
      'core/agreements.njk',
      {
        title: '代发协议',
        agreements: agreements.map((a) => ({ ...a, services: [a.free_sms ? '免费短信告知' : '', a.free_withdrawal ? '免费取款' : ''].filter(Boolean).join('、') || '无' })),
        canRecord,
        banks: canRecord ? (await db('core_org').where({ kind: 'bank', region_id: county!.id }).orderBy('id').select('id', 'name')).map((b: { id: number; name: string }) => ({ value: b.id, label: b.name })) : [],
        townships: canRecord ? await db('core_region').where({ parent_id: county!.id, level: 'township' }).orderBy('id').select('id', 'name') : [],
        values: { freeSms: 'on', freeWithdrawal: 'on' },
        ...extra,
      },
      status,
    );
  }

  router.get('/agreements', async (ctx) => page(ctx, await web.requireRole(ctx, readers, '代发协议仅财政、主管部门、代发银行和监督人员可以查看')));

  router.post('/agreements', async (ctx) => {
    const actor = web.actor(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      await recordAgreement(web.core, actor, validate(agreementSchema, body));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return page(ctx, actor, { values: body, errors: err.fieldErrors }, 422);
    }
    await web.redirectWith(ctx, '/agreements', { kind: 'success', message: '代发协议已登记' });
  });
}
