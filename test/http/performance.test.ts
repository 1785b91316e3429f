// Performance goals and 双监控 (issue 20 item 4, Chongqing 十二 深化绩效管理): the county finance section records each
// policy's yearly goals and the expected execution curve (audited, before and after); the finance section and the
// supervisors see the goals beside the achieved values and the monthly execution with its warnings; other roles are
// refused; the forms refuse with 422 under the form contract; the public column shows the same figures, aggregated,
// with no personal data and no confidential policy.
import { parse } from 'node-html-parser';
import { businessYear } from '../../src/core/dates.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DB, type TestDb, agentFor, auditRows, createSeededDb, loggedInAgents, personalNumbers, submit } from '../factories.ts';

describe(`performance goals and budget execution (${TEST_DB})`, () => {
  let t: TestDb;
  const { as, clear } = loggedInAgents(() => t);
  let itemId: number;
  let countyId: number;

  beforeAll(async () => {
    clear();
    t = await createSeededDb({ demo: true }, { people: true });
    // The policy whose rounds of 2026 reached the bank in the demo.
    const round = await t.core.db('batch_round').where({ state: 'transferred' }).orderBy('id').first('policy_item_id', 'county_id');
    itemId = Number(round.policy_item_id);
    countyId = Number(round.county_id);
  });

  afterAll(async () => t?.cleanup());

  const goalsPath = () => `/policies/${itemId}/goals?year=2026`;
  const section = (html: string, id: number) => parse(html).querySelector(`section[aria-labelledby="p-${id}"]`)!;
  const goalRow = (html: string, id: number, label: string) =>
    section(html, id)
      .querySelectorAll('table.performance-goals tbody tr')
      .map((tr) => tr.querySelectorAll('th, td').map((c) => c.text.trim()))
      .find((cells) => cells[0] === label)!;

  it('offers the page in the navigation of the finance section and the supervisors only; others are refused', async () => {
    for (const user of ['finance', 'supervisor']) {
      const agent = await as(user);
      const home = await agent.get('/');
      expect(parse(home.text).querySelectorAll('nav a').map((a) => a.getAttribute('href')), user).toContain('/supervision/performance');
      const page = await agent.get('/supervision/performance?year=2026');
      expect(page.status, user).toBe(200);
      expect(page.text).toContain('绩效目标和预算执行监控');
    }
    // The year and county chosen are checked (422 under the form contract: the summary links to the field).
    const supervisor = await as('supervisor');
    const bad = await supervisor.get('/supervision/performance?year=20x6');
    expect(bad.status).toBe(422);
    expect(parse(bad.text).querySelector('#e-p-year')!.text).toContain('年度应为四位数字');
    const elsewhere = await supervisor.get('/supervision/performance?year=2026&county=999999');
    expect(elsewhere.status).toBe(422);
    expect(parse(elsewhere.text).querySelector('#e-p-county')!.text).toContain('不在您的管辖范围内');
    for (const user of ['station1', 'finance1', 'dept_agri', 'treasury', 'bank', 'auditor']) {
      const agent = await as(user);
      expect((await agent.get('/supervision/performance')).status, user).toBe(403);
      const home = await agent.get('/');
      expect(parse(home.text).querySelectorAll('nav a').map((a) => a.getAttribute('href')), user).not.toContain('/supervision/performance');
    }
  });

  it('lets only the county finance section record goals and the curve', async () => {
    for (const user of ['supervisor', 'dept_agri', 'treasury']) {
      const agent = await as(user);
      expect((await agent.get(goalsPath())).status, user).toBe(403);
      expect((await agent.get('/policies/execution-curve?year=2026')).status, user).toBe(403);
    }
    // A refused POST changes nothing (its CSRF token from a page the user may see).
    const supervisor = await as('supervisor');
    const refused = await submit(supervisor, '/supervision/performance', `/policies/${itemId}/goals`, { year: '2026', coverage: '1' });
    expect(refused.status).toBe(403);
    expect(await t.core.db('policy_performance_goal').count({ n: '*' }).first()).toMatchObject({ n: expect.anything() });
    expect(Number((await t.core.db('policy_performance_goal').count({ n: '*' }).first())!.n)).toBe(0);
    // The supervisors' page shows no link to the forms; the finance section's does.
    expect((await supervisor.get('/supervision/performance?year=2026')).text).not.toContain(`/policies/${itemId}/goals`);
    const finance = await as('finance');
    expect((await finance.get('/supervision/performance?year=2026')).text).toContain(`/policies/${itemId}/goals?year=2026`);
    // The policy's page leads the finance section to its goals (同步下达 with the allocation); the department's does not.
    expect((await finance.get(`/policies/${itemId}`)).text).toContain(`/policies/${itemId}/goals?year=`);
    expect((await (await as('dept_agri')).get(`/policies/${itemId}`)).text).not.toContain(`/goals?year=`);
    expect((await finance.get('/policies/999999/goals?year=2026')).status).toBe(404);
  });

  it('refuses wrong targets with 422, each field saying why, the typed values kept', async () => {
    const finance = await as('finance');
    const res = await submit(finance, goalsPath(), `/policies/${itemId}/goals`, { year: '2026', coverage: '十个', timeliness: '101', first_attempt: '98.505', funds_to_person: '99' });
    expect(res.status).toBe(422);
    const doc = parse(res.text);
    expect(doc.querySelector('title')!.text).toMatch(/^错误：/);
    expect(doc.querySelector('#e-coverage')!.text).toContain('覆盖人数目标应为不小于 0 的整数');
    expect(doc.querySelector('#e-timeliness')!.text).toContain('0 到 100');
    expect(doc.querySelector('#e-first_attempt')!.text).toContain('最多两位小数');
    expect(doc.querySelector('#e-funds_to_person')).toBeNull();
    expect(doc.querySelector('#f-coverage')!.getAttribute('value')).toBe('十个');
    expect(doc.querySelector('#f-timeliness')!.getAttribute('value')).toBe('101');
    expect(doc.querySelector('#f-funds_to_person')!.getAttribute('value')).toBe('99');
    expect(Number((await t.core.db('policy_performance_goal').count({ n: '*' }).first())!.n)).toBe(0);
  });

  it('records the goals in basis points and persons, audits before and after, and shows them beside the achieved values', async () => {
    const finance = await as('finance');
    const first = await submit(finance, goalsPath(), `/policies/${itemId}/goals`, { year: '2026', coverage: '1', timeliness: '', first_attempt: '99.5', funds_to_person: '0', failure_resolved: '', execution: '' });
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe(`/supervision/performance?year=2026#p-${itemId}`);
    const rows = await t.core.db('policy_performance_goal').where({ item_id: itemId, year: 2026 }).orderBy('indicator').select('county_id', 'indicator', 'comparison', 'target');
    expect(rows.map((r) => [Number(r.county_id), r.indicator, r.comparison, Number(r.target)])).toEqual([
      [countyId, 'coverage', 'gte', 1],
      [countyId, 'first_attempt', 'gte', 9950],
      [countyId, 'funds_to_person', 'gte', 0],
    ]);
    // Edited: the audit row says what it was and what it became.
    await submit(finance, goalsPath(), `/policies/${itemId}/goals`, { year: '2026', coverage: '2', first_attempt: '99.5', funds_to_person: '0' });
    const audits = await auditRows(t.core, 'policy.goals.set');
    expect(audits).toHaveLength(2);
    const summary = JSON.parse(audits[1]!.summary);
    expect(summary.before).toBe('覆盖人数≥1 人；一次发放成功率≥99.50%；资金到人率≥0.00%');
    expect(summary.after).toBe('覆盖人数≥2 人；一次发放成功率≥99.50%；资金到人率≥0.00%');
    expect(audits[1]!.object_type).toBe('policy');
    // The same values again change nothing and write no audit row.
    const same = await submit(finance, goalsPath(), `/policies/${itemId}/goals`, { year: '2026', coverage: '2', first_attempt: '99.5', funds_to_person: '0' });
    expect(same.status).toBe(303);
    expect(await auditRows(t.core, 'policy.goals.set')).toHaveLength(2);
    // The form shows what is recorded.
    const form = parse((await finance.get(goalsPath())).text);
    expect(form.querySelector('#f-first_attempt')!.getAttribute('value')).toBe('99.5');
    expect(form.querySelector('#f-coverage')!.getAttribute('value')).toBe('2');

    // The page: targets and achieved values; the achieved values are the platform's (see test/db/performance.test.ts).
    const page = (await (await as('supervisor')).get('/supervision/performance?year=2026')).text;
    const coverage = goalRow(page, itemId, '覆盖人数');
    expect(coverage[1]).toBe('≥ 2 人');
    expect(Number(coverage[2]!.replace(' 人', ''))).toBeGreaterThan(2);
    expect(coverage[4]).toBe('达成');
    const firstAttempt = goalRow(page, itemId, '一次发放成功率');
    expect(firstAttempt[1]).toBe('≥ 99.50%');
    expect(firstAttempt[4]).toBe('未达成'); // the demo has failed payments
    expect(goalRow(page, itemId, '发放及时率')[1]).toBe('未设定');
    // Another year's goals are untouched (each year its own version).
    expect(Number((await t.core.db('policy_performance_goal').where({ year: 2025 }).count({ n: '*' }).first())!.n)).toBe(0);
  });

  it('refuses a curve that goes down with 422; a county curve replaces the even one and moves the warnings', async () => {
    const finance = await as('finance');
    const page = parse((await finance.get('/policies/execution-curve?year=2026')).text);
    // The default: the even curve, 8.33% a month, tolerance 5 points.
    expect(page.querySelector('#f-m1')!.getAttribute('value')).toBe('8.33');
    expect(page.querySelector('#f-m12')!.getAttribute('value')).toBe('100');
    expect(page.querySelector('#f-tolerance')!.getAttribute('value')).toBe('5');
    const zero = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`m${i + 1}`, '0']));
    const bad = await submit(finance, '/policies/execution-curve?year=2026', '/policies/execution-curve', { year: '2026', ...zero, m3: '30', m4: '20', tolerance: '60' });
    expect(bad.status).toBe(422);
    const doc = parse(bad.text);
    expect(doc.querySelector('#e-m4')!.text).toContain('4月末进度不能低于3月末进度');
    expect(doc.querySelector('#e-tolerance')!.text).toContain('不能超过 50 个百分点');
    expect(doc.querySelector('#f-m3')!.getAttribute('value')).toBe('30');

    // Before: the demo county pays little of its allocations, so the even curve warns.
    const before = (await finance.get('/supervision/performance?year=2026')).text;
    expect(before).toContain('个补贴项目的预算执行进度落后于要求进度');
    // A curve of zeros (nothing expected) lifts every warning.
    const saved = await submit(finance, '/policies/execution-curve?year=2026', '/policies/execution-curve', { year: '2026', ...zero, tolerance: '0' });
    expect(saved.status).toBe(303);
    const row = await t.core.db('policy_execution_curve').where({ county_id: countyId, year: 2026 }).first('points', 'tolerance_bp');
    expect([row.points, Number(row.tolerance_bp)]).toEqual(['0,0,0,0,0,0,0,0,0,0,0,0', 0]);
    const audit = (await auditRows(t.core, 'policy.curve.set')).at(-1)!;
    expect(JSON.parse(audit.summary).before).toMatch(/^默认（1月8.33%/);
    expect(JSON.parse(audit.summary).after).toMatch(/^1月0.00%.*容差 0 个百分点$/);
    const after = (await finance.get('/supervision/performance?year=2026')).text;
    expect(after).not.toContain('个补贴项目的预算执行进度落后于要求进度');
    expect(parse(after).querySelectorAll('tr.warning-row')).toHaveLength(0);
    expect(parse(after).querySelectorAll('strong.warn').map((w) => w.text)).not.toContain('预警');
    // A curve requiring everything by January warns on every policy with an allocation.
    const all = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`m${i + 1}`, '100']));
    await submit(finance, '/policies/execution-curve?year=2026', '/policies/execution-curve', { year: '2026', ...all, tolerance: '0' });
    const allocated = Number((await t.core.db('policy_allocation').where({ county_id: countyId, year: 2026 }).countDistinct({ n: 'item_id' }).first())!.n);
    expect((await finance.get('/supervision/performance?year=2026')).text).toContain(`${allocated} 个补贴项目的预算执行进度落后于要求进度`);
    // The supervisors' overview (监督工作台) counts them, with the link to the page (the demo's year is the business year).
    const overview = parse((await (await as('supervisor')).get('/supervision')).text).querySelector('#performance')!;
    if (businessYear() === 2026) expect(overview.text).toContain(`预算执行预警 ${allocated} 个补贴项目`);
    expect(overview.querySelector('a')!.getAttribute('href')).toMatch(new RegExp(`^/supervision/performance\\?year=\\d{4}&county=${countyId}$`));
  });

  it('shows the public the goals, achieved values and execution per policy, aggregated, without personal data or confidential policies', async () => {
    const visitor = agentFor(t.core);
    const home = await visitor.get(`/public?county=${countyId}`);
    expect(parse(home.text).querySelectorAll('a').map((a) => a.getAttribute('href'))).toContain(`/public/performance?county=${countyId}`);
    const res = await visitor.get(`/public/performance?county=${countyId}&year=2026`);
    expect(res.status).toBe(200);
    expect(goalRow(res.text, itemId, '覆盖人数')[1]).toBe('≥ 2 人');
    expect(goalRow(res.text, itemId, '覆盖人数')[4]).toBe('达成');
    expect(personalNumbers(res.text)).toEqual([]);
    // No payee's name appears: the figures are counts and sums.
    const names = (await t.core.db('batch_line').distinct('person_name').limit(200)).map((r) => r.person_name as string);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(res.text, name).not.toContain(name);
    // A confidential policy is on the staff page, not on the public one.
    const confidential = await t.core.db('policy_version as v').join('policy_item as i', 'i.id', 'v.item_id').where('v.confidential', true).first('i.id', 'i.code');
    if (confidential) {
      expect(section(res.text, Number(confidential.id))).toBeNull();
      expect(section((await (await as('supervisor')).get('/supervision/performance?year=2026')).text, Number(confidential.id))).not.toBeNull();
    }
    // The ledger links to it; the open data has the same figures.
    expect((await visitor.get(`/public/ledgers?county=${countyId}&year=2026`)).text).toContain(`/public/performance?county=${countyId}&amp;year=2026`);
    const csv = await visitor.get(`/public/data/performance.csv?county=${countyId}&year=2026`);
    expect(csv.status).toBe(200);
    const line = csv.text.split('\r\n').find((l) => l.includes(',coverage,'))!;
    expect(line).toBeDefined();
    const json = await visitor.get(`/public/data/performance.json?county=${countyId}&year=2026`);
    const coverage = (json.body.rows as Record<string, unknown>[]).find((r) => r.indicator === 'coverage' && r.target === 2)!;
    expect(coverage).toMatchObject({ comparison: 'gte', met: 1 });
    const execution = await visitor.get(`/public/data/execution.json?county=${countyId}&year=2026`);
    const months = (execution.body.rows as Record<string, number | string>[]).filter((r) => r.policy_code === '');
    expect(months.map((m) => m.month)).toEqual(Array.from({ length: months.length }, (_, i) => i + 1));
    expect(personalNumbers(csv.text + json.text + execution.text)).toEqual([]);
  });
});
