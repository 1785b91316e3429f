import { createHash } from 'node:crypto';
import { blindIndexesOf } from '../../core/crypto.ts';
import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, bulkInsert, inTransaction, insertReturningId, nowIso, refreshStatistics, reserveIds, selectInChunks } from '../../core/db.ts';
import { ConflictError, ForbiddenError } from '../../core/errors.ts';
import { giveWay } from '../../core/give-way.ts';
import { claimFileDigest } from '../../core/imports.ts';
import { maskName, maskPhone } from '../../core/mask.ts';
import { releaseGarbage } from '../../core/memory.ts';
import { findRegion } from '../../core/regions.ts';
import type { HeaderGap, ImportError } from '../../core/spreadsheet.ts';
import { columnMappingOf } from '../../core/column-mapping.ts';
import { accountChangeSummary, type ChangeRequest, newPersonRows, pendingAccountRow, sealAccounts } from './commands.ts';
import { can } from './policy.ts';
import type { ImportRow } from './queries.ts';
import { type RegistryImportRow, parseRegistryFile, registryErrorReport } from './files.ts';
import { authorize } from '../../core/authz.ts';

/**
 * The command importRegistry: a township station uploads its people (受益对象花名册). The file is checked whole,
 * against itself (files.ts) and against the registry (here); then it is applied in one transaction with bulk
 * inserts, or refused with a report of the bad rows. The warnings the rows drew (files.ts) are kept with the import,
 * row by row, for its warnings page. New people are registered; people already registered in
 * the township get their name, phone and relation corrected; a different payout account becomes an account
 * change request for the township finance office, as from the person's page. The new people's accounts wait, as a
 * group tied to the import, for the township finance office to confirm or refuse them together
 * (decideImportAccounts). The same file imported again (same SHA-256 for the same township) changes nothing.
 */

export interface ImportRecord {
  importId: number;
  fileName: string;
  importedAt: string;
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  accountRequests: number;
  luhnWarnings: number;
  /** The new people's accounts, waiting together for the township finance office. */
  newAccounts: number;
  /** How many warnings the file's rows drew (kept row by row in beneficiary_import_warning, for the import's warnings page). */
  warnings: number;
}

/** A refusal for the file's header carries what a column mapping could fill (gap: the mapping form of the refusal page). */
export type RegistryImportOutcome = ({ ok: true; repeated: boolean } & ImportRecord) | { ok: false; errors: ImportError[]; report: Buffer; gap?: HeaderGap | null };

/** The kind of file under which a township keeps its registry column mapping (core/column-mapping.ts). */
export const REGISTRY_FILE_KIND = 'beneficiary.registry';

interface ExistingPerson {
  id: number;
  name: string;
  id_index: string;
  village_id: number;
  village_name: string;
  township_id: number;
  township_name: string;
  household_id: number | null;
  relation: string;
  phone_enc: string | null;
  version: number;
  head_index: string | null;
}

/** The file record's own columns (ImportRow without the names its query joins). */
type ImportedRow = Pick<ImportRow, 'id' | 'file_name' | 'imported_at' | 'rows' | 'created' | 'updated' | 'unchanged' | 'account_requests' | 'luhn_warnings' | 'new_accounts' | 'warnings'>;

async function findImport(conn: Conn, townshipId: number, sha256: string): Promise<ImportRecord | null> {
  const row: ImportedRow | undefined = await conn('beneficiary_import').where({ township_id: townshipId, file_sha256: sha256 }).orderBy('id').first();
  if (!row) return null;
  return {
    importId: row.id,
    fileName: row.file_name,
    importedAt: row.imported_at,
    rows: row.rows,
    created: row.created,
    updated: row.updated,
    unchanged: row.unchanged,
    accountRequests: row.account_requests,
    luhnWarnings: row.luhn_warnings,
    newAccounts: row.new_accounts,
    warnings: row.warnings,
  };
}

/**
 * The rows with their blind indexes and sealed accounts. Indexing and encryption are CPU work: done before the
 * transaction, so that no lock is held meanwhile (the people's own ciphertexts are made a chunk at a time as they are
 * inserted). A function of its own, so that the map of indexes is let go once the rows carry theirs.
 */
function prepareRows(core: Core, rows: RegistryImportRow[]) {
  const indexes = blindIndexesOf(core.crypto, 'id', rows.flatMap((row) => [row.id.idNumber, row.headIdNumber]));
  const accounts = sealAccounts(core, rows.flatMap((row) => (row.account ? [row.account] : [])));
  let nextAccount = 0;
  return rows.map((row) => ({
    row,
    idIndex: indexes.get(row.id.idNumber)!,
    headIndex: indexes.get(row.headIdNumber)!,
    account: row.account ? accounts[nextAccount++]! : null,
  }));
}

