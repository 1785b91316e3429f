import fs from 'node:fs';
import { isWorkday } from 'chinese-days';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Calendar, loadCalendar, loadCalendarYear } from '../../src/core/calendar.ts';
import { type TestDb, actorFor, createSeededDb, createTestDb } from '../factories.ts';

const SAMPLE_2027 = fs.readFileSync(new URL('../../docs/samples/calendar-2027.txt', import.meta.url), 'utf8');

let t: TestDb;
let calendar: Calendar;
beforeAll(async () => {
  t = await createTestDb();
  calendar = await loadCalendar(t.core.db);
});
afterAll(async () => t.cleanup());

function eachDay(from: string, to: string): string[] {
  const days: string[] = [];
  for (let ms = Date.parse(`${from}T00:00:00Z`); ms <= Date.parse(`${to}T00:00:00Z`); ms += 86_400_000) days.push(new Date(ms).toISOString().slice(0, 10));
  return days;
}

describe('the official working-day calendar from chinese-days', () => {
  it('knows 2004–2026 from the library data and agrees with its isWorkday on every one of those days', () => {
    const { library, loaded } = calendar.years();
    expect(library).toEqual(Array.from({ length: 23 }, (_, i) => 2004 + i));
    expect(loaded).toEqual([]);
    for (const date of eachDay('2004-01-01', '2026-12-31')) {
      if (calendar.isWorkingDay(date) !== isWorkday(date)) expect.fail(`${date} differs from chinese-days`);
    }
  });

  it('keeps 2025-10-01..08 (国庆 and 中秋) off and makes Sunday 2025-09-28 and Saturday 2025-10-11 working days', () => {
    for (const date of eachDay('2025-10-01', '2025-10-08')) expect(calendar.isWorkingDay(date), date).toBe(false);
    expect(calendar.isWorkingDay('2025-09-28')).toBe(true);
    expect(calendar.isWorkingDay('2025-10-11')).toBe(true);
    expect(calendar.isWorkingDay('2025-10-09')).toBe(true);
    expect(calendar.isWorkingDay('2025-10-12')).toBe(false);
    expect(calendar.daysOf(2025).days.find((d) => d.date === '2025-10-06')).toEqual({ date: '2025-10-06', kind: 'holiday', name: '中秋' });
  });

  it('has the 2026 Spring Festival: 2026-02-15..23 off, Saturdays 2026-02-14 and 2026-02-28 working', () => {
    const festival = calendar.daysOf(2026).days.filter((d) => d.name === '春节');
    expect(calendar.daysOf(2026).source).toBe('library');
    expect(festival.filter((d) => d.kind === 'holiday').map((d) => d.date)).toEqual(eachDay('2026-02-15', '2026-02-23'));
    expect(festival.filter((d) => d.kind === 'workday').map((d) => d.date)).toEqual(['2026-02-14', '2026-02-28']);
    expect(calendar.isWorkingDay('2026-02-14')).toBe(true);
    expect(calendar.isWorkingDay('2026-02-16')).toBe(false);
    expect(calendar.isWorkingDay('2026-02-24')).toBe(true);
  });

  it('counts 10 working days after 2025-09-30 across the October holiday, the make-up Saturday included, to 2025-10-21', () => {
    expect(calendar.addWorkingDays('2025-09-30', 10)).toEqual({ date: '2025-10-21', unknownYears: [] });
    expect(calendar.addWorkingDays('2025-09-26', 1)).toEqual({ date: '2025-09-28', unknownYears: [] });
    expect(calendar.addWorkingDays('2025-10-08', 3)).toEqual({ date: '2025-10-11', unknownYears: [] });
  });

  it('gives the start itself for n = 0, even on a holiday, and refuses a negative n', () => {
    expect(calendar.addWorkingDays('2025-10-01', 0)).toEqual({ date: '2025-10-01', unknownYears: [] });
    expect(() => calendar.addWorkingDays('2025-10-01', -1)).toThrow(RangeError);
    expect(() => calendar.addWorkingDays('2025-02-30', 1)).toThrow(RangeError);
  });

  it('counts working days d with from < d <= to, and 0 when to is not after from', () => {
    expect(calendar.workingDaysBetween('2025-09-30', '2025-10-12')).toEqual({ days: 3, unknownYears: [] });
    expect(calendar.workingDaysBetween('2025-09-30', '2025-10-21').days).toBe(10);
    expect(calendar.workingDaysBetween('2025-10-21', '2025-10-21').days).toBe(0);
    expect(calendar.workingDaysBetween('2025-10-21', '2025-09-30').days).toBe(0);
  });

  it('reports 2027, which it does not know, in unknownYears and falls back to Monday–Friday there', () => {
    expect(calendar.knows(2026)).toBe(true);
    expect(calendar.knows(2027)).toBe(false);
    expect(calendar.daysOf(2027)).toEqual({ source: 'unknown', days: [] });
    expect(calendar.isWorkingDay('2027-01-01')).toBe(true); // a Friday: the real calendar has it off
    expect(calendar.isWorkingDay('2027-01-02')).toBe(false);
    expect(calendar.addWorkingDays('2026-12-30', 5)).toEqual({ date: '2027-01-06', unknownYears: [2027] });
    expect(calendar.addWorkingDays('2026-12-29', 2)).toEqual({ date: '2026-12-31', unknownYears: [] });
    expect(calendar.workingDaysBetween('2026-12-25', '2027-01-10')).toEqual({ days: 10, unknownYears: [2027] });
  });
});

