import type Router from '@koa/router';
import type { Context } from 'koa';
import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { businessDate } from '../../core/dates.ts';
import { type Conn, inTransaction } from '../../core/db.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { parseId, validate } from '../../core/http/validate.ts';
import { isPathInScope, listRegionsInScope } from '../../core/regions.ts';
import type { Web } from '../../core/web/web.ts';
import { presentLifeActions, presentLifeEventFor } from './life-event-presenters.ts';
import { lifeEventInScope, lifeEventsOf, movesRegisteredBy } from './life-event-queries.ts';
import { deathSchema, headChangeSchema, lifeEventDecisionSchema, moveInSchema, moveInSearchSchema, moveSchema } from './life-event-schemas.ts';
import { LIFE_EVENT_KINDS, decideLifeEvent, personByIdNumber, placeName, registerDeath, registerHeadChange, registerMove } from './life-events.ts';
import { RELATIONS, STATUSES } from './model.ts';
import { can } from './policy.ts';
import type { PersonRow } from './repo.ts';

type PersonPage = (ctx: Context, actor: Actor, personId: number, extra?: Record<string, unknown>, status?: number) => Promise<void>;

const relations = Object.entries(RELATIONS).map(([value, label]) => ({ value, label }));
const formerHeadRelations = relations.filter((r) => r.value !== 'head');

/** The life events part of a person's page (views/beneficiary/life-person.njk): the history, and the station's forms. */
export async function lifeEventView(db: Conn, actor: Actor, person: PersonRow) {
  const events = await lifeEventsOf(db, person.id);
  const isStation = can(actor, 'register', null).ok;
  const villages = isStation ? (await listRegionsInScope(db, actor)).filter((r) => r.level === 'village' && r.id !== person.village_id).map((r) => ({ value: r.id, label: r.name })) : [];
  return {
    lifeEvents: events.map((e) => presentLifeEventFor(actor, e)),
    lifeActions: presentLifeActions(isStation, person, events),
    lifeVillages: villages,
    lifeRelations: relations,
    lifeFormerHeadRelations: formerHeadRelations,
    lifeToday: businessDate(),
  };
}

/**
 * The life events' pages: the station's forms on the person's page (a move inside the township, a change of head,
 * a death), the receiving station's move-in page (a person found by ID number, by POST), an event's page with the
 * township finance office's decision. Registered before the person's page (`/beneficiaries/:id`).
 */
