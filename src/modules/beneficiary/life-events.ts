import { recordAudit } from '../../core/audit.ts';
import { authorize } from '../../core/authz.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, type Tx, countRows, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { ConflictError, ValidationError } from '../../core/errors.ts';
import { maskName } from '../../core/mask.ts';
import { type Region, pathIds, regionInScope } from '../../core/regions.ts';
import { parseIdNumber } from './id-number.ts';
import { type LifeEventRow, lifeEventInScope } from './life-event-queries.ts';
import { RELATIONS, type Relation, STATUSES } from './model.ts';
import { can } from './policy.ts';
import { personInScope } from './queries.ts';
import { type PersonRow, personQuery } from './repo.ts';

/**
 * Life events of the registry (海城 三(三)2(五): 农户迁入、迁出、死亡 … 反馈给财政所对农户基础信息数据库进行更新调整).
 * A township station registers the event; the township finance office that keeps the person's record decides it,
 * never the one who registered it (four-eyes); nothing in the registry changes until it is confirmed, and the event
 * stays as the person's history (what, from, to, date, document, who registered, who decided).
 *
 * - A move (迁移) is registered by the receiving station (a move inside a township by its own station, from the
 *   person's page; one from another township, or from another county of the same deployment, after finding the
 *   person by ID number) and decided by the finance office of the township the person leaves. Confirmed, the
 *   person's village changes — the same record, the same id, their accounts and payment history with them — and so
 *   does their household: a person moving alone leaves their household and joins one at the destination (the
 *   household of a head given by ID number) or heads a new one. A head cannot leave their household's registered
 *   members without a head: either the whole household moves with them (`wholeHousehold`: every registered member
 *   moves, each with their own history row), or the leaving township first changes the household's head.
 * - A change of household head (变更户主): the household's head becomes another of its registered members; the former
 *   head (if still registered) takes the relation given. 到户 subsidies then pay the new head (the batch module reads
 *   the head from the household at compile time).
 * - A death (死亡): the date and the document (死亡医学证明, 火化证明, 户籍注销证明 …); confirmed, the person's status
 *   is 死亡 from that date, as the police data would make it, and the roster checks block any payment for a period
 *   ending on or after it. A deceased head's household keeps them as head until the station registers a new one.
 */

export const LIFE_EVENT_KINDS = { move: '迁移', head_change: '户主变更', death: '死亡' } as const;
export type LifeEventKind = keyof typeof LIFE_EVENT_KINDS;
export const LIFE_EVENT_STATES = { pending: '待财政所确认', confirmed: '已确认', refused: '已退回' } as const;

export interface MoveInput {
  toVillageId: number;
  /** The person's relation in the household they join; 'head': a new household. */
  relation: Relation;
  /** The ID number of the head of the household joined (not for 'head', nor a whole household). */
  headIdNumber: string | null;
  /** The person is a head and their household's registered members move with them. */
  wholeHousehold: boolean;
  eventDate: string;
  evidence: string;
  reason: string | null;
}

/** Who is being moved: a person of the station's own township (their page), or anyone of the deployment by ID number. */
export type MoveTarget = { personId: number } | { idNumber: string };

/** "青禾县城关镇西街村": a village with its township and county, as the history and the lists read it. */
export async function placeName(conn: Conn, villageId: number): Promise<string> {
  const village: Region | undefined = await conn('core_region').where({ id: villageId }).first();
  if (!village) return '';
  const lineage: Region[] = await conn('core_region').whereIn('id', pathIds(village.path));
  return lineage
    .filter((r) => r.level === 'county' || r.level === 'township' || r.level === 'village')
    .sort((a, b) => a.path.length - b.path.length)
    .map((r) => r.name)
    .join('');
}

/** A registered person found by their ID number anywhere in the deployment (the receiving station's search), or undefined. */
export async function personByIdNumber(core: Core, idNumber: string): Promise<PersonRow | undefined> {
  const parsed = parseIdNumber(idNumber);
  if (!parsed.ok) throw new ValidationError({ idNumber: parsed.error });
  return (await personQuery(core.db).where('p.id_index', core.crypto.blindIndex('id', parsed.value.idNumber)).first()) as PersonRow | undefined;
}

