import type { Knex } from 'knex';
import { type Actor, ROLE_LABELS, type Role, hasRole } from './auth/roles.ts';
import { type AuditWho, recordAudit } from './audit.ts';
import { loadCalendar } from './calendar.ts';
import { businessDate } from './dates.ts';
import { type Conn, type Db, type Tx, countRows, inTransaction, insertReturningId, nowIso } from './db.ts';
import { ValidationError } from './errors.ts';
import type { WorkQueue } from './module.ts';
import { whereRegionInScope } from './regions.ts';
import { settingFor } from './settings.ts';

/**
 * Deadlines (限时办理): one table of clocks, each started by a module when work becomes due (a failed payment
 * to correct, a refund to make) and closed when the work is done. Core holds only the mechanism: each module
 * declares its rules in its AppModule (`deadlineRules`) and hands the rule to openDeadline; the composition root
 * collects them all (DeadlineRules) for the pages that list, count and set them. The length of each rule is a
 * setting per county, with the policy documents' values as defaults. Overdue clocks show on the responsible role's
 * home page and on the supervisor's.
 */
export interface DeadlineRule {
  code: string;
  label: string;
  /** Default length, from the documents. */
  days: number;
  unit: 'working' | 'calendar';
  responsible: Role[];
  /** Where the default comes from. */
  basis: string;
  /** The page of the thing a clock waits on (its object type and id), where the work is done. */
  href: (objectType: string, objectId: string) => string;
}

/** Every module's rules, as the composition root collected them; a code is declared once. */
export class DeadlineRules {
  private readonly byCode = new Map<string, DeadlineRule>();

  constructor(rules: readonly DeadlineRule[]) {
    for (const rule of rules) {
      if (this.byCode.has(rule.code)) throw new Error(`deadline rule ${rule.code} declared twice`);
      this.byCode.set(rule.code, rule);
    }
  }

  all(): DeadlineRule[] {
    return [...this.byCode.values()];
  }

  get(code: string): DeadlineRule | undefined {
    return this.byCode.get(code);
  }
}

export const settingKey = (rule: string) => `deadline.${rule}.days`;

/** The rule's length in force for a region: the nearest setting up the tree, else the documents' default. */
export async function ruleLength(db: Conn, regionId: number, rule: DeadlineRule): Promise<number> {
  const value = await settingFor(db, regionId, settingKey(rule.code));
  return value === null ? rule.days : Number(value);
}

export interface OpenDeadline {
  /** The opening module's rule. */
  rule: DeadlineRule;
  objectType: string;
  objectId: string | number;
  regionId: number;
  /** What is due, in Chinese, without personal data (the object's page shows who). */
  title: string;
  /** Business date the clock starts on; today by default. */
  startedOn?: string;
}

/**
 * Start a clock inside the caller's transaction. At most one clock per rule and object is open; starting it
 * again returns the open one. A due date that passes through a year with no official calendar carries a
 * warning, never a silent guess.
 */
