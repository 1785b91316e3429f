import { afterEach, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { REGISTRY_FILE_HEADER, fakeHouseholds, registryFileRows } from '../../seeds/fake-people.ts';
import { TEST_DB, type TestDb, agentFor, binaryParser, createSeededDb, csrfFrom, login, regionId, submit } from '../factories.ts';

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
    // What was typed stays on this staff screen (no-store, never in a URL), the ID and account numbers too.
    expect(bad.text).toContain('value="110105194912310021"');
    expect(bad.text).toContain('value="123"');
    expect(bad.headers['cache-control']).toBe('no-store');
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
    expect(badId.text).toContain('value="123"');
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

  it('imports a township file from the import page: the template, a refused file with its report to download, then the corrected file', async () => {
    t = await createSeededDb({ demo: true });
    const station = agentFor(t.core);
    await login(station, 'station1');
    const page = await station.get('/beneficiaries/import');
    expect(page.status).toBe(200);
    const template = await station.get('/beneficiaries/import/template.xlsx').buffer(true).parse(binaryParser);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(template.body as never);
    expect(workbook.worksheets[0]!.getRow(2).values).toEqual([undefined, '村（社区）*', '姓名*', '身份证号码*', '与户主关系*', '户主身份证号码*', '手机号码', '账户类型', '开户机构', '账号', '户名', '非社保卡原因']);

    const rows = registryFileRows(fakeHouseholds({ households: 3, villages: ['东关社区', '西街村'], seed: 3 }));
    // A whole household put in a village the township does not have.
    const firstHead = rows[0]![2]!;
    const inFirstHousehold = (r: string[]) => r[2] === firstHead || r[4] === firstHead;
    const broken = rows.map((r) => (inFirstHousehold(r) ? ['北山村', ...r.slice(1)] : r));
    const household = rows.filter(inFirstHousehold).length;
    const send = (file: Buffer, name: string) => station.post('/beneficiaries/import').field('_csrf', csrfFrom(page.text)).attach('file', file, name);
    const refused = await send(await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, broken), '东关社区.xlsx');
    expect(refused.status).toBe(422);
    expect(refused.text).toContain(`文件未导入：${household} 行有误，共 ${household} 处`);
    expect(refused.text).toContain('第 2 行「村（社区）」：本乡镇（城关镇）没有名为「北山村」的村（社区）');
    expect(refused.text).not.toContain(firstHead); // the page names rows, never ID numbers
    const reportUrl = /href="(\/downloads\/[^"]+)"/.exec(refused.text)![1]!;
    const report = await station.get(reportUrl).buffer(true).parse(binaryParser);
    expect(decodeURIComponent(report.headers['content-disposition']!)).toContain('受益对象导入错误报告-东关社区.xlsx');

    const file = await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, rows);
    const accepted = await send(file, '东关社区.xlsx');
    expect(accepted.status).toBe(303);
    const after = await station.get('/beneficiaries/import');
    expect(after.text).toContain(`导入完成：共 ${rows.length} 行，新登记 ${rows.length} 人`);
    expect(after.text).toContain('东关社区.xlsx');
    // The very same bytes again (a workbook written anew differs: it carries its creation time).
    await send(file, '东关社区.xlsx');
    expect((await station.get('/beneficiaries/import')).text).toContain('本次没有做任何更改');

    // Only the township station imports.
    const office = agentFor(t.core);
    await login(office, 'finance1');
    expect((await office.get('/beneficiaries/import')).status).toBe(403);
  });

  it('applies the import\'s number rules to the form: refuses an account that is the person\'s own ID number or one digit repeated, and names what it converted or found worth a check', async () => {
    t = await createSeededDb({ demo: true });
    const station = agentFor(t.core);
    await login(station, 'station1');
    const village = String(await regionId(t, '南河村'));
    const form = { name: '赵小河', idNumber: '11010519491231002X', villageId: village, relation: 'head', hasAccount: 'on', accountKind: 'passbook', bankName: '青禾县农村信用合作联社', holderName: '', nonCardReason: 'not_issued' };
    const own = await submit(station, '/beneficiaries/new', '/beneficiaries', { ...form, idNumber: '440308198001010012', accountNumber: '440308198001010012' });
    expect(own.status).toBe(422);
    expect(own.text).toContain('账号与本人的身份证号码相同：请填写银行卡、社会保障卡或存折的账号，不是身份证号码');
    const repeated = await submit(station, '/beneficiaries/new', '/beneficiaries', { ...form, accountKind: 'sscard', accountNumber: '0000 0000 0000 0000' });
    expect(repeated.status).toBe(422);
    expect(repeated.text).toContain('账号不能是同一个数字的重复：请填写真实账号');
    const ok = await submit(station, '/beneficiaries/new', '/beneficiaries', { ...form, idNumber: '１１０１０５１９４９１２３１００２Ｘ', accountKind: 'bankcard', accountNumber: '4532\u200b0151 1283 0366', phone: '138 0000 0000' });
    expect(ok.status).toBe(303);
    const page = await station.get(ok.headers.location as string);
    expect(page.text).toContain('请核对：身份证号码含全角数字，已转换；账号含不可见字符（零宽空格等），已删除；卡号不以 62 开头');
    expect(page.text).toContain('110105********002X');
  });

  it('lists an import\'s warnings row by row on the page it leads to, and in their download', async () => {
    t = await createSeededDb({ demo: true });
    const station = agentFor(t.core);
    await login(station, 'station1');
    const page = await station.get('/beneficiaries/import');
    const csv = [
      [...REGISTRY_FILE_HEADER, '性别'],
      ['西街村', '周一', '110105491231002', '户主', '', '', '社会保障卡', '青禾县农村信用合作联社', '6239991234567890125', '周一', '男'],
    ];
    const sent = await station.post('/beneficiaries/import').field('_csrf', csrfFrom(page.text)).attach('file', Buffer.from(csv.map((r) => r.join(',')).join('\r\n')), '西街村.csv');
    expect(sent.status).toBe(303);
    const importId = Number(/^\/beneficiaries\/imports\/(\d+)\/warnings$/.exec(sent.headers.location as string)![1]);
    const warnings = await station.get(sent.headers.location as string);
    expect(warnings.text).toContain('导入完成：共 1 行，新登记 1 人');
    expect(warnings.text).toContain('3 处值得核对，逐行列在本页');
    for (const line of ['15 位旧身份证号码，已按规则转换为 18 位，请核对', '卡号校验位不符', '填的是「男」，身份证号码为女性：登记的性别以身份证号码为准，请核对']) expect(warnings.text).toContain(line);
    expect(warnings.text.match(/第 2 行/g)).toHaveLength(3);
    expect((await station.get('/beneficiaries/import')).text).toContain(`<a href="/beneficiaries/imports/${importId}/warnings">3 处，逐行查看</a>`);

    const download = await station.get(`/beneficiaries/imports/${importId}/warnings.xlsx`).buffer(true).parse(binaryParser);
    expect(decodeURIComponent(download.headers['content-disposition']!)).toContain('受益对象导入提示-西街村.xlsx');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(download.body as never);
    const sheet = workbook.worksheets[0]!;
    expect(sheet.getRow(1).values).toEqual([undefined, '行号', '列', '提示']);
    expect(sheet.rowCount).toBe(4);
    expect(sheet.getRow(2).values).toEqual([undefined, 2, '身份证号码', '15 位旧身份证号码，已按规则转换为 18 位，请核对']);

    const bank = agentFor(t.core);
    await login(bank, 'bank');
    expect((await bank.get(`/beneficiaries/imports/${importId}/warnings`)).status).toBe(403);
  });

  it('loads a death list from the reference page and shows the mark on the person\'s page for the station', async () => {
    t = await createSeededDb({ demo: true });
    const station = agentFor(t.core);
    await login(station, 'station1');
    const registered = await submit(station, '/beneficiaries/new', '/beneficiaries', { name: '赵小河', idNumber: '11010519491231002X', villageId: String(await regionId(t, '南河村')), relation: 'head' });
    const personPath = registered.headers.location as string;

    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const page = await finance.get('/beneficiaries/reference');
    const send = (file: string, takenOn = '2026-11-01') =>
      finance.post('/beneficiaries/reference').field('_csrf', csrfFrom(page.text)).field('source', 'police_death').field('takenOn', takenOn).attach('file', Buffer.from(file), '死亡人员.csv');
    const refused = await send('姓名,身份证号码,死亡日期\n赵小河,110105194912310021,2026-10-01\n');
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('第 2 行「身份证号码」：身份证号码校验位不正确');
    expect((await send('姓名,身份证号码,死亡日期\n赵小河,11010519491231002X,2026-10-01\n', '')).status).toBe(422);

    const loaded = await send('姓名,身份证号码,死亡日期\n赵小河,11010519491231002X,2026-10-01\n');
    expect(loaded.status).toBe(303);
    const snapshot = await finance.get(loaded.headers.location as string);
    expect(snapshot.text).toContain('已导入：共 1 人，其中 1 人在本县受益对象档案中');
    expect(snapshot.text).toContain('赵小河');
    expect(snapshot.text).not.toContain('11010519491231002X');

    const person = await station.get(personPath);
    expect(person.text).toContain('公安：死亡人员');
    expect(person.text).toContain('2026-10-01');
    // Only the finance section loads reference data.
    expect((await station.post('/beneficiaries/reference').field('_csrf', csrfFrom(person.text)).field('source', 'police_death').field('takenOn', '2026-11-01').attach('file', Buffer.from('x'), 'x.csv')).status).toBe(403);
  });
});
