import { afterEach, describe, expect, it } from 'vitest';
import { readTable, writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { luhnCheckDigit } from '../../src/modules/beneficiary/account-number.ts';
import { registerPerson } from '../../src/modules/beneficiary/commands.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, binaryParser, createSeededDb, csrfFrom, idNumberFrom, login, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe(`card-opening requests and completion receipts (${TEST_DB})`, () => {
  it('sends the bank the people with no account or a lost card; the bank\'s answer becomes account changes for the finance office; refused whole when wrong; twice changes nothing', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const idNumber = idNumberFrom('99010219600304221');
    const personId = await registerPerson(t.core, await actorFor(t, 'station1'), { name: '钱开卡', idNumber, villageId: await regionId(t, '西街村'), relation: 'head', headPersonId: null, phone: null, account: null });
    const lost = await db('beneficiary_person as p').join('beneficiary_account as a', 'a.active_person_id', 'p.id').join('core_region as v', 'v.id', 'p.village_id').where({ 'v.parent_id': await regionId(t, '城关镇'), 'p.status': 'active' }).orderBy('p.id').first('p.id', 'p.id_enc', 'p.name');
    const lostId = t.core.crypto.decrypt(lost.id_enc);
    const bankOrg = await db('core_org').where({ kind: 'bank' }).first('id');

    const station = agentFor(t.core);
    await login(station, 'station1');
    const form = await station.get('/bank/card-requests');
    expect(form.text).toContain('钱开卡');
    const refused = await station.post('/bank/card-requests').type('form').send({ _csrf: csrfFrom(form.text), bankOrgId: String(bankOrg.id), noAccount: String(personId), lostIdNumbers: '110101199001011234' });
    expect(refused.status).toBe(422);
    const sent = await station.post('/bank/card-requests').type('form').send({ _csrf: csrfFrom(form.text), bankOrgId: String(bankOrg.id), noAccount: String(personId), lostIdNumbers: lostId });
    expect(sent.status).toBe(303);
    const requestId = Number(/\/bank\/card-requests\/(\d+)/.exec(sent.headers.location!)![1]);
    // The same person cannot be asked for twice while the bank works on it.
    expect((await station.post('/bank/card-requests').type('form').send({ _csrf: csrfFrom(form.text), bankOrgId: String(bankOrg.id), noAccount: String(personId) })).text).toContain('已在待银行办理的开卡申请中');

    const bank = agentFor(t.core);
    await login(bank, 'bank');
    expect((await bank.get('/')).text).toContain('待办理的开卡申请');
    const list = await bank.get(`/bank/card-requests/${requestId}/list.xlsx`).buffer(true).parse(binaryParser);
    const table = await readTable(list.body as Buffer, { headerHas: ['身份证号码'], required: ['身份证号码'], rowNoun: '', formatHint: '' });
    if (typeof table === 'string') throw new Error(table);
    expect(table.rows.map((r) => r.cells[3]).sort()).toEqual([idNumber, lostId].sort());
    expect(Number((await db('core_audit').where({ action: 'bank.card_request.download' }).count({ n: '*' }).first())?.n)).toBe(1);

    const header = ['序号', '村（社区）', '姓名', '身份证号码', '原因', '开卡结果', '账户类型', '账号', '说明'];
    const card = `623999${'1234567890'}`;
    const cardNumber = card + luhnCheckDigit(card);
    const answer = (rows: (string | number)[][]) => writeTableXlsx('开卡名单', header, rows);
    const row = (r: { cells: string[] }, result: string, number: string, note = '') => [r.cells[0]!, r.cells[1]!, r.cells[2]!, r.cells[3]!, r.cells[4]!, result, '社会保障卡', number, note];
    const page = await bank.get(`/bank/card-requests/${requestId}`);
    const upload = async (file: Buffer, name: string) => bank.post(`/bank/card-requests/${requestId}/answer`).field('_csrf', csrfFrom(page.text)).attach('file', file, name);
    const newRow = table.rows.find((r) => r.cells[3] === idNumber)!;
    const lostRow = table.rows.find((r) => r.cells[3] === lostId)!;
    // A wrong number and a missing reason: refused whole, nothing changed.
    const bad = await upload(await answer([row(newRow, '已开卡', '6239991234'), row(lostRow, '未开卡', '')]), 'bad.xlsx');
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('「说明」：未开卡的须写明原因');
    expect(await db('beneficiary_change_request').where({ person_id: personId }).first('id')).toBeUndefined();
    const good = await answer([row(newRow, '已开卡', cardNumber), row(lostRow, '未开卡', '', '本人未到网点办理')]);
    expect((await upload(good, '开卡结果.xlsx')).status).toBe(303);
    expect((await upload(good, '开卡结果.xlsx')).status).toBe(303);
    const change = await db('beneficiary_change_request').where({ person_id: personId }).first('state', 'summary', 'reason', 'kind');
    expect(change).toMatchObject({ kind: 'account', state: 'pending', reason: `开卡申请 ${requestId}：代发金融机构新开卡（折）` });
    expect(change.summary).toContain(`****${cardNumber.slice(-4)}`);
    expect(Number((await db('beneficiary_change_request').where({ person_id: personId }).count({ n: '*' }).first())?.n)).toBe(1);
    expect((await station.get(`/bank/card-requests/${requestId}`)).text).toContain('未开卡：本人未到网点办理');
  });

  it('keeps the bank\'s completion receipt of a round (PDF or a scan, nothing else) for everyone who sees the round', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const round = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-08' }).first('id');
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const page = await bank.get(`/bank/rounds/${round.id}`);
    const post = (file: Buffer, name: string) => bank.post(`/bank/rounds/${round.id}/receipts`).field('_csrf', csrfFrom(page.text)).field('note', '8月发放完成').attach('file', file, name);
    const notPdf = await post(Buffer.from('not a receipt'), '回执.txt');
    expect(notPdf.status).toBe(422);
    expect(notPdf.text).toContain('回执应为 PDF 或扫描图片');
    const pdf = Buffer.from('%PDF-1.4\n%回执\n');
    expect((await post(pdf, '发放完成回执.pdf')).status).toBe(303);
    const dept = agentFor(t.core);
    await login(dept, 'dept_civil');
    const seen = await dept.get(`/bank/rounds/${round.id}`);
    expect(seen.text).toContain('发放完成回执.pdf');
    const id = /\/bank\/receipts\/(\d+)/.exec(seen.text)![1];
    const download = await dept.get(`/bank/receipts/${id}`).buffer(true).parse(binaryParser);
    expect((download.body as Buffer).equals(pdf)).toBe(true);
  });
});