export function lifeEventRoutes(router: Router, web: Web, personPage: PersonPage): void {
  const { db } = web.core;
  const station = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'register', null));
  const reader = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'read', null));

  function personIdParam(ctx: Context): number {
    const id = parseId(ctx.params.id);
    if (id === null) throw new NotFoundError('受益对象不存在');
    return id;
  }

  // --- the person's page: the station's forms ------------------------------------------------------------------

  /** A form of the person's page posted: success back to the page; a refusal shows the page with that form's errors. */
  function personForm(form: 'move' | 'head' | 'death', run: (actor: Actor, personId: number, body: unknown) => Promise<string>) {
    return async (ctx: Context) => {
      const actor = web.actor(ctx);
      const personId = personIdParam(ctx);
      await web.formStep(
        ctx,
        `/beneficiaries/${personId}`,
        () => run(actor, personId, ctx.request.body),
        (extra, status) => personPage(ctx, actor, personId, { life: { form, errors: extra.errors, values: extra.values, conflict: extra.conflict } }, status),
      );
    };
  }

  router.post(
    '/beneficiaries/:id/move',
    personForm('move', async (actor, personId, body) => {
      await registerMove(web.core, actor, { personId }, validate(moveSchema, body));
      return '迁移已登记，待乡镇财政所确认后生效';
    }),
  );

  router.post(
    '/beneficiaries/:id/head-change',
    personForm('head', async (actor, personId, body) => {
      await registerHeadChange(web.core, actor, personId, validate(headChangeSchema, body));
      return '户主变更已登记，待乡镇财政所确认后生效';
    }),
  );

  router.post(
    '/beneficiaries/:id/death',
    personForm('death', async (actor, personId, body) => {
      await registerDeath(web.core, actor, personId, validate(deathSchema, body));
      return '死亡已登记，待乡镇财政所确认后生效';
    }),
  );

  // --- the receiving station's move-in page ---------------------------------------------------------------------

  async function moveInPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    web.render(
      ctx,
      'beneficiary/life-move-in.njk',
      {
        title: '登记迁入',
        villages: (await listRegionsInScope(db, actor)).filter((r) => r.level === 'village').map((r) => ({ value: r.id, label: r.name })),
        relations,
        moves: (await movesRegisteredBy(db, actor)).map((e) => presentLifeEventFor(actor, e)),
        ...extra,
      },
      status,
    );
  }

  /** The person of a typed ID number, as the move-in page shows them (masked), or a refusal of the number. */
  async function found(actor: Actor, idNumber: string) {
    const person = await personByIdNumber(web.core, idNumber);
    if (!person) throw new ValidationError({ idNumber: '该身份证号码未在本平台登记：迁入的新对象请直接登记' });
    return {
      id: person.id,
      name: person.name,
      idMasked: person.id_masked,
      place: await placeName(db, person.village_id),
      relation: RELATIONS[person.relation as keyof typeof RELATIONS] ?? person.relation,
      status: STATUSES[person.status],
      active: person.status === 'active',
      isHead: person.relation === 'head',
      inScope: isPathInScope(actor, (await db('core_region').where({ id: person.village_id }).first('path')).path),
    };
  }

  router.get('/beneficiaries/move-in', async (ctx) => moveInPage(ctx, await station(ctx)));

  // A search by ID number is a POST: the number never appears in a URL. Who looked whom up is audited.
  router.post('/beneficiaries/move-in/find', async (ctx) => {
    const actor = await station(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      const { idNumber } = validate(moveInSearchSchema, body);
      const person = await found(actor, idNumber);
      await inTransaction(db, (trx) => recordAudit(trx, actor, { action: 'beneficiary.life_event.lookup', objectType: 'person', objectId: person.id, summary: { id: person.idMasked, place: person.place } }));
      await moveInPage(ctx, actor, { person, idNumber, values: { relation: 'head', eventDate: businessDate() } });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await moveInPage(ctx, actor, { searchErrors: err.fieldErrors, idNumber: body.idNumber }, 422);
    }
  });

  router.post('/beneficiaries/move-in', async (ctx) => {
    const actor = web.actor(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    await web.formStep(
      ctx,
      '/beneficiaries/move-in',
      async () => {
        const input = validate(moveInSchema, body);
        const eventId = await registerMove(web.core, actor, { idNumber: input.idNumber }, input);
        return { message: '迁入已登记，待此人原登记地乡镇财政所确认后生效', to: `/beneficiaries/life-events/${eventId}` };
      },
      async (extra, status) => {
        let person = null;
        try {
          person = await found(actor, String(body.idNumber ?? ''));
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
        }
        await moveInPage(ctx, actor, { person, idNumber: body.idNumber, moveErrors: extra.errors, values: extra.values ?? body, conflict: extra.conflict }, status);
      },
    );
  });

  // --- an event's page and the finance office's decision ------------------------------------------------------

  function eventIdParam(ctx: Context): number {
    const id = parseId(ctx.params.eid);
    if (id === null) throw new NotFoundError('事项不存在');
    return id;
  }

  async function eventPage(ctx: Context, actor: Actor, eventId: number, extra: Record<string, unknown> = {}, status = 200) {
    const row = await lifeEventInScope(db, actor, eventId);
    const event = presentLifeEventFor(actor, row);
    web.render(ctx, 'beneficiary/life-event.njk', { title: `${LIFE_EVENT_KINDS[row.kind]}：${row.person_name}`, event, personInScope: isPathInScope(actor, row.village_path), ...extra }, status);
  }

  router.get('/beneficiaries/life-events/:eid', async (ctx) => eventPage(ctx, await reader(ctx), eventIdParam(ctx)));

  router.post('/beneficiaries/life-events/:eid/decide', async (ctx) => {
    const actor = web.actor(ctx);
    const eventId = eventIdParam(ctx);
    await web.formStep(
      ctx,
      '/beneficiaries/changes',
      async () => {
        const input = validate(lifeEventDecisionSchema, ctx.request.body);
        const event = await decideLifeEvent(web.core, actor, eventId, { approve: input.decision === 'confirm', note: input.note, version: input.version });
        const what = `${event.person_name}的${LIFE_EVENT_KINDS[event.kind]}`;
        return input.decision === 'confirm' ? `已确认${what}，档案已更新` : `已退回${what}`;
      },
      (extra, status) => eventPage(ctx, actor, eventId, extra, status),
    );
  });
}

