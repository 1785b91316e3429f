import type { Knex } from 'knex';
import { refuse } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { FieldCrypto } from '../../core/crypto.ts';
import { type Conn, type Db, countRows, idChunks, rowsWithIds, selectInChunks, whereTextHolds } from '../../core/db.ts';
import { NotFoundError } from '../../core/errors.ts';
import { giveWay } from '../../core/give-way.ts';
import { defineList } from '../../core/lists.ts';
import { pathIds, whereRegionInScope } from '../../core/regions.ts';
import type { AccountKind } from './account-number.ts';
import { STATUSES } from './model.ts';
import { type AccountRow, NAME_PIECES, type PersonRow, personQuery } from './repo.ts';
import { registryFilters } from './schemas.ts';
import { settleMoveMarks } from './life-event-queries.ts';

/** A person in the actor's region subtree; another region's person is refused (403, audited). */
export async function personInScope(db: Db, actor: Actor, personId: number): Promise<PersonRow> {
  const person = (await whereRegionInScope(personQuery(db), 'p.village_id', actor, db).where('p.id', personId).first()) as PersonRow | undefined;
  if (person) return person;
  if (await db('beneficiary_person').where({ id: personId }).first('id')) {
    await refuse(db, actor, { objectType: 'person', objectId: personId, summary: { reason: 'out_of_scope' } }, '该受益对象不在您的管辖范围内');
  }
  throw new NotFoundError('受益对象不存在');
}

/** The registry list (受益对象档案, core/lists.ts): by village, in registration order within it; statuses sort in their list's order. */
export const registryList = defineList({
  path: '/beneficiaries',
  filters: registryFilters,
  sorts: {
    village: { label: '村（社区）', by: ['v.name', 'p.village_id'] },
    name: { label: '姓名', by: ['p.name'] },
    status: { label: '状态', by: [{ column: 'p.status', order: Object.keys(STATUSES) }] },
  },
  defaultSort: 'village',
  defaultDir: 'asc',
  id: 'p.id',
});

export type RegistryFilter = ReturnType<typeof registryList.parse>['filters'];
/** A person of the list with their active payout account, if any (its bank and last four digits only). */
export type RegistryRow = PersonRow & { account_bank: string | null; account_last4: string | null };

/**
 * The people in the actor's region subtree, narrowed by the list's filters (those not given: all), or the one person
 * of an exact ID number by its blind index (the number itself never reaches a query or a URL).
 */
