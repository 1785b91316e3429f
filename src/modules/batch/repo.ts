import { refuse } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Conn, Db } from '../../core/db.ts';
import { NotFoundError } from '../../core/errors.ts';
import type { Fen } from '../../core/money.ts';
import { isPathInScope } from '../../core/regions.ts';
import type { RosterState, RoundState } from './model.ts';
import { can } from './policy.ts';

/** Rows of the batch tables as the module reads them. */
export interface RoundRow {
  id: number;
  county_id: number;
  county_path: string;
  policy_item_id: number;
  policy_version_id: number;
  department_org_id: number;
  department_name: string;
  kind: 'regular' | 'reissue';
  title: string;
  period: string;
  period_year: number;
  period_end: string;
  payee: 'person' | 'household';
  unit: string;
  /** 救助类, as the policy version said when the round was opened: the public-employee check runs. */
  means_tested: boolean;
  /** Opened as 应急救助（事后公示）(only under a 突发灾害应急救助 policy): rosters paid first, publicised after release. */
  expedited: boolean;
  state: RoundState;
  bank_org_id: number | null;
  /** The department's payment plan (用款计划) the release refers to: number, amount in fen, date; null until entered. */
  payment_plan_no: string | null;
  payment_plan_fen: Fen | null;
  payment_plan_date: string | null;
  created_by: number;
  created_at: string;
  updated_at: string;
  version: number;
}

export interface RosterRow {
  id: number;
  round_id: number;
  township_id: number;
  township_name: string;
  township_path: string;
  state: RosterState;
  last_changed_by: number | null;
  last_changed_at: string | null;
  /** The department user who last approved the roster (either approval step); null before. */
  approved_by: number | null;
  publicity_start: string | null;
  publicity_end: string | null;
  return_reason: string | null;
  checked_at: string | null;
  version: number;
}

export interface LineRow {
  id: number;
  roster_id: number;
  round_id: number;
  person_id: number;
  household_id: number | null;
  village_id: number;
  person_name: string;
  id_masked: string;
  id_index: string;
  account_id: number | null;
  account_index: string | null;
  account_last4: string | null;
  bank_name: string | null;
  holder_name: string | null;
  policy_version_id: number;
  tier_name: string;
  standard_fen: Fen;
  quantity_milli: number;
  amount_fen: Fen;
  state: 'active' | 'returned' | 'removed';
  return_reason: string | null;
  changed_after_publicity: boolean;
  reissue: boolean;
  source: string;
  version: number;
}

export function roundQuery(db: Conn) {
  return db('batch_round as r')
    .join('core_region as c', 'c.id', 'r.county_id')
    .join('core_org as o', 'o.id', 'r.department_org_id')
    .select('r.*', 'c.path as county_path', 'o.name as department_name');
}

export function rosterQuery(db: Conn) {
  return db('batch_roster as s').join('core_region as t', 't.id', 's.township_id').select('s.*', 't.name as township_name', 't.path as township_path');
}

const booleans = <T extends object>(row: T, ...keys: (keyof T)[]): T => {
  for (const k of keys) (row as Record<keyof T, unknown>)[k] = Boolean(row[k]);
  return row;
};

export const asRound = (row: RoundRow) => booleans(row, 'means_tested', 'expedited');
export const asLine = (row: LineRow) => booleans(row, 'changed_after_publicity', 'reissue');

/**
 * A round the actor may see: county users see their county's rounds, township users the rounds with a roster
 * of theirs (every round has one per township), a department its own rounds only (policy.ts 'read_round').
 * Out of scope: 403 and an audit row.
 */
export async function roundInScope(db: Db, actor: Actor, roundId: number): Promise<RoundRow> {
  const round = (await roundQuery(db).where('r.id', roundId).first()) as RoundRow | undefined;
  if (!round) throw new NotFoundError('发放批次不存在');
  if (!isPathInScope(actor, round.county_path) && !actor.regionPath.startsWith(round.county_path)) {
    await refuse(db, actor, { objectType: 'round', objectId: roundId, summary: { reason: 'out_of_scope' } }, '该发放批次不在您的管辖范围内');
  }
  await refuseOtherDepartments(db, actor, round, { objectType: 'round', objectId: roundId });
  return asRound(round);
}

/** A roster in the actor's scope: its township's users, and the county's above them; a department's, of its own rounds. */
export async function rosterInScope(db: Db, actor: Actor, rosterId: number): Promise<{ roster: RosterRow; round: RoundRow }> {
  const roster = (await rosterQuery(db).where('s.id', rosterId).first()) as RosterRow | undefined;
  if (!roster) throw new NotFoundError('清册不存在');
  if (!isPathInScope(actor, roster.township_path)) {
    await refuse(db, actor, { objectType: 'roster', objectId: rosterId, summary: { reason: 'out_of_scope' } }, '该清册不在您的管辖范围内');
  }
  const round = asRound((await roundQuery(db).where('r.id', roster.round_id).first()) as RoundRow);
  await refuseOtherDepartments(db, actor, round, { objectType: 'roster', objectId: rosterId });
  return { roster, round };
}

/** Another department's round, its rosters and lines: refused like another region's (403, audited as out of scope). */
async function refuseOtherDepartments(db: Db, actor: Actor, round: RoundRow, target: { objectType: string; objectId: number }): Promise<void> {
  const decision = can(actor, 'read_round', round);
  if (!decision.ok) await refuse(db, actor, { ...target, summary: { reason: 'out_of_scope' } }, decision.reason);
}

/**
 * A roster and its round, whoever asks: for the public check of a printed publicity sheet, which shows only what the
 * sheet itself printed (callers present public facts only). Staff pages use rosterInScope.
 */
export async function rosterAndRound(db: Conn, rosterId: number): Promise<{ roster: RosterRow; round: RoundRow } | undefined> {
  const roster = (await rosterQuery(db).where('s.id', rosterId).first()) as RosterRow | undefined;
  if (!roster) return undefined;
  return { roster, round: asRound((await roundQuery(db).where('r.id', roster.round_id).first()) as RoundRow) };
}

/** Where rosters stand (state and publicity dates), by id: for the modules that show what a roster's state means. */
export async function rosterStates(db: Conn, rosterIds: number[]): Promise<Map<number, { state: RosterState; publicity_start: string | null; publicity_end: string | null }>> {
  const rows: { id: number; state: RosterState; publicity_start: string | null; publicity_end: string | null }[] = rosterIds.length ? await db('batch_roster').whereIn('id', rosterIds).select('id', 'state', 'publicity_start', 'publicity_end') : [];
  return new Map(rows.map((r) => [r.id, r]));
}
