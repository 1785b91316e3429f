import { createRequire } from 'node:module';
import { type Actor, hasRole } from './auth/roles.ts';
import { recordAudit } from './audit.ts';
import { isBusinessDate } from './dates.ts';
import { type Conn, type Db, inTransaction, isPostgres, nowIso } from './db.ts';
import { ForbiddenError, ValidationError } from './errors.ts';

/**
 * The official working-day calendar: statutory holidays and the weekend days made into workdays (调休), as the
 * State Council's annual notice (国务院办公厅关于XXXX年部分节假日安排的通知) arranges them. The chinese-days
 * library knows the years it was published with; an administrator loads a year it does not know (or corrects
 * one it gets wrong) from a small text file (docs/calendar-format.md), which then replaces the library for that
 * whole calendar year. A year known to neither falls back to Monday–Friday and is reported, never guessed
 * silently. All date arithmetic is on UTC midnights of "YYYY-MM-DD" business dates.
 */
export type CalendarDayKind = 'holiday' | 'workday';

export interface CalendarDay {
  date: string;
  kind: CalendarDayKind;
  /** The festival: 春节, 国庆节 … (for a workday, the festival it makes up for). */
  name: string;
}

export interface LoadedCalendarYear {
  year: number;
  /** The notice's title or document number. */
  source: string;
  loadedBy: number | null;
  /** "显示名（用户名）" of the administrator, if the user still exists. */
  loadedByName: string | null;
  loadedAt: string;
  holidays: number;
  workdays: number;
}

export interface Calendar {
  /** True on a working day: the administrator's data for its year if loaded, else chinese-days, else Monday–Friday (and the year is "unknown"). */
  isWorkingDay(date: string): boolean;
  /** Whether the calendar has real data for the year (library or administrator), i.e. is not guessing. */
  knows(year: number): boolean;
  /** The n-th working day after start (start itself not counted; n = 0 gives start). unknownYears: years passed through without data. */
  addWorkingDays(start: string, n: number): { date: string; unknownYears: number[] };
  /** Working days d with from < d <= to (0 if to <= from). */
  workingDaysBetween(from: string, to: string): { days: number; unknownYears: number[] };
  /** Years the library knows, and years loaded by an administrator (with source, who, when), for the admin page. */
  years(): { library: number[]; loaded: LoadedCalendarYear[] };
  /** A year's holidays and adjusted workdays in date order, and whose data they are. */
  daysOf(year: number): { source: 'admin' | 'library' | 'unknown'; days: CalendarDay[] };
}

const DAY_MS = 86_400_000;
export const WEEKDAY_LABELS = ['星期日', '星期一', '星期二', '星期三', '星期四', '星期五', '星期六'] as const;
export const DAY_KIND_LABELS: Record<CalendarDayKind, string> = { holiday: '放假', workday: '调休上班' };

function utcMs(date: string): number {
  if (!isBusinessDate(date)) throw new RangeError(`不是有效日期：${date}`);
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)));
}

function dateOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function yearOf(date: string): number {
  return Number(date.slice(0, 4));
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOf(date: string): number {
  return new Date(utcMs(date)).getUTCDay();
}

function isWeekend(date: string): boolean {
  const day = weekdayOf(date);
  return day === 0 || day === 6;
}

type YearDays = ReadonlyMap<string, CalendarDay>;

/**
 * chinese-days' own tables (the ones its isWorkday reads): date → "English name,中文名,statutory days". Holidays
 * include the weekend days inside a holiday period, as the notices do. The known years are the years present.
 */
const LIBRARY: ReadonlyMap<number, YearDays> = (() => {
  const data = createRequire(import.meta.url)('chinese-days/dist/chinese-days.json') as Record<'holidays' | 'workdays', Record<string, string>>;
  const years = new Map<number, Map<string, CalendarDay>>();
  for (const kind of ['holiday', 'workday'] as const) {
    for (const [date, description] of Object.entries(data[kind === 'holiday' ? 'holidays' : 'workdays'])) {
      const year = yearOf(date);
      if (!years.has(year)) years.set(year, new Map());
      years.get(year)!.set(date, { date, kind, name: description.split(',').at(-2) ?? description });
    }
  }
  return years;
})();

class OfficialCalendar implements Calendar {
  constructor(
    private readonly loaded: ReadonlyMap<number, LoadedCalendarYear>,
    private readonly loadedDays: ReadonlyMap<number, YearDays>,
  ) {}

  private dataFor(year: number): YearDays | undefined {
    return this.loaded.has(year) ? (this.loadedDays.get(year) ?? new Map()) : LIBRARY.get(year);
  }

  /** Whether a date is a working day; a year without data is added to unknown and follows Monday–Friday. */
  private working(date: string, unknown: Set<number>): boolean {
    const data = this.dataFor(yearOf(date));
    if (!data) unknown.add(yearOf(date));
    const day = data?.get(date);
    return day ? day.kind === 'workday' : !isWeekend(date);
  }

  isWorkingDay(date: string): boolean {
    return this.working(date, new Set());
  }

  knows(year: number): boolean {
    return this.loaded.has(year) || LIBRARY.has(year);
  }

  addWorkingDays(start: string, n: number): { date: string; unknownYears: number[] } {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`工作日数须为非负整数：${n}`);
    const unknown = new Set<number>();
    let ms = utcMs(start);
    for (let left = n; left > 0; ) {
      ms += DAY_MS;
      if (this.working(dateOf(ms), unknown)) left--;
    }
    return { date: dateOf(ms), unknownYears: [...unknown].sort((a, b) => a - b) };
  }

  workingDaysBetween(from: string, to: string): { days: number; unknownYears: number[] } {
    const unknown = new Set<number>();
    const end = utcMs(to);
    let days = 0;
    for (let ms = utcMs(from) + DAY_MS; ms <= end; ms += DAY_MS) {
      if (this.working(dateOf(ms), unknown)) days++;
    }
    return { days, unknownYears: [...unknown].sort((a, b) => a - b) };
  }

  years(): { library: number[]; loaded: LoadedCalendarYear[] } {
    return { library: [...LIBRARY.keys()].sort((a, b) => a - b), loaded: [...this.loaded.values()].sort((a, b) => a.year - b.year) };
  }

  daysOf(year: number): { source: 'admin' | 'library' | 'unknown'; days: CalendarDay[] } {
    const source = this.loaded.has(year) ? 'admin' : LIBRARY.has(year) ? 'library' : 'unknown';
    const days = [...(this.dataFor(year)?.values() ?? [])].sort((a, b) => (a.date < b.date ? -1 : 1));
    return { source, days };
  }
}

/** The calendar in force: the library, overridden by every year an administrator loaded (read on each call). */
export async function loadCalendar(db: Conn): Promise<Calendar> {
  const yearRows: { year: number; source: string; loaded_by: number | null; loaded_at: string; username: string | null; display_name: string | null }[] = await db('core_calendar_year as y')
    .leftJoin('core_user as u', 'u.id', 'y.loaded_by')
    .select('y.year', 'y.source', 'y.loaded_by', 'y.loaded_at', 'u.username', 'u.display_name');
  const dayRows: (CalendarDay & { year: number })[] = await db('core_calendar_day').select('date', 'year', 'kind', 'name');
  const loadedDays = new Map<number, Map<string, CalendarDay>>();
  for (const { year, ...day } of dayRows) {
    if (!loadedDays.has(year)) loadedDays.set(year, new Map());
    loadedDays.get(year)!.set(day.date, day);
  }
  const loaded = new Map<number, LoadedCalendarYear>();
  for (const r of yearRows) {
    const days = [...(loadedDays.get(r.year)?.values() ?? [])];
    const holidays = days.filter((d) => d.kind === 'holiday').length;
    loaded.set(r.year, {
      year: r.year,
      source: r.source,
      loadedBy: r.loaded_by,
      loadedByName: r.username ? `${r.display_name}（${r.username}）` : null,
      loadedAt: r.loaded_at,
      holidays,
      workdays: days.length - holidays,
    });
  }
  return new OfficialCalendar(loaded, loadedDays);
}

export interface CalendarFile {
  year: number;
  source: string;
  days: CalendarDay[];
}

const KEYWORDS: ReadonlyMap<string, CalendarDayKind> = new Map([
  ['放假', 'holiday'],
  ['调休上班', 'workday'],
]);
const MAX_RANGE_DAYS = 15;
const MAX_NAME_LENGTH = 40;
const MAX_SOURCE_LENGTH = 200;
/** Beyond this many bad lines the rest are counted, not listed (someone pasted the wrong file). */
const MAX_LISTED_LINES = 30;
/** Fixed-date statutory holidays (全国年节及纪念日放假办法): every year's notice gives these days off. */
const FIXED_HOLIDAYS: readonly (readonly [string, string])[] = [
  ['01-01', '元旦'],
  ['05-01', '劳动节'],
  ['10-01', '国庆节'],
];

interface DayLine {
  line: number;
  kind: CalendarDayKind;
  from: string;
  to: string;
  name: string;
}

/** A date token's problem in Chinese, or null. */
function dateProblem(token: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(token)) return `“${token.slice(0, 30)}”不是 YYYY-MM-DD 格式的日期（例如 2027-02-05；日期范围写成 2027-02-05..2027-02-11）`;
  if (!isBusinessDate(token)) return `${token} 不是真实存在的日期`;
  return null;
}

