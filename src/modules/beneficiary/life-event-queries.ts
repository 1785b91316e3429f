import { refuse } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { businessDate } from '../../core/dates.ts';
import { type Conn, type Db, selectInChunks } from '../../core/db.ts';
import { NotFoundError } from '../../core/errors.ts';
import { whereRegionInScope } from '../../core/regions.ts';

/** A life event as the pages and commands read it (life-events.ts), with who registered and decided it and the person's names. */
export interface LifeEventRow {
  id: number;
  person_id: number;
  person_name: string;
  id_masked: string;
  village_name: string;
  /** The region path of the person's village: whose finance office keeps the record. */
  village_path: string;
  kind: 'move' | 'head_change' | 'death';
  state: 'pending' | 'confirmed' | 'refused';
  event_date: string;
  evidence: string;
  reason: string | null;
  from_text: string;
  to_text: string;
  from_village_id: number | null;
  to_village_id: number | null;
  to_household_id: number | null;
  to_relation: string | null;
  whole_household: boolean;
  household_id: number | null;
  former_head_id: number | null;
  parent_event_id: number | null;
  registered_by: number;
  registered_by_name: string;
  registered_region_id: number;
  registered_region_name: string;
  registered_at: string;
  decided_by: number | null;
  decided_by_name: string | null;
  decided_at: string | null;
  decision_note: string | null;
  version: number;
}

function eventQuery(db: Conn) {
  return db('beneficiary_person_event as e')
    .join('beneficiary_person as p', 'p.id', 'e.person_id')
    .join('core_region as v', 'v.id', 'p.village_id')
    .join('core_user as u', 'u.id', 'e.registered_by')
    .join('core_region as r', 'r.id', 'e.registered_region_id')
    .leftJoin('core_user as d', 'd.id', 'e.decided_by')
    .select('e.*', 'p.name as person_name', 'p.id_masked', 'v.name as village_name', 'v.path as village_path', 'u.display_name as registered_by_name', 'r.name as registered_region_name', 'd.display_name as decided_by_name');
}

const normalise = (r: LifeEventRow): LifeEventRow => ({ ...r, whole_household: Boolean(r.whole_household) });

/** A person's life events, newest first: their history on their page. */
export async function lifeEventsOf(db: Conn, personId: number): Promise<LifeEventRow[]> {
  return ((await eventQuery(db).where('e.person_id', personId).orderBy('e.id', 'desc')) as LifeEventRow[]).map(normalise);
}

/** Events waiting for the township finance office that keeps the person's record (for a move: the township left), in the actor's scope. */
export async function pendingLifeEvents(db: Conn, actor: Actor): Promise<LifeEventRow[]> {
  return ((await whereRegionInScope(eventQuery(db).where('e.state', 'pending'), 'p.village_id', actor, db).orderBy('e.id')) as LifeEventRow[]).map(normalise);
}

/** The moves a township's station registered into its villages, newest first (the move-in page). */
export async function movesRegisteredBy(db: Conn, actor: Actor, limit = 50): Promise<LifeEventRow[]> {
  return ((await whereRegionInScope(eventQuery(db).where('e.kind', 'move').whereNull('e.parent_event_id'), 'e.registered_region_id', actor, db).orderBy('e.id', 'desc').limit(limit)) as LifeEventRow[]).map(normalise);
}

/**
 * A life event the actor may see: its person is in their scope (the township keeping the record), or their township
 * registered it (the receiving station of a move, until it is decided and after). Another's is refused (403, audited).
 */
export async function lifeEventInScope(db: Db, actor: Actor, eventId: number): Promise<LifeEventRow> {
  const scope = (q: ReturnType<typeof eventQuery>) =>
    q.where((w) =>
      w
        .whereIn('p.village_id', db('core_region').select('id').where('path', 'like', `${actor.regionPath}%`))
        .orWhereIn('e.registered_region_id', db('core_region').select('id').where('path', 'like', `${actor.regionPath}%`)),
    );
  const row = (await scope(eventQuery(db)).where('e.id', eventId).first()) as LifeEventRow | undefined;
  if (row) return normalise(row);
  if (await db('beneficiary_person_event').where({ id: eventId }).first('id')) {
    await refuse(db, actor, { objectType: 'life_event', objectId: eventId, summary: { reason: 'out_of_scope' } }, '该事项不在您的管辖范围内');
  }
  throw new NotFoundError('事项不存在');
}

/**
 * A police 迁出 mark (reference data) the registry has already acted on: the person's move, registered by the
 * receiving station and confirmed by the finance office (life-events.ts), dated on or after the police date, or
 * confirmed after the police data was taken. Such a mark is no longer current (the roster check 死亡或迁出 reads
 * only current marks) and is `settled`: the person now lives where the registry says, and is paid there.
 */
export async function settleMoveMarks<H extends { person_id: number; kind: string; event_date: string | null; taken_on: string; current: boolean }>(db: Conn, hits: H[]): Promise<(H & { settled: boolean })[]> {
  const marked = [...new Set(hits.filter((h) => h.kind === 'moved' && h.current).map((h) => h.person_id))];
  const moves: { person_id: number; event_date: string; decided_at: string | Date }[] = await selectInChunks(marked, (chunk) =>
    db('beneficiary_person_event').whereIn('person_id', chunk).where({ kind: 'move', state: 'confirmed' }).select('person_id', 'event_date', 'decided_at'),
  );
  // Each person's confirmed moves, with the business day each was decided on: looked up per mark, not scanned.
  const movesOf = new Map<number, { event_date: string; decided_on: string }[]>();
  for (const m of moves) {
    const mine = movesOf.get(m.person_id);
    const move = { event_date: m.event_date, decided_on: businessDate(new Date(m.decided_at)) };
    if (mine) mine.push(move);
    else movesOf.set(m.person_id, [move]);
  }
  const settles = (h: H) =>
    h.kind === 'moved' &&
    h.current &&
    (movesOf.get(h.person_id) ?? []).some((m) => (h.event_date !== null && m.event_date >= h.event_date) || m.decided_on >= h.taken_on);
  return hits.map((h) => (settles(h) ? { ...h, current: false, settled: true } : { ...h, settled: false }));
}