async function activeMembers(conn: Conn, householdId: number): Promise<{ id: number; name: string; village_id: number }[]> {
  return conn('beneficiary_person').where({ household_id: householdId, status: 'active' }).orderBy('id').select('id', 'name', 'village_id');
}

async function refuseIfPending(conn: Conn, personIds: number[]): Promise<void> {
  const pending: { name: string; kind: LifeEventKind } | undefined = await conn('beneficiary_person_event as e')
    .join('beneficiary_person as p', 'p.id', 'e.person_id')
    .whereIn('e.person_id', personIds)
    .where('e.state', 'pending')
    .first('p.name', 'e.kind');
  if (pending) throw new ConflictError(`${pending.name}已有一项“${LIFE_EVENT_KINDS[pending.kind]}”在等待财政所确认：确认或退回后才能登记新的事项`);
}

function requireActive(person: PersonRow, what: string): void {
  if (person.status !== 'active') throw new ConflictError(`${person.name}的档案状态为“${STATUSES[person.status]}”，不能登记${what}`);
}

interface EventRow {
  person_id: number;
  kind: LifeEventKind;
  event_date: string;
  evidence: string;
  reason: string | null;
  from_text: string;
  to_text: string;
  from_village_id?: number | null;
  to_village_id?: number | null;
  to_household_id?: number | null;
  to_relation?: string | null;
  whole_household?: boolean;
  household_id?: number | null;
  former_head_id?: number | null;
}

async function insertEvent(trx: Tx, actor: Actor, row: EventRow, person: PersonRow): Promise<number> {
  const id = await insertReturningId(trx, 'beneficiary_person_event', { ...row, state: 'pending', registered_by: actor.userId, registered_region_id: actor.regionId, registered_at: nowIso() });
  const named = await namedIn(trx, { person_id: person.id, former_head_id: row.former_head_id ?? null, to_household_id: row.to_household_id ?? null });
  await recordAudit(trx, actor, {
    action: 'beneficiary.life_event.register',
    objectType: 'person',
    objectId: row.person_id,
    summary: { event: id, kind: row.kind, name: maskName(person.name), from: maskNames(row.from_text, named), to: maskNames(row.to_text, named), date: row.event_date, evidence: row.evidence },
  });
  return id;
}

/** The audit log names people masked (the lists and pages of staff show them whole). */
function maskNames(text: string, people: { name: string }[]): string {
  return people.reduce((t, p) => t.split(p.name).join(maskName(p.name)), text);
}

/** Everyone an event's texts may name: the person, the former head, the head of the household joined. */
async function namedIn(conn: Conn, e: { person_id: number; former_head_id: number | null; to_household_id: number | null }): Promise<{ name: string }[]> {
  const ids = [e.person_id, ...(e.former_head_id ? [e.former_head_id] : [])];
  const heads = e.to_household_id ? conn('beneficiary_household').where({ id: e.to_household_id }).select('head_person_id') : null;
  const q = conn('beneficiary_person').whereIn('id', ids);
  if (heads) q.orWhereIn('id', heads);
  return q.select('name');
}

/**
 * The receiving station registers a move into a village of its township: from its own township (the person's
 * page) or from another township or county (found by ID number). Waits for the leaving township's finance office.
 */
