// The supervision module's pages (issue 17, items 1 and 8): the supervisor's overview (监督工作台) and the deadline
// monitor (限时办理监控) with its monthly timeliness rate and its workbook, on the demo county.
import ExcelJS from 'exceljs';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCalendar } from '../../src/core/calendar.ts';
import { businessDate } from '../../src/core/dates.ts';
import { insertReturningId, nowIso } from '../../src/core/db.ts';
import { formatYuan } from '../../src/core/money.ts';
import { monthsEndingWith } from '../../src/modules/supervision/model.ts';
import { TEST_DB, type TestDb, auditRows, binaryParser, createSeededDb, loggedInAgents } from '../factories.ts';


describe(`supervision: overview and deadline monitor (${TEST_DB})`, () => {
  let t: TestDb;
  const today = businessDate();

  const { as, clear: forgetAgents } = loggedInAgents(() => t);

  /** A clock of the demo county written straight into core_deadline (the rows the monitor reads). */
  async function clock(row: { rule: string; regionId: number; roles: string; title?: string; startedOn: string; dueOn: string; state?: 'open' | 'done' | 'cancelled'; closedAt?: string; object?: { type: string; id: number } }) {
    const [inserted] = await t.core.db('core_deadline')
      .insert({
        rule: row.rule,
        object_type: row.object?.type ?? 'test',
        object_id: row.object ? String(row.object.id) : `${Math.random()}`.slice(2, 12),
        region_id: row.regionId,
        title: row.title ?? '测试事项',
        responsible_roles: row.roles,
        started_on: row.startedOn,
        due_on: row.dueOn,
        days: 5,
        unit: 'working',
        state: row.state ?? 'open',
        open_key: (row.state ?? 'open') === 'open' ? `test:${Math.random()}` : null,
        closed_at: row.closedAt ?? null,
        created_at: new Date().toISOString(),
      })
      .returning('id');
    return typeof inserted === 'object' ? (inserted as { id: number }).id : (inserted as number);
  }

  beforeAll(async () => {
    forgetAgents();
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    // Two clocks of the demo run past their due dates: the treasury's transfer (county) and a roster's check (城关镇).
    await db('core_deadline').where({ rule: 'batch_transfer', state: 'open' }).update({ due_on: '2026-11-02' });
    await db('core_deadline').where({ rule: 'batch_check', state: 'open' }).update({ due_on: '2026-11-30' });
    // Complaints from the portal: one answered, one recent, one filed long ago and never assigned (no clock: not
    // overdue), one assigned to a department whose answer clock is past due (overdue), one assigned to a township whose
    // clock is not yet due.
    const complaint = (n: number, filedOn: string, status: string, assignee: { assignee_region_id?: number; assignee_org_id?: number } = {}) => ({
      tracking_no: `TS20260101${String(n).padStart(6, '0')}`,
      code_hash: 'x'.repeat(64),
      kind: 'complaint',
      county_id: 3,
      subject: '测试',
      content: '测试投诉内容',
      status,
      filed_on: filedOn,
      created_at: new Date().toISOString(),
      ...assignee,
    });
    const agri = (await db('core_org').where({ kind: 'department', region_id: 3, name: '青禾县农业农村局' }).first('id')) as { id: number };
    await db('publicity_complaint').insert([complaint(1, '2026-01-05', 'received'), complaint(2, today, 'in_progress'), complaint(3, '2026-01-06', 'answered'), complaint(4, '2026-11-01', 'assigned', { assignee_org_id: agri.id }), complaint(5, today, 'assigned', { assignee_region_id: 4 })]);
    const idOf = async (n: number) => ((await db('publicity_complaint').where({ tracking_no: `TS20260101${String(n).padStart(6, '0')}` }).first('id')) as { id: number }).id;
    await clock({ rule: 'complaint_answer', regionId: 3, roles: 'department', title: '投诉举报 TS20260101000004 答复', startedOn: '2026-11-02', dueOn: '2026-11-16', object: { type: 'complaint', id: await idOf(4) } });
    await clock({ rule: 'complaint_answer', regionId: 4, roles: 'township_station,township_finance', title: '投诉举报 TS20260101000005 答复', startedOn: today, dueOn: '2099-12-31', object: { type: 'complaint', id: await idOf(5) } });
  }, 300_000);
  afterAll(async () => t?.cleanup());

  it('the supervisor\'s overview: overdue clocks by rule and by unit with their people, rounds in flight with their money, failures, complaints, findings — each a link to the work', async () => {
    const db = t.core.db;
    const res = await (await as('supervisor')).get('/supervision');
    expect(res.status).toBe(200);
    const html = parse(res.text);
    expect(html.querySelector('h1')!.text).toBe('监督工作台');

    const open = Number((await db('core_deadline').where({ state: 'open' }).count({ n: '*' }).first())!.n);
    const overdue = Number((await db('core_deadline').where({ state: 'open' }).where('due_on', '<', today).count({ n: '*' }).first())!.n);
    expect(overdue).toBe(3);
    expect(html.querySelector('a[href="/supervision/deadlines"]')!.text).toBe(String(open));
    expect(html.querySelector('a[href="/supervision/deadlines?overdue=1"]')!.text).toBe(String(overdue));
    expect(html.querySelector('a[href="/deadlines?overdue=1"]')).not.toBeNull();

    // By rule: the transfer, late by the working days since 2026-11-02.
    const calendar = await loadCalendar(db);
    const transfer = html.querySelectorAll('#clocks tr').find((tr) => tr.text.includes('国库拨付资金'))!;
    expect(transfer).toBeDefined();
    expect(transfer.querySelector('a')!.getAttribute('href')).toBe('/supervision/deadlines?rule=batch_transfer&overdue=1');
    expect(transfer.querySelectorAll('td').at(-1)!.text).toBe(String(calendar.workingDaysBetween('2026-11-02', today).days));
    // By unit: 城关镇's township finance office, and who holds that role there (赵立新); the county's treasury (郑海燕).
    const township = html.querySelectorAll('#clocks tr').find((tr) => tr.text.includes('城关镇') && tr.text.includes('乡镇财政所'))!;
    expect(township.text).toContain('赵立新');
    expect(township.querySelector('a')!.getAttribute('href')).toBe('/supervision/deadlines?unit=4&overdue=1');
    const treasury = html.querySelectorAll('#clocks tr').find((tr) => tr.text.includes('青禾县') && tr.text.includes('国库科'))!;
    expect(treasury.text).toContain('郑海燕');

    // Rounds in flight: every round not yet transferred, each linked, with its payment plan in 元.
    const notTransferred = await db('batch_round').whereNot({ state: 'transferred' }).select('id', 'title', 'payment_plan_fen');
    for (const r of notTransferred) expect(html.querySelector(`#rounds a[href="/rounds/${r.id}"]`), r.title).not.toBeNull();
    for (const r of notTransferred.filter((x) => x.payment_plan_fen !== null)) {
      const cells = html.querySelector(`#rounds a[href="/rounds/${r.id}"]`)!.parentNode!.parentNode!.querySelectorAll('td');
      expect(cells[3]!.text, r.title).toBe(formatYuan(Number(r.payment_plan_fen)));
    }
    // A released round: its lines' total released to the bank, nothing transferred yet.
    const released = await db('batch_round').where({ state: 'released' }).first('id');
    const releasedTotal = Number((await db('batch_line').where({ round_id: released.id, state: 'active' }).sum({ t: 'amount_fen' }).first())!.t);
    const releasedCells = html.querySelector(`#rounds a[href="/rounds/${released.id}"]`)!.parentNode!.parentNode!.querySelectorAll('td');
    expect(releasedCells.slice(4).map((c) => c.text)).toEqual([formatYuan(releasedTotal), formatYuan(releasedTotal), '0.00', '0.00']);
    for (const state of ['compiling', 'submitted', 'released', 'transferred']) expect(html.querySelector(`#rounds a[href="/rounds?state=${state}"]`), state).not.toBeNull();

    // Failed payments still being handled: every state but paid again, reissued, returned to the treasury.
    const failures = await db('bank_failure').whereNotIn('state', ['paid', 'reissued', 'returned']).select('amount_fen');
    const failureRow = html.querySelector('#failures')!;
    expect(failureRow.querySelector('a[href="/bank/failures"]')!.text).toBe(String(failures.length));
    expect(failureRow.querySelectorAll('td')[2]!.text).toBe(formatYuan(failures.reduce((n, f) => n + Number(f.amount_fen), 0)));
    expect(failureRow.querySelector('a[href="/bank/failures?overdue=1"]')).not.toBeNull();

    // Complaints: four unanswered; overdue only the one whose answer clock is past due (the one never assigned, filed
    // long ago, has no clock), and the hint says what counts.
    const complaints = html.querySelector('#complaints')!;
    expect(complaints.querySelectorAll('a[href="/publicity/complaints"]').map((a) => a.text)).toEqual(['4', '1']);
    const hint = html.querySelector('#work .hint')!.text;
    expect(hint).toContain('交办后超过答复时限未答复');
    expect(hint).toContain('“交办投诉举报答复”，本级现为 15个工作日');

    // Findings of the cross-checks still open, and the rounds they are in.
    const findings = Number((await db('batch_finding').where({ state: 'open' }).count({ n: '*' }).first())!.n);
    expect(html.querySelector('#findings a')!.text).toBe(String(findings));
    const findingRounds = await db('batch_finding as f').join('batch_roster as s', 's.id', 'f.roster_id').where('f.state', 'open').distinct('s.round_id');
    for (const r of findingRounds) expect(html.querySelector(`#s-findings ~ table a[href="/rounds/${r.round_id}"]`)).not.toBeNull();
  });

  it('the supervisor\'s home page leads to the overview; the nav has it', async () => {
    const home = parse((await (await as('supervisor')).get('/')).text);
    expect(home.querySelector('.queues a[href="/supervision"]')).not.toBeNull();
    expect(home.querySelector('nav.nav a[href="/supervision"]')!.text).toBe('监督工作台');
  });

  it('every other role is refused (403, audited), the audit administrator too; no queue or nav entry for them', async () => {
    for (const username of ['finance', 'station1', 'dept_agri', 'treasury', 'bank', 'auditor', 'admin']) {
      const agent = await as(username);
      for (const path of ['/supervision', '/supervision/deadlines', '/supervision/deadlines/export.xlsx']) {
        const before = (await auditRows(t.core, 'access.denied')).length;
        expect((await agent.get(path)).status, `${username} ${path}`).toBe(403);
        const denied = await auditRows(t.core, 'access.denied');
        expect(denied.length).toBe(before + 1);
        expect(denied.at(-1)).toMatchObject({ username, object_type: 'page', object_id: path });
      }
      const home = parse((await agent.get('/')).text);
      expect(home.querySelector('a[href="/supervision"]'), username).toBeNull();
    }
  });

  it('the monitor lists every open clock of the scope with its unit, people and working days late; filters by rule, unit and overdue survive in the URL', async () => {
    const db = t.core.db;
    const agent = await as('supervisor');
    const rowsOf = (html: string) => parse(html).querySelectorAll('table.data')[0]!.querySelectorAll('tbody tr').filter((tr) => !tr.querySelector('.empty'));
    const total = (html: string) => Number(/共 (\d+) 条/.exec(html)?.[1]);
    const open = Number((await db('core_deadline').where({ state: 'open' }).count({ n: '*' }).first())!.n);

    const all = await agent.get('/supervision/deadlines');
    expect(all.status).toBe(200);
    expect(total(all.text)).toBe(open);
    expect(rowsOf(all.text).length).toBe(open);

    const overdue = await agent.get('/supervision/deadlines?overdue=1');
    const rows = rowsOf(overdue.text);
    expect(rows.length).toBe(3);
    const calendar = await loadCalendar(db);
    // Sorted by due date: the transfer first.
    expect(rows[0]!.text).toContain('国库科');
    expect(rows[0]!.text).toContain('郑海燕');
    expect(rows[0]!.querySelectorAll('td').at(-1)!.text.trim()).toBe(String(calendar.workingDaysBetween('2026-11-02', today).days));
    expect(rows[1]!.text).toContain('投诉举报 TS20260101000004 答复');
    expect(rows[2]!.text).toContain('赵立新');
    expect(rows[2]!.querySelectorAll('td').at(-1)!.text.trim()).toBe(String(calendar.workingDaysBetween('2026-11-30', today).days));
    // The filter form keeps what was chosen.
    expect(parse(overdue.text).querySelector('#f-q-overdue')!.getAttribute('checked')).not.toBeUndefined();

    const byRule = await agent.get('/supervision/deadlines?rule=batch_check');
    const checks = Number((await db('core_deadline').where({ state: 'open', rule: 'batch_check' }).count({ n: '*' }).first())!.n);
    expect(total(byRule.text)).toBe(checks);
    expect(parse(byRule.text).querySelector('#f-q-rule option[selected]')!.getAttribute('value')).toBe('batch_check');

    const byUnit = await agent.get('/supervision/deadlines?unit=3');
    const county = Number((await db('core_deadline').where({ state: 'open', region_id: 3 }).count({ n: '*' }).first())!.n);
    expect(total(byUnit.text)).toBe(county);
    expect(rowsOf(byUnit.text).every((tr) => tr.querySelectorAll('td')[2]!.text === '青禾县')).toBe(true);

    // A value the page does not offer: 422 with the reason, as on the other list pages.
    for (const [url, reason] of [
      ['/supervision/deadlines?rule=no_such_rule', '类别无效'],
      ['/supervision/deadlines?unit=abc', '责任单位'],
      ['/supervision/deadlines?sort=title', '排序无效'],
      ['/supervision/deadlines?page=0', '页码无效'],
    ] as const) {
      const res = await agent.get(url);
      expect(res.status, url).toBe(422);
      expect(res.text, url).toContain(reason);
    }
  });

  it('the timeliness rate per unit and month: closed on time / closed, by the month of closing, cancelled clocks left out', async () => {
    const months = monthsEndingWith(today.slice(0, 7));
    const [previous, current] = [months.at(-2)!, months.at(-1)!];
    const at = (month: string, day: string) => new Date(`${month}-${day}T12:00:00+08:00`).toISOString();
    // 石桥镇's station (no such clocks in the demo): this month two on time (one on the due date itself), one late, one
    // cancelled; last month one late; thirteen months ago one on time (outside the table).
    const unit = { regionId: 8, roles: 'township_station', rule: 'batch_submit' };
    await clock({ ...unit, startedOn: `${current}-01`, dueOn: `${current}-03`, state: 'done', closedAt: at(current, '02') });
    await clock({ ...unit, startedOn: `${current}-01`, dueOn: `${current}-03`, state: 'done', closedAt: at(current, '03') });
    await clock({ ...unit, startedOn: `${current}-01`, dueOn: `${current}-02`, state: 'done', closedAt: at(current, '03') });
    await clock({ ...unit, startedOn: `${current}-01`, dueOn: `${current}-02`, state: 'cancelled', closedAt: at(current, '04') });
    await clock({ ...unit, startedOn: `${previous}-01`, dueOn: `${previous}-02`, state: 'done', closedAt: at(previous, '10') });
    await clock({ ...unit, startedOn: '2020-01-01', dueOn: '2020-01-05', state: 'done', closedAt: at(monthsEndingWith(previous, 13)[0]!, '02') });

    const html = parse((await (await as('supervisor')).get('/supervision/deadlines')).text);
    const table = html.querySelector('section[aria-labelledby="s-timeliness"] table')!;
    const header = table.querySelectorAll('thead th').map((th) => th.text);
    expect(header.slice(1, -1)).toEqual(months);
    const row = table.querySelectorAll('tbody tr').find((tr) => tr.querySelector('th')!.text === '石桥镇（乡镇经办站所）')!;
    const cells = row.querySelectorAll('td').map((td) => td.text.replace(/\s+/g, ''));
    expect(cells[months.indexOf(current)]).toBe('66.7%2/3');
    expect(cells[months.indexOf(previous)]).toBe('0.0%0/1');
    expect(cells.at(-1)).toBe('50.0%2/4');
    // Narrowed by the unit filter, the table holds that unit only.
    const filtered = parse((await (await as('supervisor')).get('/supervision/deadlines?unit=8')).text);
    expect(filtered.querySelectorAll('section[aria-labelledby="s-timeliness"] tbody tr th').map((th) => th.text)).toEqual(['石桥镇（乡镇经办站所）']);
  });

  it('a township supervisor sees its township only: its clocks, its failed payments, no county complaints', async () => {
    const db = t.core.db;
    const { password_hash } = await db('core_user').where({ username: 'supervisor' }).first('password_hash');
    const now = nowIso();
    const id = await insertReturningId(db, 'core_user', { username: 'supervisor_sq', display_name: '石桥镇监督员', password_hash, region_id: 8, must_change_password: false, password_changed_at: now, created_at: now, updated_at: now });
    await db('core_user_role').insert({ user_id: id, role: 'supervisor' });
    await clock({ rule: 'batch_check', regionId: 8, roles: 'township_finance', title: '石桥镇清册复核', startedOn: '2026-11-01', dueOn: '2026-11-04' });
    const agent = await as('supervisor_sq');

    const monitor = await agent.get('/supervision/deadlines');
    const open = Number((await db('core_deadline').where({ state: 'open', region_id: 8 }).count({ n: '*' }).first())!.n);
    expect(open).toBe(1);
    expect(Number(/共 (\d+) 条/.exec(monitor.text)?.[1])).toBe(open);
    expect(monitor.text).toContain('石桥镇清册复核');
    // A unit outside the scope selects nothing.
    expect(Number(/共 (\d+) 条/.exec((await agent.get('/supervision/deadlines?unit=4')).text)?.[1])).toBe(0);

    const html = parse((await agent.get('/supervision')).text);
    expect(html.querySelector('a[href="/supervision/deadlines?overdue=1"]')!.text).toBe('1');
    const failures = Number((await db('bank_failure').where({ township_id: 8 }).whereNotIn('state', ['paid', 'reissued', 'returned']).count({ n: '*' }).first())!.n);
    expect(html.querySelector('#failures a[href="/bank/failures"]')!.text).toBe(String(failures));
    expect(html.querySelectorAll('#complaints a').map((a) => a.text)).toEqual(['0', '0']);
  });

  it('the monitor downloads as a workbook (attachment) of what the filter selects, text cells neutralised, the export audited', async () => {
    await clock({ rule: 'batch_review', regionId: 4, roles: 'department', title: '=HYPERLINK("http://example.com","点此")', startedOn: '2026-11-01', dueOn: '2026-11-03' });
    const agent = await as('supervisor');
    const page = parse((await agent.get('/supervision/deadlines?overdue=1')).text);
    const href = page.querySelector('a[download]')!.getAttribute('href')!;
    expect(href).toBe('/supervision/deadlines/export.xlsx?overdue=1');
    const res = await agent.get(href).buffer(true).parse(binaryParser);
    expect(res.status).toBe(200);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename\*=UTF-8''/);
    expect(decodeURIComponent(res.headers['content-disposition']!)).toContain('限时办理监控');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(res.body as never);
    const sheet = workbook.worksheets[0]!;
    const overdue = Number((await t.core.db('core_deadline').where({ state: 'open' }).where('due_on', '<', today).count({ n: '*' }).first())!.n);
    expect(String(sheet.getRow(1).getCell(1).value)).toMatch(new RegExp(`^限时办理监控（筛选：只看逾期：是；按到期日升序），共 ${overdue} 条`));
    expect(sheet.rowCount).toBe(overdue + 2);
    const header = (sheet.getRow(2).values as unknown[]).slice(1).map(String);
    expect(header).toContain('逾期工作日');
    const titles = Array.from({ length: overdue }, (_, i) => String(sheet.getRow(i + 3).getCell(1).value));
    expect(titles).toContain('\'=HYPERLINK("http://example.com","点此")');
    const audit = (await auditRows(t.core, 'supervision.deadlines.export')).at(-1);
    expect(audit).toMatchObject({ username: 'supervisor' });
    expect(JSON.parse(audit.summary)).toMatchObject({ rows: overdue, filter: '只看逾期：是' });
  });
});
