import zlib from 'node:zlib';
import ExcelJS from 'exceljs';
import { strFromU8, unzipSync } from 'fflate';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DB, type TestDb, agentFor, auditRows, binaryParser, createSeededDb, login, personalNumbers, regionId } from '../factories.ts';

/**
 * The four staff lists (发放批次, 受益对象档案, 发放失败处理, 审计日志) over the demo county: filters, sorting and pages
 * that keep each other, and the Excel export of exactly what the filter selects, ID numbers masked.
 */
let t: TestDb;
const agents = new Map<string, ReturnType<typeof agentFor>>();
beforeAll(async () => {
  t = await createSeededDb({ demo: true }, { people: true });
});
afterAll(() => t.cleanup());

async function as(username: string) {
  if (!agents.has(username)) {
    const agent = agentFor(t.core);
    expect((await login(agent, username)).status).toBe(303);
    agents.set(username, agent);
  }
  return agents.get(username)!;
}

/** The cells' texts of the list's table rows, and each row's first link. */
function tableOf(html: string): { cells: string[]; href: string | null }[] {
  const table = parse(html).querySelector('table.data');
  return (table?.querySelectorAll('tbody tr') ?? [])
    .filter((tr) => !tr.querySelector('td.empty'))
    .map((tr) => ({ cells: tr.querySelectorAll('td').map((td) => td.text.trim()), href: tr.querySelector('a')?.getAttribute('href') ?? null }));
}

/** "共 N 条" of the pager. */
const totalOf = (html: string) => Number(/共 (\d+) 条/.exec(html)?.[1] ?? NaN);
const pagesOf = (html: string) => Number(/第 \d+ \/ (\d+) 页/.exec(html)?.[1] ?? 1);
const exportHrefOf = (html: string) => parse(html).querySelector('a[download]')!.getAttribute('href')!;
const yuan = (text: string) => Number(text.replace(/,/g, ''));
const idOf = (href: string | null | undefined) => Number(/\/(\d+)$/.exec(href ?? '')?.[1]);

function expectDescending(values: number[]) {
  for (let i = 1; i < values.length; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!);
}

/** An export: the heading of row 1, the header of row 2, the rows below; and every part of the file as text. */
async function workbookOf(body: Buffer): Promise<{ heading: string; header: string[]; rows: string[][]; raw: string }> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(body as never);
  const sheet = workbook.worksheets[0]!;
  const texts = (n: number) => (sheet.getRow(n).values as unknown[]).slice(1).map((v) => String(v ?? ''));
  const rows: string[][] = [];
  for (let n = 3; n <= sheet.rowCount; n++) rows.push(texts(n));
  const raw = Object.values(unzipSync(new Uint8Array(body)))
    .map((part) => strFromU8(part))
    .join('\n');
  return { heading: texts(1)[0]!, header: texts(2), rows, raw };
}

async function download(username: string, href: string) {
  const res = await (await as(username)).get(href).buffer(true).parse(binaryParser);
  expect(res.status, href).toBe(200);
  expect(res.headers['content-disposition']).toMatch(/^attachment; filename\*=UTF-8''.+\.xlsx$/);
  return workbookOf(res.body as Buffer);
}

/** A list page: 200, small on the wire with its CSS (as test/http/pages.test.ts asks of the large pages). */
async function listPage(username: string, path: string) {
  const agent = await as(username);
  const res = await agent.get(path).set('Accept-Encoding', 'gzip');
  expect(res.status, path).toBe(200);
  const css = await agent.get('/static/app.css');
  expect(zlib.gzipSync(Buffer.from(res.text)).length + zlib.gzipSync(Buffer.from(css.text)).length, path).toBeLessThan(30 * 1024);
  return res.text;
}