describe('years an administrator loaded', () => {
  it('makes 2027 known from the sample file, with its holidays and make-up workdays', async () => {
    const db = await createSeededDb();
    try {
      expect(await loadCalendarYear(db.core.db, await actorFor(db, 'admin'), SAMPLE_2027)).toEqual({ year: 2027, holidays: 29, workdays: 5 });
      const loaded = await loadCalendar(db.core.db);
      expect(loaded.knows(2027)).toBe(true);
      expect(loaded.isWorkingDay('2027-01-01')).toBe(false);
      expect(loaded.isWorkingDay('2027-02-14')).toBe(true); // a Sunday
      expect(loaded.addWorkingDays('2026-12-30', 5)).toEqual({ date: '2027-01-07', unknownYears: [] });
      expect(loaded.years().loaded).toMatchObject([{ year: 2027, source: '样例（非正式）：仿照国务院办公厅关于2027年部分节假日安排的通知', holidays: 29, workdays: 5, loadedBy: 1 }]);
    } finally {
      await db.cleanup();
    }
  });

  it('replaces the library for the whole year it loaded: unlisted days follow the weekend rule, other years keep the library', async () => {
    const db = await createSeededDb();
    try {
      // A (deliberately different) 2026: only the three fixed-date holidays, 国庆 shortened, one make-up Saturday.
      const text = ['年份: 2026', '来源: 更正测试', '放假 2026-01-01 元旦', '放假 2026-05-01 劳动节', '放假 2026-10-01..2026-10-03 国庆节', '调休上班 2026-10-10 国庆节'].join('\n');
      await loadCalendarYear(db.core.db, await actorFor(db, 'admin'), text);
      const corrected = await loadCalendar(db.core.db);
      expect(corrected.daysOf(2026).source).toBe('admin');
      expect(corrected.isWorkingDay('2026-02-16')).toBe(true); // library: 春节 off
      expect(corrected.isWorkingDay('2026-02-14')).toBe(false); // library: make-up Saturday; now an ordinary Saturday
      expect(corrected.isWorkingDay('2026-10-05')).toBe(true);
      expect(corrected.isWorkingDay('2026-10-10')).toBe(true);
      expect(corrected.isWorkingDay('2025-10-11')).toBe(true); // 2025 still from the library
      expect(corrected.isWorkingDay('2025-10-06')).toBe(false);
      expect(corrected.workingDaysBetween('2026-09-30', '2026-10-10')).toEqual({ days: 6, unknownYears: [] });
    } finally {
      await db.cleanup();
    }
  });
});
