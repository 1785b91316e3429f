import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCalendar } from '../../src/core/calendar.ts';
import { TEST_DB, type TestDb, agentFor, auditRows, createSeededDb, csrfFrom, login, submit, asAdmin } from '../factories.ts';

const SAMPLE_2027 = fs.readFileSync(new URL('../../docs/samples/calendar-2027.txt', import.meta.url), 'utf8');

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe(`the working-day calendar page (${TEST_DB})`, () => {
  it('shows the administrator the years the library knows and a chosen year grouped as the notice writes it', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const page = await admin.get('/admin/calendar');
    expect(page.status).toBe(200);
    expect(page.text).toContain('href="/admin/calendar" aria-current="page">工作日历');
    expect(page.text).toContain('2004–2026 年');
    expect(page.text).toContain('尚未载入任何年份，均使用内置数据');
    const year = await admin.get('/admin/calendar?year=2026');
    expect(year.text).toContain('2026 年的节假日安排');
    expect(year.text).toContain('<td>2026-02-15（星期日） 至 2026-02-23（星期一）</td><td class="num">9</td><td>放假</td><td>春节</td>');
    expect(year.text).toContain('<td>2026-02-28（星期六）</td><td class="num">1</td><td><strong>调休上班</strong></td><td>春节</td>');
    expect(year.text).not.toContain('没有官方节假日安排');
  });

  it('warns that 2027 is unknown, then loads the sample file from docs/samples so that 2027 is known', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const before = await admin.get('/admin/calendar?year=2027');
    expect(before.text).toContain('2027 年没有官方节假日安排');
    const res = await submit(admin, '/admin/calendar', '/admin/calendar', { text: SAMPLE_2027 });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/admin/calendar?year=2027');
    const after = await admin.get(res.headers.location!);
    expect(after.text).toContain('已载入 2027 年工作日历：放假 29 天，调休上班 5 天');
    expect(after.text).not.toContain('2027 年没有官方节假日安排');
    expect(after.text).toContain('数据来源：系统管理员载入（样例（非正式）：仿照国务院办公厅关于2027年部分节假日安排的通知）');
    expect(after.text).toContain('<td>2027-02-14（星期日）</td>');
    expect(after.text).toMatch(/<td><a href="\/admin\/calendar\?year=2027">2027<\/a><\/td><td>样例（非正式）[^<]*<\/td><td class="num">29<\/td><td class="num">5<\/td><td>[^<]*（admin）<\/td>/);
    expect((await loadCalendar(t.core.db)).knows(2027)).toBe(true);
    expect(await auditRows(t.core, 'calendar.load')).toHaveLength(1);
  });

  it('answers a bad file with 422, the summary naming each bad line in Chinese, and keeps the pasted text', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const text = '年份: 2027\n来源: 测试\n放假 2027-13-01 元旦\n\n调休上班 2027-02-15 春节\n';
    const res = await submit(admin, '/admin/calendar', '/admin/calendar', { text });
    expect(res.status).toBe(422);
    expect(res.text).toContain('请修改以下问题后重新提交');
    expect(res.text).toContain('<a href="#f-calendar-line-3">第 3 行：2027-13-01 不是真实存在的日期</a>');
    expect(res.text).toContain('<a href="#f-calendar-line-5">第 5 行：2027-02-15 是星期一，调休上班日只能是星期六或星期日</a>');
    expect(res.text).toContain('<li id="f-calendar-line-3"><code>放假 2027-13-01 元旦</code> 第 3 行');
    expect(res.text).toContain(`>\n${text}</textarea>`);
    expect(await t.core.db('core_calendar_day')).toEqual([]);
    const empty = await submit(admin, '/admin/calendar', '/admin/calendar', { text: '' });
    expect(empty.status).toBe(422);
    expect(empty.text).toContain('文件是空的');
  });

  it('answers a malformed year with 422 and a Chinese message', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const res = await admin.get('/admin/calendar?year=20x6');
    expect(res.status).toBe(422);
    expect(res.text).toContain('<a href="#f-year">年份应为四位数字，例如 2027</a>');
  });

  it('refuses a non-admin with 403, for the page and for loading, and audits the attempt', async () => {
    t = await createSeededDb();
    const station = agentFor(t.core);
    expect((await login(station, 'station1')).status).toBe(303);
    expect((await station.get('/admin/calendar')).status).toBe(403);
    const home = await station.get('/');
    const post = await station.post('/admin/calendar').type('form').send({ text: SAMPLE_2027, _csrf: csrfFrom(home.text) });
    expect(post.status).toBe(403);
    expect(post.text).toContain('此页面仅系统管理员可以使用');
    expect(await t.core.db('core_calendar_year')).toEqual([]);
    expect((await auditRows(t.core, 'access.denied')).map((r) => JSON.parse(r.summary).path)).toEqual(['/admin/calendar', '/admin/calendar']);
  });
});