export async function openDeadline(trx: Tx, who: AuditWho, input: OpenDeadline): Promise<{ id: number; dueOn: string; warning: string | null }> {
  const { rule } = input;
  const openKey = `${rule.code}:${input.objectType}:${input.objectId}`;
  const existing: { id: number; due_on: string; calendar_warning: string | null } | undefined = await trx('core_deadline').where({ open_key: openKey }).first('id', 'due_on', 'calendar_warning');
  if (existing) return { id: existing.id, dueOn: existing.due_on, warning: existing.calendar_warning };
  const startedOn = input.startedOn ?? businessDate();
  const days = await ruleLength(trx, input.regionId, rule);
  let dueOn: string;
  let warning: string | null = null;
  if (rule.unit === 'working') {
    const due = (await loadCalendar(trx)).addWorkingDays(startedOn, days);
    dueOn = due.date;
    if (due.unknownYears.length) warning = `${due.unknownYears.join('、')}年尚无官方节假日安排，到期日按周一至周五推算，请在“工作日历”中载入当年安排`;
  } else {
    const d = new Date(`${startedOn}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + days);
    dueOn = d.toISOString().slice(0, 10);
  }
  const id = await insertReturningId(trx, 'core_deadline', {
    rule: rule.code,
    object_type: input.objectType,
    object_id: String(input.objectId),
    region_id: input.regionId,
    title: input.title,
    responsible_roles: rule.responsible.join(','),
    started_on: startedOn,
    due_on: dueOn,
    days,
    unit: rule.unit,
    calendar_warning: warning,
    state: 'open',
    open_key: openKey,
    created_at: nowIso(),
  });
  await recordAudit(trx, who, { action: 'deadline.open', objectType: 'deadline', objectId: id, summary: { rule: rule.code, object: openKey, due_on: dueOn, warning } });
  return { id, dueOn, warning };
}

/** Stop a clock because the work is done (or no longer due): `rule` is the rule's code. Returns false if no clock was open. */
export async function closeDeadline(
  trx: Tx,
  who: AuditWho,
  input: { rule: string; objectType: string; objectId: string | number; outcome: 'done' | 'cancelled' },
): Promise<boolean> {
  const openKey = `${input.rule}:${input.objectType}:${input.objectId}`;
  const row = await trx('core_deadline').where({ open_key: openKey }).first('id', 'due_on');
  if (!row) return false;
  const updated = await trx('core_deadline')
    .where({ id: row.id, state: 'open' })
    .update({ state: input.outcome, open_key: null, closed_at: nowIso(), closed_by: who.userId });
  if (updated !== 1) return false;
  const late = businessDate() > row.due_on;
  await recordAudit(trx, who, { action: `deadline.${input.outcome}`, objectType: 'deadline', objectId: row.id, summary: { rule: input.rule, object: openKey, due_on: row.due_on, late } });
  return true;
}

const SYSTEM: AuditWho = { userId: null, username: 'ykt-scheduler', ip: null };

/**
 * The scheduler's sweep: every open clock past its due date is marked overdue once (an audit row each), which
 * puts it on the supervisor's list. Returns how many became overdue now and how many are overdue in all.
 */
export async function sweepDeadlines(db: Db, today = businessDate()): Promise<{ newlyOverdue: number; overdue: number }> {
  return inTransaction(db, async (trx) => {
    const due: { id: number; rule: string; object_type: string; object_id: string; region_id: number; due_on: string }[] = await trx('core_deadline')
      .where({ state: 'open' })
      .whereNull('overdue_since')
      .where('due_on', '<', today)
      .orderBy('id');
    const now = nowIso();
    for (const d of due) {
      const updated = await trx('core_deadline').where({ id: d.id, state: 'open' }).whereNull('overdue_since').update({ overdue_since: now });
      if (updated === 1) {
        await recordAudit(trx, { ...SYSTEM, regionId: d.region_id }, { action: 'deadline.overdue', objectType: 'deadline', objectId: d.id, summary: { rule: d.rule, object: `${d.object_type}:${d.object_id}`, due_on: d.due_on } });
      }
    }
    const overdue = await countRows(trx('core_deadline').where({ state: 'open' }).where('due_on', '<', today));
    return { newlyOverdue: due.length, overdue };
  });
}

/** Open clocks this actor answers for (their roles, their scope); a supervisor sees all of their scope. */
function visibleDeadlines(db: Conn, actor: Actor): Knex.QueryBuilder {
  const q = whereRegionInScope(db('core_deadline').where('core_deadline.state', 'open'), 'core_deadline.region_id', actor, db);
  if (!hasRole(actor, 'supervisor')) {
    q.where((w) => {
      for (const role of actor.roles) w.orWhere('responsible_roles', 'like', `%${role}%`);
    });
  }
  return q;
}

export interface DeadlineRow {
  id: number;
  rule: string;
  ruleLabel: string;
  title: string;
  region: string;
  responsible: string;
  startedOn: string;
  dueOn: string;
  length: string;
  overdue: boolean;
  warning: string | null;
  /** The page where the work is done. */
  href: string | null;
  /** The actor holds a role responsible for it: their turn. */
  yourTurn: boolean;
}

/** A clock as listDeadlines reads it, with its region's name. */
export interface DeadlineTableRow {
  id: number;
  rule: string;
  object_type: string;
  object_id: string;
  title: string;
  region_name: string;
  responsible_roles: string;
  started_on: string;
  due_on: string;
  days: number;
  unit: 'working' | 'calendar';
  calendar_warning: string | null;
}

export async function listDeadlines(db: Conn, actor: Actor, rules: DeadlineRules, options: { overdueOnly: boolean; page: number; pageSize?: number }): Promise<{ rows: DeadlineRow[]; total: number }> {
  const pageSize = options.pageSize ?? 50;
  const today = businessDate();
  const q = visibleDeadlines(db, actor).join('core_region', 'core_region.id', 'core_deadline.region_id');
  if (options.overdueOnly) q.where('core_deadline.due_on', '<', today);
  const total = await countRows(q);
  const rows: DeadlineTableRow[] = await q.select('core_deadline.*', 'core_region.name as region_name').orderBy([{ column: 'core_deadline.due_on' }, { column: 'core_deadline.id' }]).limit(pageSize).offset((options.page - 1) * pageSize);
  return {
    total,
    rows: rows.map((r) => ({
      id: r.id,
      rule: r.rule,
      ruleLabel: rules.get(r.rule)?.label ?? r.rule,
      href: rules.get(r.rule)?.href(r.object_type, r.object_id) ?? null,
      yourTurn: r.responsible_roles.split(',').some((role) => actor.roles.includes(role as Role)),
      title: r.title,
      region: r.region_name,
      responsible: r.responsible_roles.split(',').map((x) => ROLE_LABELS[x as Role] ?? x).join('、'),
      startedOn: r.started_on,
      dueOn: r.due_on,
      length: `${r.days}${r.unit === 'working' ? '个工作日' : '天'}`,
      overdue: r.due_on < today,
      warning: r.calendar_warning,
    })),
  };
}

/** The home page's line for deadlines: what is open for this actor, and how much of it is overdue. */
export async function deadlineQueues(db: Conn, actor: Actor, rules: DeadlineRules): Promise<WorkQueue[]> {
  if (!actor.roles.some((r) => r === 'supervisor' || rules.all().some((rule) => rule.responsible.includes(r)))) return [];
  const today = businessDate();
  const open = await countRows(visibleDeadlines(db, actor));
  const overdue = await countRows(visibleDeadlines(db, actor).where('due_on', '<', today));
  if (hasRole(actor, 'supervisor')) return overdue ? [{ title: '逾期未办（限时办理）', count: overdue, overdue, href: '/deadlines?overdue=1' }] : [];
  return open ? [{ title: '限时办理事项', count: open, overdue, href: '/deadlines' }] : [];
}

/** Validate a settings form of rule lengths: whole days, 1 to 60. Empty means "use the default". */
export function parseRuleLengths(rules: DeadlineRules, input: Record<string, unknown>): Record<string, string | null> {
  const values: Record<string, string | null> = {};
  const errors: Record<string, string> = {};
  for (const rule of rules.all()) {
    const raw = String(input[rule.code] ?? '').trim();
    if (raw === '') values[settingKey(rule.code)] = null;
    else if (!/^\d{1,2}$/.test(raw) || Number(raw) < 1 || Number(raw) > 60) errors[rule.code] = `“${rule.label}”的时限应为 1 到 60 之间的整数`;
    else values[settingKey(rule.code)] = String(Number(raw));
  }
  if (Object.keys(errors).length) throw new ValidationError(errors);
  return values;
}
