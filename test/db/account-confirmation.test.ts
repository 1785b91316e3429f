import { afterEach, describe, expect, it } from 'vitest';
import { FourEyesError } from '../../src/core/authz.ts';
import { ConflictError, ForbiddenError } from '../../src/core/errors.ts';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { decideAccount, decideImportAccounts, registerPerson, requestChange } from '../../src/modules/beneficiary/commands.ts';
import { accountsOf, importAccounts, pendingAccounts, pendingImports, peopleWithoutAccount, registryFactsById } from '../../src/modules/beneficiary/queries.ts';
import { importRegistry } from '../../src/modules/beneficiary/registry-import.ts';
import { addLine, checkRoster, createRound, removeLine } from '../../src/modules/batch/commands.ts';
import { REGISTRY_FILE_HEADER, fakeHouseholds, registryFileRows } from '../../seeds/fake-people.ts';
import { TEST_DB, type TestDb, actorFor, auditRows, createSeededDb, idNumberFrom, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const card = (holderName: string, number = '6239990000000000018') => ({ kind: 'sscard' as const, bankName: '青禾县农村信用合作联社', number, holderName });
const head = (name: string, idNumber: string, account: ReturnType<typeof card> | null) => ({ name, idNumber, villageId: 0, relation: 'head' as const, headPersonId: null, phone: null, account });

/** A township file of a few households of 城关镇, each card number valid but the first one's (its check digit broken). */
async function townshipFile() {
  const rows = registryFileRows(fakeHouseholds({ households: 4, villages: ['东关社区', '西街村'], seed: 21, sharedAccounts: 0, secondAccounts: 0, deceasedShare: 0, movedShare: 0 }));
  const warned = rows.findIndex((r) => r[8] !== '' && r[6] !== '存折');
  const number = rows[warned]![8]!;
  rows[warned]![8] = `${number.slice(0, -1)}${(Number(number.slice(-1)) + 1) % 10}`;
  return { rows, withAccount: rows.filter((r) => r[8] !== ''), warned: rows[warned]!, file: await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, rows) };
}

const statusesOf = async (db: TestDb, importId: number) =>
  (await db.core.db('beneficiary_account').where({ import_id: importId }).select('status')).map((a: { status: string }) => a.status);