/**
 * Parse an administrator's calendar file (format: docs/calendar-format.md). Every problem is reported at once,
 * as a ValidationError keyed "line N" (the message names the line) or, for the file as a whole, "file", "year",
 * "source", "statutory" and "more" (bad lines beyond the first 30).
 */
export function parseCalendarFile(text: string): CalendarFile {
  /** The first problem of each line. */
  const lineErrors = new Map<number, string>();
  const fail = (line: number, message: string) => {
    if (!lineErrors.has(line)) lineErrors.set(line, `第 ${line} 行：${message}`);
  };

  const header: { year: { line: number; value: number | null } | null; source: { line: number; value: string } | null } = { year: null, source: null };
  let dayLineCount = 0;
  const dayLines: DayLine[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\r|\n/)
    .forEach((raw, index) => {
      const n = index + 1;
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const [, key, value = ''] = /^(年份|来源)\s*[:：]\s*(.*)$/.exec(line) ?? [];
      if (key === '年份') {
        if (header.year) return fail(n, `年份重复（第 ${header.year.line} 行已写明年份）`);
        const ok = /^\d{4}$/.test(value) && Number(value) >= 2000 && Number(value) <= 2099;
        header.year = { line: n, value: ok ? Number(value) : null };
        if (!ok) fail(n, '年份应为 2000–2099 之间的四位数字，例如“年份: 2027”');
        return;
      }
      if (key === '来源') {
        if (header.source) return fail(n, `来源重复（第 ${header.source.line} 行已写明来源）`);
        header.source = { line: n, value };
        if (!value) fail(n, '来源不能为空，请填写通知的文号或标题');
        else if (value.length > MAX_SOURCE_LENGTH) fail(n, `来源不能超过 ${MAX_SOURCE_LENGTH} 个字符`);
        return;
      }
      const [keyword = '', dates, ...nameParts] = line.split(/\s+/);
      const kind = KEYWORDS.get(keyword);
      if (!kind) {
        return fail(n, `无法识别“${keyword.slice(0, 20)}”：每行应以“放假”或“调休上班”开头，或是“年份:”“来源:”行、以 # 开头的注释`);
      }
      dayLineCount++;
      if (!dates) return fail(n, `缺少日期，格式应为“${keyword} YYYY-MM-DD 节日名称”`);
      const ends = dates.split('..');
      if (ends.length > 2) return fail(n, `“${dates.slice(0, 30)}”不是有效的日期范围（写成 2027-02-05..2027-02-11）`);
      for (const end of ends) {
        const problem = dateProblem(end);
        if (problem) return fail(n, problem);
      }
      const from = ends[0]!;
      const to = ends[1] ?? from;
      if (to < from) return fail(n, `日期范围 ${dates} 的结束日期早于开始日期`);
      const length = (utcMs(to) - utcMs(from)) / DAY_MS + 1;
      if (length > MAX_RANGE_DAYS) return fail(n, `日期范围 ${dates} 共 ${length} 天，超过 ${MAX_RANGE_DAYS} 天，请检查是否写错`);
      const name = nameParts.join(' ');
      if (!name) return fail(n, `缺少节日名称，例如“${keyword} ${dates} 春节”`);
      if (name.length > MAX_NAME_LENGTH) return fail(n, `节日名称不能超过 ${MAX_NAME_LENGTH} 个字符`);
      dayLines.push({ line: n, kind, from, to, name });
    });

  const fileYear = header.year?.value ?? null;
  if (!header.year && !header.source && dayLineCount === 0 && lineErrors.size === 0) {
    throw new ValidationError({ file: '文件是空的：请粘贴按格式整理的节假日安排（年份、来源和各个日期行）' }, '日历文件有误，请按提示修改后重新提交');
  }

  const seen = new Map<string, { kind: CalendarDayKind; line: number }>();
  const days: CalendarDay[] = [];
  for (const entry of dayLines) {
    const end = utcMs(entry.to);
    for (let ms = utcMs(entry.from); ms <= end; ms += DAY_MS) {
      const date = dateOf(ms);
      if (fileYear !== null && yearOf(date) !== fileYear) {
        fail(entry.line, `${date} 不在 ${fileYear} 年内：本文件只能列 ${fileYear} 年的日期（跨年的安排写入该日期所在年份的文件）`);
        break;
      }
      const prior = seen.get(date);
      if (prior) {
        fail(
          entry.line,
          prior.kind === entry.kind
            ? `${date} 已在第 ${prior.line} 行列出`
            : `${date} 已在第 ${prior.line} 行列为${DAY_KIND_LABELS[prior.kind]}，不能同时是${DAY_KIND_LABELS[entry.kind]}`,
        );
        break;
      }
      if (entry.kind === 'workday' && !isWeekend(date)) {
        fail(entry.line, `${date} 是${WEEKDAY_LABELS[weekdayOf(date)]}，调休上班日只能是星期六或星期日`);
        break;
      }
      seen.set(date, { kind: entry.kind, line: entry.line });
      days.push({ date, kind: entry.kind, name: entry.name });
    }
  }

  const errors: Record<string, string> = {};
  const badLines = [...lineErrors.keys()].sort((a, b) => a - b);
  for (const line of badLines.slice(0, MAX_LISTED_LINES)) errors[`line ${line}`] = lineErrors.get(line)!;
  if (!header.year) errors.year = '缺少“年份: YYYY”一行，例如“年份: 2027”';
  if (!header.source) errors.source = '缺少“来源:”一行：请写明通知的文号或标题，例如“来源: 国办发明电〔2026〕X号”';
  if (dayLineCount === 0) errors.file = '文件中没有任何“放假”或“调休上班”的日期';
  if (badLines.length > MAX_LISTED_LINES) errors.more = `另有 ${badLines.length - MAX_LISTED_LINES} 行有误未列出，请先修改以上各行`;
  if (Object.keys(errors).length === 0 && fileYear !== null) {
    // Only on an otherwise clean file: a truncated paste, or a file for another year, usually shows here.
    const missing = FIXED_HOLIDAYS.filter(([monthDay]) => seen.get(`${fileYear}-${monthDay}`)?.kind !== 'holiday');
    if (missing.length) {
      errors.statutory = `未把法定节假日 ${missing.map(([monthDay, name]) => `${fileYear}-${monthDay}（${name}）`).join('、')}列为放假：每年的通知都安排这些日期放假，请检查是否漏贴了内容`;
    }
  }
  if (Object.keys(errors).length) throw new ValidationError(errors, '日历文件有误，请按提示修改后重新提交');
  return { year: fileYear!, source: header.source!.value, days: days.sort((a, b) => (a.date < b.date ? -1 : 1)) };
}

