import { refuse } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { type Conn, type Db, countRows } from '../../core/db.ts';
import { NotFoundError } from '../../core/errors.ts';
import { whereRegionInScope } from '../../core/regions.ts';
import { type AccountRow, type PersonRow, personQuery } from './repo.ts';

/** A person in the actor's region subtree; another region's person is refused (403, audited). */
export async function personInScope(db: Db, actor: Actor, personId: number): Promise<PersonRow> {
  const person = (await whereRegionInScope(personQuery(db), 'p.village_id', actor, db).where('p.id', personId).first()) as PersonRow | undefined;
  if (person) return person;
  if (await db('beneficiary_person').where({ id: personId }).first('id')) {
    await refuse(db, actor, { objectType: 'person', objectId: personId, summary: { reason: 'out_of_scope' } }, '该受益对象不在您的管辖范围内');
  }
  throw new NotFoundError('受益对象不存在');
}

export interface PersonSearch {
  name?: string;
  /** Blind index of an exact ID number (the number itself never reaches a query or a URL). */
  idIndex?: string;
  villageId?: number;
  page: number;
  pageSize?: number;
}

export async function searchPeople(db: Conn, actor: Actor, search: PersonSearch): Promise<{ rows: PersonRow[]; total: number }> {
  const pageSize = search.pageSize ?? 50;
  const q = whereRegionInScope(personQuery(db), 'p.village_id', actor, db);
  if (search.name) q.where('p.name', 'like', `%${search.name}%`);
  if (search.idIndex) q.where('p.id_index', search.idIndex);
  if (search.villageId) q.where('p.village_id', search.villageId);
  const total = await countRows(q);
  const rows = (await q.orderBy([{ column: 'p.village_id' }, { column: 'p.household_id' }, { column: 'p.id' }]).limit(pageSize).offset((search.page - 1) * pageSize)) as PersonRow[];
  return { rows, total };
}

export async function householdMembers(db: Conn, householdId: number): Promise<PersonRow[]> {
  return (await personQuery(db).where('p.household_id', householdId).orderBy('p.id')) as PersonRow[];
}

export async function accountsOf(db: Conn, personId: number): Promise<AccountRow[]> {
  const rows = await db('beneficiary_account').where({ person_id: personId }).orderBy('opened_at', 'desc').orderBy('id', 'desc');
  return rows.map((r: AccountRow) => ({ ...r, luhn_warning: Boolean(r.luhn_warning) }));
}

export interface ChangeRequestRow {
  id: number;
  person_id: number;
  person_name: string;
  village_name: string;
  kind: 'account' | 'status';
  summary: string;
  reason: string;
  requested_by: number;
  requester: string;
  requested_at: string;
  state: 'pending' | 'confirmed' | 'rejected';
  decision_note: string | null;
}

function requestQuery(db: Conn) {
  return db('beneficiary_change_request as c')
    .join('beneficiary_person as p', 'p.id', 'c.person_id')
    .join('core_region as v', 'v.id', 'p.village_id')
    .join('core_user as u', 'u.id', 'c.requested_by')
    .select('c.*', 'p.name as person_name', 'v.name as village_name', 'u.display_name as requester');
}

export async function changeRequestsOf(db: Conn, personId: number): Promise<ChangeRequestRow[]> {
  return requestQuery(db).where('c.person_id', personId).orderBy('c.id', 'desc');
}

/** Changes waiting for the township finance office, in its scope. */
export async function pendingChanges(db: Conn, actor: Actor): Promise<ChangeRequestRow[]> {
  return whereRegionInScope(requestQuery(db).where('c.state', 'pending'), 'p.village_id', actor, db).orderBy('c.id');
}