describe(`a newly registered person's first account waits for the township finance office (${TEST_DB})`, () => {
  it('is written pending by the form, cannot be paid meanwhile (the roster check blocks the line), and is confirmed by the finance office, never by the station that registered it', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const office = await actorFor(t, 'finance1');
    const idNumber = idNumberFrom('99010219700101001');
    const personId = await registerPerson(t.core, station, { ...head('周甲', idNumber, card('周甲')), villageId: await regionId(t, '西街村') });
    const [account] = await accountsOf(t.core.db, personId);
    expect(account).toMatchObject({ status: 'pending', active_person_id: null, import_id: null });
    const [facts] = await registryFactsById(t.core.db, [personId]);
    expect(facts!.account).toBeNull();
    // Not someone the bank should open a card for: their account is on its way.
    expect((await peopleWithoutAccount(t.core.db, await regionId(t, '城关镇'))).map((p) => p.id)).not.toContain(personId);

    // A round's roster: the line has no account and the check blocks it (no cash, no unconfirmed account).
    const item = await t.core.db('policy_item').where({ code: 'JC-01' }).first('id');
    const roundId = await createRound(t.core, await actorFor(t, 'dept_agri'), { policyItemId: item.id, period: '2026' });
    const roster = await t.core.db('batch_roster').where({ round_id: roundId, township_id: await regionId(t, '城关镇') }).first('id');
    const lineId = await addLine(t.core, station, roster.id, { idNumber, tierName: null, quantity: '5' });
    expect(await checkRoster(t.core, office, roster.id)).toEqual({ blocking: 1, warnings: 0, resolved: 0 });
    expect(await t.core.db('batch_finding').where({ roster_id: roster.id, state: 'open' }).select('rule', 'severity')).toEqual([{ rule: 'no-account', severity: 'blocking' }]);

    // The finance office's list shows it; the station cannot confirm it, nor the registering user holding both roles.
    expect((await pendingAccounts(t.core.db, office)).map((a) => a.id)).toEqual([account!.id]);
    await expect(decideAccount(t.core, station, account!.id, { approve: true, note: null })).rejects.toThrow(ForbiddenError);
    await expect(decideAccount(t.core, { ...office, userId: station.userId }, account!.id, { approve: true, note: null })).rejects.toThrow(FourEyesError);
    expect((await accountsOf(t.core.db, personId))[0]!.status).toBe('pending');

    await decideAccount(t.core, office, account!.id, { approve: true, note: '核对开户资料无误' });
    expect((await accountsOf(t.core.db, personId))[0]).toMatchObject({ status: 'active', active_person_id: personId, decision_note: '核对开户资料无误' });
    expect((await registryFactsById(t.core.db, [personId]))[0]!.account).toMatchObject({ last4: '0018' });
    await expect(decideAccount(t.core, office, account!.id, { approve: false, note: null })).rejects.toThrow(ConflictError);
    expect(await pendingAccounts(t.core.db, office)).toEqual([]);
    const audit = await auditRows(t.core, 'beneficiary.account.confirm');
    expect(audit).toHaveLength(1);
    expect(audit[0].summary).not.toMatch(/6239990000000000018|周甲/);

    // Compiled again now that the account is confirmed, the line is payable.
    await removeLine(t.core, station, lineId, '账户确认后重新编制');
    await addLine(t.core, station, roster.id, { idNumber, tierName: null, quantity: '5' });
    expect(await checkRoster(t.core, office, roster.id)).toEqual({ blocking: 0, warnings: 0, resolved: 0 });
  });

  it('refused, leaves the person registered without an active account, for whom the station may then ask for another', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const office = await actorFor(t, 'finance1');
    const personId = await registerPerson(t.core, station, { ...head('周乙', idNumberFrom('99010219700201002'), card('周乙')), villageId: await regionId(t, '西街村') });
    const [account] = await accountsOf(t.core.db, personId);
    await decideAccount(t.core, office, account!.id, { approve: false, note: '卡号与开户回执不符' });
    expect((await accountsOf(t.core.db, personId))[0]).toMatchObject({ status: 'refused', active_person_id: null, decision_note: '卡号与开户回执不符' });
    expect((await registryFactsById(t.core.db, [personId]))[0]).toMatchObject({ status: 'active', account: null });
    expect((await peopleWithoutAccount(t.core.db, await regionId(t, '城关镇'))).map((p) => p.id)).toContain(personId);
    expect(await auditRows(t.core, 'beneficiary.account.reject')).toHaveLength(1);
    await requestChange(t.core, station, personId, { kind: 'account', account: card('周乙', '6239991111111111117') }, '重新提供社保卡账号');
  });

  it("pends an import's new accounts as one group: listed with their warnings, confirmed together in one step and audited once with the count, never by the importing user", async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const office = await actorFor(t, 'finance1');
    const { rows, withAccount, warned, file } = await townshipFile();
    const outcome = await importRegistry(t.core, station, { name: '城关镇花名册.xlsx', buffer: file });
    if (!outcome.ok) throw new Error('the file was refused');
    expect(outcome).toMatchObject({ created: rows.length, newAccounts: withAccount.length, luhnWarnings: 1 });
    expect(await statusesOf(t, outcome.importId)).toEqual(Array(withAccount.length).fill('pending'));
    const people = await t.core.db('beneficiary_person').where({ import_id: outcome.importId }).pluck('id');
    expect((await registryFactsById(t.core.db, people)).filter((f) => f.account !== null)).toEqual([]);

    // The finance office's list: the import, its new accounts with the warned one first; not one line per account.
    expect(await pendingAccounts(t.core.db, office)).toEqual([]);
    const [pending] = await pendingImports(t.core.db, office);
    expect(pending).toMatchObject({ id: outcome.importId, new_accounts: withAccount.length, accounts_state: 'pending', version: 1 });
    const list = await importAccounts(t.core.db, outcome.importId, 1, 100);
    expect(list).toMatchObject({ total: withAccount.length, luhnWarnings: 1 });
    expect(list.rows[0]).toMatchObject({ person_name: warned[1], luhn_warning: true, status: 'pending' });
    await expect(decideAccount(t.core, office, list.rows[1]!.id, { approve: true, note: null })).rejects.toThrow('一并确认');

    // Not the station, not the importing user holding both roles, not from a stale page: and nothing changes.
    await expect(decideImportAccounts(t.core, station, outcome.importId, { approve: true, note: null, version: 1 })).rejects.toThrow(ForbiddenError);
    await expect(decideImportAccounts(t.core, { ...office, userId: station.userId }, outcome.importId, { approve: true, note: null, version: 1 })).rejects.toThrow(FourEyesError);
    await expect(decideImportAccounts(t.core, office, outcome.importId, { approve: true, note: null, version: 2 })).rejects.toThrow(ConflictError);
    expect(await statusesOf(t, outcome.importId)).toEqual(Array(withAccount.length).fill('pending'));

    expect(await decideImportAccounts(t.core, office, outcome.importId, { approve: true, note: '已核对开户清单', version: 1 })).toBe(withAccount.length);
    expect(await statusesOf(t, outcome.importId)).toEqual(Array(withAccount.length).fill('active'));
    expect((await registryFactsById(t.core.db, people)).filter((f) => f.account !== null)).toHaveLength(withAccount.length);
    const audit = await auditRows(t.core, 'beneficiary.import.confirm_accounts');
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0].summary)).toMatchObject({ accounts: withAccount.length, luhnWarnings: 1 });
    expect(await t.core.db('beneficiary_import').where({ id: outcome.importId }).first('accounts_state', 'version')).toEqual({ accounts_state: 'confirmed', version: 2 });
    await expect(decideImportAccounts(t.core, office, outcome.importId, { approve: false, note: '再次', version: 2 })).rejects.toThrow(ConflictError);
    expect(await pendingImports(t.core.db, office)).toEqual([]);
  });

  it("refused together, leaves the import's people registered without an active account; a later file asks again only for an account that differs", async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const office = await actorFor(t, 'finance1');
    const { rows, withAccount, file } = await townshipFile();
    const outcome = await importRegistry(t.core, station, { name: '城关镇花名册.xlsx', buffer: file });
    if (!outcome.ok) throw new Error('the file was refused');

    // While the accounts wait, the same file's accounts change nothing, another account for one of them is refused.
    const again = await importRegistry(t.core, station, { name: '再次.xlsx', buffer: await writeTableXlsx('花名册（再次）', REGISTRY_FILE_HEADER, rows) });
    expect(again).toMatchObject({ ok: true, repeated: false, created: 0, accountRequests: 0, newAccounts: 0, unchanged: rows.length });
    const other = rows.map((r) => [...r]);
    const changed = other.findIndex((r) => r[8] !== '' && r[6] !== '存折');
    other[changed]![8] = '6239991234567890125';
    const refusedFile = await importRegistry(t.core, station, { name: '另一账户.xlsx', buffer: await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, other) });
    if (refusedFile.ok) throw new Error('expected the file to be refused');
    expect(refusedFile.errors).toEqual([{ rowNumber: changed + 2, field: '账号', message: '此人登记的发放账户正在等待财政所确认：请待其确认或退回后再导入另一账户' }]);

    const people = await t.core.db('beneficiary_person').count({ n: '*' }).first();
    expect(await decideImportAccounts(t.core, office, outcome.importId, { approve: false, note: '开户清单与文件不符，请核对后逐人申请', version: 1 })).toBe(withAccount.length);
    expect(await statusesOf(t, outcome.importId)).toEqual(Array(withAccount.length).fill('refused'));
    expect(await t.core.db('beneficiary_person').count({ n: '*' }).first()).toEqual(people);
    const ids = await t.core.db('beneficiary_person').where({ import_id: outcome.importId }).pluck('id');
    expect((await registryFactsById(t.core.db, ids)).every((f) => f.status === 'active' && f.account === null)).toBe(true);
    const audit = await auditRows(t.core, 'beneficiary.import.reject_accounts');
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0].summary)).toMatchObject({ accounts: withAccount.length, note: '开户清单与文件不符，请核对后逐人申请' });

    // Refused, the file's accounts are asked for again as account changes, one by one.
    const third = await importRegistry(t.core, station, { name: '改正后.xlsx', buffer: await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, other) });
    expect(third).toMatchObject({ ok: true, accountRequests: withAccount.length, newAccounts: 0 });
  });
});
