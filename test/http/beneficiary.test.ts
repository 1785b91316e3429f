import { afterEach, describe, expect, it } from 'vitest';
import { TEST_DB, type TestDb, agentFor, createSeededDb, login, regionId, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe(`registry pages (${TEST_DB})`, () => {
  it('registers through the form, finds the person by exact ID number by POST, and shows numbers masked only', async () => {
    t = await createSeededDb({ demo: true });
    const station = agentFor(t.core);
    await login(station, 'station1');
    const village = String(await regionId(t, '南河村'));
    const bad = await submit(station, '/beneficiaries/new', '/beneficiaries', { name: '', idNumber: '110105194912310021', villageId: village, relation: 'head', hasAccount: 'on', accountKind: 'sscard', bankName: '信用社', accountNumber: '123', holderName: '' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('请填写姓名');
    expect(bad.text).not.toContain('110105194912310021'); // the page never echoes an ID number
    const ok = await submit(station, '/beneficiaries/new', '/beneficiaries', { name: '赵小河', idNumber: '11010519491231002X', villageId: village, relation: 'head', hasAccount: 'on', accountKind: 'sscard', bankName: '青禾县农村信用合作联社', accountNumber: '6239990000000000018', holderName: '' });
    expect(ok.status).toBe(303);
    const person = await station.get(ok.headers.location as string);
    expect(person.text).toContain('110105********002X');
    expect(person.text).toContain('****0018');
    expect(person.text).not.toMatch(/11010519491231002X|6239990000000000018/);
    const found = await submit(station, '/beneficiaries', '/beneficiaries/find', { idNumber: '11010519491231002x' });
    expect(found.status).toBe(200);
    expect(found.text).toContain('赵小河');
    const badId = await submit(station, '/beneficiaries', '/beneficiaries/find', { idNumber: '123' });
    expect(badId.status).toBe(422);
    expect(badId.text).toContain('身份证号码应为 18 位，当前为 3 位');
  });

  it('keeps a township station out of another township’s people and out of confirmations', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const other = await t.core.db('beneficiary_person as p').join('core_region as v', 'v.id', 'p.village_id').where('v.name', '上坪村').first('p.id');
    const station = agentFor(t.core);
    await login(station, 'station1');
    expect((await station.get(`/beneficiaries/${other.id}`)).status).toBe(403);
    expect((await station.get('/beneficiaries/changes')).status).toBe(403);
    expect((await station.get('/beneficiaries/abc')).status).toBe(404);
    const list = await station.get('/beneficiaries');
    expect(list.text).not.toContain('上坪村</td>');
    const financeOffice = agentFor(t.core);
    await login(financeOffice, 'finance1');
    expect((await financeOffice.get('/')).text).toContain('待确认的账户和状态变更');
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    expect((await bank.get('/beneficiaries')).status).toBe(403);
  });
});
