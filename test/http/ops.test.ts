import { afterEach, describe, expect, it } from 'vitest';
import { composeTasks } from '../../src/app.ts';
import { inTransaction } from '../../src/core/db.ts';
import { openDeadline } from '../../src/core/deadlines.ts';
import { Scheduler } from '../../src/core/scheduler.ts';
import { BANK_DEADLINES } from '../../src/modules/bank/deadlines.ts';
import { TEST_DB, type TestDb, agentFor, auditRows, createSeededDb, csrfFrom, login, submit, asAdmin } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe(`operations pages (${TEST_DB})`, () => {
  it('lists the scheduled tasks with their last results in Chinese, and runs one on request', async () => {
    t = await createSeededDb();
    const scheduler = new Scheduler(t.core, composeTasks(t.core));
    await scheduler.register();
    await t.core.db('core_task').where({ name: 'session-cleanup' }).update({ next_run_at: new Date(Date.now() - 1000).toISOString() });
    expect(await scheduler.tick()).toEqual(['session-cleanup']);
    const admin = await asAdmin(t);
    const page = await admin.get('/admin/tasks');
    expect(page.status).toBe(200);
    for (const label of ['限时办理到期检查与逾期上报', '清理过期会话和待下载文件', '审计日志哈希链校验', '分发模块事件（发件箱）']) expect(page.text).toContain(label);
    expect(page.text.includes('SQLite 数据库备份')).toBe(TEST_DB === 'sqlite');
    expect(page.text).toContain('已清理 0 个过期会话');
    const run = await admin.post('/admin/tasks/audit-verify/run').type('form').send({ _csrf: csrfFrom(page.text) });
    expect(run.status).toBe(303);
    expect(await scheduler.tick()).toEqual(['audit-verify']);
    expect((await t.core.db('core_task').where({ name: 'audit-verify' }).first()).last_result).toMatch(/^完整：已校验 \d+ 条记录$/);
    expect(await auditRows(t.core, 'task.run_now')).toHaveLength(1);
    expect((await admin.post('/admin/tasks/no-such-task/run').type('form').send({ _csrf: csrfFrom(page.text) })).status).toBe(404);
  });

  it('lets the administrator set a deadline length for the county, refusing bad values with the field named', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const page = await admin.get('/admin/settings');
    expect(page.text).toContain('发放失败核实修正');
    expect(page.text).toContain('10个工作日内');
    const bad = await submit(admin, '/admin/settings', '/admin/settings', { failure_correction: '0', bank_refund: 'abc', repayment: '' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('“发放失败核实修正”的时限应为 1 到 60 之间的整数');
    expect(bad.text).toContain('“二次发放失败资金退回”的时限应为 1 到 60 之间的整数');
    const deadlines = () => t!.core.db('core_setting').where('key', 'like', 'deadline.%').select('key', 'value');
    expect(await deadlines()).toEqual([]);
    const ok = await submit(admin, '/admin/settings', '/admin/settings', { failure_correction: '8', bank_refund: '', repayment: '' });
    expect(ok.status).toBe(303);
    expect(await deadlines()).toEqual([{ key: 'deadline.failure_correction.days', value: '8' }]);
  });

  it('shows a department its open deadlines and the supervisor the overdue ones, from the home page', async () => {
    t = await createSeededDb({ demo: true });
    const county = (await t.core.db('core_region').where({ name: '青禾县' }).first()).id;
    await inTransaction(t.core.db, (trx) =>
      openDeadline(trx, { userId: null, username: 'test', ip: null }, { rule: BANK_DEADLINES.failure_correction, objectType: 'payment', objectId: 9, regionId: county, title: '柳河乡清册第 9 行发放失败', startedOn: '2026-01-05' }),
    );
    const dept = agentFor(t.core);
    await login(dept, 'dept_civil');
    const home = await dept.get('/');
    expect(home.text).toContain('限时办理事项');
    const list = await dept.get('/deadlines');
    expect(list.text).toContain('柳河乡清册第 9 行发放失败');
    expect(list.text).toContain('已逾期');
    const supervisor = agentFor(t.core);
    await login(supervisor, 'supervisor');
    expect((await supervisor.get('/')).text).toContain('逾期未办（限时办理）');
    expect((await supervisor.get('/deadlines?overdue=1')).text).toContain('柳河乡清册第 9 行发放失败');
    expect((await supervisor.get('/deadlines?overdue=x')).status).toBe(422);
  });
});
