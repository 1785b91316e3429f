import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCalendar, loadCalendarYear, parseCalendarFile } from '../../src/core/calendar.ts';
import { ForbiddenError, ValidationError } from '../../src/core/errors.ts';
import { TEST_DB, type TestDb, auditRows, createSeededDb, actorFor } from '../factories.ts';

const SAMPLE_2027 = fs.readFileSync(new URL('../../docs/samples/calendar-2027.txt', import.meta.url), 'utf8');

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});


function fieldErrors(text: string): Record<string, string> {
  try {
    parseCalendarFile(text);
  } catch (err) {
    if (err instanceof ValidationError) return err.fieldErrors;
    throw err;
  }
  throw new Error('the file was accepted');
}

async function snapshot(db: TestDb) {
  return {
    years: await db.core.db('core_calendar_year').orderBy('year'),
    days: await db.core.db('core_calendar_day').orderBy('date'),
  };
}

describe(`the administrator's calendar files (${TEST_DB})`, () => {
  it('parses the sample 2027 file: year, source, every day of each range', () => {
    const file = parseCalendarFile(SAMPLE_2027);
    expect(file.year).toBe(2027);
    expect(file.source).toContain('样例');
    expect(file.days.filter((d) => d.name === '春节' && d.kind === 'holiday')).toHaveLength(9);
    expect(file.days.filter((d) => d.kind === 'workday').map((d) => d.date)).toEqual(['2027-02-14', '2027-02-20', '2027-05-08', '2027-09-26', '2027-10-09']);
  });

  it('names each bad line in Chinese: unknown keyword, bad or impossible date, outside the year, reversed or too long range, holiday and workday at once, weekday workday, missing name', () => {
    const errors = fieldErrors(
      [
        '# 注释',
        '年份：2027',
        '来源: 测试',
        '放假 2027-01-01 元旦',
        '休息 2027-01-02 元旦',
        '放假 2027-2-5 春节',
        '放假 2027-02-30 春节',
        '放假 2026-12-31 元旦',
        '放假 2027-02-11..2027-02-05 春节',
        '放假 2027-07-01..2027-07-20 暑假',
        '调休上班 2027-01-01 元旦',
        '调休上班 2027-02-15 春节',
        '放假 2027-05-01',
        '放假 2027-05-01..2027-05-05 劳动节',
        '放假 2027-10-01..2027-10-07 国庆节',
      ].join('\r\n'),
    );
    expect(errors).toEqual({
      'line 5': '第 5 行：无法识别“休息”：每行应以“放假”或“调休上班”开头，或是“年份:”“来源:”行、以 # 开头的注释',
      'line 6': '第 6 行：“2027-2-5”不是 YYYY-MM-DD 格式的日期（例如 2027-02-05；日期范围写成 2027-02-05..2027-02-11）',
      'line 7': '第 7 行：2027-02-30 不是真实存在的日期',
      'line 8': '第 8 行：2026-12-31 不在 2027 年内：本文件只能列 2027 年的日期（跨年的安排写入该日期所在年份的文件）',
      'line 9': '第 9 行：日期范围 2027-02-11..2027-02-05 的结束日期早于开始日期',
      'line 10': '第 10 行：日期范围 2027-07-01..2027-07-20 共 20 天，超过 15 天，请检查是否写错',
      'line 11': '第 11 行：2027-01-01 已在第 4 行列为放假，不能同时是调休上班',
      'line 12': '第 12 行：2027-02-15 是星期一，调休上班日只能是星期六或星期日',
      'line 13': '第 13 行：缺少节日名称，例如“放假 2027-05-01 春节”',
    });
  });

  it('requires 年份 and 来源, refuses an empty file, and catches a truncated paste missing a fixed statutory holiday', () => {
    expect(fieldErrors('')).toEqual({ file: '文件是空的：请粘贴按格式整理的节假日安排（年份、来源和各个日期行）' });
    expect(fieldErrors('# 只有注释\n\n')).toHaveProperty('file');
    expect(fieldErrors('放假 2027-01-01 元旦')).toEqual({
      year: '缺少“年份: YYYY”一行，例如“年份: 2027”',
      source: '缺少“来源:”一行：请写明通知的文号或标题，例如“来源: 国办发明电〔2026〕X号”',
    });
    expect(fieldErrors('年份: 2027\n来源: 测试\n')).toEqual({ file: '文件中没有任何“放假”或“调休上班”的日期' });
    expect(fieldErrors('年份: 27\n来源: 测试\n放假 2027-01-01 元旦\n年份: 2027')).toMatchObject({ 'line 1': expect.stringContaining('第 1 行：年份应为'), 'line 4': '第 4 行：年份重复（第 1 行已写明年份）' });
    const truncated = SAMPLE_2027.slice(0, SAMPLE_2027.indexOf('# 国庆节'));
    expect(fieldErrors(truncated)).toEqual({ statutory: '未把法定节假日 2027-10-01（国庆节）列为放假：每年的通知都安排这些日期放假，请检查是否漏贴了内容' });
  });

  it('loads a year into both tables and writes one audit row with year, source and counts', async () => {
    t = await createSeededDb();
    const admin = await actorFor(t, 'admin');
    expect(await loadCalendarYear(t.core.db, admin, SAMPLE_2027)).toEqual({ year: 2027, holidays: 29, workdays: 5 });
    const { years, days } = await snapshot(t);
    expect(years).toEqual([{ year: 2027, source: '样例（非正式）：仿照国务院办公厅关于2027年部分节假日安排的通知', loaded_by: admin.userId, loaded_at: expect.any(String) }]);
    expect(days).toHaveLength(34);
    expect(days.find((d: { date: string }) => d.date === '2027-02-14')).toMatchObject({ year: 2027, kind: 'workday', name: '春节', loaded_by: admin.userId });
    const [row] = await auditRows(t.core, 'calendar.load');
    expect(row).toMatchObject({ username: 'admin', object_type: 'calendar_year', object_id: '2027' });
    expect(JSON.parse(row.summary)).toEqual({ year: 2027, source: '样例（非正式）：仿照国务院办公厅关于2027年部分节假日安排的通知', holidays: 29, workdays: 5, unchanged: false, before: null });
    expect((await loadCalendar(t.core.db)).years().loaded).toMatchObject([{ year: 2027, loadedByName: expect.stringContaining('（admin）'), holidays: 29, workdays: 5 }]);
  });

  it('changes nothing but the audit row when the same file is loaded twice', async () => {
    t = await createSeededDb();
    const admin = await actorFor(t, 'admin');
    await loadCalendarYear(t.core.db, admin, SAMPLE_2027);
    const first = await snapshot(t);
    await loadCalendarYear(t.core.db, admin, SAMPLE_2027);
    expect(await snapshot(t)).toEqual(first);
    const rows = await auditRows(t.core, 'calendar.load');
    expect(rows).toHaveLength(2);
    expect(JSON.parse(rows[1].summary)).toMatchObject({ unchanged: true, before: { holidays: 29, workdays: 5 } });
  });

  it('replaces the whole year when a corrected file is loaded, and a bad file changes nothing at all', async () => {
    t = await createSeededDb();
    const admin = await actorFor(t, 'admin');
    await loadCalendarYear(t.core.db, admin, SAMPLE_2027);
    const corrected = SAMPLE_2027.replace('调休上班 2027-02-20 春节', '').replace('来源: 样例（非正式）：仿照国务院办公厅关于2027年部分节假日安排的通知', '来源: 更正');
    expect(await loadCalendarYear(t.core.db, admin, corrected)).toEqual({ year: 2027, holidays: 29, workdays: 4 });
    const after = await snapshot(t);
    expect(after.years).toMatchObject([{ year: 2027, source: '更正' }]);
    expect(after.days.map((d: { date: string }) => d.date)).not.toContain('2027-02-20');
    expect(after.days).toHaveLength(33);

    const bad = `${corrected}\n调休上班 2027-03-01 春节\n`;
    await expect(loadCalendarYear(t.core.db, admin, bad)).rejects.toThrow(ValidationError);
    expect(await snapshot(t)).toEqual(after);
    expect(await auditRows(t.core, 'calendar.load')).toHaveLength(2);
  });

  it('refuses anyone but a county-or-higher system administrator and writes nothing', async () => {
    t = await createSeededDb();
    for (const username of ['auditor', 'finance', 'supervisor']) {
      await expect(loadCalendarYear(t.core.db, await actorFor(t, username), SAMPLE_2027)).rejects.toThrow(ForbiddenError);
    }
    // An administrator of one township: the calendar serves everyone, so not theirs to change.
    const townshipAdmin = { ...(await actorFor(t, 'admin')), regionId: (await t.core.db('core_region').where({ name: '城关镇' }).first()).id };
    await expect(loadCalendarYear(t.core.db, townshipAdmin, SAMPLE_2027)).rejects.toThrow('只有县级及以上的系统管理员可以载入');
    expect(await snapshot(t)).toEqual({ years: [], days: [] });
    expect(await auditRows(t.core, 'calendar.load')).toEqual([]);
  });
});
