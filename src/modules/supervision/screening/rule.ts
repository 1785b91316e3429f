import type { Knex } from 'knex';
import type { Conn } from '../../../core/db.ts';
import type { ScreeningScope } from '../../batch/index.ts';

/**
 * One screening rule (大数据比对筛查): a file of its own in this folder, listed in SCREENING_RULES (engine.ts), as the
 * batch checks are. A rule reads the period's paid lines, set-based, and returns its hits; it writes nothing.
 */
export interface ScreeningContext {
  db: Conn;
  scope: ScreeningScope;
  /**
   * The period's paid lines in scope (batch's paidLinesOfPeriod): a fresh query each call, nothing selected, aliases
   * `l` (line), `r` (round), `s` (roster), `t` (the roster's township).
   */
  lines: () => Knex.QueryBuilder;
}

export interface ScreeningHit {
  /**
   * What the hit is about, stable from one run to the next (e.g. `person:12`): with the rule's code it names the
   * finding (`supervision_finding.source_ref`), so that a re-run finds the same finding again instead of opening another.
   */
  subject: string;
  /** The line the finding is assigned by: that line's township answers, with its round's department. */
  lineId: number;
  title: string;
  /** What was found, in words a township can check (names and ID numbers masked as on staff screens). */
  evidence: string;
  /** The lines concerned (the finding's evidence keeps the first 200). */
  lineIds: number[];
  /** The money concerned, in fen (what was paid on those lines). */
  amountFen: number;
}

export interface ScreeningRule {
  code: string;
  label: string;
  /** What the rule looks for, as the screening page explains it. */
  description: string;
  run(ctx: ScreeningContext): Promise<ScreeningHit[]>;
}

/** How many items a hit's evidence names before it says "等 N 项" (the finding's lines keep them all). */
const LISTED = 30;

/** Items joined for a hit's evidence, at most LISTED of them. */
export function listed(items: string[], separator = '、'): string {
  return items.length <= LISTED ? items.join(separator) : `${items.slice(0, LISTED).join(separator)}${separator}等 ${items.length} 项`;
}
