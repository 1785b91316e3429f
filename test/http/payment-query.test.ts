import { parse } from 'node-html-parser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { maskName } from '../../src/core/mask.ts';
import { fen, formatYuan } from '../../src/core/money.ts';
import { PAYMENT_QUERY_LIMITS } from '../../src/modules/publicity/payment-query.ts';
import { TEST_DB, type TestDb, agentFor, auditRows, createSeededDb, csrfFrom, idNumberFrom, personalNumbers } from '../factories.ts';

/** The page without its CSRF tokens (which differ per visitor), to compare two answers. */
const withoutTokens = (html: string) => html.replace(/name="_csrf" value="[^"]+"/g, 'name="_csrf" value=""');

const NO_MATCH = '未查到符合条件的发放记录：请核对姓名、身份证号码和账户后四位，或向乡镇（街道）经办站所咨询';

describe(`the portal's personal payment query (个人发放结果查询) (${TEST_DB})`, () => {
  let t: TestDb;
  /** A demo person whose payment the bank reported paid: name, ID number in clear, an account's number and last four. */
  let person: { id: number; name: string; idNumber: string; accountNumber: string; last4: string; otherLast4: string };
  beforeAll(async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const paid = await db('bank_line_result as r').join('batch_line as l', 'l.id', 'r.line_id').where('r.result', 'paid').orderBy('l.id').first('l.person_id');
    const row = await db('beneficiary_person').where({ id: paid.person_id }).first('id', 'name', 'id_enc');
    const account = await db('beneficiary_account').where({ person_id: row.id }).orderBy('id').first('account_enc', 'account_last4');
    const last4s = new Set(((await db('beneficiary_account').where({ person_id: row.id }).select('account_last4')) as { account_last4: string }[]).map((a) => a.account_last4));
    const otherLast4 = ['0000', '1111', '2222', '3333'].find((x) => !last4s.has(x))!;
    person = { id: Number(row.id), name: row.name, idNumber: t.core.crypto.decrypt(row.id_enc), accountNumber: t.core.crypto.decrypt(account.account_enc), last4: account.account_last4, otherLast4 };
  });
  afterAll(async () => t?.cleanup());
  // Each test starts with no query counted (they all come from the same address).
  beforeEach(async () => {
    await t.core.db('publicity_query_throttle').delete();
  });

  /** A visitor (no login) opens the form and posts it. */
  async function ask(fields: Record<string, string>) {
    const agent = agentFor(t.core);
    const form = await agent.get('/public/payments');
    expect(form.status).toBe(200);
    return agent.post('/public/payments').type('form').send({ ...fields, _csrf: csrfFrom(form.text) });
  }

  it('shows the person their own payments, masked, when name, ID number and an account\'s last four digits match; no full ID or account number', async () => {
    const res = await ask({ name: person.name, idNumber: person.idNumber.toLowerCase(), last4: person.last4 });
    expect(res.status).toBe(200);
    const page = parse(res.text);
    const heading = page.querySelector('#result-heading')!.text;
    expect(heading).toContain(`${person.idNumber.slice(0, 6)}********${person.idNumber.slice(14)}`);
    // The county's rule by default: the name with its middle hidden.
    expect(heading).toContain(maskName(person.name, 'middle'));
    // Every payment of the person in a round released to the bank, with its round, period, amount, status and date.
    const lines = await t.core
      .db('batch_line as l')
      .join('batch_round as r', 'r.id', 'l.round_id')
      .where({ 'l.person_id': person.id, 'l.state': 'active' })
      .whereIn('r.state', ['released', 'transferred'])
      .select('r.title', 'r.period', 'l.amount_fen');
    const rows = page.querySelectorAll('table.data tbody tr').map((tr) => tr.querySelectorAll('td').map((td) => td.text));
    expect(rows).toHaveLength(lines.length);
    for (const l of lines) expect(rows.some((r) => r[0] === l.title && r[1] === l.period && r[2] === formatYuan(fen(Number(l.amount_fen))))).toBe(true);
    expect(rows.some((r) => r[3] === '已发放' && /^\d{4}-\d{2}-\d{2}$/.test(r[4]!))).toBe(true);
    for (const r of rows) expect(['已发放', '发放失败处理中', '已缴回财政（可申请补发）', '已缴回财政，已补发', '待发放']).toContain(r[3]);
    expect(personalNumbers(res.text)).toEqual([]);
    expect(res.text).not.toContain(person.idNumber);
    expect(res.text).not.toContain(person.accountNumber);
    // The answer's form is empty again: the ID number does not stay on the screen.
    expect(page.querySelector('#f-idNumber')!.getAttribute('value')).toBe('');
  });

  it('says of a payment whose money went back to the treasury that a reissue may be asked for', async () => {
    const db = t.core.db;
    const returned = await db('bank_failure').where({ funds: 'treasury' }).whereNull('reissue_line_id').first('person_id', 'line_id');
    const who = await db('beneficiary_person').where({ id: returned.person_id }).first('name', 'id_enc');
    const account = await db('beneficiary_account').where({ person_id: returned.person_id }).first('account_last4');
    const res = await ask({ name: who.name, idNumber: t.core.crypto.decrypt(who.id_enc), last4: account.account_last4 });
    expect(res.status).toBe(200);
    const statuses = parse(res.text).querySelectorAll('table.data tbody tr').map((tr) => tr.querySelectorAll('td')[3]!.text);
    expect(statuses).toContain('已缴回财政（可申请补发）');
  });

  it('answers a wrong last four digits, a wrong name and an unknown person the same way: one message, same status, same page', async () => {
    const wrongLast4 = await ask({ name: person.name, idNumber: person.idNumber, last4: person.otherLast4 });
    const wrongName = await ask({ name: person.name === '张三' ? '李四' : '张三', idNumber: person.idNumber, last4: person.last4 });
    const unknown = await ask({ name: person.name, idNumber: idNumberFrom('99010219800101001'), last4: person.last4 });
    for (const res of [wrongLast4, wrongName, unknown]) {
      expect(res.status).toBe(200);
      expect(res.text).toContain(NO_MATCH);
      expect(res.text).not.toContain('result-heading');
    }
    expect(withoutTokens(wrongLast4.text)).toBe(withoutTokens(unknown.text));
    expect(withoutTokens(wrongName.text)).toBe(withoutTokens(unknown.text));
  });

  it('audits every query with the ID number strictly masked, never in clear, no user and the address', async () => {
    const before = (await auditRows(t.core, 'publicity.payment_query')).length;
    await ask({ name: person.name, idNumber: person.idNumber, last4: person.last4 });
    await ask({ name: person.name, idNumber: person.idNumber, last4: person.otherLast4 });
    const rows = (await auditRows(t.core, 'publicity.payment_query')).slice(before);
    expect(rows).toHaveLength(2);
    const strict = `${person.idNumber.slice(0, 3)}***********${person.idNumber.slice(14)}`;
    expect(rows.map((r) => JSON.parse(r.summary).result)).toEqual(['found', 'not_found']);
    for (const r of rows) {
      expect(r.user_id).toBeNull();
      expect(r.ip).toBeTruthy();
      expect(JSON.parse(r.summary).id).toBe(strict);
      expect(JSON.stringify(r)).not.toContain(person.idNumber);
      expect(JSON.stringify(r)).not.toContain(person.idNumber.slice(6, 14));
    }
  });

  it('refuses with 429, saying when to try again, past the queries allowed per ID number and per address', async () => {
    const perId = PAYMENT_QUERY_LIMITS.idNumber.queries;
    for (let i = 0; i < perId; i++) expect((await ask({ name: person.name, idNumber: person.idNumber, last4: person.otherLast4 })).status).toBe(200);
    const refused = await ask({ name: person.name, idNumber: person.idNumber, last4: person.last4 });
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('查询过于频繁');
    expect(refused.text).toMatch(/请于 \d{2}:\d{2} 以后再试/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.text).not.toContain('result-heading');
    // Another ID number from the same address is still answered: that limit is the ID number's.
    expect((await ask({ name: person.name, idNumber: idNumberFrom('99010219800101002'), last4: '1234' })).status).toBe(200);
    // The counters hold the blind index, never the ID number.
    const keys = ((await t.core.db('publicity_query_throttle').select('key')) as { key: string }[]).map((r) => r.key);
    expect(keys.some((k) => k.includes(person.idNumber))).toBe(false);
    const audited = await auditRows(t.core, 'publicity.payment_query');
    expect(JSON.parse(audited.at(-2)!.summary).result).toBe('throttled');

    await t.core.db('publicity_query_throttle').delete();
    const perAddress = PAYMENT_QUERY_LIMITS.address.queries;
    for (let i = 0; i < perAddress; i++) expect((await ask({ name: person.name, idNumber: idNumberFrom(`99010219800101${100 + i}`), last4: '1234' })).status).toBe(200);
    const byAddress = await ask({ name: person.name, idNumber: person.idNumber, last4: person.last4 });
    expect(byAddress.status).toBe(429);
    expect(byAddress.text).toContain('查询过于频繁');
  });

  it('refuses an incomplete or mistyped form with 422, the summary linking to the fields and the typed values kept, counting no query', async () => {
    const res = await ask({ name: '', idNumber: '11010519491231002', last4: '12a' });
    expect(res.status).toBe(422);
    const page = parse(res.text);
    const links = page.querySelectorAll('.error-summary a').map((a) => a.getAttribute('href'));
    expect(links).toEqual(expect.arrayContaining(['#f-name', '#f-idNumber', '#f-last4']));
    expect(page.querySelector('#f-idNumber')!.getAttribute('value')).toBe('11010519491231002');
    expect(page.querySelector('#f-last4')!.getAttribute('value')).toBe('12a');
    expect(res.text).toContain('请填写姓名');
    expect(res.text).toContain('发放账户后四位应为 4 位数字');
    const badCheck = await ask({ name: person.name, idNumber: `${person.idNumber.slice(0, 17)}${person.idNumber[17] === '0' ? '1' : '0'}`, last4: person.last4 });
    expect(badCheck.status).toBe(422);
    expect(badCheck.text).toContain('校验位');
    expect(Number((await t.core.db('publicity_query_throttle').count({ n: '*' }).first())!.n)).toBe(0);
  });

  it('is a public page reached from the portal, whose form needs its CSRF token', async () => {
    const anon = agentFor(t.core);
    for (const path of ['/public/verify', '/public/policies', '/public/failed-payments?county=' + (await t.core.db('core_region').where({ level: 'county' }).first('id')).id]) {
      const res = await anon.get(path);
      expect(res.status, path).toBe(200);
      expect(parse(res.text).querySelector('a[href="/public/payments"]'), path).not.toBeNull();
    }
    await anon.get('/public/payments');
    expect((await anon.post('/public/payments').type('form').send({ name: person.name, idNumber: person.idNumber, last4: person.last4 })).status).toBe(403);
  });
});