export async function registerMove(core: Core, actor: Actor, target: MoveTarget, input: MoveInput): Promise<number> {
  await authorize(core.db, actor, can(actor, 'register', null), { objectType: 'person' });
  let person: PersonRow | undefined;
  if ('personId' in target) person = await personInScope(core.db, actor, target.personId);
  else {
    person = await personByIdNumber(core, target.idNumber);
    if (!person) throw new ValidationError({ idNumber: '该身份证号码未在本平台登记：迁入的新对象请直接登记' });
  }
  requireActive(person, '迁移');
  const village = await regionInScope(core.db, actor, input.toVillageId);
  if (village.level !== 'village') throw new ValidationError({ toVillageId: '请选择迁入的村（社区）' });
  if (village.id === person.village_id) throw new ValidationError({ toVillageId: `此人已登记在“${village.name}”` });

  let toHousehold: { id: number; headName: string } | null = null;
  const members = person.household_id ? await activeMembers(core.db, person.household_id) : [];
  const others = members.filter((m) => m.id !== person.id);
  if (input.wholeHousehold) {
    if (person.relation !== 'head') throw new ValidationError({ wholeHousehold: '全户迁移由户主登记：此人不是户主' });
  } else {
    if (person.relation === 'head' && others.length) {
      throw new ValidationError({ wholeHousehold: `此人是户主，户内还有 ${others.length} 名在册成员（${others.map((m) => m.name).join('、')}）：全户迁移的请勾选“全户迁移”；仅此人迁出的，请先由原乡镇经办站所办理户主变更` });
    }
    if (input.relation !== 'head') {
      const head = parseIdNumber(input.headIdNumber ?? '');
      if (!head.ok) throw new ValidationError({ headIdNumber: `户主身份证号码：${head.error}` });
      const row: { id: number; name: string; household_id: number | null; village_id: number; relation: string; status: string } | undefined = await core
        .db('beneficiary_person')
        .where({ id_index: core.crypto.blindIndex('id', head.value.idNumber) })
        .first('id', 'name', 'household_id', 'village_id', 'relation', 'status');
      if (!row || row.relation !== 'head' || row.status !== 'active' || row.village_id !== village.id || !row.household_id) {
        throw new ValidationError({ headIdNumber: `该身份证号码不是“${village.name}”已登记在册的户主` });
      }
      toHousehold = { id: row.household_id, headName: row.name };
    }
  }
  const from = await placeName(core.db, person.village_id);
  const to = await placeName(core.db, village.id);
  const household = input.wholeHousehold ? `，全户 ${members.length} 人随迁` : toHousehold ? `，加入户主${toHousehold.headName}的户（${RELATIONS[input.relation]}）` : '，自立一户（户主）';
  return inTransaction(core.db, async (trx) => {
    await refuseIfPending(trx, input.wholeHousehold ? members.map((m) => m.id) : [person.id]);
    return insertEvent(
      trx,
      actor,
      {
        person_id: person.id,
        kind: 'move',
        event_date: input.eventDate,
        evidence: input.evidence,
        reason: input.reason,
        from_text: from,
        to_text: `${to}${household}`,
        from_village_id: person.village_id,
        to_village_id: village.id,
        to_household_id: toHousehold?.id ?? null,
        to_relation: input.wholeHousehold ? null : input.relation,
        whole_household: input.wholeHousehold,
      },
      person,
    );
  });
}

/** The station registers that this member becomes their household's head; the former head takes `formerHeadRelation`. */
export async function registerHeadChange(core: Core, actor: Actor, personId: number, input: { formerHeadRelation: Relation; eventDate: string; evidence: string; reason: string | null }): Promise<number> {
  await authorize(core.db, actor, can(actor, 'register', null), { objectType: 'person' });
  const person = await personInScope(core.db, actor, personId);
  requireActive(person, '户主变更');
  if (!person.household_id) throw new ConflictError(`${person.name}没有登记所属的户`);
  if (person.relation === 'head') throw new ConflictError(`${person.name}已是户主`);
  if (input.formerHeadRelation === 'head') throw new ValidationError({ formerHeadRelation: '一户只有一名户主：请选择原户主与新户主的关系' });
  const household: { id: number; head_person_id: number | null } = await core.db('beneficiary_household').where({ id: person.household_id }).first('id', 'head_person_id');
  const former: { id: number; name: string; status: keyof typeof STATUSES } | undefined = household.head_person_id ? await core.db('beneficiary_person').where({ id: household.head_person_id }).first('id', 'name', 'status') : undefined;
  const formerText = former ? `户主 ${former.name}${former.status === 'active' ? '' : `（${STATUSES[former.status]}）`}` : '（无户主）';
  return inTransaction(core.db, async (trx) => {
    await refuseIfPending(trx, [person.id, ...(former ? [former.id] : [])]);
    return insertEvent(
      trx,
      actor,
      {
        person_id: person.id,
        kind: 'head_change',
        event_date: input.eventDate,
        evidence: input.evidence,
        reason: input.reason,
        from_text: formerText,
        to_text: `户主 ${person.name}${former ? `，原户主为新户主的${RELATIONS[input.formerHeadRelation]}` : ''}`,
        household_id: household.id,
        former_head_id: former?.id ?? null,
        to_relation: input.formerHeadRelation,
      },
      person,
    );
  });
}