export function registryQuery(db: Conn, actor: Actor, filter: Partial<RegistryFilter> & { idIndex?: string }) {
  const q = whereRegionInScope(personQuery(db), 'p.village_id', actor, db)
    .leftJoin('beneficiary_account as a', 'a.active_person_id', 'p.id')
    .select('a.bank_name as account_bank', 'a.account_last4');
  // Through the index of the names' pieces: a county of a million people answers in a few ms where LIKE read every
  // person of the deployment.
  if (filter.name) whereTextHolds(q, 'p.id', filter.name, NAME_PIECES);
  if (filter.idIndex) q.where('p.id_index', filter.idIndex);
  if (filter.villageId) q.where('p.village_id', filter.villageId);
  if (filter.status) q.where('p.status', filter.status);
  if (filter.account === 'yes') q.whereNotNull('a.id');
  if (filter.account === 'no') q.whereNull('a.id');
  return q;
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

/** A newly registered person's first account waiting for the township finance office, with who registered it. */
export interface PendingAccountRow {
  id: number;
  person_id: number;
  person_name: string;
  village_name: string;
  kind: AccountKind;
  bank_name: string;
  account_last4: string;
  holder_name: string;
  luhn_warning: boolean;
  change_reason: string;
  opened_by: number;
  requester: string;
  opened_at: string;
}

/** First accounts registered by the form, waiting for the township finance office, in its scope (a file's are listed by import). */
export async function pendingAccounts(db: Conn, actor: Actor): Promise<PendingAccountRow[]> {
  const rows: PendingAccountRow[] = await whereRegionInScope(
    db('beneficiary_account as a')
      .join('beneficiary_person as p', 'p.id', 'a.person_id')
      .join('core_region as v', 'v.id', 'p.village_id')
      .join('core_user as u', 'u.id', 'a.opened_by')
      .where('a.status', 'pending')
      .whereNull('a.import_id'),
    'p.village_id',
    actor,
    db,
  )
    .orderBy('a.id')
    .select('a.id', 'a.person_id', 'p.name as person_name', 'v.name as village_name', 'a.kind', 'a.bank_name', 'a.account_last4', 'a.holder_name', 'a.luhn_warning', 'a.change_reason', 'a.opened_by', 'u.display_name as requester', 'a.opened_at');
  return rows.map((r) => ({ ...r, luhn_warning: Boolean(r.luhn_warning) }));
}

export interface ImportRow {
  id: number;
  township_id: number;
  township_name: string;
  file_name: string;
  format: string;
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  account_requests: number;
  luhn_warnings: number;
  /** The warnings the file's rows drew (importWarnings lists them). */
  warnings: number;
  imported_by: number;
  imported_at: string;
  imported_by_name: string;
  /** The new people's accounts the file brought, and what the township finance office decided on them (null: none). */
  new_accounts: number;
  accounts_state: 'pending' | 'confirmed' | 'refused' | null;
  accounts_decided_at: string | null;
  accounts_decided_by_name: string | null;
  accounts_note: string | null;
  version: number;
}

function importQuery(db: Conn) {
  return db('beneficiary_import as i')
    .join('core_user as u', 'u.id', 'i.imported_by')
    .join('core_region as t', 't.id', 'i.township_id')
    .leftJoin('core_user as d', 'd.id', 'i.accounts_decided_by')
    .select('i.*', 'u.display_name as imported_by_name', 't.name as township_name', 'd.display_name as accounts_decided_by_name');
}

/** A township's recent registry imports, newest first. */
export async function importsOf(db: Conn, townshipId: number, limit = 20): Promise<ImportRow[]> {
  return importQuery(db).where('i.township_id', townshipId).orderBy('i.id', 'desc').limit(limit);
}

/** A registry import of a township in the actor's scope; another region's is refused (403, audited). */
export async function importInScope(db: Db, actor: Actor, importId: number): Promise<ImportRow> {
  const row = (await whereRegionInScope(importQuery(db), 'i.township_id', actor, db).where('i.id', importId).first()) as ImportRow | undefined;
  if (row) return row;
  if (await db('beneficiary_import').where({ id: importId }).first('id')) {
    await refuse(db, actor, { objectType: 'import', objectId: importId, summary: { reason: 'out_of_scope' } }, '该次导入不在您的管辖范围内');
  }
  throw new NotFoundError('导入记录不存在');
}

/** Imports in the actor's scope whose new accounts wait for the township finance office, oldest first. */
export async function pendingImports(db: Conn, actor: Actor): Promise<ImportRow[]> {
  return whereRegionInScope(importQuery(db).where('i.accounts_state', 'pending'), 'i.township_id', actor, db).orderBy('i.id');
}

/** A new account of an import, with its person: the list the finance office checks before deciding them together. */
export interface ImportAccountRow {
  id: number;
  person_id: number;
  person_name: string;
  id_masked: string;
  village_name: string;
  kind: AccountKind;
  bank_name: string;
  account_last4: string;
  holder_name: string;
  luhn_warning: boolean;
  status: AccountRow['status'];
}

/**
 * An import's new accounts, a page of them: those with a warning first (a card number whose check digit does not
 * match), then by village and registration order; with the count of all and of the warned ones.
 */
export async function importAccounts(db: Conn, importId: number, page: number, pageSize: number): Promise<{ rows: ImportAccountRow[]; total: number; luhnWarnings: number }> {
  const all = () => db('beneficiary_account as a').where('a.import_id', importId);
  const total = await countRows(all());
  const luhnWarnings = await countRows(all().where('a.luhn_warning', true));
  const rows: ImportAccountRow[] = await all()
    .join('beneficiary_person as p', 'p.id', 'a.person_id')
    .join('core_region as v', 'v.id', 'p.village_id')
    .orderBy([{ column: 'a.luhn_warning', order: 'desc' }, { column: 'v.name' }, { column: 'a.id' }])
    .limit(pageSize)
    .offset((page - 1) * pageSize)
    .select('a.id', 'a.person_id', 'p.name as person_name', 'p.id_masked', 'v.name as village_name', 'a.kind', 'a.bank_name', 'a.account_last4', 'a.holder_name', 'a.luhn_warning', 'a.status');
  return { rows: rows.map((r) => ({ ...r, luhn_warning: Boolean(r.luhn_warning) })), total, luhnWarnings };
}

export interface SnapshotRow {
  id: number;
  source: string;
  taken_on: string;
  file_name: string;
  rows: number;
  matched: number;
  loaded_at: string;
  loaded_by_name: string | null;
  region_name: string;
}

/** Reference snapshots that concern the actor: loaded for a region above them (their county) or within their scope. */
function snapshotsFor(db: Conn, actor: Actor) {
  const ancestors = pathIds(actor.regionPath);
  return db('beneficiary_reference_snapshot as s')
    .join('core_region as r', 'r.id', 's.region_id')
    .leftJoin('core_user as u', 'u.id', 's.loaded_by')
    .where((q) => q.whereIn('s.region_id', ancestors).orWhere('r.path', 'like', `${actor.regionPath}%`))
    .select('s.id', 's.source', 's.taken_on', 's.file_name', 's.rows', 's.matched', 's.loaded_at', 'u.display_name as loaded_by_name', 'r.name as region_name');
}

export async function referenceSnapshots(db: Conn, actor: Actor, limit = 50): Promise<SnapshotRow[]> {
  return snapshotsFor(db, actor).orderBy('s.id', 'desc').limit(limit);
}

export async function referenceSnapshot(db: Conn, actor: Actor, snapshotId: number): Promise<SnapshotRow> {
  const row = (await snapshotsFor(db, actor).where('s.id', snapshotId).first()) as SnapshotRow | undefined;
  if (!row) throw new NotFoundError('比对数据不存在');
  return row;
}

export interface HitRow {
  id: number;
  person_id: number;
  person_name: string;
  village_name: string;
  id_masked: string;
  person_status: string;
  kind: string;
  event_date: string | null;
  detail: string;
  snapshot_id: number;
  source: string;
  taken_on: string;
  /** For rosters (other programs, public employees): whether this hit is in the latest snapshot of its source. */
  current: boolean;
  /** A 迁出 mark settled by the person's confirmed move (settleMoveMarks); absent where not looked at. */
  settled?: boolean;
}

function hitQuery(db: Conn) {
  return db('beneficiary_reference_hit as h')
    .join('beneficiary_reference_snapshot as s', 's.id', 'h.snapshot_id')
    .join('beneficiary_person as p', 'p.id', 'h.person_id')
    .join('core_region as v', 'v.id', 'p.village_id')
    .select('h.id', 'h.person_id', 'p.name as person_name', 'v.name as village_name', 'p.id_masked', 'p.status as person_status', 'h.kind', 'h.event_date', 'h.detail', 'h.snapshot_id', 's.source', 's.taken_on', 's.region_id');
}

/**
 * Marks a roster hit current when its snapshot is the latest of its source for its region: a newer roster
 * without the person means they left it. Event lists (deaths, moves) stay current.
 */
async function markCurrent(db: Conn, rows: (Omit<HitRow, 'current'> & { region_id: number })[]): Promise<HitRow[]> {
  const latest = new Map<string, number>();
  const newest: { source: string; region_id: number; id: number }[] = await db('beneficiary_reference_snapshot')
    .whereIn('source', ['civil_program', 'public_employee'])
    .groupBy('source', 'region_id')
    .select('source', 'region_id')
    .max({ id: 'id' });
  for (const r of newest) {
    latest.set(`${r.source}/${r.region_id}`, r.id);
  }
  return rows.map(({ region_id, ...r }) => {
    const newest = latest.get(`${r.source}/${region_id}`);
    return { ...r, current: newest === undefined || newest === r.snapshot_id };
  });
}

/** The people of a snapshot in the actor's scope, paged. */
export async function snapshotHits(db: Conn, actor: Actor, snapshotId: number, page: number, pageSize = 50): Promise<{ rows: HitRow[]; total: number }> {
  const q = whereRegionInScope(hitQuery(db), 'p.village_id', actor, db).where('h.snapshot_id', snapshotId);
  const total = await countRows(q);
  const rows = await q.orderBy([{ column: 'v.name' }, { column: 'p.id' }]).limit(pageSize).offset((page - 1) * pageSize);
  return { rows: await markCurrent(db, rows), total };
}

/** What other departments' data says about these people (newest first): the one-card view and the batch checks. */
export async function referenceHitsOf(db: Conn, personIds: number[] | Knex.QueryBuilder): Promise<HitRow[]> {
  if (Array.isArray(personIds) && personIds.length === 0) return [];
  const hits = (where: number[] | Knex.QueryBuilder) => hitQuery(db).whereIn('h.person_id', where).orderBy('s.taken_on', 'desc').orderBy('h.id', 'desc');
  // A query of person ids (a roster's lines) is one set-based read; a list is read in chunks.
  const rows = Array.isArray(personIds) ? await selectInChunks(personIds, (chunk) => hits(chunk as number[])) : await hits(personIds);
  // A police 迁出 mark of someone whose move the registry has confirmed is settled (life-event-queries.ts).
  return settleMoveMarks(db, await markCurrent(db, rows));
}

/** What the batch checks compare a line with (batch/checks/rule.ts): a person's registry facts less what no rule reads. */
export interface CheckFacts {
  personId: number;
  name: string;
  townshipId: number;
  headPersonId: number | null;
  status: 'active' | 'deceased' | 'moved' | 'cancelled';
  statusDate: string | null;
  account: { index: string; last4: string } | null;
  /** People whose active account has the same number (1 when the account is theirs alone). */
  accountHolders: number;
}

/** What the batch checks and roster compiling need about a person, read in sets (see index.ts). */
export interface RegistryFacts extends CheckFacts {
  idMasked: string;
  idIndex: string;
  villageId: number;
  householdId: number | null;
  relation: string;
  account: { id: number; index: string; last4: string; bankName: string; holderName: string; kind: string } | null;
}

/** A person as factsWhere reads them, with their active account's columns (all null when they have none). */
type FactsRow = {
  id: number;
  name: string;
  id_masked: string;
  id_index: string;
  village_id: number;
  township_id: number;
  household_id: number | null;
  head_person_id: number | null;
  relation: string;
  status: RegistryFacts['status'];
  status_date: string | null;
  /** Active accounts with the same number (0 without an account). */
  account_holders: number;
} & (
  | { account_id: number; account_index: string; account_last4: string; bank_name: string; holder_name: string; account_kind: string }
  | { account_id: null; account_index: null; account_last4: null; bank_name: null; holder_name: null; account_kind: null }
);

/**
 * How many active accounts hold the number of the account `a` of the outer query, probed by account_index with each
 * row: the status is counted, not filtered on, since with `status = 'active'` in its WHERE SQLite reads the subquery
 * through the status index (every active account of the county) instead of the number's index.
 */
const activeHoldersOfA = (db: Conn) => db('beneficiary_account as a2').whereRaw('?? = ??', ['a2.account_index', 'a.account_index']).select(db.raw("count(case when ?? = 'active' then 1 end)", ['a2.status']));

/** The check facts' columns of a person `p` joined to their village `v`, household `h` and active account `a`. */
const checkFactColumns = (db: Conn) => ['p.id', 'p.name', 'v.parent_id as township_id', 'h.head_person_id', 'p.status', 'p.status_date', 'a.account_index', 'a.account_last4', activeHoldersOfA(db).as('account_holders')];

/** A person with their village (for the township), household and active account, and how many active accounts hold the same number as theirs. */
function factsQuery(db: Conn) {
  return db('beneficiary_person as p')
    .join('core_region as v', 'v.id', 'p.village_id')
    .leftJoin('beneficiary_household as h', 'h.id', 'p.household_id')
    .leftJoin('beneficiary_account as a', 'a.active_person_id', 'p.id')
    .select(checkFactColumns(db));
}

/** The row factsQuery reads, turned into the facts the checks compare. */
type CheckFactsRow = { id: number; name: string; township_id: number; head_person_id: number | null; status: CheckFacts['status']; status_date: string | null; account_index: string | null; account_last4: string | null; account_holders: number | string };
const checkFactsOfRow = (r: CheckFactsRow): CheckFacts => ({
  personId: r.id,
  name: r.name,
  townshipId: r.township_id,
  headPersonId: r.head_person_id,
  status: r.status,
  statusDate: r.status_date,
  account: r.account_index === null ? null : { index: r.account_index, last4: r.account_last4! },
  accountHolders: r.account_index ? Math.max(1, Number(r.account_holders)) : 0,
});

/** The facts of the people whose `column` is one of `keys` (read in chunks). */
async function factsWhere(db: Conn, column: 'p.id' | 'p.id_index', keys: (number | string)[]): Promise<RegistryFacts[]> {
  const rows: FactsRow[] = await selectInChunks(keys, (chunk) => factsQuery(db).whereIn(column, chunk).select('p.id_masked', 'p.id_index', 'p.village_id', 'p.household_id', 'p.relation', 'a.id as account_id', 'a.bank_name', 'a.holder_name', 'a.kind as account_kind'));
  return rows.map((r) => ({
    ...checkFactsOfRow(r),
    idMasked: r.id_masked,
    idIndex: r.id_index,
    villageId: r.village_id,
    householdId: r.household_id,
    relation: r.relation,
    account: r.account_id === null ? null : { id: r.account_id, index: r.account_index, last4: r.account_last4, bankName: r.bank_name, holderName: r.holder_name, kind: r.account_kind },
  }));
}

/** The check facts of these people (read in chunks), in no particular order: read by id for a line registryDiffsOf did not see. */
export async function checkFactsOf(db: Conn, personIds: number[]): Promise<CheckFacts[]> {
  const rows = await selectInChunks(personIds, (chunk) => factsQuery(db).whereIn('p.id', chunk) as unknown as Promise<CheckFactsRow[]>);
  return rows.map(checkFactsOfRow);
}

/** What a roster's line holds of its person as compiled (batch_line's columns of the same names). */
export interface CompiledPerson {
  person_id: number;
  person_name: string;
  account_index: string | null;
  account_last4: string | null;
}

/**
 * The check facts of a person whose registry agrees with their line in every fact the checks read (see
 * registryDiffsOf): the line's own name and account, in the roster's township, their own household's head, active
 * since always, the account theirs alone.
 */
export const factsAsCompiled = (line: CompiledPerson, townshipId: number): CheckFacts => ({
  personId: line.person_id,
  name: line.person_name,
  townshipId,
  headPersonId: line.person_id,
  status: 'active',
  statusDate: null,
  account: line.account_index === null ? null : { index: line.account_index, last4: line.account_last4! },
  accountHolders: line.account_index === null ? 0 : 1,
});

/**
 * The registry against a page of a roster's lines (`lines` selects CompiledPerson's columns), compared in the
 * database: the check facts of each person whose registry differs in any way from factsAsCompiled of their line, and
 * the people no longer in the registry. Every other person's facts are factsAsCompiled of their line, so that the
 * rows sent back are the few that differ (on PostgreSQL, receiving a row costs more than comparing it).
 * Each comparison below is one field of factsAsCompiled; a field added to CheckFacts needs its own.
 */
export async function registryDiffsOf(db: Conn, lines: Knex.QueryBuilder, townshipId: number): Promise<{ differing: CheckFacts[]; missing: number[] }> {
  const rows = (await db
    .from(lines.as('l'))
    .leftJoin('beneficiary_person as p', 'p.id', 'l.person_id')
    .leftJoin('core_region as v', 'v.id', 'p.village_id')
    .leftJoin('beneficiary_household as h', 'h.id', 'p.household_id')
    .leftJoin('beneficiary_account as a', 'a.active_person_id', 'p.id')
    .where((w) =>
      w
        .whereNull('p.id')
        .orWhereRaw('?? is distinct from ?', ['v.parent_id', townshipId])
        .orWhereRaw('?? is distinct from ??', ['h.head_person_id', 'p.id'])
        .orWhereRaw("?? <> 'active'", ['p.status'])
        .orWhereNotNull('p.status_date')
        .orWhereRaw('?? <> ??', ['p.name', 'l.person_name'])
        .orWhereRaw('?? is distinct from ??', ['a.account_index', 'l.account_index'])
        .orWhereRaw('?? is distinct from ??', ['a.account_last4', 'l.account_last4'])
        .orWhereRaw('? > 1', [activeHoldersOfA(db)]),
    )
    .select('l.person_id', ...checkFactColumns(db))) as (Omit<CheckFactsRow, 'id'> & { person_id: number; id: number | null })[];
  const differing: CheckFacts[] = [];
  const missing: number[] = [];
  for (const r of rows) {
    if (r.id === null) missing.push(r.person_id);
    else differing.push(checkFactsOfRow(r as CheckFactsRow));
  }
  return { differing, missing };
}

/** The facts of these people, in no particular order (key them by personId). */
export const registryFactsById = (db: Conn, personIds: number[]) => factsWhere(db, 'p.id', personIds);
/** By the blind index of each ID number (`core.crypto.blindIndex('id', idNumber)`): finding people from typed or imported ID numbers. */
export const registryFactsByIdNumberIndex = (db: Conn, idIndexes: string[]) => factsWhere(db, 'p.id_index', idIndexes);

/**
 * The last four digits of every account a person has had (active, pending or closed), for the portal's personal
 * payment query, whose second factor they are. A person id that does not exist gives none, by the same query.
 */
export async function accountLast4sOf(db: Conn, personId: number): Promise<string[]> {
  const rows: { account_last4: string }[] = await db('beneficiary_account').where({ person_id: personId }).select('account_last4');
  return [...new Set(rows.map((r) => r.account_last4))];
}

/**
 * Account numbers in clear, by account id, for the one output that needs them: the payout file the agent bank
 * pays from (its download is audited), added to `numbers` when given. Nothing else decrypts an account number.
 */
export async function accountNumbersById(db: Conn, crypto: Pick<FieldCrypto, 'decryptMany'>, accountIds: number[], numbers = new Map<number, string>()): Promise<Map<number, string>> {
  const chunks = idChunks(accountIds);
  // The next chunk is read while this one is decrypted (CPU), so that the database's time hides behind it; page views
  // go first between chunks (core/give-way.ts).
  const read = (chunk: Float64Array) => rowsWithIds<{ id: number; account_enc: string }>(db('beneficiary_account').select('id', 'account_enc'), 'id', chunk);
  let next = chunks.length ? read(chunks[0]!) : null;
  for (let c = 0; next; c++) {
    const rows = await next;
    next = c + 1 < chunks.length ? read(chunks[c + 1]!) : null;
    crypto.decryptMany(rows.map((r) => r.account_enc)).forEach((number, i) => numbers.set(rows[i]!.id, number));
    await giveWay();
  }
  return numbers;
}

/**
 * A township's registered people (在册) with no active account: who needs a card opened. Not those whose account,
 * registered with them, waits for the township finance office.
 */
export async function peopleWithoutAccount(db: Conn, townshipId: number, limit = 2000): Promise<{ id: number; name: string; id_masked: string; village_name: string }[]> {
  return db('beneficiary_person as p')
    .join('core_region as v', 'v.id', 'p.village_id')
    .leftJoin('beneficiary_account as a', 'a.active_person_id', 'p.id')
    .where({ 'v.parent_id': townshipId, 'p.status': 'active' })
    .whereNull('a.id')
    .whereNotExists((q) => q.select(db.raw('1')).from('beneficiary_account as w').whereRaw('w.person_id = p.id').where('w.status', 'pending'))
    .orderBy('v.name')
    .orderBy('p.id')
    .limit(limit)
    .select('p.id', 'p.name', 'p.id_masked', 'v.name as village_name');
}

/**
 * ID numbers in clear, by person id, for the one output that needs them besides the person's own page: the
 * card-opening list the agent bank opens cards from (its download is audited).
 */
export async function idNumbersById(db: Conn, crypto: Pick<FieldCrypto, 'decryptMany'>, personIds: number[]): Promise<Map<number, string>> {
  const rows: { id: number; id_enc: string }[] = await selectInChunks(personIds, (chunk) => db('beneficiary_person').whereIn('id', chunk).select('id', 'id_enc'));
  const clear = crypto.decryptMany(rows.map((r) => r.id_enc));
  return new Map(rows.map((r, i) => [r.id, clear[i]!]));
}

/** A warning an import's row drew, as importRegistry kept it (the row and column named, no personal data). */
export interface ImportWarningRow {
  row_number: number;
  field: string;
  message: string;
}

/** An import's warnings in the file's row order: a page of them, or all (`pageSize` null) for their download. */
export async function importWarnings(db: Conn, importId: number, page: number, pageSize: number | null): Promise<ImportWarningRow[]> {
  const query = db('beneficiary_import_warning').where({ import_id: importId }).orderBy(['row_number', 'id']).select('row_number', 'field', 'message');
  return pageSize === null ? query : query.limit(pageSize).offset((page - 1) * pageSize);
}

/** A person as the complete export (supervision, 完整导出) writes them: the ID number masked as stored, no contact data. */
export interface ExportPersonRow {
  id: number;
  name: string;
  id_masked: string;
  birth_date: string;
  sex: string;
  village_id: number;
  village_name: string;
  household_id: number | null;
  relation: string;
  status: string;
  status_date: string | null;
}

/** The people registered in villages of a region subtree, `limit` at a time in id order after `afterId` (a keyset chunk). */
export async function peopleForExport(db: Conn, regionPath: string, afterId: number, limit: number): Promise<ExportPersonRow[]> {
  return db('beneficiary_person as p')
    .join('core_region as v', 'v.id', 'p.village_id')
    .where('v.path', 'like', `${regionPath}%`)
    .where('p.id', '>', afterId)
    .orderBy('p.id')
    .limit(limit)
    .select('p.id', 'p.name', 'p.id_masked', 'p.birth_date', 'p.sex', 'p.village_id', 'v.name as village_name', 'p.household_id', 'p.relation', 'p.status', 'p.status_date');
}

/** Someone no longer to be paid: the registry's status (死亡, 迁出, 注销) or a current police mark (死亡, 迁出). */
export interface IneligibleFact {
  personId: number;
  kind: 'deceased' | 'moved' | 'cancelled';
  /** Since when (null: the date is not known, which counts from the start). */
  since: string | null;
  source: 'registry' | 'police';
  /** For a police mark: the date of the data it came in. */
  takenOn: string | null;
}

/**
 * Everyone in a region's scope who is no longer to be paid, by the registry or by the police data (a 迁出 mark the
 * registry's confirmed move settles is left out): the screening's "paid after death or moving away". The registry's
 * status comes first; a police mark is given for people the registry still has as 在册.
 */
export async function ineligiblePeople(db: Conn, regionPath: string): Promise<IneligibleFact[]> {
  const registry = (await db('beneficiary_person as p')
    .join('core_region as v', 'v.id', 'p.village_id')
    .where('v.path', 'like', `${regionPath}%`)
    .whereNot('p.status', 'active')
    .select('p.id', 'p.status', 'p.status_date')) as { id: number; status: IneligibleFact['kind']; status_date: string | null }[];
  const facts: IneligibleFact[] = registry.map((p) => ({ personId: Number(p.id), kind: p.status, since: p.status_date, source: 'registry', takenOn: null }));
  const known = new Set(facts.map((f) => f.personId));
  const marks = await hitQuery(db).where('v.path', 'like', `${regionPath}%`).whereIn('h.kind', ['deceased', 'moved']).orderBy('s.taken_on', 'desc').orderBy('h.id', 'desc');
  for (const h of await settleMoveMarks(db, await markCurrent(db, marks))) {
    const personId = Number(h.person_id);
    if (!h.current || h.settled || known.has(personId)) continue;
    known.add(personId);
    facts.push({ personId, kind: h.kind as 'deceased' | 'moved', since: h.event_date, source: 'police', takenOn: h.taken_on });
  }
  return facts;
}