/**
 * People whose rows (with their ciphertexts) are made and inserted at a time: made all at once, 50,000 people's rows
 * outlive many statements and pile up in V8's old generation, some 30 MB of resident memory (issue 18).
 */
const PERSON_CHUNK = 1_000;

export async function importRegistry(core: Core, actor: Actor, file: { name: string; buffer: Buffer }): Promise<RegistryImportOutcome> {
  await authorize(core.db, actor, can(actor, 'register', null), { objectType: 'import' });
  const township = await findRegion(core.db, actor.regionId);
  if (!township || township.level !== 'township') throw new ForbiddenError('受益对象导入由乡镇经办站所办理：您的账号不在乡镇一级');
  const sha256 = createHash('sha256').update(file.buffer).digest('hex');
  const previous = await findImport(core.db, township.id, sha256);
  if (previous) return { ok: true, repeated: true, ...previous };
  // The township's column mapping, if it saved one, names its columns before the aliases do.
  const mapping = await columnMappingOf(core.db, township.id, REGISTRY_FILE_KIND);
  const parsed = await parseRegistryFile(file.buffer, township.name, mapping);
  if (!parsed.ok) return parsed;
  releaseGarbage(parsed.rows.length);
  const format = file.buffer.subarray(0, 2).toString('latin1') === 'PK' ? 'xlsx' : 'csv';

  const prepared = prepareRows(core, parsed.rows);
  // The indexing leaves its garbage (the map of indexes, the lists hashed); and below, the checks leave theirs.
  releaseGarbage(prepared.length);

  const outcome = await inTransaction(core.db, async (trx): Promise<RegistryImportOutcome | ImportError[]> => {
    // The same file sent twice at once (a double click, a second tab) is imported once: the other waits here.
    if (!(await claimFileDigest(trx, 'beneficiary_import', { township_id: township.id, file_sha256: sha256 }))) return { ok: true, repeated: true, ...(await findImport(trx, township.id, sha256))! };

    const villages = new Map<string, number>(
      (await trx('core_region').where({ parent_id: township.id, level: 'village' }).select('id', 'name')).map((v: { id: number; name: string }) => [v.name, v.id]),
    );
    const existing = new Map<string, ExistingPerson>();
    const people = await selectInChunks<ExistingPerson>(prepared.flatMap((p) => [p.idIndex, p.headIndex]), (chunk) =>
      trx('beneficiary_person as p')
        .join('core_region as v', 'v.id', 'p.village_id')
        .join('core_region as t', 't.id', 'v.parent_id')
        .leftJoin('beneficiary_household as h', 'h.id', 'p.household_id')
        .leftJoin('beneficiary_person as hp', 'hp.id', 'h.head_person_id')
        .whereIn('p.id_index', chunk)
        .select('p.id', 'p.name', 'p.id_index', 'p.village_id', 'v.name as village_name', 't.id as township_id', 't.name as township_name', 'p.household_id', 'p.relation', 'p.phone_enc', 'p.version', 'hp.id_index as head_index'),
    );
    for (const p of people) existing.set(p.id_index, p);

    // Who holds each account of the file now, and what the file's registered people hold and have asked for.
    const holders = new Map<string, { person_id: number; name: string }>();
    const accountIndexes = prepared.flatMap((p) => (p.account ? [p.account.account_index] : []));
    for (const a of await selectInChunks<{ account_index: string; person_id: number; name: string }>(accountIndexes, (chunk) =>
      trx('beneficiary_account as a').join('beneficiary_person as p', 'p.id', 'a.person_id').whereIn('a.status', ['active', 'pending']).whereIn('a.account_index', chunk).select('a.account_index', 'a.person_id', 'p.name'),
    )) {
      holders.set(a.account_index, { person_id: a.person_id, name: a.name });
    }
    const registeredIds = prepared.flatMap((p) => {
      const person = existing.get(p.idIndex);
      return person ? [person.id] : [];
    });
    // A person's account is the active one, or the first one still waiting for the finance office (never both).
    const current = new Map<number, { account_index: string; kind: string; bank_name: string; status: 'active' | 'pending' }>();
    for (const a of await selectInChunks<{ person_id: number; account_index: string; kind: string; bank_name: string; status: 'active' | 'pending' }>(registeredIds, (chunk) =>
      trx('beneficiary_account').whereIn('person_id', chunk).whereIn('status', ['active', 'pending']).select('person_id', 'account_index', 'kind', 'bank_name', 'status'),
    )) {
      current.set(a.person_id, a);
    }
    const sameAccount = (personId: number, account: { account_index: string; kind: string; bank_name: string } | null) => {
      const own = current.get(personId);
      return own?.account_index === account?.account_index && own?.kind === account?.kind && own?.bank_name === account?.bank_name;
    };
    const pending = new Map<number, string>();
    const pendingRequests = await selectInChunks<{ person_id: number; payload_enc: string }>(registeredIds, (chunk) => trx('beneficiary_change_request').where({ kind: 'account', state: 'pending' }).whereIn('person_id', chunk).select('person_id', 'payload_enc'));
    core.crypto.decryptMany(pendingRequests.map((r) => r.payload_enc)).forEach((payload, i) => {
      const change = JSON.parse(payload) as ChangeRequest;
      if (change.kind === 'account') pending.set(pendingRequests[i]!.person_id, change.account.number.replace(/[\s-]/g, ''));
    });

    const errors: ImportError[] = [];
    const fileHeads = new Set(prepared.filter((p) => p.row.relation === 'head').map((p) => p.idIndex));
    for (const { row, idIndex, headIndex, account } of prepared) {
      const fail = (field: string, message: string) => errors.push({ rowNumber: row.rowNumber, field, message });
      const villageId = villages.get(row.village);
      if (villageId === undefined) fail('村（社区）', `本乡镇（${township.name}）没有名为「${row.village}」的村（社区）`);
      const person = existing.get(idIndex);
      if (person) {
        if (person.township_id !== township.id) fail('身份证号码', `此人已登记在${person.township_name}${person.village_name}，一人只能登记一次；迁入本乡镇的须由原乡镇先办理迁出`);
        else if (villageId !== undefined && person.village_id !== villageId) fail('村（社区）', `此人已登记在${person.village_name}，导入不能改变所在村（社区）`);
        else if ((person.relation === 'head') !== (row.relation === 'head')) {
          fail('与户主关系', person.relation === 'head' ? '此人已登记为户主，导入不能改为户内成员' : '此人已登记为户内成员，导入不能改为户主');
        } else if (row.relation !== 'head' && person.head_index !== headIndex) fail('户主身份证号码', '与登记的户主不一致：导入不能调整户籍关系');
        const requested = pending.get(person.id);
        const same = account && current.get(person.id)?.account_index === account.account_index;
        if (account && !same && requested !== undefined && requested !== row.account!.number) fail('账号', '此人已有另一账户变更在等待财政所确认：请待其处理后再导入');
        else if (account && current.get(person.id)?.status === 'pending' && !sameAccount(person.id, account)) fail('账号', '此人登记的发放账户正在等待财政所确认：请待其确认或退回后再导入另一账户');
      } else if (row.relation !== 'head' && !fileHeads.has(headIndex)) {
        const head = existing.get(headIndex);
        if (!head) fail('户主身份证号码', '文件和登记中都没有这位户主：请把户主一并列入文件');
        else if (head.relation !== 'head') fail('户主身份证号码', '该身份证号码登记的人不是户主');
        else if (head.township_id !== township.id || (villageId !== undefined && head.village_id !== villageId)) fail('户主身份证号码', `户主登记在${head.township_name}${head.village_name}，与本行的村（社区）不一致`);
      }
      const holder = account ? holders.get(account.account_index) : undefined;
      if (holder && holder.person_id !== person?.id) fail('账号', `该账号已是另一位受益对象（${maskName(holder.name)}）的发放账户：一人一卡，不得共用`);
    }
    if (errors.length) return errors;
    releaseGarbage(prepared.length);

    const now = nowIso();
    const counts = { created: 0, updated: 0, unchanged: 0, accountRequests: 0, luhnWarnings: prepared.filter((p) => p.account?.luhn_warning).length, newAccounts: 0 };
    const importId = await insertReturningId(trx, 'beneficiary_import', {
      township_id: township.id,
      file_sha256: sha256,
      file_name: file.name.slice(0, 200),
      format,
      rows: prepared.length,
      created: 0,
      updated: 0,
      unchanged: 0,
      account_requests: 0,
      luhn_warnings: counts.luhnWarnings,
      warnings: parsed.warnings.length,
      imported_by: actor.userId,
      imported_at: now,
    });
    await bulkInsert(trx, 'beneficiary_import_warning', parsed.warnings, (w) => ({ import_id: importId, row_number: w.rowNumber, field: w.field, message: w.message }));

    // New people: ids reserved first, so that households, people and accounts go in as three bulk inserts.
    const fresh = prepared.filter((p) => !existing.has(p.idIndex));
    const freshHeads = fresh.filter((p) => p.row.relation === 'head');
    const personIds = await reserveIds(trx, 'beneficiary_person', fresh.length);
    const householdIds = await reserveIds(trx, 'beneficiary_household', freshHeads.length);
    const personIdOf = new Map(fresh.map((p, i) => [p.idIndex, personIds[i]!]));
    const householdOf = new Map(freshHeads.map((p, i) => [p.idIndex, householdIds[i]!]));
    const householdFor = (headIndex: string) => householdOf.get(headIndex) ?? existing.get(headIndex)!.household_id;
    await bulkInsert(trx, 'beneficiary_household', freshHeads, (p) => ({
      id: householdOf.get(p.idIndex),
      village_id: villages.get(p.row.village),
      head_person_id: personIdOf.get(p.idIndex),
      created_at: now,
      updated_at: now,
    }));
    for (let i = 0; i < fresh.length; i += PERSON_CHUNK) {
      const chunk = fresh.slice(i, i + PERSON_CHUNK);
      const personRows = newPersonRows(core, actor, chunk.map((p) => ({ name: p.row.name, id: p.row.id, idIndex: p.idIndex, villageId: villages.get(p.row.village)!, householdId: householdFor(p.headIndex), relation: p.row.relation, phone: p.row.phone })));
      await bulkInsert(trx, 'beneficiary_person', chunk.map((p, j) => ({ p, row: personRows[j]! })), ({ p, row }) => ({ id: personIdOf.get(p.idIndex), ...row, created_at: now, updated_at: now, import_id: importId }));
      await giveWay();
    }
    // Inserted 1,000 at a time, the people are not yet in the table's statistics (core/db refreshStatistics).
    await refreshStatistics(trx, 'beneficiary_person', fresh.length);
    const freshAccounts = fresh.filter((p) => p.account);
    await bulkInsert(trx, 'beneficiary_account', freshAccounts, (p) => pendingAccountRow(actor, personIdOf.get(p.idIndex)!, p.account!, '导入时提供', importId));
    counts.created = fresh.length;
    counts.newAccounts = freshAccounts.length;

    // Registered people: corrections in place (revision-guarded), a different account as a change request.
    const withPhones = prepared.flatMap(({ row, idIndex }) => {
      const person = existing.get(idIndex);
      return row.phone && person?.phone_enc ? [person] : [];
    });
    const phones = new Map(core.crypto.decryptMany(withPhones.map((p) => p.phone_enc!)).map((phone, i) => [withPhones[i]!.id, phone]));
    const requests: Record<string, unknown>[] = [];
    for (const { row, idIndex, account } of prepared) {
      const person = existing.get(idIndex);
      if (!person) continue;
      const changes: Record<string, unknown> = {};
      if (person.name !== row.name) changes.name = row.name;
      if (person.relation !== row.relation) changes.relation = row.relation;
      if (row.phone && (phones.get(person.id) ?? null) !== row.phone) {
        changes.phone_enc = core.crypto.encrypt(row.phone);
        changes.phone_masked = maskPhone(row.phone);
      }
      if (Object.keys(changes).length) {
        const updated = await trx('beneficiary_person')
          .where({ id: person.id, version: person.version })
          .update({ ...changes, version: person.version + 1, updated_by: actor.userId, updated_at: now });
        if (updated !== 1) throw new ConflictError('导入期间有人修改了文件中的受益对象，请重新导入');
        counts.updated++;
      }
      if (account && row.account && !sameAccount(person.id, account) && pending.get(person.id) !== row.account.number) {
        const change: ChangeRequest = { kind: 'account', account: { kind: row.account.kind, bankName: row.account.bankName, number: row.account.number, holderName: row.account.holderName, nonCardReason: row.account.nonCardReason, nonCardNote: row.account.nonCardNote } };
        requests.push({
          person_id: person.id,
          kind: 'account',
          payload_enc: core.crypto.encrypt(JSON.stringify(change)),
          summary: accountChangeSummary(change.account, row.account.number, row.account.luhnWarning),
          reason: `由导入文件「${file.name.slice(0, 150)}」提出`,
          requested_by: actor.userId,
          requested_at: now,
          state: 'pending',
        });
      } else if (!Object.keys(changes).length) {
        counts.unchanged++;
      }
    }
    await bulkInsert(trx, 'beneficiary_change_request', requests, (r) => r);
    counts.accountRequests = requests.length;

    await trx('beneficiary_import')
      .where({ id: importId })
      .update({ created: counts.created, updated: counts.updated, unchanged: counts.unchanged, account_requests: counts.accountRequests, new_accounts: counts.newAccounts, accounts_state: counts.newAccounts ? 'pending' : null });
    await recordAudit(trx, actor, {
      action: 'beneficiary.import',
      objectType: 'import',
      objectId: importId,
      summary: { township: township.name, file: file.name, sha256, format, rows: prepared.length, ...counts },
    });
    return { ok: true, repeated: false, importId, fileName: file.name, importedAt: now, rows: prepared.length, ...counts, warnings: parsed.warnings.length };
  });
  if (!Array.isArray(outcome)) return outcome;
  return { ok: false, errors: outcome, report: await registryErrorReport(file.buffer, outcome, mapping) };
}