/** The station registers a death with its date and document; confirmed, the person is 死亡 from that date. */
export async function registerDeath(core: Core, actor: Actor, personId: number, input: { eventDate: string; evidence: string; reason: string | null }): Promise<number> {
  await authorize(core.db, actor, can(actor, 'register', null), { objectType: 'person' });
  const person = await personInScope(core.db, actor, personId);
  requireActive(person, '死亡');
  if (input.eventDate < person.birth_date) throw new ValidationError({ eventDate: `死亡日期不能早于出生日期 ${person.birth_date}` });
  return inTransaction(core.db, async (trx) => {
    await refuseIfPending(trx, [person.id]);
    return insertEvent(trx, actor, { person_id: person.id, kind: 'death', event_date: input.eventDate, evidence: input.evidence, reason: input.reason, from_text: STATUSES.active, to_text: `${STATUSES.deceased}（${input.eventDate}）` }, person);
  });
}

/**
 * The township finance office that keeps the person's record (for a move: the leaving township's) confirms or
 * refuses a life event, from the page at `version`; never the one who registered it. Confirmed, the registry changes
 * in the same transaction, each change guarded by what the event was registered against.
 */
export async function decideLifeEvent(core: Core, actor: Actor, eventId: number, decision: { approve: boolean; note: string | null; version: number }): Promise<LifeEventRow> {
  const event = await lifeEventInScope(core.db, actor, eventId);
  // The office of the person's township, not the registering station's (a move into another township).
  const person = await personInScope(core.db, actor, event.person_id);
  await authorize(core.db, actor, can(actor, 'decide_life_event', { registeredBy: event.registered_by, pending: event.state === 'pending' }), { objectType: 'life_event', objectId: eventId });
  return inTransaction(core.db, async (trx) => {
    const updated = await trx('beneficiary_person_event')
      .where({ id: eventId, state: 'pending', version: decision.version })
      .update({ state: decision.approve ? 'confirmed' : 'refused', decided_by: actor.userId, decided_at: nowIso(), decision_note: decision.note, version: decision.version + 1 });
    if (updated !== 1) throw new ConflictError('该事项已被他人处理，或页面已过期：请刷新后重新核对');
    let moved = 0;
    if (decision.approve) {
      if (event.kind === 'move') moved = await applyMove(trx, actor, event, person);
      else if (event.kind === 'head_change') await applyHeadChange(trx, actor, event, person);
      else await applyDeath(trx, actor, event, person);
    }
    const named = await namedIn(trx, event);
    await recordAudit(trx, actor, {
      action: decision.approve ? 'beneficiary.life_event.confirm' : 'beneficiary.life_event.refuse',
      objectType: 'person',
      objectId: event.person_id,
      summary: { event: eventId, kind: event.kind, name: maskName(person.name), from: maskNames(event.from_text, named), to: maskNames(event.to_text, named), date: event.event_date, note: decision.note, ...(moved > 1 ? { members: moved } : {}) },
    });
    return { ...event, state: decision.approve ? 'confirmed' : 'refused' };
  });
}

/** A person's row changed by a confirmed event, guarded by what it was registered against (the row count says whether it still held). */
async function updatePerson(trx: Tx, actor: Actor, where: Record<string, unknown>, changes: Record<string, unknown>, stale: string): Promise<void> {
  const updated = await trx('beneficiary_person').where(where).update({ ...changes, version: trx.raw('version + 1'), updated_by: actor.userId, updated_at: nowIso() });
  if (updated !== 1) throw new ConflictError(stale);
}

