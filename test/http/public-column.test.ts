import { parse } from 'node-html-parser';
import type TestAgent from 'supertest/lib/agent.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatYuan } from '../../src/core/money.ts';
import { luhnCheckDigit } from '../../src/modules/beneficiary/account-number.ts';
import { TEST_DB, type TestDb, agentFor, auditRows, binaryParser, createSeededDb, idNumberFrom, login, personalNumbers, regionId, submit } from '../factories.ts';

type Row = Record<string, string | number | null>;

/** A CSV of the open data as rows of fields (the files' cells hold no line breaks here; quoted cells unquoted). */
function csvRows(text: string): Row[] {
  const lines = text.replace(/^\uFEFF/, '').split('\r\n').filter(Boolean);
  const split = (line: string) => [...line.matchAll(/("([^"]|"")*"|[^,]*)(,|$)/g)].map((m) => m[1]!).slice(0, -1).map((c) => (c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c));
  const [header, ...rest] = lines.map(split);
  return rest.map((cells) => Object.fromEntries(header!.map((h, i) => [h, cells[i] ?? ''])));
}

const VIOLATION = {
  title: '南河村村干部虚报冒领耕地地力保护补贴',
  facts: '经查，2025 年南河村村委会委员王*明虚报本人及亲属承包耕地面积 12 亩，冒领耕地地力保护补贴，涉及金额 1,440.00 元。',
  involved: '1440',
  recovered: '1440',
  handling: '责令全额退回，给予党内警告处分',
  docNumber: '青纪发〔2026〕12号',
  docDate: '2026-11-20',
};

/** A second supervisor of the demo county (four eyes), logged in: a copy of the demo supervisor. */
async function secondSupervisor(t: TestDb): Promise<TestAgent> {
  if (!(await t.core.db('core_user').where({ username: 'supervisor2' }).first('id'))) {
    const { id, ...user } = (await t.core.db('core_user').where({ username: 'supervisor' }).first()) as Record<string, unknown>;
    const [created] = await t.core.db('core_user').insert({ ...user, username: 'supervisor2', display_name: '监督人员二' }).returning('id');
    const newId = typeof created === 'object' ? (created as { id: number }).id : (created as number);
    for (const r of (await t.core.db('core_user_role').where({ user_id: id })) as { role: string }[]) await t.core.db('core_user_role').insert({ user_id: newId, role: r.role });
  }
  const agent = agentFor(t.core);
  await login(agent, 'supervisor2');
  return agent;
}

describe(`the public column (公开专栏) (${TEST_DB})`, () => {
  let t: TestDb;
  let countyId: number;
  beforeAll(async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    countyId = await regionId(t, '青禾县');
  });
  afterAll(async () => t?.cleanup());

  it('opens without login: the home of the only county lists every public page, and each answers and links back', async () => {
    const citizen = agentFor(t.core);
    const home = await citizen.get('/public');
    expect(home.status).toBe(200);
    const links = parse(home.text).querySelectorAll('main a').map((a) => a.getAttribute('href')!.replace(/&amp;/g, '&'));
    for (const page of ['/public/policies', '/public/notices', '/public/ledgers', '/public/failed-payments', '/public/violations', '/public/supervision', '/public/data']) expect(links).toContain(`${page}?county=${countyId}`);
    for (const page of ['/public/payments', '/public/complaints', '/public/verify']) expect(links).toContain(page);
    expect((await citizen.get(`/public?county=${countyId}`)).status).toBe(200);
    expect((await citizen.get('/public?county=999999')).status).toBe(404);
    for (const href of links.filter((l) => !l.startsWith('/public/notices'))) {
      const res = await citizen.get(href);
      expect(res.status, href).toBe(200);
      const back = parse(res.text).querySelector('nav.portal-nav a')!;
      expect(back.getAttribute('href'), href).toBe(href.includes('county=') ? `/public?county=${countyId}` : '/public');
    }
    // The supervision telephones as the publicity settings hold them, with the complaint form.
    const phones = (await citizen.get(`/public/supervision?county=${countyId}`)).text;
    expect(phones).toContain('0990-12345');
    expect(phones).toContain('0990-821001');
    expect(phones).toContain('href="/public/complaints"');
  });

  it('keeps the three levels of the fund ledgers reconciled: villages sum to their township, townships to the county', async () => {
    const citizen = agentFor(t.core);
    const year = new Date().getFullYear();
    const json = (await citizen.get(`/public/data/ledgers.json?county=${countyId}&year=${year}`)).body as { rows: Row[] };
    const rows = json.rows;
    const county = rows.filter((r) => r.level === 'county');
    expect(county.length).toBeGreaterThan(0);
    expect(county.some((r) => Number(r.paid_fen) > 0), 'the demo has paid money').toBe(true);
    for (const c of county) {
      const townships = rows.filter((r) => r.level === 'township' && r.policy_code === c.policy_code);
      expect(townships.reduce((s, r) => s + Number(r.paid_fen), 0), String(c.policy_code)).toBe(c.paid_fen);
      expect(townships.reduce((s, r) => s + Number(r.people), 0), String(c.policy_code)).toBe(c.people);
      for (const tw of townships) {
        const villages = rows.filter((r) => r.level === 'village' && r.policy_code === c.policy_code && r.township === tw.township);
        expect(villages.reduce((s, r) => s + Number(r.paid_fen), 0)).toBe(tw.paid_fen);
        expect(villages.reduce((s, r) => s + Number(r.people), 0)).toBe(tw.people);
        expect(tw.allocated_fen).toBeNull();
      }
    }
    // The county's paid total is what the bank reported paid on the county's transferred rounds of the year.
    const bankPaid = (await t.core.db('bank_line_result as b').join('batch_round as r', 'r.id', 'b.round_id').where({ 'b.result': 'paid', 'r.county_id': countyId, 'r.period_year': year, 'r.state': 'transferred' }).sum({ total: 'b.amount_fen' }).first()) as { total: number | string };
    const total = county.reduce((s, r) => s + Number(r.paid_fen), 0);
    expect(total).toBe(Number(bankPaid.total));
    // The allocation is the policy module's record, for the policies of the public list (a confidential one is not shown).
    const allocated = (await t.core.db('policy_allocation as a').join('policy_item as i', 'i.id', 'a.item_id').where({ 'a.county_id': countyId, 'a.year': year }).whereIn('i.code', county.map((r) => String(r.policy_code))).sum({ total: 'a.amount_fen' }).first()) as { total: number | string | null };
    expect(Number(allocated.total)).toBeGreaterThan(0);
    expect(county.reduce((s, r) => s + Number(r.allocated_fen), 0)).toBe(Number(allocated.total ?? 0));

    // The pages show the same figures, level by level.
    const page = parse((await citizen.get(`/public/ledgers?county=${countyId}&year=${year}`)).text);
    expect(page.querySelector('#total-paid')!.text).toBe(formatYuan(total));
    const townshipLink = page.querySelectorAll('a[href*="&township="]').map((a) => a.getAttribute('href')!.replace(/&amp;/g, '&'));
    expect(townshipLink).toHaveLength(3);
    let townshipsTotal = 0;
    for (const href of townshipLink) {
      const tp = parse((await citizen.get(href)).text);
      const paid = Number(tp.querySelector('#total-paid')!.text.replace(/[,.]/g, ''));
      townshipsTotal += paid;
      let villagesTotal = 0;
      for (const v of tp.querySelectorAll('a[href*="&village="]')) {
        const vp = parse((await citizen.get(v.getAttribute('href')!.replace(/&amp;/g, '&'))).text);
        villagesTotal += Number(vp.querySelector('#total-paid')!.text.replace(/[,.]/g, ''));
      }
      expect(villagesTotal, href).toBe(paid);
    }
    expect(townshipsTotal).toBe(total);
    expect((await citizen.get(`/public/ledgers?county=${countyId}&township=999999`)).status).toBe(404);
  });

  it('lets a supervisor publish a violation and withdraw it with a reason, both audited; the portal shows it only while published', async () => {
    const supervisor = agentFor(t.core);
    await login(supervisor, 'supervisor');
    const home = parse((await supervisor.get('/')).text);
    expect(home.querySelector('nav a[href="/publicity/violations"]')).not.toBeNull();
    const form = parse((await supervisor.get('/publicity/violations')).text);
    expect(form.querySelector('.error-summary'), 'no refusal on the page as first shown').toBeNull();
    expect(form.querySelector('#h-facts')!.text).toContain('中间的字以 * 代替');
    const village = await regionId(t, '南河村');
    const published = await submit(supervisor, '/publicity/violations', '/publicity/violations', { ...VIOLATION, regionId: String(village) });
    expect(published.status).toBe(303);
    const row = await t.core.db('publicity_violation').where({ title: VIOLATION.title }).first();
    expect(row).toMatchObject({ county_id: countyId, village_id: village, township_id: await regionId(t, '城关镇'), involved_fen: 144000, recovered_fen: 144000 });
    expect((await auditRows(t.core, 'publicity.violation.propose')).at(-1)).toMatchObject({ username: 'supervisor', object_type: 'violation', object_id: String(row.id) });
    // Four eyes: proposed, not yet on the portal; a second supervisor approves it.
    const citizen = agentFor(t.core);
    expect((await citizen.get(`/public/violations?county=${countyId}`)).text).not.toContain(VIOLATION.title);
    const second = await secondSupervisor(t);
    expect((await submit(second, '/publicity/violations', `/publicity/violations/${row.id}/approve`, {})).status).toBe(303);
    expect((await auditRows(t.core, 'publicity.violation.publish')).at(-1)).toMatchObject({ username: 'supervisor2', object_type: 'violation', object_id: String(row.id) });

    const shown = (await citizen.get(`/public/violations?county=${countyId}`)).text;
    expect(shown).toContain(VIOLATION.title);
    expect(shown).toContain('1,440.00');
    expect(shown).toContain('城关镇南河村');
    const data = csvRows((await citizen.get(`/public/data/violations.csv?county=${countyId}`).buffer(true).parse(binaryParser)).body.toString('utf8'));
    expect(data.find((r) => r.title === VIOLATION.title)).toMatchObject({ involved_fen: '144000', recovered_fen: '144000', village: '南河村', doc_number: VIOLATION.docNumber });

    // Withdrawal needs a reason (422), then takes it off the portal; a second withdrawal is refused (409).
    const noReason = await submit(supervisor, '/publicity/violations', `/publicity/violations/${row.id}/withdraw`, { reason: '' });
    expect(noReason.status).toBe(422);
    expect(parse(noReason.text).querySelector(`#e-reason_${row.id}`)!.text).toContain('撤回原因');
    const withdrawn = await submit(supervisor, '/publicity/violations', `/publicity/violations/${row.id}/withdraw`, { reason: '处理决定已被复议撤销' });
    expect(withdrawn.status).toBe(303);
    expect((await auditRows(t.core, 'publicity.violation.withdraw')).at(-1)).toMatchObject({ username: 'supervisor', object_id: String(row.id) });
    expect((await citizen.get(`/public/violations?county=${countyId}`)).text).not.toContain(VIOLATION.title);
    expect((await citizen.get(`/public/data/violations.json?county=${countyId}`)).body.rows).toEqual([]);
    expect((await supervisor.get('/publicity/violations')).text).toContain('处理决定已被复议撤销');
    const again = await submit(supervisor, '/publicity/violations', `/publicity/violations/${row.id}/withdraw`, { reason: '再次撤回' });
    expect(again.status).toBe(409);
  });

  it('refuses the proposer approving their own proposal (four eyes, audited); records recoveries over time, recovered and outstanding summed', async () => {
    const supervisor = agentFor(t.core);
    await login(supervisor, 'supervisor');
    const title = '北山村冒领补贴追回情况';
    expect((await submit(supervisor, '/publicity/violations', '/publicity/violations', { ...VIOLATION, title, involved: '1000', recovered: '200', regionId: String(countyId) })).status).toBe(303);
    const row = await t.core.db('publicity_violation').where({ title }).first();
    expect(row.state).toBe('proposed');
    const own = await submit(supervisor, '/publicity/violations', `/publicity/violations/${row.id}/approve`, {});
    expect(own.status).toBe(403);
    expect(own.text).toContain('另一名监督人员');
    expect((await auditRows(t.core, 'access.denied')).at(-1)).toMatchObject({ username: 'supervisor', object_type: 'violation', object_id: String(row.id) });
    expect((await t.core.db('publicity_violation').where({ id: row.id }).first()).state).toBe('proposed');
    const second = await secondSupervisor(t);
    expect((await submit(second, '/publicity/violations', `/publicity/violations/${row.id}/approve`, {})).status).toBe(303);

    // Recoveries: a refusal keeps the typed values (422); more than outstanding is refused; two entries sum.
    const bad = await submit(supervisor, '/publicity/violations', `/publicity/violations/${row.id}/recoveries`, { recoveredOn: '2026-11-25', amount: '0', recoveryDoc: '' });
    expect(bad.status).toBe(422);
    const html = parse(bad.text);
    expect(html.querySelector(`#e-amount_${row.id}`)!.text).toContain('追回金额');
    expect(html.querySelector(`#e-recoveryDoc_${row.id}`)).not.toBeNull();
    expect(html.querySelector(`#f-recoveredOn_${row.id}`)!.getAttribute('value')).toBe('2026-11-25');
    const tooMuch = await submit(supervisor, '/publicity/violations', `/publicity/violations/${row.id}/recoveries`, { recoveredOn: '2026-11-25', amount: '900', recoveryDoc: '收据 001' });
    expect(tooMuch.status).toBe(422);
    expect(parse(tooMuch.text).querySelector(`#e-amount_${row.id}`)!.text).toContain('800.00');
    for (const [on, amount, doc] of [['2026-11-25', '300', '收据 001'], ['2026-11-28', '150.5', '收据 002']]) {
      expect((await submit(supervisor, '/publicity/violations', `/publicity/violations/${row.id}/recoveries`, { recoveredOn: on!, amount: amount!, recoveryDoc: doc! })).status).toBe(303);
    }
    const entries = await t.core.db('publicity_violation_recovery').where({ violation_id: row.id });
    expect(entries.map((e) => Number(e.amount_fen)).sort((a, b) => a - b)).toEqual([15050, 30000]);
    expect((await auditRows(t.core, 'publicity.violation.recover')).filter((r) => r.object_id === String(row.id))).toHaveLength(2);
    const staff = (await supervisor.get('/publicity/violations')).text;
    expect(staff).toContain('尚待追回 349.50');
    const shown = (await agentFor(t.core).get(`/public/violations?county=${countyId}`)).text;
    expect(shown).toContain(title);
    expect(shown).toContain('650.50');
  });

  it('refuses violations from other roles (403, audited) and bad input (422, with the typed values kept)', async () => {
    const station = agentFor(t.core);
    await login(station, 'station1');
    const denied = (await auditRows(t.core, 'access.denied')).length;
    expect((await station.get('/publicity/violations')).status).toBe(403);
    const posted = await submit(station, '/', '/publicity/violations', { ...VIOLATION, regionId: String(await regionId(t, '南河村')) });
    expect(posted.status).toBe(403);
    expect((await auditRows(t.core, 'access.denied')).length).toBe(denied + 2);

    const supervisor = agentFor(t.core);
    await login(supervisor, 'supervisor');
    const id = idNumberFrom('99010219800101001');
    const card = `6210000000000001${''}`;
    const cardNo = `${card.slice(0, 15)}${luhnCheckDigit(card.slice(0, 15))}`;
    const refused = await submit(supervisor, '/publicity/violations', '/publicity/violations', { ...VIOLATION, title: '', facts: `当事人王明，身份证号 ${id}，卡号 ${cardNo}，虚报冒领补贴。`, recovered: '2000', regionId: '' });
    expect(refused.status).toBe(422);
    const html = parse(refused.text);
    expect(html.querySelector('#e-title')!.text).toContain('标题');
    expect(html.querySelector('#e-recovered')!.text).toContain('不能超过涉及金额');
    expect(html.querySelector('#e-regionId')).not.toBeNull();
    expect(html.querySelector('#f-handling')!.getAttribute('value')).toBe(VIOLATION.handling);
    // The schema's errors first; with them mended, the command refuses the full numbers in the facts.
    const numbers = await submit(supervisor, '/publicity/violations', '/publicity/violations', { ...VIOLATION, facts: `当事人王明，身份证号 ${id}，虚报冒领补贴若干元。`, regionId: String(countyId) });
    expect(numbers.status).toBe(422);
    expect(parse(numbers.text).querySelector('#e-facts')!.text).toContain('身份证号码或银行卡号');
    const cards = await submit(supervisor, '/publicity/violations', '/publicity/violations', { ...VIOLATION, facts: `当事人王*，把补贴打入他人卡号 ${cardNo} 中冒领。`, regionId: String(countyId) });
    expect(cards.status).toBe(422);
    const short = await submit(supervisor, '/publicity/violations', '/publicity/violations', { ...VIOLATION, facts: '虚报冒领', regionId: String(countyId) });
    expect(short.status).toBe(422);
    expect(parse(short.text).querySelector('#e-facts')!.text).toContain('至少');
    expect(await t.core.db('publicity_violation').where('facts', 'like', '%身份证号%').first()).toBeUndefined();
  });

  it('serves the open data as CSV (UTF-8 with BOM, neutralised cells, fen) and JSON with the same rows as the pages', async () => {
    const citizen = agentFor(t.core);
    const index = parse((await citizen.get(`/public/data?county=${countyId}`)).text);
    const year = new Date().getFullYear();
    for (const name of ['policies', 'ledgers', 'failed-payments', 'violations']) {
      expect(index.querySelector(`a[href^="/public/data/${name}.csv?county=${countyId}"]`), name).not.toBeNull();
      const csv = await citizen.get(`/public/data/${name}.csv?county=${countyId}&year=${year}`).buffer(true).parse(binaryParser);
      expect(csv.status).toBe(200);
      expect(csv.headers['content-type']).toContain('text/csv');
      expect(csv.headers['content-disposition']).toMatch(/^attachment; filename\*=UTF-8''/);
      const body = csv.body as Buffer;
      expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      const json = await citizen.get(`/public/data/${name}.json?county=${countyId}&year=${year}`);
      expect(json.headers['content-disposition']).toMatch(/^attachment;/);
      const parsed = JSON.parse(json.text) as { dataset: string; columns: { key: string }[]; rows: Row[] };
      expect(parsed.dataset).toBe(name);
      const rows = csvRows(body.toString('utf8'));
      expect(rows.length, name).toBe(parsed.rows.length);
      // Same fields; the CSV's cells are the JSON's values as text (null as empty).
      rows.forEach((r, i) => expect(r, name).toEqual(Object.fromEntries(Object.entries(parsed.rows[i]!).map(([k, v]) => [k, v === null ? '' : String(v)]))));
      expect(personalNumbers(body.toString('utf8')), name).toEqual([]);
      expect(personalNumbers(json.text), name).toEqual([]);
    }
    // The policy list and the failed payments as on their pages.
    const policies = (await citizen.get(`/public/data/policies.json?county=${countyId}&year=${year}`)).body.rows as Row[];
    expect((await citizen.get(`/public/policies?county=${countyId}&year=${year}`)).text).toContain(`共 ${policies.length} 项`);
    const failed = (await citizen.get(`/public/data/failed-payments.json?county=${countyId}`)).body.rows as Row[];
    expect(failed.length).toBeGreaterThan(0);
    const failedPage = parse((await citizen.get(`/public/failed-payments?county=${countyId}`)).text);
    const pageRows = failedPage.querySelectorAll('table.data tbody tr').map((tr) => tr.querySelectorAll('td').map((td) => td.text.trim()));
    expect(pageRows).toEqual(failed.map((r) => [r.township, r.village, r.name, r.id_masked, r.subsidy, formatYuan(Number(r.amount_fen)), r.department]));
    expect(String(failed[0]!.id_masked)).toContain('*');

    // A text that a spreadsheet would take for a formula is neutralised in the CSV (and kept as it is in the JSON).
    await t.core.db('publicity_violation').insert({ county_id: countyId, title: '=HYPERLINK("http://x")', facts: '测试：以等号开头的文字不得成为公式'.padEnd(30, '。'), involved_fen: 1, recovered_fen: 0, handling: '+1', doc_number: '-2', doc_date: '2026-11-01', published_by: 1, published_at: new Date().toISOString() });
    const csv = (await citizen.get(`/public/data/violations.csv?county=${countyId}`).buffer(true).parse(binaryParser)).body.toString('utf8');
    const row = csvRows(csv).find((r) => String(r.title).includes('HYPERLINK'))!;
    expect(row).toMatchObject({ title: '\'=HYPERLINK("http://x")', handling: "'+1", doc_number: "'-2", involved_fen: '1' });

    expect((await citizen.get(`/public/data/nothing.csv?county=${countyId}`)).status).toBe(404);
    expect((await citizen.get(`/public/data/ledgers.xml?county=${countyId}`)).status).toBe(422);
  });

  it('shows no full ID or card number on any page or file of the column', async () => {
    const citizen = agentFor(t.core);
    const queue = ['/public', `/public/data?county=${countyId}`];
    const seen = new Set<string>();
    while (queue.length && seen.size < 200) {
      const url = queue.shift()!;
      if (seen.has(url) || url.startsWith('/public/notices') || /\.(pdf|xlsx)\?/.test(url)) continue;
      seen.add(url);
      const res = await citizen.get(url).buffer(true).parse(binaryParser);
      expect(res.status, url).toBe(200);
      const text = (res.body as Buffer).toString('utf8');
      expect(personalNumbers(text), url).toEqual([]);
      if (String(res.headers['content-type']).includes('html')) for (const a of parse(text).querySelectorAll('a[href^="/public"]')) queue.push(a.getAttribute('href')!.replace(/&amp;/g, '&'));
    }
    expect(seen.size).toBeGreaterThan(15);
  });
});
