import { afterEach, describe, expect, it } from 'vitest';
import { composeDeadlineRules } from '../../src/app.ts';
import { inTransaction } from '../../src/core/db.ts';
import { DeadlineRules, closeDeadline, deadlineQueues, listDeadlines, openDeadline, ruleLength, sweepDeadlines } from '../../src/core/deadlines.ts';
import { saveSettings } from '../../src/core/settings.ts';
import { BANK_DEADLINES } from '../../src/modules/bank/deadlines.ts';
import { TEST_DB, type TestDb, createSeededDb, createTestDb, actorFor, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe(`deadlines (${TEST_DB})`, () => {
  it('takes its rules from the modules that declare them, each code once', async () => {
    t = await createTestDb({ migrate: false });
    const codes = composeDeadlineRules(t.core).all().map((r) => r.code);
    expect(codes).toEqual(expect.arrayContaining(['batch_check', 'batch_transfer', 'failure_correction', 'bank_refund', 'repayment']));
    expect(() => new DeadlineRules([BANK_DEADLINES.repayment, { ...BANK_DEADLINES.repayment, days: 5 }])).toThrow('deadline rule repayment declared twice');
  });

  it('counts a correction deadline in official working days, across the National Day holiday', async () => {
    t = await createSeededDb();
    const dept = await actorFor(t, 'dept_agri');
    const opened = await inTransaction(t.core.db, (trx) =>
      openDeadline(trx, dept, { rule: BANK_DEADLINES.failure_correction, objectType: 'payment', objectId: 12, regionId: dept.regionId, title: '城关镇清册第 12 行发放失败', startedOn: '2025-09-30' }),
    );
    // 10-01..08 are holidays, Saturday 10-11 is a make-up workday: the 10th working day is Tuesday 10-21.
    expect(opened).toMatchObject({ dueOn: '2025-10-21', warning: null });
    const again = await inTransaction(t.core.db, (trx) =>
      openDeadline(trx, dept, { rule: BANK_DEADLINES.failure_correction, objectType: 'payment', objectId: 12, regionId: dept.regionId, title: 'x', startedOn: '2025-10-05' }),
    );
    expect(again.id).toBe(opened.id); // one open clock per rule and object
    expect(await inTransaction(t.core.db, (trx) => closeDeadline(trx, dept, { rule: 'failure_correction', objectType: 'payment', objectId: 12, outcome: 'done' }))).toBe(true);
    expect(await inTransaction(t.core.db, (trx) => closeDeadline(trx, dept, { rule: 'failure_correction', objectType: 'payment', objectId: 12, outcome: 'done' }))).toBe(false);
    const actions = (await t.core.db('core_audit').where('action', 'like', 'deadline.%').orderBy('id')).map((r) => r.action);
    expect(actions).toEqual(['deadline.open', 'deadline.done']);
  });

  it('warns on a due date in a year with no official calendar instead of guessing silently', async () => {
    t = await createSeededDb();
    const bank = await actorFor(t, 'bank');
    const opened = await inTransaction(t.core.db, (trx) =>
      openDeadline(trx, bank, { rule: BANK_DEADLINES.bank_refund, objectType: 'payment', objectId: 7, regionId: bank.regionId, title: '二次失败退回', startedOn: '2026-12-28' }),
    );
    expect(opened.dueOn).toBe('2027-01-04');
    expect(opened.warning).toContain('2027年尚无官方节假日安排');
  });

  it("uses the county's own length where the administrator set one", async () => {
    t = await createSeededDb();
    const admin = await actorFor(t, 'admin');
    const township = await regionId(t, '城关镇');
    expect(await ruleLength(t.core.db, township, BANK_DEADLINES.failure_correction)).toBe(10);
    await saveSettings(t.core.db, admin, { 'deadline.failure_correction.days': '7' });
    expect(await ruleLength(t.core.db, township, BANK_DEADLINES.failure_correction)).toBe(7);
    expect(await ruleLength(t.core.db, township, BANK_DEADLINES.bank_refund)).toBe(5);
    const row = await t.core.db('core_audit').where({ action: 'settings.update' }).first();
    expect(JSON.parse(row.summary)).toEqual({ 'deadline.failure_correction.days': { before: null, after: '7' } });
    await expect(saveSettings(t.core.db, await actorFor(t, 'finance'), { 'deadline.failure_correction.days': '1' })).rejects.toThrow('只有系统管理员可以修改设置');
  });

  it('marks overdue clocks once and shows them to the responsible roles in scope and to the supervisor', async () => {
    t = await createSeededDb();
    const dept = await actorFor(t, 'dept_agri');
    const shiqiao = await regionId(t, '石桥镇');
    await inTransaction(t.core.db, async (trx) => {
      await openDeadline(trx, dept, { rule: BANK_DEADLINES.failure_correction, objectType: 'payment', objectId: 1, regionId: shiqiao, title: '石桥镇第 1 行', startedOn: '2026-01-05' });
      await openDeadline(trx, dept, { rule: BANK_DEADLINES.failure_correction, objectType: 'payment', objectId: 2, regionId: shiqiao, title: '石桥镇第 2 行' });
    });
    expect(await sweepDeadlines(t.core.db)).toEqual({ newlyOverdue: 1, overdue: 1 });
    expect(await sweepDeadlines(t.core.db)).toEqual({ newlyOverdue: 0, overdue: 1 });
    expect(await t.core.db('core_audit').where({ action: 'deadline.overdue' }).count({ n: '*' })).toEqual([{ n: 1 }]);

    const rules = composeDeadlineRules(t.core);
    expect(await deadlineQueues(t.core.db, dept, rules)).toEqual([{ title: '限时办理事项', count: 2, overdue: 1, href: '/deadlines' }]);
    expect(await deadlineQueues(t.core.db, await actorFor(t, 'supervisor'), rules)).toEqual([{ title: '逾期未办（限时办理）', count: 1, overdue: 1, href: '/deadlines?overdue=1' }]);
    // The station of another township is responsible for the rule but sees nothing outside its township.
    expect(await deadlineQueues(t.core.db, await actorFor(t, 'station1'), rules)).toEqual([]);
    expect(await deadlineQueues(t.core.db, await actorFor(t, 'treasury'), rules)).toEqual([]);
    const list = await listDeadlines(t.core.db, dept, rules, { overdueOnly: true, page: 1 });
    expect(list.rows.map((r) => [r.title, r.dueOn, r.overdue, r.region])).toEqual([['石桥镇第 1 行', '2026-01-19', true, '石桥镇']]);
  });
});