async function applyMove(trx: Tx, actor: Actor, event: LifeEventRow, person: PersonRow): Promise<number> {
  const stale = '此人的档案在登记迁移后已有变化（已迁走、死亡或户已变更）：请退回，由迁入地经办站所重新登记';
  const to = event.to_village_id!;
  if (event.whole_household) {
    const householdId = person.household_id!;
    const head: { head_person_id: number | null } = await trx('beneficiary_household').where({ id: householdId }).first('head_person_id');
    if (head.head_person_id !== person.id) throw new ConflictError(stale);
    const members = await activeMembers(trx, householdId);
    if (members.some((m) => m.village_id !== event.from_village_id)) throw new ConflictError(stale);
    await trx('beneficiary_household').where({ id: householdId }).update({ village_id: to, updated_at: nowIso() });
    for (const m of members) {
      await updatePerson(trx, actor, { id: m.id, status: 'active', village_id: event.from_village_id }, { village_id: to }, stale);
      if (m.id === person.id) continue;
      // Each member's own history: a row decided with the head's.
      await insertReturningId(trx, 'beneficiary_person_event', {
        person_id: m.id,
        kind: 'move',
        state: 'confirmed',
        event_date: event.event_date,
        evidence: event.evidence,
        reason: event.reason,
        from_text: event.from_text,
        to_text: event.to_text,
        from_village_id: event.from_village_id,
        to_village_id: to,
        whole_household: true,
        parent_event_id: event.id,
        registered_by: event.registered_by,
        registered_region_id: event.registered_region_id,
        registered_at: event.registered_at,
        decided_by: actor.userId,
        decided_at: nowIso(),
      });
    }
    return members.length;
  }
  let householdId: number;
  if (event.to_relation === 'head') {
    householdId = await insertReturningId(trx, 'beneficiary_household', { village_id: to, head_person_id: person.id, created_at: nowIso(), updated_at: nowIso() });
  } else {
    const head: { id: number } | undefined = await trx('beneficiary_household as h')
      .join('beneficiary_person as p', 'p.id', 'h.head_person_id')
      .where({ 'h.id': event.to_household_id, 'h.village_id': to, 'p.status': 'active' })
      .first('p.id');
    if (!head) throw new ConflictError('迁入地的户已有变化（户主已迁走、死亡或变更）：请退回，由迁入地经办站所重新登记');
    householdId = event.to_household_id!;
  }
  // The household left: a head may leave it only when no registered member stays in it.
  if (person.household_id && person.relation === 'head') {
    const stays = await countRows(trx('beneficiary_person').where({ household_id: person.household_id, status: 'active' }).whereNot({ id: person.id }));
    if (stays) throw new ConflictError('此人是户主，户内又有在册成员：请退回，先办理户主变更或全户迁移');
    await trx('beneficiary_household').where({ id: person.household_id, head_person_id: person.id }).update({ head_person_id: null, updated_at: nowIso() });
  }
  await updatePerson(trx, actor, { id: person.id, status: 'active', village_id: event.from_village_id, household_id: person.household_id }, { village_id: to, household_id: householdId, relation: event.to_relation }, stale);
  return 1;
}

async function applyHeadChange(trx: Tx, actor: Actor, event: LifeEventRow, person: PersonRow): Promise<void> {
  const stale = '该户的户主或成员在登记后已有变化：请退回，由经办站所重新登记';
  const updated = await trx('beneficiary_household')
    .where({ id: event.household_id })
    .where((q) => (event.former_head_id === null ? q.whereNull('head_person_id') : q.where('head_person_id', event.former_head_id)))
    .update({ head_person_id: person.id, updated_at: nowIso() });
  if (updated !== 1) throw new ConflictError(stale);
  await updatePerson(trx, actor, { id: person.id, status: 'active', household_id: event.household_id }, { relation: 'head' }, stale);
  if (event.former_head_id !== null) await updatePerson(trx, actor, { id: event.former_head_id, household_id: event.household_id, relation: 'head' }, { relation: event.to_relation }, stale);
}

async function applyDeath(trx: Tx, actor: Actor, event: LifeEventRow, person: PersonRow): Promise<void> {
  await updatePerson(trx, actor, { id: person.id, status: 'active' }, { status: 'deceased', status_date: event.event_date, status_source: event.evidence }, `${person.name}的档案状态已不是“在册”：请退回`);
}
