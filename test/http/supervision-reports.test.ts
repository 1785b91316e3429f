// The supervision reports (issue 17, item 6): figures by policy, department, township and village for a period, on
// the demo county — the groupings add up to the same totals, the totals reconcile with each round's ledger
// (bank/ledger.ts roundLedger), timeliness in working days, the SVG charts, the workbook, and the refusals.
import ExcelJS from 'exceljs';
import { type HTMLElement, parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCalendar } from '../../src/core/calendar.ts';
import { formatYuan } from '../../src/core/money.ts';
import { type RoundLedger, roundLedger } from '../../src/modules/bank/index.ts';
import { roundsWithMoney } from '../../src/modules/batch/index.ts';
import { buildReport, reportParams } from '../../src/modules/supervision/reports.ts';
import { TEST_DB, type TestDb, actorFor, auditRows, binaryParser, createSeededDb, loggedInAgents } from '../factories.ts';

const GROUPS = ['policy', 'department', 'township', 'village'] as const;
/** The six figures, two columns each (count, 元), then median, within N, share. */
const FIGURE_COLUMNS = 12;

describe(`supervision: reports (${TEST_DB})`, () => {
  let t: TestDb;

  const { as, clear: forgetAgents } = loggedInAgents(() => t);

  const cells = (tr: HTMLElement) => tr.querySelectorAll('th, td').map((c) => c.text.trim());
  /** The report table's group rows and its totals row, as text cells. */
  function table(html: string): { rows: string[][]; totals: string[] } {
    const doc = parse(html);
    const report = doc.querySelector('table.report')!;
    return { rows: report.querySelectorAll('tbody tr').filter((tr) => !tr.querySelector('.empty')).map(cells), totals: cells(report.querySelector('tfoot tr')!) };
  }
  const fenOf = (yuan: string) => Math.round(Number(yuan.replace(/,/g, '')) * 100);

  beforeAll(async () => {
    forgetAgents();
    t = await createSeededDb({ demo: true }, { people: true });
  });

  afterAll(async () => t?.cleanup());

  it('every grouping adds up to the same totals; the totals reconcile with the ledgers of the same rounds', async () => {
    const agent = await as('supervisor');
    const totals: string[][] = [];
    for (const group of GROUPS) {
      const res = await agent.get(`/supervision/reports?group=${group}&year=2026`);
      expect(res.status, group).toBe(200);
      const { rows, totals: total } = table(res.text);
      expect(rows.length, group).toBeGreaterThan(0);
      // Each count and amount column: the rows add up to the totals row.
      for (let col = 1; col <= FIGURE_COLUMNS; col++) {
        const sum = rows.reduce((n, r) => n + (col % 2 ? Number(r[col]) : fenOf(r[col]!)), 0);
        expect(sum, `${group} column ${col}`).toBe(col % 2 ? Number(total[col]) : fenOf(total[col]!));
      }
      // Lines paid within N: the rows add up too.
      expect(rows.reduce((n, r) => n + Number(r[FIGURE_COLUMNS + 2]), 0)).toBe(Number(total[FIGURE_COLUMNS + 2]));
      totals.push(total.slice(1));
    }
    for (const total of totals) expect(total).toEqual(totals[0]);
    const villages = table((await agent.get('/supervision/reports?group=village&year=2026')).text).rows;
    expect(villages.length, 'the demo township has several villages').toBeGreaterThan(1);

    // The rounds of 2026 released to a bank, each with its ledger: the totals are their sums.
    const actor = await actorFor(t, 'supervisor');
    const rounds = (await roundsWithMoney(t.core.db, actor, ['released', 'transferred'])).filter((r) => r.period_year === 2026);
    expect(rounds.length).toBeGreaterThan(1);
    const ledgers: RoundLedger[] = [];
    for (const r of rounds) ledgers.push(await roundLedger(t.core.db, r.id));
    const sum = (pick: (l: RoundLedger) => number) => ledgers.reduce((n, l) => n + pick(l), 0);
    const [plannedN, plannedY, paidN, paidY, , , , refundedY, returnedN, returnedY] = totals[0]!;
    expect(Number(plannedN)).toBe(sum((l) => l.lines));
    expect(fenOf(plannedY!)).toBe(sum((l) => l.linesFen));
    expect(Number(paidN)).toBe(sum((l) => l.paid));
    expect(fenOf(paidY!)).toBe(sum((l) => l.paidFen));
    expect(fenOf(refundedY!)).toBe(sum((l) => l.refundedFen));
    expect(Number(returnedN)).toBe(sum((l) => l.returned));
    expect(fenOf(returnedY!)).toBe(sum((l) => l.returnedFen));
    // The demo has paid, failed, refunded and returned lines: the reconciliation is not of zeros.
    expect(sum((l) => l.paidFen) * sum((l) => l.refundedFen) * sum((l) => l.returnedFen)).toBeGreaterThan(0);
    expect(Number(totals[0]![4])).toBeGreaterThan(0);
  });

  it('a range of months counts the rounds whose period falls in it; the form keeps what was chosen', async () => {
    const agent = await as('supervisor');
    const august = await agent.get('/supervision/reports?group=policy&from=2026-08&to=2026-08');
    expect(august.status).toBe(200);
    const ledger = await roundLedger(t.core.db, (await t.core.db('batch_round').where({ period: '2026-08' }).first('id')).id);
    const { totals } = table(august.text);
    expect(Number(totals[1])).toBe(ledger.lines);
    expect(fenOf(totals[4]!)).toBe(ledger.paidFen);
    const doc = parse(august.text);
    expect(doc.querySelector('#f-r-from')!.getAttribute('value')).toBe('2026-08');
    expect(doc.querySelector('#f-r-to')!.getAttribute('value')).toBe('2026-08');
    expect(doc.querySelector('#f-r-group option[selected]')!.getAttribute('value')).toBe('policy');
    expect(doc.querySelector('a[download]')!.getAttribute('href')).toBe('/supervision/reports/export.xlsx?group=policy&from=2026-08&to=2026-08&days=10');
    const none = table((await agent.get('/supervision/reports?from=2025-01&to=2025-12')).text);
    expect(none.rows).toEqual([]);
    expect(none.totals[1]).toBe('0');
  });

  it('timeliness counts working days (the calendar) from the round\'s release to the line\'s paid result', async () => {
    const db = t.core.db;
    const round = (await db('batch_round').where({ period: '2026-08' }).first('id')).id as number;
    // Released on the eve of the National Day holiday, paid after it.
    await db('batch_history').where({ round_id: round, action: 'release' }).whereNull('roster_id').update({ at: '2026-09-30T02:00:00.000Z' });
    const paid = (await db('bank_line_result').where({ round_id: round, result: 'paid' }).orderBy('id').select('id')) as { id: number }[];
    const late = paid.slice(0, 5).map((p) => p.id);
    await db('bank_line_result').where({ round_id: round, result: 'paid' }).update({ recorded_at: '2026-10-09T02:00:00.000Z' });
    await db('bank_line_result').whereIn('id', late).update({ recorded_at: '2026-11-20T02:00:00.000Z' });
    const calendar = await loadCalendar(db);
    const soon = calendar.workingDaysBetween('2026-09-30', '2026-10-09').days;
    const slow = calendar.workingDaysBetween('2026-09-30', '2026-11-20').days;
    expect(soon).toBeLessThan(9); // fewer than the calendar days: the holiday does not count
    expect(slow).toBeGreaterThan(10);

    const agent = await as('supervisor');
    const { totals } = table((await agent.get('/supervision/reports?from=2026-08&to=2026-08&days=10')).text);
    const lines = Number(totals[1]);
    expect(totals[FIGURE_COLUMNS + 1]).toBe(String(soon)); // the median: most lines were paid soon
    expect(Number(totals[FIGURE_COLUMNS + 2])).toBe(paid.length - late.length);
    expect(totals[FIGURE_COLUMNS + 3]).toBe(`${(Math.round(((paid.length - late.length) * 1000) / lines) / 10).toFixed(1)}%`);
    const longer = table((await agent.get(`/supervision/reports?from=2026-08&to=2026-08&days=${slow}`)).text).totals;
    expect(Number(longer[FIGURE_COLUMNS + 2])).toBe(paid.length);
  });

  it('counts a failed line reissued (补发) in its own group, at the failed line\'s amount', async () => {
    const db = t.core.db;
    const returned = await db('bank_failure').whereNotNull('treasury_return_id').first('id', 'amount_fen', 'village_id');
    expect(returned).toBeDefined();
    // The reissue line itself would stand in a reissue round; the report reads only that the case was reissued.
    const other = await db('batch_line').where({ state: 'active' }).whereNot('village_id', returned.village_id).first('id');
    await db('bank_failure').where({ id: returned.id }).update({ reissue_line_id: other.id });
    try {
      const agent = await as('supervisor');
      const { rows, totals } = table((await agent.get('/supervision/reports?group=village&year=2026')).text);
      const village = (await db('core_region').where({ id: returned.village_id }).first('name')).name as string;
      const row = rows.find((r) => r[0]!.endsWith(village))!;
      expect([row[11], fenOf(row[12]!)]).toEqual(['1', Number(returned.amount_fen)]);
      expect([totals[11], fenOf(totals[12]!)]).toEqual(['1', Number(returned.amount_fen)]);
      expect(rows.filter((r) => r !== row).every((r) => r[11] === '0')).toBe(true);
    } finally {
      await db('bank_failure').where({ id: returned.id }).update({ reissue_line_id: null });
    }
  });

  it('counts, for a reader of a township, only the lines of that township', async () => {
    const db = t.core.db;
    const county = await actorFor(t, 'supervisor');
    const params = reportParams({ group: 'township', year: 2026, from: null, to: null, days: null }, '2026-12-05');
    const all = await buildReport(db, county, params);
    const withLines = await db('core_region').where({ id: Number(all.rows[0]!.key) }).first('path');
    const other = await db('core_region').where('path', 'like', `${county.regionPath}%`).whereNot('path', county.regionPath).whereNot('path', 'like', `${withLines.path}%`).whereNotIn('id', all.rows.map((r) => Number(r.key))).first('path');
    const own = await buildReport(db, { ...county, regionPath: withLines.path }, params);
    expect(own.rows.map((r) => r.key)).toEqual([all.rows[0]!.key]);
    expect(own.rows[0]!.planned).toEqual(all.rows[0]!.planned);
    const none = await buildReport(db, { ...county, regionPath: other.path }, params);
    expect(none.rows).toEqual([]);
    expect(none.totals.planned).toEqual({ count: 0, fen: 0 });
  });

  it('draws an SVG bar chart per figure on the server, one bar per group, with its title and description', async () => {
    const agent = await as('supervisor');
    const res = await agent.get('/supervision/reports?group=village&year=2026');
    const doc = parse(res.text);
    const groups = table(res.text).rows.length;
    const charts = doc.querySelectorAll('figure.chart svg');
    expect(charts.length).toBe(2);
    for (const svg of charts) {
      expect(svg.getAttribute('role')).toBe('img');
      expect(svg.querySelector('title')!.text).toMatch(/按村（社区）/);
      expect(svg.querySelector('desc')!.text.length).toBeGreaterThan(10);
      expect(svg.querySelectorAll('g.bar').length).toBe(groups);
    }
    for (const figure of doc.querySelectorAll('figure.chart')) expect(figure.innerHTML).not.toMatch(/<script|\son\w+=/);
  });

  it('downloads the report as a workbook matching the page (fen and 元 columns, totals last), text cells neutralised, audited', async () => {
    const agent = await as('supervisor');
    const load = async (href: string) => {
      const res = await agent.get(href).buffer(true).parse(binaryParser);
      expect(res.status).toBe(200);
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename\*=UTF-8''/);
      expect(decodeURIComponent(res.headers['content-disposition']!)).toContain('发放统计报表');
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(res.body as never);
      const sheet = workbook.worksheets[0]!;
      return { sheet, value: (row: number, col: number) => String(sheet.getRow(row).getCell(col).value ?? '') };
    };
    const page = await agent.get('/supervision/reports?group=village&year=2026&days=7');
    const { rows, totals } = table(page.text);
    const href = parse(page.text).querySelector('a[download]')!.getAttribute('href')!;
    expect(href).toBe('/supervision/reports/export.xlsx?group=village&year=2026&days=7');
    const { sheet, value } = await load(href);
    expect(value(1, 1)).toMatch(/^发放统计报表（筛选：分组：村（社区）；期间：2026年；到账时限：7个工作日/);
    const header = (sheet.getRow(2).values as unknown[]).slice(1).map(String);
    expect(header.slice(0, 4)).toEqual(['分组', '计划发放笔数', '计划发放金额（分）', '计划发放金额（元）']);
    expect(header).toContain('7个工作日内到账比例');
    expect(sheet.rowCount).toBe(rows.length + 3);
    [...rows, totals].forEach((r, i) => {
      const row = i + 3;
      expect(value(row, 1)).toBe(r[0]);
      for (let f = 0; f < 6; f++) {
        expect(value(row, 2 + f * 3), `row ${row} figure ${f}`).toBe(r[1 + f * 2]);
        expect(value(row, 3 + f * 3)).toMatch(/^\d+$/);
        expect(Number(value(row, 3 + f * 3))).toBe(fenOf(r[2 + f * 2]!));
        expect(value(row, 4 + f * 3)).toBe(r[2 + f * 2]);
      }
      expect([value(row, 20), value(row, 21), value(row, 22)]).toEqual([r[13], r[14], r[15]]);
    });
    expect(value(rows.length + 3, 1)).toBe('合计');
    expect(formatYuan(Number(value(rows.length + 3, 3)))).toBe(totals[2]);
    const audit = (await auditRows(t.core, 'supervision.reports.export')).at(-1);
    expect(audit).toMatchObject({ username: 'supervisor' });
    expect(JSON.parse(audit.summary)).toMatchObject({ rows: rows.length + 1, filter: '分组：村（社区）；期间：2026年；到账时限：7个工作日' });

    // A township named like a formula: the workbook writes it as text.
    const township = (await t.core.db('batch_roster').join('batch_line', 'batch_line.roster_id', 'batch_roster.id').first('batch_roster.township_id')).township_id as number;
    const name = (await t.core.db('core_region').where({ id: township }).first('name')).name as string;
    await t.core.db('core_region').where({ id: township }).update({ name: '=1+2' });
    try {
      const formula = await load('/supervision/reports/export.xlsx?group=township&year=2026');
      const labels = Array.from({ length: formula.sheet.rowCount - 2 }, (_, i) => formula.value(i + 3, 1));
      expect(labels).toContain("'=1+2");
    } finally {
      await t.core.db('core_region').where({ id: township }).update({ name });
    }
  });

  it('the finance section reads the reports too; every other role is refused (403, audited); the nav leads there', async () => {
    const finance = await as('finance');
    expect((await finance.get('/supervision/reports')).status).toBe(200);
    expect(parse((await finance.get('/')).text).querySelector('nav.nav a[href="/supervision/reports"]')).not.toBeNull();
    expect(parse((await (await as('supervisor')).get('/')).text).querySelector('nav.nav a[href="/supervision/reports"]')).not.toBeNull();
    for (const username of ['station1', 'dept_agri', 'treasury', 'bank', 'auditor', 'admin']) {
      const agent = await as(username);
      for (const path of ['/supervision/reports', '/supervision/reports/export.xlsx']) {
        const before = (await auditRows(t.core, 'access.denied')).length;
        expect((await agent.get(path)).status, `${username} ${path}`).toBe(403);
        const denied = await auditRows(t.core, 'access.denied');
        expect(denied.length).toBe(before + 1);
        expect(denied.at(-1)).toMatchObject({ username, object_type: 'page', object_id: path });
      }
      expect(parse((await agent.get('/')).text).querySelector('a[href="/supervision/reports"]'), username).toBeNull();
    }
  });

  it('refuses a bad query with 422: the summary links to each field, the message is shown, what was typed is kept', async () => {
    const agent = await as('supervisor');
    const cases: [string, string, RegExp][] = [
      ['group=town', 'group', /分组方式无效/],
      ['year=20x6', 'year', /年度应为四位数字/],
      ['year=1999', 'year', /2000 至 2100/],
      ['from=2026-13&to=2026-12', 'from', /起始月份应写作/],
      ['from=2026-09&to=2026-03', 'to', /截止月份不能早于起始月份/],
      ['from=2026-09', 'to', /请同时填写截止月份/],
      ['days=0', 'days', /1 至 60/],
    ];
    for (const [query, field, message] of cases) {
      const res = await agent.get(`/supervision/reports?${query}`);
      expect(res.status, query).toBe(422);
      const doc = parse(res.text);
      const link = doc.querySelector(`.error-summary a[href="#f-r-${field}"]`);
      expect(link, query).not.toBeNull();
      expect(link!.text).toMatch(message);
      expect(doc.querySelector(`#f-r-${field}`), query).not.toBeNull();
      expect(doc.querySelector(`#e-r-${field}`)!.text).toMatch(message);
      expect(doc.querySelector('table.report')).toBeNull();
      const typed = new URLSearchParams(query);
      for (const [k, v] of typed) if (k !== 'group') expect(doc.querySelector(`#f-r-${k}`)!.getAttribute('value'), query).toBe(v);
      expect((await agent.get(`/supervision/reports/export.xlsx?${query}`)).status, `export ${query}`).toBe(422);
    }
  });
});
