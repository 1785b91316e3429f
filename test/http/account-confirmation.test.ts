import { afterEach, describe, expect, it } from 'vitest';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { REGISTRY_FILE_HEADER, fakeHouseholds, registryFileRows } from '../../seeds/fake-people.ts';
import { TEST_DB, type TestDb, agentFor, auditRows, createSeededDb, csrfFrom, login, regionId, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const changes = async (db: TestDb) => Number((await db.core.db('core_audit').whereNotIn('action', ['access.denied', 'csrf.rejected']).count({ n: '*' }).first())!.n);

describe(`the township finance office confirms newly registered accounts on its pages (${TEST_DB})`, () => {
  it('lists an account registered by the form in the confirmation list its to-do opens; the station cannot confirm it; the office confirms it and it is in use', async () => {
    t = await createSeededDb({ demo: true });
    const station = agentFor(t.core);
    await login(station, 'station1');
    const registered = await submit(station, '/beneficiaries/new', '/beneficiaries', { name: '赵小河', idNumber: '11010519491231002X', villageId: String(await regionId(t, '南河村')), relation: 'head', hasAccount: 'on', accountKind: 'sscard', bankName: '青禾县农村信用合作联社', accountNumber: '6239990000000000018', holderName: '' });
    expect(registered.status).toBe(303);
    const personPath = registered.headers.location as string;
    const person = await station.get(personPath);
    expect(person.text).toContain('已登记；发放账户待乡镇财政所确认后生效');
    expect(person.text).toContain('<td>待财政所确认</td>');
    expect(person.text).not.toContain('/account-change"'); // no change of an account not yet confirmed

    const office = agentFor(t.core);
    await login(office, 'finance1');
    expect((await office.get('/')).text).toMatch(/href="\/beneficiaries\/changes"[^>]*>[^<]*待确认的账户和状态变更/);
    const list = await office.get('/beneficiaries/changes');
    expect(list.text).toContain('发放账户（新登记）');
    expect(list.text).toContain('登记发放账户 青禾县农村信用合作联社社会保障卡 ****0018');
    const action = /action="(\/beneficiaries\/accounts\/\d+\/decide)"/.exec(list.text)![1]!;

    const before = await changes(t);
    expect((await submit(station, personPath, action, { decision: 'confirm', note: '' })).status).toBe(403);
    const tooLong = await submit(office, '/beneficiaries/changes', action, { decision: 'confirm', note: '说'.repeat(201) });
    expect(tooLong.status).toBe(422);
    expect(await changes(t)).toBe(before);
    expect((await station.get(personPath)).text).toContain('<td>待财政所确认</td>');

    const confirmed = await submit(office, '/beneficiaries/changes', action, { decision: 'confirm', note: '核对开户资料无误' });
    expect(confirmed.status).toBe(303);
    expect((await office.get('/beneficiaries/changes')).text).toContain('已确认，账户生效');
    expect((await station.get(personPath)).text).toContain('<td>使用中</td>');
    expect(await auditRows(t.core, 'beneficiary.account.confirm')).toHaveLength(1);
    expect((await submit(office, '/beneficiaries/changes', action, { decision: 'reject', note: '' })).status).toBe(409);
  });

  it("opens an import's new accounts from the to-do with the file's warnings; refuses a stale page and a refusal without a reason, changing nothing; confirms them all in one step", async () => {
    t = await createSeededDb({ demo: true });
    const rows = registryFileRows(fakeHouseholds({ households: 3, villages: ['东关社区', '西街村'], seed: 5, sharedAccounts: 0, secondAccounts: 0, deceasedShare: 0, movedShare: 0 }));
    const warned = rows.findIndex((r) => r[8] !== '' && r[6] !== '存折');
    const number = rows[warned]![8]!;
    rows[warned]![8] = `${number.slice(0, -1)}${(Number(number.slice(-1)) + 1) % 10}`; // check digit broken: a warning, not a refusal
    const withAccount = rows.filter((r) => r[8] !== '');

    const station = agentFor(t.core);
    await login(station, 'station1');
    const page = await station.get('/beneficiaries/import');
    const imported = await station.post('/beneficiaries/import').field('_csrf', csrfFrom(page.text)).attach('file', await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, rows), '东关社区.xlsx');
    expect(imported.status).toBe(303);
    expect((await station.get('/beneficiaries/import')).text).toContain(`${withAccount.length} 个，待财政所确认`);
    const { id } = await t.core.db('beneficiary_import').orderBy('id', 'desc').first('id');
    const groupPath = `/beneficiaries/imports/${id}/accounts`;
    // The station sees its import's accounts waiting, with no decision to take.
    const stationView = await station.get(groupPath);
    expect(stationView.text).toContain('待乡镇财政所核对确认');
    expect(stationView.text).not.toContain('/accounts/decide"');

    const office = agentFor(t.core);
    await login(office, 'finance1');
    expect((await office.get('/')).text).toContain(`href="${groupPath}"`);
    expect((await office.get('/beneficiaries/changes')).text).toContain(`href="${groupPath}"`);
    const group = await office.get(groupPath);
    expect(group.status).toBe(200);
    for (const r of withAccount) expect(group.text).toContain(r[1]!);
    expect(group.text).toContain('其中 <strong>1 个卡号校验位不符</strong>');
    expect(group.text).toContain('卡号校验位不符，请核对');
    expect(group.text).toContain(`第 ${warned + 2} 行`); // the file's own warnings, row by row
    expect(group.text).not.toContain(number.slice(0, 12)); // account numbers masked
    expect(group.text).toContain('name="version" value="1"');

    const accounts = () => t!.core.db('beneficiary_account').where({ import_id: id }).pluck('status');
    const before = await changes(t);
    const stale = await submit(office, groupPath, `${groupPath}/decide`, { version: '999999', decision: 'confirm', note: '' });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('页面已过期');
    const noReason = await submit(office, groupPath, `${groupPath}/decide`, { version: '1', decision: 'reject', note: '' });
    expect(noReason.status).toBe(422);
    expect(noReason.text).toContain('全部退回时请写明原因');
    expect((await submit(station, groupPath, `${groupPath}/decide`, { version: '1', decision: 'confirm', note: '' })).status).toBe(403);
    expect(await changes(t)).toBe(before);
    expect(await accounts()).toEqual(Array(withAccount.length).fill('pending'));

    const confirmed = await submit(office, groupPath, `${groupPath}/decide`, { version: '1', decision: 'confirm', note: '' });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.location).toBe(groupPath);
    const after = await office.get(groupPath);
    expect(after.text).toContain(`已确认 ${withAccount.length} 个新账户`);
    expect(after.text).toContain('财政所已确认');
    expect(after.text).not.toContain('/accounts/decide"');
    expect(await accounts()).toEqual(Array(withAccount.length).fill('active'));
    expect(await auditRows(t.core, 'beneficiary.import.confirm_accounts')).toHaveLength(1);
    expect((await office.get('/')).text).not.toContain(groupPath);
  });
});
