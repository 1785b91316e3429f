import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { type Calendar, type CalendarDay, DAY_KIND_LABELS, WEEKDAY_LABELS, loadCalendar, loadCalendarYear, weekdayOf } from '../calendar.ts';
import { businessYear, formatDateTime } from '../dates.ts';
import { ValidationError } from '../errors.ts';
import { validate } from '../http/validate.ts';
import type { Web } from './web.ts';

const yearQuerySchema = z.object({
  year: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce
      .number({ error: '年份应为四位数字，例如 2027' })
      .int({ error: '年份应为四位数字，例如 2027' })
      .min(2000, { error: '年份应在 2000–2099 之间' })
      .max(2099, { error: '年份应在 2000–2099 之间' })
      .optional(),
  ),
});

const calendarFormSchema = z.object({
  text: z.string({ error: '请粘贴日历文件的内容' }).max(20_000, { error: '内容过长：一年的日历文件不会超过 20000 个字符，请检查是否贴错了文件' }),
});

/** "2004–2026" for consecutive years, "2004–2010、2012" with gaps. */
function yearRanges(years: number[]): string {
  const runs: [number, number][] = [];
  for (const y of years) {
    const last = runs.at(-1);
    if (last && last[1] === y - 1) last[1] = y;
    else runs.push([y, y]);
  }
  return runs.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join('、');
}


function nextDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

function withWeekday(date: string): string {
  return `${date}（${WEEKDAY_LABELS[weekdayOf(date)]}）`;
}

/** Consecutive days of the same kind and festival as one row, as the notice writes them. */
function presentPeriods(days: CalendarDay[]) {
  const periods: { kind: CalendarDay['kind']; name: string; from: string; to: string; count: number }[] = [];
  for (const d of days) {
    const last = periods.at(-1);
    if (last && last.kind === d.kind && last.name === d.name && nextDate(last.to) === d.date) {
      last.to = d.date;
      last.count++;
    } else {
      periods.push({ kind: d.kind, name: d.name, from: d.date, to: d.date, count: 1 });
    }
  }
  return periods.map((p) => ({
    dates: p.from === p.to ? withWeekday(p.from) : `${withWeekday(p.from)} 至 ${withWeekday(p.to)}`,
    count: p.count,
    kind: p.kind,
    kindLabel: DAY_KIND_LABELS[p.kind],
    name: p.name,
  }));
}

/**
 * The file's problems beside the textarea, each with its line's text, and the error summary linking to them
 * ("line 5" → #f-calendar-line-5).
 */
function presentProblems(errors: Record<string, string>, text: string) {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const problems = Object.entries(errors).map(([key, message]) => {
    const line = /^line (\d+)$/.exec(key);
    const id = `calendar-${key.replace(' ', '-')}`;
    return { id, message, content: line ? (lines[Number(line[1]) - 1] ?? '').trim().slice(0, 100) : null };
  });
  return { problems, summary: Object.fromEntries(problems.map((p) => [p.id, p.message])) };
}

/** The official working-day calendar: what the platform knows, one year's arrangement, and loading a year. */
export function calendarRoutes(router: Router, web: Web): void {
  const { db } = web.core;

  function page(ctx: Context, calendar: Calendar, year: number, data: Record<string, unknown>, status = 200): void {
    const { library, loaded } = calendar.years();
    const { source, days } = calendar.daysOf(year);
    web.render(
      ctx,
      'admin/calendar.njk',
      {
        title: '工作日历',
        libraryYears: yearRanges(library),
        loaded: loaded.map((y) => ({ ...y, who: y.loadedByName ?? (y.loadedBy ? `用户 #${y.loadedBy}` : '—'), when: formatDateTime(y.loadedAt) })),
        year,
        source,
        yearSource: loaded.find((y) => y.year === year)?.source,
        periods: presentPeriods(days),
        holidays: days.filter((d) => d.kind === 'holiday').length,
        workdays: days.filter((d) => d.kind === 'workday').length,
        nextYear: calendar.knows(businessYear() + 1) ? null : businessYear() + 1,
        ...data,
      },
      status,
    );
  }

  router.get('/admin/calendar', async (ctx) => {
    await web.requireRole(ctx, ['admin'], '此页面仅系统管理员可以使用');
    const calendar = await loadCalendar(db);
    let year: number;
    try {
      year = validate(yearQuerySchema, ctx.query).year ?? businessYear();
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return page(ctx, calendar, businessYear(), { summary: err.fieldErrors, yearErrors: err.fieldErrors, yearValue: ctx.query.year }, 422);
    }
    page(ctx, calendar, year, { yearValue: year });
  });

  router.post('/admin/calendar', async (ctx) => {
    const actor = await web.requireRole(ctx, ['admin'], '此页面仅系统管理员可以使用');
    const body = ctx.request.body as Record<string, unknown>;
    const text = typeof body.text === 'string' ? body.text : '';
    try {
      const loaded = await loadCalendarYear(db, actor, validate(calendarFormSchema, body).text);
      await web.redirectWith(ctx, `/admin/calendar?year=${loaded.year}`, {
        kind: 'success',
        message: `已载入 ${loaded.year} 年工作日历：放假 ${loaded.holidays} 天，调休上班 ${loaded.workdays} 天`,
      });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      page(ctx, await loadCalendar(db), businessYear(), { ...presentProblems(err.fieldErrors, text), text, yearValue: businessYear() }, 422);
    }
  });
}
