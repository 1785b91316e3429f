import ExcelJS from 'exceljs';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_DB, type TestDb, agentFor, binaryParser, createSeededDb, csrfFrom, login, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

async function sheetRows(buffer: Buffer): Promise<string[][]> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buffer as unknown as ArrayBuffer);
  const rows: string[][] = [];
  wb.worksheets[0]!.eachRow((row) => rows.push((row.values as unknown[]).slice(1).map((v) => (v == null ? '' : String(v)))));
  return rows;
}

describe(`policy pages (${TEST_DB})`, () => {
  it('publishes the county list to the public without login, grouped by department, without confidential items', async () => {
    t = await createSeededDb();
    const anon = agentFor(t.core);
    const page = await anon.get('/public/policies?year=2026');
    expect(page.status).toBe(200);
    expect(page.text).toContain('青禾县2026年惠民惠农财政补贴政策清单');
    expect(page.text).toContain('江川省民政厅');
    expect(page.text).toContain('《江川省耕地地力保护补贴实施办法》（江财农〔2021〕21号）');
    expect(page.text).toContain('105.50 元/亩');
    expect(page.text).not.toContain('特殊困难群体临时生活补助');
    expect(page.text).toContain('共 19 项');
    const pdf = await anon.get('/public/policies.pdf?year=2026').buffer(true).parse(binaryParser);
    expect(pdf.status).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect((pdf.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
    const xlsx = await anon.get('/public/policies.xlsx?year=2026').buffer(true).parse(binaryParser);
    const rows = await sheetRows(xlsx.body as Buffer);
    expect(rows.flat().join('|')).toContain('耕地地力保护补贴资金');
    expect(rows.flat().join('|')).not.toContain('特殊困难群体');
    expect((await anon.get('/public/policies?year=abc')).status).toBe(422);
    expect((await anon.get('/public/policies?county=99999')).status).toBe(404);
  });

  it('takes a department through a new policy, the finance section through publishing it, and shows both queues', async () => {
    t = await createSeededDb({ demo: true });
    const dept = agentFor(t.core);
    await login(dept, 'dept_agri');
    const bad = await submit(dept, '/policies/new', '/policies', { code: 'QH 1', name: '', legalBasisTitle: 'x', legalBasisNumber: 'y', payee: 'person', frequency: 'yearly', unit: '亩', tiers: '标准:1.234', fromYear: '2026', toYear: '2025', effectiveYear: '2026', exclusiveGroups: '', changeNote: '' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('编码由 2–40 位字母、数字或短横线组成');
    expect(bad.text).toContain('请填写补贴项目名称');
    expect(bad.text).toContain('最多两位小数');
    const ok = await submit(dept, '/policies/new', '/policies', { code: 'QH-20', name: '青禾县设施农业补贴', legalBasisTitle: '青禾县设施农业扶持办法', legalBasisNumber: '青农发〔2026〕9号', payee: 'person', frequency: 'once', unit: '亩', tiers: '标准:800', fromYear: '2026', toYear: '', effectiveYear: '2026', exclusiveGroups: '', changeNote: '' });
    expect(ok.status).toBe(303);
    const itemPath = ok.headers.location as string;

    const finance = agentFor(t.core);
    await login(finance, 'finance');
    expect((await finance.get('/policies/new')).status).toBe(403);
    expect((await finance.get(`${itemPath}/edit`)).status).toBe(403);
    expect((await dept.get(`${itemPath}/edit`)).status).toBe(200);
    const home = await finance.get('/');
    expect(home.text).toContain('待发布的补贴项目（新增或调整）');
    const detail = await finance.get(itemPath);
    expect(detail.text).toContain('复核发布');
    const revision = /name="revision" value="(\d+)"/.exec(detail.text)![1]!;
    const versionId = /\/policies\/versions\/(\d+)\/publish/.exec(detail.text)![1]!;
    const published = await finance.post(`/policies/versions/${versionId}/publish`).type('form').send({ revision, _csrf: csrfFrom(detail.text) });
    expect(published.status).toBe(303);
    expect((await agentFor(t.core).get('/public/policies?year=2026')).text).toContain('青禾县设施农业补贴');

    // The finance section records an allocation; a bad amount is refused with the field named.
    const badAlloc = await finance.post(`${itemPath}/allocations`).type('form').send({ year: '2026', amount: '100.001', docTitle: '下达', docNumber: '青财〔2026〕1号', docDate: '2026-03-01', _csrf: csrfFrom(detail.text) });
    expect(badAlloc.status).toBe(422);
    expect(badAlloc.text).toContain('金额最多两位小数（精确到分）');
    const alloc = await finance.post(`${itemPath}/allocations`).type('form').send({ year: '2026', amount: '1,234,567.89', docTitle: '下达', docNumber: '青财〔2026〕1号', docDate: '2026-03-01', _csrf: csrfFrom(detail.text) });
    expect(alloc.status).toBe(303);
    expect((await finance.get(itemPath)).text).toContain('1,234,567.89');
  });

  it('records 救助类 on the policy (its form and page), so that opening a round of it asks nothing more', async () => {
    t = await createSeededDb({ demo: true });
    const dept = agentFor(t.core);
    await login(dept, 'dept_civil');
    expect((await dept.get('/policies/new')).text).toContain('name="meansTested"');
    const ok = await submit(dept, '/policies/new', '/policies', { code: 'QH-21', name: '青禾县困难家庭生活补助', legalBasisTitle: '青禾县困难家庭生活补助办法', legalBasisNumber: '青民发〔2026〕9号', payee: 'person', frequency: 'yearly', unit: '人', tiers: '标准:600', fromYear: '2026', toYear: '', effectiveYear: '2026', exclusiveGroups: '', changeNote: '', meansTested: 'on' });
    expect(ok.status).toBe(303);
    const itemPath = ok.headers.location as string;
    expect((await dept.get(itemPath)).text).toContain('<dt>救助类</dt><dd>是（须核查公职人员，财政供养人员不得享受）</dd>');
    expect((await dept.get(`${itemPath}/edit`)).text).toMatch(/name="meansTested" value="on" checked/);
    // The round form names the demo's 低保 as 救助类 and has no checkbox of its own.
    const rounds = await dept.get('/rounds');
    expect(rounds.text).toMatch(/JC-09 [^<]*救助类/);
    expect(rounds.text).not.toContain('name="meansTested"');
  });

  it('imports a department\'s own policies from its export: whole file or nothing, twice changes nothing', async () => {
    t = await createSeededDb({ demo: true });
    const dept = agentFor(t.core);
    await login(dept, 'dept_civil');
    const exported = await dept.get('/policies/export.xlsx').buffer(true).parse(binaryParser);
    expect(exported.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(exported.body as ArrayBuffer);
    const sheet = wb.worksheets[0]!;
    let headerRow = 0;
    sheet.eachRow((row, n) => {
      if (!headerRow && (row.values as unknown[]).includes('编码')) headerRow = n;
    });
    // Add a new policy row, copying the shape of the first line.
    const first = sheet.getRow(headerRow + 1).values as unknown[];
    const added = sheet.addRow((first.slice(1) as string[]).map((v, i) => (i === 0 ? 'QH-30' : i === 1 ? '青禾县困难家庭取暖补贴' : v)));
    added.commit();
    const file = Buffer.from(await wb.xlsx.writeBuffer());
    const page = await dept.get('/policies');
    const send = () => dept.post('/policies/import').field('_csrf', csrfFrom(page.text)).attach('file', file, '民政局.xlsx');
    const firstImport = await send();
    expect(firstImport.status).toBe(303);
    expect((await dept.get('/policies')).text).toContain('新增 1 项');
    const before = await t.core.db('policy_version').count({ n: '*' });
    const again = await send();
    expect(again.status).toBe(303);
    expect((await dept.get('/policies')).text).toContain('该文件已导入过，本次没有做任何更改');
    expect(await t.core.db('policy_version').count({ n: '*' })).toEqual(before);

    // A row of another department refuses the whole file, with a report naming the row.
    const wrong = sheet.addRow(['QH-31', '别的部门的项目', '县级', '青禾县', '青禾县农业农村局', '某办法', '某号', '到人', '按年', '亩', '标准:10.00', '2026', '', '']);
    wrong.commit();
    const bad = await dept.post('/policies/import').field('_csrf', csrfFrom(page.text)).attach('file', Buffer.from(await wb.xlsx.writeBuffer()), '民政局.xlsx');
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('「主管部门」：只能导入本单位（青禾县民政局）的补贴项目');
    const reportUrl = /href="(\/downloads\/[^"]+)"/.exec(bad.text)![1]!;
    const report = await dept.get(reportUrl).buffer(true).parse(binaryParser);
    expect(decodeURIComponent(report.headers['content-disposition']!)).toContain('政策清单导入错误报告-民政局.xlsx');
    expect((await sheetRows(report.body as Buffer)).flat().join('|')).toContain('只能导入本单位（青禾县民政局）的补贴项目');
    // The report is this user's only.
    const other = agentFor(t.core);
    await login(other, 'dept_agri');
    expect((await other.get(reportUrl)).status).toBe(404);
    expect(await t.core.db('policy_item').where({ code: 'QH-31' }).first()).toBeUndefined();
    // A form without its CSRF token is refused even as multipart.
    expect((await dept.post('/policies/import').attach('file', file, 'x.xlsx')).status).toBe(403);
  });
});
