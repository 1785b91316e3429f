import { afterEach, describe, expect, it } from 'vitest';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { decideAccount } from '../../src/modules/beneficiary/commands.ts';
import { importRegistry } from '../../src/modules/beneficiary/registry-import.ts';
import { REGISTRY_FILE_HEADER } from '../../seeds/fake-people.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, auditRows, binaryParser, confirmNewAccounts, createSeededDb, csrfFrom, idNumberFrom, login, regionId, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const BANK_CARD = '4532015112830366';
const OTHER_CARD = '4916338506082832';

describe(`社保卡优先: the reason for another account, the list of people not paid to a 社保卡, their card requests (${TEST_DB})`, () => {
  it('refuses a bank card or passbook on the forms without a reason from the list (and 其他 without a few words), and keeps the reason with the account', async () => {
    t = await createSeededDb({ demo: true });
    const station = agentFor(t.core);
    await login(station, 'station1');
    const form = { name: '孙存折', idNumber: idNumberFrom('99010219620101001'), villageId: String(await regionId(t, '南河村')), relation: 'head', hasAccount: 'on', accountKind: 'bankcard', bankName: '某银行', accountNumber: BANK_CARD, holderName: '' };

    const noReason = await submit(station, '/beneficiaries/new', '/beneficiaries', form);
    expect(noReason.status).toBe(422);
    expect(noReason.text).toContain('账户类型不是社会保障卡时，须选择未使用社保卡的原因（社保卡优先）');
    expect(noReason.text).toContain('href="#f-nonCardReason"');
    const otherWithout = await submit(station, '/beneficiaries/new', '/beneficiaries', { ...form, nonCardReason: 'other', nonCardNote: '' });
    expect(otherWithout.status).toBe(422);
    expect(otherWithout.text).toContain('原因为其他的，请写明具体原因');
    expect(await t.core.db('beneficiary_person').where({ name: '孙存折' }).first('id')).toBeUndefined();

    const ok = await submit(station, '/beneficiaries/new', '/beneficiaries', { ...form, nonCardReason: 'not_activated' });
    expect(ok.status).toBe(303);
    const person = await t.core.db('beneficiary_person').where({ name: '孙存折' }).first('id');
    expect(await t.core.db('beneficiary_account').where({ person_id: person.id }).first('kind', 'non_card_reason', 'non_card_note')).toEqual({ kind: 'bankcard', non_card_reason: 'not_activated', non_card_note: null });
    expect((await station.get(`/beneficiaries/${person.id}`)).text).toContain('未使用社保卡：社保卡未激活金融功能');

    const account = await t.core.db('beneficiary_account').where({ person_id: person.id }).first('id');
    await decideAccount(t.core, await actorFor(t, 'finance1'), account.id, { approve: true, note: null });
    // The account change on the person's page: the same rule, the same message beside its own field.
    const change = await submit(station, `/beneficiaries/${person.id}`, `/beneficiaries/${person.id}/account-change`, { accountKind: 'passbook', bankName: '某信用社', accountNumber: '62215588990011', holderName: '孙存折', reason: '改用存折' });
    expect(change.status).toBe(422);
    expect(change.text).toContain('href="#f-account-nonCardReason"');
    // A 社保卡 needs none.
    expect((await submit(station, `/beneficiaries/${person.id}`, `/beneficiaries/${person.id}/account-change`, { accountKind: 'sscard', bankName: '某银行', accountNumber: '6217000010001234567', holderName: '孙存折', reason: '已领社保卡' })).status).toBe(303);
  });

  it('refuses an import row whose bank card has an empty or unknown reason, naming row and field; reads the reasons as counties write them', async () => {
    t = await createSeededDb({ demo: true });
    const station = await actorFor(t, 'station1');
    const header = [...REGISTRY_FILE_HEADER, '未使用社保卡原因'];
    const [a, b, c] = [idNumberFrom('99010219600101001'), idNumberFrom('99010219610101002'), idNumberFrom('99010219620101003')];
    const row = (name: string, id: string, kind: string, number: string, reason: string) => ['西街村', name, id, '户主', '', '', kind, '某银行', number, name, reason];
    const bad = await importRegistry(t.core, station, {
      name: 'bad.xlsx',
      buffer: await writeTableXlsx('花名册', header, [row('周甲', a, '银行卡', BANK_CARD, ''), row('周乙', b, '存折', '62215588990011', '不想办'), row('周丙', c, '社会保障卡', '6217000010001234567', '')]),
    });
    if (bad.ok) throw new Error('expected a refusal');
    expect(bad.errors.map((e) => `${e.rowNumber}|${e.field}`)).toEqual(['2|非社保卡原因', '3|非社保卡原因']);
    expect(bad.errors[0]!.message).toContain('账户类型为银行卡时不能为空');
    expect(bad.errors[1]!.message).toContain('「不想办」无法识别');

    const good = await importRegistry(t.core, station, {
      name: 'good.xlsx',
      buffer: await writeTableXlsx('花名册', header, [row('周甲', a, '银行卡', BANK_CARD, '其他：长期在外务工，在务工地开户'), row('周乙', b, '存折', '62215588990011', '未领卡'), row('周丙', c, '社会保障卡', '6217000010001234567', '')]),
    });
    expect(good).toMatchObject({ ok: true, created: 3 });
    const stored = await t.core.db('beneficiary_account as a').join('beneficiary_person as p', 'p.id', 'a.person_id').orderBy('p.name').select('p.name', 'a.non_card_reason', 'a.non_card_note');
    expect(stored).toEqual([
      { name: '周丙', non_card_reason: null, non_card_note: null },
      { name: '周乙', non_card_reason: 'not_issued', non_card_note: null },
      { name: '周甲', non_card_reason: 'other', non_card_note: '长期在外务工，在务工地开户' },
    ].sort((x, y) => (x.name < y.name ? -1 : 1)));
  });

  it('lists the people paid to a bank card or passbook with the reason, exports it masked, and asks the bank to open their 社保卡 from the button', async () => {
    t = await createSeededDb({ demo: true });
    const header = [...REGISTRY_FILE_HEADER, '非社保卡原因'];
    const [a, b] = [idNumberFrom('99010219600101001'), idNumberFrom('99010219610101002')];
    const imported = await importRegistry(t.core, await actorFor(t, 'station1'), {
      name: 'people.xlsx',
      buffer: await writeTableXlsx('花名册', header, [
        ['西街村', '吴甲', a, '户主', '', '', '银行卡', '某银行', BANK_CARD, '吴甲', '社保卡尚未发放'],
        ['南河村', '吴乙', b, '户主', '', '', '银行卡', '某银行', OTHER_CARD, '吴乙', '其他：社保卡发卡行无网点'],
      ]),
    });
    if (!imported.ok) throw new Error(JSON.stringify(imported.errors));
    await confirmNewAccounts(t);
    const ids = Object.fromEntries((await t.core.db('beneficiary_person').whereIn('name', ['吴甲', '吴乙']).select('id', 'name')).map((p: { id: number; name: string }) => [p.name, p.id]));
    const bankOrg = await t.core.db('core_org').where({ kind: 'bank' }).first('id');

    const station = agentFor(t.core);
    await login(station, 'station1');
    expect((await station.get('/')).text).toContain('未使用社保卡发放的人员（申请办理社保卡）');
    const page = await station.get('/bank/not-on-card');
    expect(page.status).toBe(200);
    expect(page.text).toContain('吴甲');
    expect(page.text).toContain('社保卡尚未发放');
    expect(page.text).toContain('其他：社保卡发卡行无网点');
    expect(page.text).not.toContain(a);
    expect((await station.get('/bank/not-on-card?reason=other')).text).not.toContain('吴甲');
    const exported = await station.get('/bank/not-on-card/export.xlsx').buffer(true).parse(binaryParser);
    expect(exported.status).toBe(200);
    expect((await auditRows(t.core, 'bank.not_on_card.export')).length).toBe(1);

    // The finance office reads the list, without the button; the bank does not read the registry's list.
    const office = agentFor(t.core);
    await login(office, 'finance1');
    const officePage = await office.get('/bank/not-on-card');
    expect(officePage.status).toBe(200);
    expect(officePage.text).not.toContain('申请办理社保卡（所勾选人员）');
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    expect((await bank.get('/bank/not-on-card')).status).toBe(403);

    const post = (fields: Record<string, string | string[]>) => station.post('/bank/not-on-card/request').type('form').send({ _csrf: csrfFrom(page.text), ...fields });
    const noBank = await post({ scope: 'selected', personId: String(ids['吴甲']) });
    expect(noBank.status).toBe(422);
    expect(noBank.text).toContain('请选择代发金融机构');
    expect(noBank.text).toContain('href="#f-bankOrgId"');
    const nobody = await post({ scope: 'selected', bankOrgId: String(bankOrg.id) });
    expect(nobody.status).toBe(422);
    expect(nobody.text).toContain('请勾选要办理社保卡的人员');

    const sent = await post({ scope: 'selected', bankOrgId: String(bankOrg.id), personId: String(ids['吴甲']) });
    expect(sent.status).toBe(303);
    const first = Number(/\/bank\/card-requests\/(\d+)/.exec(sent.headers.location!)![1]);
    expect(await t.core.db('bank_card_request_line').where({ request_id: first }).select('person_id', 'reason')).toEqual([{ person_id: ids['吴甲'], reason: 'no_sscard' }]);
    expect((await station.get(`/bank/card-requests/${first}`)).text).toContain('未使用社保卡发放');
    expect((await station.get('/bank/not-on-card')).text).toContain('待银行办理');

    // All the filter selects: those already waiting for the bank are left out.
    const all = await post({ scope: 'all', bankOrgId: String(bankOrg.id) });
    expect(all.status).toBe(303);
    const second = Number(/\/bank\/card-requests\/(\d+)/.exec(all.headers.location!)![1]);
    expect(await t.core.db('bank_card_request_line').where({ request_id: second }).select('person_id', 'reason')).toEqual([{ person_id: ids['吴乙'], reason: 'no_sscard' }]);
    const again = await post({ scope: 'all', bankOrgId: String(bankOrg.id) });
    expect(again.status).toBe(422);
    expect(again.text).toContain('筛选出的人员都已在待银行办理的开卡申请中');
    expect((await auditRows(t.core, 'bank.card_request.send')).length).toBe(2);
  });
});
