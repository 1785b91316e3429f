/**
 * Business dates are "YYYY-MM-DD" strings in Asia/Shanghai; timestamps are ISO-8601 UTC strings in the database.
 */
export const BUSINESS_TIME_ZONE = 'Asia/Shanghai';

const dateParts = new Intl.DateTimeFormat('en-CA', {
  timeZone: BUSINESS_TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

function parts(instant: Date): Record<string, string> {
  return Object.fromEntries(dateParts.formatToParts(instant).map((p) => [p.type, p.value]));
}

/** The business date (in Shanghai) of an instant. */
export function businessDate(instant: Date = new Date()): string {
  const p = parts(instant);
  return `${p.year}-${p.month}-${p.day}`;
}

/** The business year (in Shanghai) of an instant. */
export function businessYear(instant: Date = new Date()): number {
  return Number(businessDate(instant).slice(0, 4));
}

/** "2026-11-23 09:05" in Shanghai time, for screens. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime())) return '';
  const p = parts(instant);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/**
 * "2026-11-23T09:05:00+08:00": an instant in Shanghai time with its offset (ISO 8601), for files and the API, so that
 * they show the time the screens show and still name the instant exactly. China keeps no summer time: +08:00.
 */
export function isoWithOffset(iso: string): string {
  const p = parts(new Date(iso));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}+08:00`;
}

/** True for a real calendar date written as YYYY-MM-DD. */
export function isBusinessDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/** Start of a business date in Shanghai, as a UTC ISO timestamp (for range queries on timestamps). */
export function startOfBusinessDateIso(date: string): string {
  if (!isBusinessDate(date)) throw new RangeError(`不是有效日期：${date}`);
  return new Date(`${date}T00:00:00+08:00`).toISOString();
}

/** The business date n calendar days after (or, negative, before) a business date. */
export function addCalendarDays(date: string, n: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}
