import { afterEach, describe, expect, it } from 'vitest';
import { ForbiddenError, ValidationError } from '../../src/core/errors.ts';
import { correctPerson, decideAccount, decideChange, registerPerson, requestChange } from '../../src/modules/beneficiary/commands.ts';
import { accountsOf, personInScope, registryQuery } from '../../src/modules/beneficiary/queries.ts';
import { TEST_DB, type TestDb, actorFor, auditRows, createSeededDb, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const card = { kind: 'sscard' as const, bankName: '青禾县农村信用合作联社', number: '6239990000000000018', holderName: '张大山' };

describe(`the beneficiary registry (${TEST_DB})`, () => {
  it('registers a household head with a card: ID stored encrypted with a blind index, shown masked, audited masked', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const id = await registerPerson(t.core, station, { name: '张大山', idNumber: '11010519491231002x', villageId: await regionId(t, '西街村'), relation: 'head', headPersonId: null, phone: '13800000000', account: card });
    const row = await t.core.db('beneficiary_person').where({ id }).first();
    expect(row.id_enc).not.toContain('1101051949');
    expect(t.core.crypto.decrypt(row.id_enc)).toBe('11010519491231002X');
    expect(row).toMatchObject({ id_masked: '110105********002X', birth_date: '1949-12-31', sex: 'female', status: 'active', phone_masked: '138****0000' });
    const found: { id: number }[] = await registryQuery(t.core.db, station, { idIndex: t.core.crypto.blindIndex('id', '11010519491231002X') });
    expect(found.map((r) => r.id)).toEqual([id]);
    const [account] = await accountsOf(t.core.db, id);
    expect(account).toMatchObject({ status: 'pending', account_last4: '0018', luhn_warning: false }); // until the finance office confirms it
    const audit = (await auditRows(t.core, 'beneficiary.register'))[0];
    expect(audit.summary).not.toMatch(/11010519491231002X|6239990000000000018|张大山/);
  });

  it('registers one person per ID number in the whole deployment, and refuses bad numbers with the reason', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const village = await regionId(t, '西街村');
    await registerPerson(t.core, station, { name: '张大山', idNumber: '11010519491231002X', villageId: village, relation: 'head', headPersonId: null, phone: null, account: null });
    await expect(registerPerson(t.core, station, { name: '张大山', idNumber: '110105491231002', villageId: village, relation: 'head', headPersonId: null, phone: null, account: null })).rejects.toMatchObject({ fieldErrors: { idNumber: '该身份证号码已登记在“西街村”，一人只能登记一次' } });
    await expect(registerPerson(t.core, station, { name: '李四', idNumber: '110105194912310021', villageId: village, relation: 'head', headPersonId: null, phone: null, account: null })).rejects.toMatchObject({ fieldErrors: { idNumber: '身份证号码校验位不正确（可能有数字录入错误）' } });
    await expect(registerPerson(t.core, station, { name: '李四', idNumber: '440308198001010012', villageId: village, relation: 'head', headPersonId: null, phone: null, account: { ...card, number: '12345' } })).rejects.toThrow(ValidationError);
    // Another township's village is not the station's to register in.
    await expect(registerPerson(t.core, station, { name: '王五', idNumber: '440308198001010012', villageId: await regionId(t, '上坪村'), relation: 'head', headPersonId: null, phone: null, account: null })).rejects.toThrow(ForbiddenError);
  });

  it('changes a payout account only when the township finance office confirms, never the requester, and keeps the old one on record', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const financeOffice = await actorFor(t, 'finance1');
    const id = await registerPerson(t.core, station, { name: '张大山', idNumber: '11010519491231002X', villageId: await regionId(t, '西街村'), relation: 'head', headPersonId: null, phone: null, account: card });
    // The first account waits for the finance office too; no change of it can be asked for meanwhile.
    await expect(requestChange(t.core, station, id, { kind: 'account', account: { ...card, number: '6239991111111111117' } }, '社保卡挂失补办')).rejects.toThrow('正在等待财政所确认');
    await decideAccount(t.core, financeOffice, (await accountsOf(t.core.db, id))[0]!.id, { approve: true, note: null });
    const requestId = await requestChange(t.core, station, id, { kind: 'account', account: { ...card, number: '6239991111111111117' } }, '社保卡挂失补办');
    expect((await accountsOf(t.core.db, id)).map((a) => a.account_last4)).toEqual(['0018']); // nothing changes before confirmation
    await expect(requestChange(t.core, station, id, { kind: 'account', account: card }, '再次')).rejects.toThrow('已有同类变更');
    const both = { ...financeOffice, userId: station.userId };
    await expect(decideChange(t.core, both, requestId, { approve: true, note: null })).rejects.toThrow('四眼原则');
    await expect(decideChange(t.core, station, requestId, { approve: true, note: null })).rejects.toThrow(ForbiddenError);
    await decideChange(t.core, financeOffice, requestId, { approve: true, note: '核对无误' });
    const accounts = await accountsOf(t.core.db, id);
    expect(accounts.map((a) => [a.account_last4, a.status])).toEqual([['1117', 'active'], ['0018', 'closed']]);
    await expect(decideChange(t.core, financeOffice, requestId, { approve: true, note: null })).rejects.toThrow('该变更已被处理');

    const statusRequest = await requestChange(t.core, station, id, { kind: 'status', status: 'deceased', date: '2026-11-01', source: '村委会报告' }, '本人去世');
    await decideChange(t.core, financeOffice, statusRequest, { approve: true, note: null });
    expect(await personInScope(t.core.db, financeOffice, id)).toMatchObject({ status: 'deceased', status_date: '2026-11-01', status_source: '村委会报告' });
    expect((await auditRows(t.core)).map((r) => r.action).filter((a) => a.startsWith('beneficiary.'))).toEqual([
      'beneficiary.register',
      'beneficiary.account.confirm',
      'beneficiary.change.request',
      'beneficiary.change.confirm',
      'beneficiary.change.request',
      'beneficiary.change.confirm',
    ]);
  });

  it('lets the station correct name, phone and relation, guarded against a stale form, audited masked', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const village = await regionId(t, '西街村');
    const head = await registerPerson(t.core, station, { name: '张大山', idNumber: '11010519491231002X', villageId: village, relation: 'head', headPersonId: null, phone: '13800000000', account: null });
    const child = await registerPerson(t.core, station, { name: '张晓', idNumber: '440308198001010012', villageId: village, relation: 'spouse', headPersonId: head, phone: null, account: null });
    await correctPerson(t.core, station, child, { name: '张小晓', phone: null, relation: 'child', version: 1 });
    await expect(correctPerson(t.core, station, child, { name: '张某', phone: null, relation: 'child', version: 1 })).rejects.toThrow('该对象已被他人修改');
    await expect(correctPerson(t.core, station, head, { name: '张大山', phone: null, relation: 'spouse', version: 1 })).rejects.toThrow(ValidationError);
    await correctPerson(t.core, station, head, { name: '张大山', phone: null, relation: 'head', version: 1 });
    expect(await personInScope(t.core.db, station, head)).toMatchObject({ phone_masked: '138****0000', version: 2 }); // a blank phone keeps the one on record
    expect(await personInScope(t.core.db, station, child)).toMatchObject({ name: '张小晓', relation: 'child', version: 2 });
    const audit = (await auditRows(t.core, 'beneficiary.correct'))[0];
    expect(JSON.parse(audit.summary)).toEqual({ before: { name: '张*', phone: null, relation: 'spouse' }, after: { name: '张*晓', phone: null, relation: 'child' } });
  });

  it('seeds the demo registry: about 2,000 people in 600 households, valid IDs, one active account each at most', async () => {
    t = await createSeededDb({}, { people: true });
    const people = await t.core.db('beneficiary_person').count({ n: '*' }).first();
    expect(Number(people!.n)).toBeGreaterThan(1500);
    expect(await t.core.db('beneficiary_household').count({ n: '*' })).toEqual([{ n: 600 }]);
    const twoActive = await t.core.db('beneficiary_account').where({ status: 'active' }).groupBy('person_id').havingRaw('count(*) > 1').select('person_id');
    expect(twoActive).toEqual([]);
    const shared = await t.core.db('beneficiary_account').where({ status: 'active' }).groupBy('account_index').havingRaw('count(*) > 1').select('account_index');
    expect(shared).toHaveLength(3);
    expect(Number((await t.core.db('beneficiary_person').where({ status: 'deceased' }).count({ n: '*' }).first())!.n)).toBeGreaterThan(0);
    // Reference data for the checks: the police name two people still 在册, two public employees are on 低保.
    const deathHits = await t.core.db('beneficiary_reference_hit as h').join('beneficiary_person as p', 'p.id', 'h.person_id').where({ 'h.kind': 'deceased', 'p.status': 'active' }).select('p.id');
    expect(deathHits).toHaveLength(2);
    const employees = t.core.db('beneficiary_reference_hit').where({ kind: 'public_employee' }).select('person_id');
    expect(await t.core.db('beneficiary_reference_hit').where({ kind: 'other_program' }).whereIn('person_id', employees).count({ n: '*' })).toEqual([{ n: 2 }]);
  });
});