describe(`the staff lists: filters, sorting, pages and the export of what the filter selects (${TEST_DB})`, () => {
  it('发放批次: filtered by state, sorted by total, links that keep each other, the export the same rounds', async () => {
    const db = t.core.db;
    const compiling = (await db('batch_round').where({ state: 'compiling' }).count({ n: '*' }).first())!.n;
    expect(Number(compiling)).toBeGreaterThan(1);

    const html = await listPage('supervisor', '/rounds?state=compiling&sort=total&dir=desc');
    const rows = tableOf(html);
    expect(rows.length).toBe(Number(compiling));
    expect(totalOf(html)).toBe(Number(compiling));
    expect(new Set(rows.map((r) => r.cells[4]))).toEqual(new Set(['编制中']));
    expectDescending(rows.map((r) => yuan(r.cells[5]!)));
    // The header sorted by says so and turns the order round; the others keep the filter; the form keeps the sort.
    expect(html).toContain('<th class="num" aria-sort="descending"><a href="/rounds?state=compiling&amp;sort=total&amp;dir=asc">');
    expect(html).toContain('<a href="/rounds?state=compiling&amp;sort=title&amp;dir=asc">');
    expect(html).toContain('<input type="hidden" name="sort" value="total"><input type="hidden" name="dir" value="desc">');
    expect(html).toContain('<option value="compiling" selected>编制中</option>');

    // Ascending by total: the same rounds the other way round (ties keep the id order, the other way round too).
    const ascending = tableOf(await listPage('supervisor', '/rounds?state=compiling&sort=total&dir=asc'));
    expect(ascending.map((r) => yuan(r.cells[5]!))).toEqual(rows.map((r) => yuan(r.cells[5]!)).reverse());

    // A year is every period of it; a department its rounds only.
    const civil = await db('core_org').where({ name: '青禾县民政局' }).first('id');
    const civilRounds = await db('batch_round').where({ department_org_id: civil.id, period_year: 2026 }).count({ n: '*' }).first();
    const byDepartment = await listPage('supervisor', `/rounds?period=2026&department=${civil.id}`);
    expect(totalOf(byDepartment)).toBe(Number(civilRounds!.n));
    expect(new Set(tableOf(byDepartment).map((r) => r.cells[3]))).toEqual(new Set(['青禾县民政局']));
    expect(totalOf(await listPage('supervisor', '/rounds?period=2025'))).toBe(0);

    const href = exportHrefOf(html);
    expect(href).toBe('/rounds/export.xlsx?state=compiling&sort=total&dir=desc');
    const file = await download('supervisor', href);
    expect(file.heading).toMatch(/^发放批次（筛选：状态：编制中；按总金额降序），共 \d+ 条/);
    expect(file.header).toContain('总金额（元）');
    expect(file.rows.map((r) => r[0])).toEqual(rows.map((r) => r.cells[0]));
    const totalColumn = file.header.indexOf('总金额（元）');
    expect(file.rows.map((r) => r[totalColumn])).toEqual(rows.map((r) => r.cells[5]));
    const audit = (await auditRows(t.core, 'batch.rounds.export')).at(-1);
    expect(audit).toMatchObject({ username: 'supervisor' });
    expect(JSON.parse(audit.summary)).toMatchObject({ rows: Number(compiling), filter: '状态：编制中', sort: '按总金额降序' });
  });

  it('受益对象档案: village, status and account filters, sorted by name, page 2, the export every page of it with masked ID numbers', async () => {
    const db = t.core.db;
    const village = await regionId(t, '西街村');
    const filter = `villageId=${village}&status=active&account=yes`;
    const selected = () =>
      db('beneficiary_person as p').leftJoin('beneficiary_account as a', 'a.active_person_id', 'p.id').where({ 'p.village_id': village, 'p.status': 'active' }).whereNotNull('a.id');
    const expected = (await selected().orderBy('p.name').orderBy('p.id').select('p.id', 'p.name', 'p.id_enc', 'p.id_masked')) as { id: number; name: string; id_enc: string; id_masked: string }[];
    expect(expected.length).toBeGreaterThan(50);
    expect(expected.length).toBeLessThan((await db('beneficiary_person').where({ village_id: village }).count({ n: '*' }).first())!.n as number);

    const first = await listPage('supervisor', `/beneficiaries?${filter}&sort=name&dir=asc`);
    expect(totalOf(first)).toBe(expected.length);
    expect(pagesOf(first)).toBe(Math.ceil(expected.length / 50));
    expect(first).toContain(`<a href="?${filter.replace(/&/g, '&amp;')}&amp;sort=name&amp;dir=asc&amp;page=2">下一页</a>`);
    const second = await listPage('supervisor', `/beneficiaries?${filter}&sort=name&dir=asc&page=2`);
    const rows = tableOf(second);
    // The database's own order of names (its collation), the id breaking ties; every row within the filter.
    expect(rows.map((r) => idOf(r.href))).toEqual(expected.slice(50, 100).map((p) => Number(p.id)));
    for (const r of rows) {
      expect(r.cells[4]).toBe('西街村');
      expect(r.cells[6]).toBe('在册');
      expect(r.cells[7]).toMatch(/\*{4}\d{4}$/);
    }
    expect(second).toContain('<th aria-sort="ascending"><a href="/beneficiaries?villageId=');
    // Without an account: the complement, none with an account shown.
    const without = await listPage('supervisor', `/beneficiaries?villageId=${village}&status=active&account=no`);
    const all = (await db('beneficiary_person').where({ village_id: village, status: 'active' }).count({ n: '*' }).first())!.n;
    expect(totalOf(without)).toBe(Number(all) - expected.length);
    expect(tableOf(without).every((r) => r.cells[7] === '')).toBe(true);

    const file = await download('supervisor', exportHrefOf(second));
    expect(file.heading).toContain('筛选：村（社区）：西街村；状态：在册；发放账户：有发放账户；按姓名升序');
    expect(file.rows.length).toBe(expected.length);
    expect(file.rows.map((r) => r[0])).toEqual(expected.map((p) => p.name));
    // ID numbers masked only: the clear number is nowhere in the file, its masked form is.
    for (const p of [expected[0]!, expected.at(-1)!]) {
      const clear = t.core.crypto.decrypt(p.id_enc);
      expect(clear).toMatch(/^\d{17}[\dX]$/);
      expect(file.raw).not.toContain(clear);
      expect(file.raw).not.toContain(clear.slice(6, 14) + clear.slice(14));
      expect(file.rows.map((r) => r[1])).toContain(p.id_masked);
    }
    expect(file.rows.every((r) => /^\d{6}\*{8}[\dX]{4}$/.test(r[1]!))).toBe(true);
    expect(JSON.parse((await auditRows(t.core, 'beneficiary.registry.export')).at(-1).summary)).toMatchObject({ rows: expected.length });

    // A township station exports its own townships' people only, as its page counts them.
    const station = await listPage('station1', '/beneficiaries');
    const own = await download('station1', exportHrefOf(station));
    expect(own.rows.length).toBe(totalOf(station));
    expect(new Set(own.rows.map((r) => r[4]))).toEqual(new Set(['东关社区', '西街村', '南河村']));
    // A role that does not read the registry does not export it either.
    expect((await (await as('bank')).get('/beneficiaries/export.xlsx')).status).toBe(403);
  });

  it('发放失败处理: overdue, township and round filters, sorted by amount, the tabs keep the filters, the export the same cases masked', async () => {
    const db = t.core.db;
    // The demo's correction clock passes its due date: its cases not yet at the bank (being corrected, verified or
    // re-reviewed) are overdue.
    const clock = await db('core_deadline').where({ rule: 'failure_correction', state: 'open' }).first('id', 'object_id');
    await db('core_deadline').where({ id: clock.id }).update({ due_on: '2020-01-02' });
    const overdue = await db('bank_failure').where({ deadline_key: clock.object_id }).whereIn('state', ['correcting', 'verifying', 'reviewing']).orderBy('amount_fen', 'desc').orderBy('id', 'desc').select('id', 'person_id', 'id_masked');
    expect(overdue.length).toBeGreaterThan(0);
    expect(overdue.length).toBeLessThan(Number((await db('bank_failure').count({ n: '*' }).first())!.n));

    const html = await listPage('supervisor', '/bank/failures?overdue=1&sort=amount&dir=desc');
    const rows = tableOf(html);
    expect(totalOf(html)).toBe(overdue.length);
    const caseIds = parse(html).querySelectorAll('table.data tbody a[href^="/bank/failures/"]').map((a) => idOf(a.getAttribute('href')));
    expect(caseIds).toEqual(overdue.map((f: { id: number }) => Number(f.id)));
    expectDescending(rows.map((r) => yuan(r.cells[3]!)));
    expect(html).toContain('<input type="checkbox" name="overdue" value="1" checked>');
    // A state tab keeps the other filters and the sort.
    expect(html).toContain('href="/bank/failures?state=correcting&amp;overdue=1&amp;sort=amount&amp;dir=desc"');

    // By township and round: every case of that round in that township.
    const one = await db('bank_failure').first('round_id', 'township_id', 'round_title');
    const inRound = await db('bank_failure').where({ round_id: one.round_id, township_id: one.township_id }).count({ n: '*' }).first();
    const byRound = await listPage('supervisor', `/bank/failures?township=${one.township_id}&round=${one.round_id}&sort=name`);
    expect(totalOf(byRound)).toBe(Number(inRound!.n));
    expect(new Set(tableOf(byRound).map((r) => r.cells[0]))).toEqual(new Set([one.round_title]));

    const file = await download('supervisor', exportHrefOf(html));
    expect(file.heading).toContain('筛选：时限：仅逾期未办；按金额降序');
    expect(file.rows.length).toBe(overdue.length);
    expect(file.rows.map((r) => r[4])).toEqual(overdue.map((f: { id_masked: string }) => f.id_masked));
    const person = await db('beneficiary_person').where({ id: overdue[0].person_id }).first('id_enc');
    expect(file.raw).not.toContain(t.core.crypto.decrypt(person.id_enc));
    expect(JSON.parse((await auditRows(t.core, 'bank.failures.export')).at(-1).summary)).toMatchObject({ rows: overdue.length, filter: '时限：仅逾期未办' });
  });

  it('审计日志: a module\'s actions oldest first, page 2, the export every page of it', async () => {
    const db = t.core.db;
    const batchRows = Number((await db('core_audit').where('action', 'like', 'batch.%').count({ n: '*' }).first())!.n);
    expect(batchRows).toBeGreaterThan(50);

    const first = await listPage('auditor', '/audit?action=batch.*&sort=time&dir=asc');
    expect(totalOf(first)).toBe(batchRows);
    expect(pagesOf(first)).toBe(Math.ceil(batchRows / 50));
    const second = await listPage('auditor', '/audit?action=batch.*&sort=time&dir=asc&page=2');
    const ids = [...tableOf(first), ...tableOf(second)].map((r) => Number(r.cells[0]));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const oldest = await db('core_audit').where('action', 'like', 'batch.%').orderBy('at').orderBy('id').limit(100).select('id');
    expect(ids).toEqual(oldest.map((r: { id: number }) => Number(r.id)));
    // The header turns the order round: newest first is the default, so its link needs no sort.
    expect(first).toContain('<th aria-sort="ascending"><a href="/audit?action=batch.*">');

    const file = await download('auditor', exportHrefOf(second));
    expect(file.heading).toContain('筛选：操作类型：发放批次：全部操作；按时间升序');
    expect(file.rows.length).toBe(batchRows);
    expect(file.rows.slice(0, 100).map((r) => Number(r[0]))).toEqual(ids);
    expect(file.rows.every((r) => /^\p{Script=Han}/u.test(r[4]!))).toBe(true);
    expect(personalNumbers(file.raw)).toEqual([]);
    // The export is itself in the log, read as a sentence.
    const log = await listPage('auditor', '/audit?action=audit.export');
    expect(tableOf(log)[0]!.cells[6]).toBe(`${batchRows} 条，筛选：操作类型：发放批次：全部操作，按时间升序`);
    // The system administrator reads neither the log nor its export (三权分立).
    const admin = agentFor(t.core);
    await login(admin, 'admin');
    expect((await admin.get('/audit/export.xlsx')).status).toBe(403);
  });

  it('answers every sort of every list, both ways; states in the order of the workflow', async () => {
    const sorts: [string, string, string[]][] = [
      ['supervisor', '/rounds', ['period', 'title', 'state', 'total', 'updated']],
      ['supervisor', '/beneficiaries', ['village', 'name', 'status']],
      ['supervisor', '/bank/failures', ['name', 'amount', 'state', 'opened']],
      ['auditor', '/audit', ['time']],
    ];
    for (const [username, path, keys] of sorts) {
      for (const key of keys) for (const dir of ['asc', 'desc']) expect(tableOf(await listPage(username, `${path}?sort=${key}&dir=${dir}`)).length, `${path} ${key} ${dir}`).toBeGreaterThan(0);
    }
    const order = ['编制中', '待财政复核', '已下达银行', '已拨付'];
    const states = tableOf(await listPage('supervisor', '/rounds?sort=state&dir=asc')).map((r) => order.indexOf(r.cells[4]!));
    expect(states).toEqual([...states].sort((a, b) => a - b));
    expect(new Set(states).size).toBe(4);
  });

  it('refuses a bad sort, direction or page with 422 and the reason in Chinese, and never runs what the query string says', async () => {
    const lists: [string, string][] = [
      ['supervisor', '/rounds'],
      ['supervisor', '/beneficiaries'],
      ['supervisor', '/bank/failures'],
      ['auditor', '/audit'],
    ];
    const injection = encodeURIComponent('id; DROP TABLE core_audit; --');
    for (const [username, path] of lists) {
      const agent = await as(username);
      for (const [query, message] of [
        ['sort=evil', '排序无效'],
        [`sort=${injection}`, '排序无效'],
        ['dir=x', '排序方向无效'],
        [`dir=${injection}`, '排序方向无效'],
        ['page=abc', '页码无效'],
      ]) {
        for (const url of [`${path}?${query}`, `${path}/export.xlsx?${query}`]) {
          const res = await agent.get(url);
          expect(res.status, url).toBe(422);
          expect(res.text, url).toContain(message);
        }
      }
    }
    // A quote in a filter is a value, never SQL.
    expect(totalOf(await listPage('supervisor', `/beneficiaries?name=${encodeURIComponent("张' OR '1'='1")}`))).toBe(0);
    // The tables the injected text names are all still there.
    expect(Number((await t.core.db('core_audit').count({ n: '*' }).first())!.n)).toBeGreaterThan(0);
  });
});
