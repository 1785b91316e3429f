import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { NotFoundError } from '../../core/errors.ts';
import { parseId, validate } from '../../core/http/validate.ts';
import type { Web } from '../../core/web/web.ts';
import { editAgreement, extendAgreement, recordAgreement, recordBreach, setBankKey, terminateAgreement } from './commands.ts';
import { can } from './policy.ts';
import { bankKeyValues, editValues, noticeChannelOptions, presentAgreement, presentAgreementPermissions, presentBankKey, procurementOptions } from './presenters.ts';
import { bankKeysOf, countyOf, findAgreement, listAgreements, listBreaches, listExtensions, recordingChoices } from './queries.ts';
import { agreementEditSchema, agreementExtendSchema, agreementSchema, agreementTerminateSchema, bankKeySchema, breachSchema } from './schemas.ts';

/** The forms of an agreement's page, each with its own errors and typed values (`<form>Errors`, `<form>Values`). */
type AgreementForm = 'edit' | 'extend' | 'terminate' | 'breach' | 'bankKey';

/** formStep's refusal (errors, values, conflict) addressed to one form of the page. */
const toForm = (form: AgreementForm, extra: Record<string, unknown>) => {
  const { errors, values, ...rest } = extra;
  return { ...rest, [`${form}Errors`]: errors, [`${form}Values`]: values };
};

/** 代发协议: the county's agent bank agreements; the finance section records and manages them, the money roles read them. */
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
        agreements: (county ? await listAgreements(db, county.id) : []).map((a) => presentAgreement(a)),
        canRecord,
        banks: choices.banks.map((b) => ({ value: b.id, label: b.name })),
        townships: choices.townships,
        procurementMethods: procurementOptions,
        noticeChannels: noticeChannelOptions,
        values: { freeSms: 'on', freeWithdrawal: 'on', dataSecurityPledged: 'on' },
        ...extra,
      },
      status,
    );
  }

  /** An agreement of the reader's county, or 404 (another county's agreement is not shown, nor said to exist). */
  async function agreementOf(ctx: Context, actor: Actor) {
    const id = parseId(ctx.params.id);
    const county = await countyOf(db, actor.regionId);
    const agreement = id ? await findAgreement(db, id) : undefined;
    if (!agreement || agreement.county_id !== county?.id) throw new NotFoundError('代发协议不存在');
    return agreement;
  }

  async function detailPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const agreement = await agreementOf(ctx, actor);
    const shown = presentAgreement(agreement);
    web.render(
      ctx,
      'agreement/detail.njk',
      {
        title: `代发协议 ${agreement.agreement_no}`,
        agreement: shown,
        can: presentAgreementPermissions(actor, agreement),
        extensions: await listExtensions(db, agreement.id),
        breaches: await listBreaches(db, agreement.id),
        procurementMethods: procurementOptions,
        noticeChannels: noticeChannelOptions,
        editValues: editValues(agreement),
        bankKeys: (await bankKeysOf(db, agreement.id)).map(presentBankKey),
        bankKeyValues: bankKeyValues(agreement),
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
        const id = await recordAgreement(web.core, actor, validate(agreementSchema, ctx.request.body));
        return { message: '代发协议已登记', to: `/agreements/${id}` };
      },
      (extra, status) => page(ctx, actor, extra, status),
    );
  });

  router.get('/agreements/:id', async (ctx) => detailPage(ctx, await web.permit(ctx, (actor) => can(actor, 'read', null))));

  const steps: { path: string; form: AgreementForm; run: (actor: Actor, id: number, body: unknown) => Promise<string> }[] = [
    { path: 'edit', form: 'edit', run: async (actor, id, body) => (await editAgreement(web.core, actor, id, validate(agreementEditSchema, body)), '代发协议条款已修改') },
    { path: 'extend', form: 'extend', run: async (actor, id, body) => (await extendAgreement(web.core, actor, id, validate(agreementExtendSchema, body)), '代发协议已延期') },
    { path: 'terminate', form: 'terminate', run: async (actor, id, body) => (await terminateAgreement(web.core, actor, id, validate(agreementTerminateSchema, body)), '代发协议已终止') },
    { path: 'bank-key', form: 'bankKey', run: async (actor, id, body) => (await setBankKey(web.core, actor, id, validate(bankKeySchema, body)), '银行公钥与签名、加密要求已保存') },
    { path: 'breaches', form: 'breach', run: async (actor, id, body) => (await recordBreach(web.core, actor, id, validate(breachSchema, body)), '违约记录已登记') },
  ];
  for (const step of steps) {
    router.post(`/agreements/:id/${step.path}`, async (ctx) => {
      const actor = web.actor(ctx);
      const agreement = await agreementOf(ctx, actor);
      await web.formStep(
        ctx,
        `/agreements/${agreement.id}`,
        () => step.run(actor, agreement.id, ctx.request.body),
        (extra, status) => detailPage(ctx, actor, toForm(step.form, extra), status),
      );
    });
  }
}
