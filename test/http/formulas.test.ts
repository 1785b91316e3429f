import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterEach, describe, expect, it } from 'vitest';
import { decideApiToken } from '../../src/core/api.ts';
import { readCsv } from '../../src/core/textfile.ts';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { REGISTRY_FILE_HEADER } from '../../seeds/fake-people.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, asAdmin, binaryParser, createSeededDb, csrfFrom, idNumberFrom, login, regionId, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** What a spreadsheet program would take for a formula: a text starting with = + - @, a tab or a carriage return. */
const FORMULA_START = /^[=+\-@\t\r]/;
const HYPERLINK = '=HYPERLINK("http://x","领取")';
const NAME_MESSAGE = '只能包含汉字、间隔号“·”或字母，请与身份证一致';
const FORMULA_MESSAGE = '不能以 = + - @ 开头（表格软件会把它当作公式）';

describe(`nothing that leaves the platform carries a formula (${TEST_DB})`, () => {
  it('writes a holder name that reached the database as a formula with an apostrophe in front, in every payout format, and the amounts as numbers', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const round = await db('batch_round').where({ state: 'released' }).first('id');
    const lines: { id: number; amount_fen: number }[] = await db('batch_line').where({ round_id: round.id, state: 'active' }).orderBy('id').limit(3).select('id', 'amount_fen');
    // Straight into the database, past the forms that refuse them.
    const odd = [HYPERLINK, '@SUM(A1)', '-1+2'];
    for (const [i, line] of lines.entries()) await db('batch_line').where({ id: line.id }).update({ holder_name: odd[i] });
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const download = async (format: string) => (await bank.get(`/bank/payouts/${round.id}/${format}`).buffer(true).parse(binaryParser)).body as Buffer;

    for (const format of ['csv', 'csv-gb18030']) {
      const rows: string[][] = [];
      readCsv(await download(format), (_, cells) => rows.push(cells));
      expect(rows.flat().filter((cell) => FORMULA_START.test(cell)), format).toEqual([]);
      const details = rows.filter((r) => lines.some((l) => r[0] === `R${round.id}-${l.id}`));
      expect(details.map((r) => r[1]), format).toEqual(odd.map((name) => `'${name}`));
      expect(details.map((r) => r[3]), format).toEqual(lines.map((l) => String(l.amount_fen)));
    }

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load((await download('xlsx')) as never);
    const cells: ExcelJS.Cell[] = [];
    workbook.worksheets[0]!.eachRow((row) => row.eachCell((cell) => cells.push(cell)));
    expect(cells.filter((c) => c.type === ExcelJS.ValueType.Formula)).toEqual([]);
    expect(cells.filter((c) => typeof c.value === 'string' && FORMULA_START.test(c.value)).map((c) => c.value)).toEqual([]);
    expect(cells.filter((c) => odd.map((name) => `'${name}`).includes(String(c.value))).length).toBe(odd.length);
    expect(cells.filter((c) => lines.some((l) => c.value === Number(l.amount_fen))).length).toBeGreaterThanOrEqual(lines.length);

    // Fixed width: the name is bytes 25–64 of a detail record (after D and the 24-byte reference).
    const records = (await download('txt')).toString('latin1').split('\r\n').filter((r) => r.startsWith('D'));
    const names = records.map((r) => iconv.decode(Buffer.from(r, 'latin1').subarray(25, 65), 'gb18030').trimEnd());
    expect(names.slice(0, 3)).toEqual(odd.map((name) => `'${name}`).map((n) => n.slice(0, 40)));
    expect(names.filter((n) => FORMULA_START.test(n))).toEqual([]);
    for (const [i, r] of records.slice(0, 3).entries()) expect(r.slice(-15)).toBe(String(lines[i]!.amount_fen).padStart(15, '0'));
  });

  it('refuses a formula or markup for a name on the registry form, the correction form and the account change, with the import’s message, and changes nothing', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const station = agentFor(t.core);
    await login(station, 'station1');

    // The import's word on such a name.
    const page = await station.get('/beneficiaries/import');
    const file = await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, [['南河村', HYPERLINK, idNumberFrom('11010519491231002'), '户主', '', '', '', '', '', '']]);
    const imported = await station.post('/beneficiaries/import').field('_csrf', csrfFrom(page.text)).attach('file', file, '花名册.xlsx');
    expect(imported.status).toBe(422);
    expect(imported.text).toContain(`第 2 行「姓名」：${NAME_MESSAGE}`);

    const people = await db('beneficiary_person').count({ n: '*' }).first();
    const village = String(await regionId(t, '南河村'));
    for (const name of [HYPERLINK, '<b>张三</b>']) {
      const registered = await submit(station, '/beneficiaries/new', '/beneficiaries', { name, idNumber: idNumberFrom('11010519491231002'), villageId: village, relation: 'head', hasAccount: '', accountKind: 'sscard', bankName: '', accountNumber: '', holderName: '' });
      expect(registered.status).toBe(422);
      expect(registered.text).toContain(`姓名${NAME_MESSAGE}`);
      const withHolder = await submit(station, '/beneficiaries/new', '/beneficiaries', { name: '赵小河', idNumber: idNumberFrom('11010519491231002'), villageId: village, relation: 'head', hasAccount: 'on', accountKind: 'sscard', bankName: '青禾县农村信用合作联社', accountNumber: '6239990000000000018', holderName: name });
      expect(withHolder.status).toBe(422);
      expect(withHolder.text).toContain(`户名${NAME_MESSAGE}`);
    }
    expect(await db('beneficiary_person').count({ n: '*' }).first()).toEqual(people);

    const person = await db('beneficiary_person as p').join('core_region as v', 'v.id', 'p.village_id').where('v.name', '南河村').first('p.id', 'p.name', 'p.version', 'p.relation');
    const corrected = await submit(station, `/beneficiaries/${person.id}`, `/beneficiaries/${person.id}/correct`, { name: HYPERLINK, phone: '', relation: person.relation, version: String(person.version) });
    expect(corrected.status).toBe(422);
    expect(corrected.text).toContain(`姓名${NAME_MESSAGE}`);
    const requests = await db('beneficiary_change_request').count({ n: '*' }).first();
    const changed = await submit(station, `/beneficiaries/${person.id}`, `/beneficiaries/${person.id}/account-change`, { accountKind: 'sscard', bankName: '青禾县农村信用合作联社', accountNumber: '6239990000000000018', holderName: '<b>张三</b>', reason: '换卡' });
    expect(changed.status).toBe(422);
    expect(changed.text).toContain(`户名${NAME_MESSAGE}`);
    expect(await db('beneficiary_person').where({ id: person.id }).first('name', 'version')).toEqual({ name: person.name, version: person.version });
    expect(await db('beneficiary_change_request').count({ n: '*' }).first()).toEqual(requests);
  });

  it('refuses such a name pushed through the API with the import’s message, and loads nothing', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const created = await submit(admin, '/admin/api-tokens', '/admin/api-tokens', { name: '县数据共享平台', purpose: 'reference', regionId: String(await regionId(t, '青禾县')), orgId: '' });
    const token = /<code>(ykt_[^<]+)<\/code>/.exec(created.text)![1]!;
    await decideApiToken(t.core, await actorFor(t, 'finance'), (await t.core.db('core_api_token').first('id')).id, 'approve');
    const pushed = await agentFor(t.core)
      .post('/api/v1/reference-snapshots')
      .set('Authorization', `Bearer ${token}`)
      .send({ source: 'police_move', takenOn: '2026-11-01', people: [{ name: HYPERLINK, idNumber: idNumberFrom('99010219500101001'), date: '2026-10-03', detail: '=cmd|x' }] });
    expect(pushed.status).toBe(422);
    expect(pushed.body.errors).toEqual([
      { row: 1, field: 'name', message: NAME_MESSAGE },
      { row: 1, field: 'detail', message: FORMULA_MESSAGE },
    ]);
    expect(await t.core.db('beneficiary_reference_snapshot').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('refuses free text that starts with = + - @ on a form, saying why, and keeps the record as it was', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const round = await db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
    const line = await db('batch_line').where({ round_id: round.id, state: 'active' }).orderBy('id').first('id', 'amount_fen');
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const payouts = await bank.get('/bank/payouts');
    const results = (reason: string) => `总笔数,总金额（分）\n1,${line.amount_fen}\n\n流水号,金额（分）,结果,失败代码,失败原因\nR${round.id}-${line.id},${line.amount_fen},失败,F99,${reason}\n`;
    const upload = (csv: string) => bank.post(`/bank/payouts/${round.id}/results`).field('_csrf', csrfFrom(payouts.text)).attach('file', Buffer.from(csv), '回盘.csv');
    const refused = await upload(results('"=HYPERLINK(""x"")"'));
    expect(refused.status).toBe(422);
    expect(refused.text).toContain(`「失败原因」：${FORMULA_MESSAGE}`);
    expect((await upload(results('账户冻结'))).status).toBe(303);

    const station = agentFor(t.core);
    await login(station, 'station1');
    const failure = await db('bank_failure').where({ round_id: round.id }).first('id', 'version', 'state');
    for (const note of ['=1+1', '+86 已联系', '-已核实', '@张三']) {
      const corrected = await submit(station, `/bank/failures/${failure.id}`, `/bank/failures/${failure.id}/correct`, { version: String(failure.version), note });
      expect(corrected.status).toBe(422);
      expect(corrected.text).toContain(`核实情况和修正内容${FORMULA_MESSAGE}`);
    }
    const markup = await submit(station, `/bank/failures/${failure.id}`, `/bank/failures/${failure.id}/correct`, { version: String(failure.version), note: '<script>x</script>' });
    expect(markup.status).toBe(422);
    expect(markup.text).toContain('核实情况和修正内容不能包含尖括号 &lt; &gt;');
    expect(await db('bank_failure').where({ id: failure.id }).first('version', 'state')).toEqual({ version: failure.version, state: failure.state });
  });
});