/** pg_advisory_xact_lock key ("ykt calendar"): two loads of a year run one after the other, never interleaved. */
const CALENDAR_LOCK_KEY = 7_005_010;

function sameDays(a: CalendarDay[], b: CalendarDay[]): boolean {
  return a.length === b.length && a.every((d, i) => d.date === b[i]!.date && d.kind === b[i]!.kind && d.name === b[i]!.name);
}

/**
 * Load (or correct) one year from an administrator's calendar file: in one transaction, that year's rows in
 * both tables are replaced and an audit row written. A file identical to what is loaded changes nothing but
 * the audit row.
 */
export async function loadCalendarYear(db: Db, actor: Actor, text: string): Promise<{ year: number; holidays: number; workdays: number }> {
  if (!hasRole(actor, 'admin')) throw new ForbiddenError('只有系统管理员可以载入工作日历');
  // The calendar serves the whole deployment: a township's administrator may not change it for everyone.
  const region = await db('core_region').where({ id: actor.regionId }).first('level');
  if (!region || !['province', 'city', 'county'].includes(region.level)) throw new ForbiddenError('工作日历适用于整个平台，只有县级及以上的系统管理员可以载入');
  const file = parseCalendarFile(text);
  const holidays = file.days.filter((d) => d.kind === 'holiday').length;
  const workdays = file.days.length - holidays;
  await inTransaction(db, async (trx) => {
    if (isPostgres(trx)) await trx.raw('SELECT pg_advisory_xact_lock(?)', [CALENDAR_LOCK_KEY]);
    const before = (await trx('core_calendar_year').where({ year: file.year }).first('source')) as { source: string } | undefined;
    const beforeDays: CalendarDay[] = await trx('core_calendar_day').where({ year: file.year }).orderBy('date').select('date', 'kind', 'name');
    const unchanged = before?.source === file.source && sameDays(beforeDays, file.days);
    if (!unchanged) {
      const loadedAt = nowIso();
      await trx('core_calendar_day').where({ year: file.year }).delete();
      await trx('core_calendar_day').insert(file.days.map((d) => ({ ...d, year: file.year, loaded_by: actor.userId, loaded_at: loadedAt })));
      await trx('core_calendar_year').where({ year: file.year }).delete();
      await trx('core_calendar_year').insert({ year: file.year, source: file.source, loaded_by: actor.userId, loaded_at: loadedAt });
    }
    const beforeHolidays = beforeDays.filter((d) => d.kind === 'holiday').length;
    await recordAudit(trx, actor, {
      action: 'calendar.load',
      objectType: 'calendar_year',
      objectId: file.year,
      summary: {
        year: file.year,
        source: file.source,
        holidays,
        workdays,
        unchanged,
        before: before ? { source: before.source, holidays: beforeHolidays, workdays: beforeDays.length - beforeHolidays } : null,
      },
    });
  });
  return { year: file.year, holidays, workdays };
}
