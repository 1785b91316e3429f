import type { Knex } from 'knex';
import type { DeadlineTableRow } from '../../core/deadlines.ts';
import type { Actor, Role } from '../../core/auth/roles.ts';
import { type Conn, countRows } from '../../core/db.ts';
import { startOfBusinessDateIso } from '../../core/dates.ts';

/**
 * Reads for the supervision pages: the clocks (core_deadline, readable by every module) in the actor's region scope,
 * and the people who hold the responsible roles. Other modules' figures come through their index.ts (see index.ts).
 */

/** A clock with its region, as the monitor reads it: what the deadline list reads, and its state. */
export interface ClockRow extends Omit<DeadlineTableRow, 'calendar_warning'> {
  region_id: number;
  state: string;
  closed_at: string | null;
}

/** Every clock of the actor's region subtree (`core_deadline as d`, its region `g`). */
export function clocksInScope(db: Conn, actor: Pick<Actor, 'regionPath'>): Knex.QueryBuilder {
  return db('core_deadline as d')
    .join('core_region as g', 'g.id', 'd.region_id')
    .where('g.path', 'like', `${actor.regionPath}%`)
    .select('d.id', 'd.rule', 'd.object_type', 'd.object_id', 'd.title', 'd.region_id', 'g.name as region_name', 'd.responsible_roles', 'd.started_on', 'd.due_on', 'd.days', 'd.unit', 'd.state', 'd.closed_at');
}

export interface MonitorFilter {
  rule: string | null;
  unit: number | null;
  overdue: boolean;
}

/** The open clocks of the actor's scope, narrowed by the monitor's filters; overdue: due before `today`. */
export function openClocksQuery(db: Conn, actor: Pick<Actor, 'regionPath'>, filter: Partial<MonitorFilter>, today: string): Knex.QueryBuilder {
  const q = clocksInScope(db, actor).where('d.state', 'open');
  if (filter.rule) q.where('d.rule', filter.rule);
  if (filter.unit) q.where('d.region_id', filter.unit);
  if (filter.overdue) q.where('d.due_on', '<', today);
  return q;
}

/** How many open clocks of the scope are overdue, by rule, with the earliest due date of each. */
export async function overdueByRule(db: Conn, actor: Actor, today: string): Promise<{ rule: string; count: number; earliest: string }[]> {
  const rows = (await openClocksQuery(db, actor, { overdue: true }, today).clearSelect().groupBy('d.rule').select('d.rule').count({ n: '*' }).min({ earliest: 'd.due_on' })) as { rule: string; n: number | string; earliest: string }[];
  return rows.map((r) => ({ rule: r.rule, count: Number(r.n), earliest: r.earliest }));
}

/** How many open clocks of the scope are overdue, by unit (region and responsible roles), with the earliest due date. */
export async function overdueByUnit(db: Conn, actor: Actor, today: string): Promise<{ region_id: number; region_name: string; responsible_roles: string; count: number; earliest: string }[]> {
  const rows = (await openClocksQuery(db, actor, { overdue: true }, today)
    .clearSelect()
    .groupBy('d.region_id', 'g.name', 'd.responsible_roles')
    .select('d.region_id', 'g.name as region_name', 'd.responsible_roles')
    .count({ n: '*' })
    .min({ earliest: 'd.due_on' })) as { region_id: number; region_name: string; responsible_roles: string; n: number | string; earliest: string }[];
  return rows.map((r) => ({ ...r, count: Number(r.n) })).sort((a, b) => b.count - a.count || a.earliest.localeCompare(b.earliest));
}

/** Open and overdue clocks of the scope in all. */
export async function clockCounts(db: Conn, actor: Actor, today: string): Promise<{ open: number; overdue: number }> {
  return { open: await countRows(openClocksQuery(db, actor, {}, today)), overdue: await countRows(openClocksQuery(db, actor, { overdue: true }, today)) };
}

/**
 * The clocks of the scope closed as done (not cancelled: no longer due) since the first day of `fromMonth`, narrowed
 * by the monitor's rule and unit: the timeliness table counts them by the month they were closed in.
 */
export async function closedClocksSince(db: Conn, actor: Actor, fromMonth: string, filter: Partial<MonitorFilter>): Promise<ClockRow[]> {
  const q = clocksInScope(db, actor).where('d.state', 'done').where('d.closed_at', '>=', startOfBusinessDateIso(`${fromMonth}-01`));
  if (filter.rule) q.where('d.rule', filter.rule);
  if (filter.unit) q.where('d.region_id', filter.unit);
  return (await q.orderBy('d.id')) as ClockRow[];
}

/** The regions the clocks of the scope stand in (the monitor's unit filter), by name. */
export async function clockRegions(db: Conn, actor: Actor): Promise<{ value: number; label: string }[]> {
  const rows = (await clocksInScope(db, actor).clearSelect().distinct('d.region_id', 'g.name', 'g.path').orderBy('g.path')) as { region_id: number; name: string }[];
  return rows.map((r) => ({ value: r.region_id, label: r.name }));
}

/** A user holding a role in a region: who answers for a unit's clocks. */
export interface Holder {
  region_id: number;
  role: Role;
  display_name: string;
  org_name: string | null;
}

/** The enabled users of these regions holding any of these roles (their organisation's name for a department or bank). */
export async function roleHolders(db: Conn, regionIds: readonly number[], roles: readonly string[]): Promise<Holder[]> {
  if (regionIds.length === 0 || roles.length === 0) return [];
  return (await db('core_user as u')
    .join('core_user_role as ur', 'ur.user_id', 'u.id')
    .leftJoin('core_org as o', 'o.id', 'u.org_id')
    .whereIn('u.region_id', [...new Set(regionIds)])
    .whereIn('ur.role', [...new Set(roles)])
    .where('u.disabled', false)
    .orderBy('u.id')
    .select('u.region_id', 'ur.role', 'u.display_name', 'o.name as org_name')) as Holder[];
}
