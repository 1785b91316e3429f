import type Router from '@koa/router';
import type { Context } from 'koa';
import { type Actor, hasRole } from '../../core/auth/roles.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { parseId, validate } from '../../core/http/validate.ts';
import { listRegionsInScope } from '../../core/regions.ts';
import type { Web } from '../../core/web/web.ts';
import type { AccountKind } from './account-number.ts';
import { RELATIONS, STATUSES, correctPerson, decideChange, registerPerson, requestChange } from './commands.ts';
import { parseIdNumber } from './id-number.ts';
import { presentAccount, presentPerson, presentRequest } from './presenters.ts';
import { accountsOf, changeRequestsOf, householdMembers, pendingChanges, personInScope, searchPeople } from './queries.ts';
import { accountChangeSchema, correctionSchema, decisionSchema, idSearchSchema, registerSchema, searchSchema, statusChangeSchema } from './schemas.ts';

const PAGE_SIZE = 50;
const READERS = ['township_station', 'township_finance', 'department', 'finance_section', 'supervisor'] as const;

/** The registry's pages: search, a person's one-card page, registration, and the changes that need confirmation. */
export function beneficiaryRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const reader = (ctx: Context) => web.requireRole(ctx, READERS, '受益对象档案仅经办、审核和监督人员可以查看');

  async function villages(actor: Actor) {
    return (await listRegionsInScope(db, actor)).filter((r) => r.level === 'village').map((r) => ({ value: r.id, label: r.name }));
  }

  function personIdParam(ctx: Context): number {
    const id = parseId(ctx.params.id);
    if (id === null) throw new NotFoundError('受益对象不存在');
    return id;
  }

  async function searchPage(ctx: Context, actor: Actor, search: { name?: string | null; villageId?: number | null; idIndex?: string; page: number }, extra: Record<string, unknown> = {}, status = 200) {
    const { rows, total } = await searchPeople(db, actor, { name: search.name ?? undefined, villageId: search.villageId ?? undefined, idIndex: search.idIndex, page: search.page, pageSize: PAGE_SIZE });
    web.render(
      ctx,
      'beneficiary/search.njk',
      {
        title: '受益对象档案',
        rows: rows.map(presentPerson),
        total,
        page: search.page,
        pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
        values: { name: search.name ?? '', villageId: search.villageId ?? '' },
        query: new URLSearchParams({ name: search.name ?? '', villageId: String(search.villageId ?? '') }).toString(),
        villages: await villages(actor),
        canRegister: hasRole(actor, 'township_station'),
        ...extra,
      },
      status,
    );
  }

  router.get('/beneficiaries', async (ctx) => {
    const actor = await reader(ctx);
    await searchPage(ctx, actor, validate(searchSchema, ctx.query));
  });

  // An exact ID number search is a POST: the number never appears in a URL, a log or the browser history.
  router.post('/beneficiaries/find', async (ctx) => {
    const actor = await reader(ctx);
    const { idNumber } = validate(idSearchSchema, ctx.request.body);
    const parsed = parseIdNumber(idNumber);
    if (!parsed.ok) return searchPage(ctx, actor, { page: 1 }, { idErrors: { idNumber: parsed.error } }, 422);
    await searchPage(ctx, actor, { page: 1, idIndex: web.core.crypto.blindIndex('id', parsed.value.idNumber) }, { byId: true });
  });

  async function registerPage(ctx: Context, actor: Actor, values: Record<string, unknown>, errors?: Record<string, string>) {
    const headId = parseId(String(values.headPersonId ?? ''));
    const head = headId ? presentPerson(await personInScope(db, actor, headId)) : null;
    web.render(
      ctx,
      'beneficiary/register.njk',
      { title: head ? `登记家庭成员（户主：${head.name}）` : '登记受益对象', head, values, errors, villages: await villages(actor), relations: Object.entries(RELATIONS).map(([value, label]) => ({ value, label })) },
      errors ? 422 : 200,
    );
  }

  router.get('/beneficiaries/new', async (ctx) => {
    const actor = await web.requireRole(ctx, ['township_station'], '只有乡镇经办站所可以登记受益对象');
    const headId = parseId(String(ctx.query.head ?? ''));
    const head = headId ? await personInScope(db, actor, headId) : null;
    await registerPage(ctx, actor, head ? { headPersonId: head.id, villageId: head.village_id, relation: 'spouse', hasAccount: 'on' } : { relation: 'head', hasAccount: 'on', accountKind: 'sscard' });
  });

  router.post('/beneficiaries', async (ctx) => {
    const actor = web.actor(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      const input = validate(registerSchema, body);
      const personId = await registerPerson(web.core, actor, {
        ...input,
        account: input.hasAccount
          ? { kind: (input.accountKind ?? 'sscard') as AccountKind, bankName: input.bankName?.trim() || '（未填写）', number: input.accountNumber ?? '', holderName: input.holderName?.trim() || input.name }
          : null,
      });
      await web.redirectWith(ctx, `/beneficiaries/${personId}`, { kind: 'success', message: '已登记' });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await registerPage(ctx, actor, { ...body, idNumber: '' }, err.fieldErrors);
    }
  });

  router.get('/beneficiaries/changes', async (ctx) => {
    const actor = await web.requireRole(ctx, ['township_finance'], '变更确认仅乡镇财政所可以办理');
    web.render(ctx, 'beneficiary/changes.njk', { title: '待确认的变更', requests: (await pendingChanges(db, actor)).map(presentRequest) });
  });

  async function personPage(ctx: Context, actor: Actor, personId: number, extra: Record<string, unknown> = {}, status = 200) {
    const person = await personInScope(db, actor, personId);
    web.render(
      ctx,
      'beneficiary/person.njk',
      {
        title: person.name,
        person: presentPerson(person),
        members: person.household_id ? (await householdMembers(db, person.household_id)).map(presentPerson) : [],
        accounts: (await accountsOf(db, personId)).map(presentAccount),
        requests: (await changeRequestsOf(db, personId)).map(presentRequest),
        isStation: hasRole(actor, 'township_station'),
        isFinanceOffice: hasRole(actor, 'township_finance'),
        userId: actor.userId,
        statuses: Object.entries(STATUSES).map(([value, label]) => ({ value, label })),
        relations: Object.entries(RELATIONS).map(([value, label]) => ({ value, label })),
        correctionValues: { name: person.name, relation: person.relation, version: person.version },
        ...extra,
      },
      status,
    );
  }

  router.get('/beneficiaries/:id', async (ctx) => personPage(ctx, await reader(ctx), personIdParam(ctx)));

  router.post('/beneficiaries/:id/correct', async (ctx) => {
    const actor = web.actor(ctx);
    const personId = personIdParam(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      await correctPerson(web.core, actor, personId, validate(correctionSchema, body));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return personPage(ctx, actor, personId, { correctionErrors: err.fieldErrors, correctionValues: body }, 422);
    }
    await web.redirectWith(ctx, `/beneficiaries/${personId}`, { kind: 'success', message: '已更正' });
  });

  router.post('/beneficiaries/:id/account-change', async (ctx) => {
    const actor = web.actor(ctx);
    const personId = personIdParam(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      const input = validate(accountChangeSchema, body);
      await requestChange(web.core, actor, personId, { kind: 'account', account: { kind: input.accountKind, bankName: input.bankName, number: input.accountNumber, holderName: input.holderName } }, input.reason);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return personPage(ctx, actor, personId, { accountErrors: err.fieldErrors, accountValues: { ...body, accountNumber: '' } }, 422);
    }
    await web.redirectWith(ctx, `/beneficiaries/${personId}`, { kind: 'success', message: '账户变更已提交，待乡镇财政所确认后生效' });
  });

  router.post('/beneficiaries/:id/status-change', async (ctx) => {
    const actor = web.actor(ctx);
    const personId = personIdParam(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      const input = validate(statusChangeSchema, body);
      await requestChange(web.core, actor, personId, { kind: 'status', status: input.status, date: input.statusDate, source: input.source }, input.reason);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return personPage(ctx, actor, personId, { statusErrors: err.fieldErrors, statusValues: body }, 422);
    }
    await web.redirectWith(ctx, `/beneficiaries/${personId}`, { kind: 'success', message: '状态变更已提交，待乡镇财政所确认后生效' });
  });

  router.post('/beneficiaries/changes/:rid/decide', async (ctx) => {
    const actor = web.actor(ctx);
    const requestId = parseId(ctx.params.rid);
    if (requestId === null) throw new NotFoundError('变更申请不存在');
    const input = validate(decisionSchema, ctx.request.body);
    await decideChange(web.core, actor, requestId, { approve: input.decision === 'confirm', note: input.note });
    await web.redirectWith(ctx, '/beneficiaries/changes', { kind: 'success', message: input.decision === 'confirm' ? '已确认，变更生效' : '已退回' });
  });
}
