import { ROLE_LABELS, type Role } from '../../core/auth/roles.ts';
import type { Calendar } from '../../core/calendar.ts';
import { businessDate } from '../../core/dates.ts';
import type { DeadlineRules } from '../../core/deadlines.ts';
import { formatYuan } from '../../core/money.ts';
import { MODULE_LABELS, monthsEndingWith, timelinessRate } from './model.ts';
import type { ClockRow, Holder } from './queries.ts';

/** Rows → view models for the supervision pages: labels, money in 元, working days late, who holds the responsible roles. */

const rolesOf = (responsibleRoles: string) => responsibleRoles.split(',').filter(Boolean) as Role[];

/** "乡镇经办站所、乡镇财政所" */
export const roleLabels = (responsibleRoles: string) => rolesOf(responsibleRoles).map((r) => ROLE_LABELS[r] ?? r).join('、');

/** A responsible unit: the clock's region and the roles that answer for it. */
export const unitLabel = (regionName: string, responsibleRoles: string) => `${regionName}（${roleLabels(responsibleRoles)}）`;

/** The people of a unit: the users of the region holding one of its roles ("李春梅、赵立新"), or a dash if none. */
export function peopleOf(holders: readonly Holder[], regionId: number, responsibleRoles: string): string {
  const roles = rolesOf(responsibleRoles);
  const names = holders.filter((h) => h.region_id === regionId && roles.includes(h.role)).map((h) => (h.org_name ? `${h.display_name}（${h.org_name}）` : h.display_name));
  return [...new Set(names)].join('、') || '—';
}

/** Working days from the due date to today (0 if not yet due): how late a clock is. */
export function workingDaysLate(calendar: Calendar, dueOn: string, today: string): number {
  return dueOn < today ? calendar.workingDaysBetween(dueOn, today).days : 0;
}

/** The module that declares each rule, in words, and the rule's label. */
export class RuleNames {
  private readonly moduleOf = new Map<string, string>();

  constructor(
    readonly rules: DeadlineRules,
    modules: readonly { name: string; deadlineRules?: readonly { code: string }[] }[],
  ) {
    for (const m of modules) for (const r of m.deadlineRules ?? []) this.moduleOf.set(r.code, MODULE_LABELS[m.name] ?? m.name);
  }

  label(code: string): string {
    return this.rules.get(code)?.label ?? code;
  }

  module(code: string): string {
    return this.moduleOf.get(code) ?? '';
  }

  /** The filter's choices: "发放批次 · 复核比对", by module. */
  choices(): { value: string; label: string }[] {
    return this.rules.all().map((r) => ({ value: r.code, label: `${this.module(r.code)} · ${r.label}` }));
  }
}

/** A line of the monitor (and of its workbook). */
export interface MonitorRow {
  title: string;
  href: string | null;
  module: string;
  rule: string;
  unit: string;
  roles: string;
  people: string;
  startedOn: string;
  dueOn: string;
  length: string;
  daysLate: number;
  overdue: boolean;
}

export function presentClock(row: ClockRow, names: RuleNames, holders: readonly Holder[], calendar: Calendar, today: string): MonitorRow {
  const daysLate = workingDaysLate(calendar, row.due_on, today);
  return {
    title: row.title,
    href: names.rules.get(row.rule)?.href(row.object_type, row.object_id) ?? null,
    module: names.module(row.rule),
    rule: names.label(row.rule),
    unit: row.region_name,
    roles: roleLabels(row.responsible_roles),
    people: peopleOf(holders, row.region_id, row.responsible_roles),
    startedOn: row.started_on,
    dueOn: row.due_on,
    length: `${row.days}${row.unit === 'working' ? '个工作日' : '天'}`,
    daysLate,
    overdue: row.due_on < today,
  };
}

/** The timeliness table: per unit, per month of the last twelve, clocks closed and closed on time. */
export interface TimelinessTable {
  months: string[];
  rows: { unit: string; cells: { closed: number; onTime: number; rate: string | null }[]; total: { closed: number; onTime: number; rate: string | null } }[];
}

/**
 * Count each closed clock in the month (business date, Shanghai) it was closed, for its unit; it was on time when
 * closed on or before its due date (as closeDeadline judges `late`).
 */
export function timelinessTable(closed: readonly ClockRow[], today: string): TimelinessTable {
  const months = monthsEndingWith(today.slice(0, 7));
  const units = new Map<string, { unit: string; counts: Map<string, { closed: number; onTime: number }> }>();
  for (const c of closed) {
    if (!c.closed_at) continue;
    const closedOn = businessDate(new Date(c.closed_at));
    const month = closedOn.slice(0, 7);
    if (!months.includes(month)) continue;
    const key = `${c.region_id}|${c.responsible_roles}`;
    const unit = units.get(key) ?? { unit: unitLabel(c.region_name, c.responsible_roles), counts: new Map() };
    const cell = unit.counts.get(month) ?? { closed: 0, onTime: 0 };
    cell.closed += 1;
    if (closedOn <= c.due_on) cell.onTime += 1;
    unit.counts.set(month, cell);
    units.set(key, unit);
  }
  const rows = [...units.values()]
    .sort((a, b) => a.unit.localeCompare(b.unit, 'zh-CN'))
    .map(({ unit, counts }) => {
      const cells = months.map((m) => {
        const c = counts.get(m) ?? { closed: 0, onTime: 0 };
        return { ...c, rate: timelinessRate(c.onTime, c.closed) };
      });
      const closedAll = cells.reduce((n, c) => n + c.closed, 0);
      const onTimeAll = cells.reduce((n, c) => n + c.onTime, 0);
      return { unit, cells, total: { closed: closedAll, onTime: onTimeAll, rate: timelinessRate(onTimeAll, closedAll) } };
    });
  return { months, rows };
}

export const yuan = (fen: number | null) => (fen === null ? '—' : formatYuan(fen));
