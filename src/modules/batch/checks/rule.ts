import type { Conn } from '../../../core/db.ts';
import type { CheckFacts, ReferenceHit } from '../../beneficiary/index.ts';
import type { PolicyVersion } from '../../policy/index.ts';
import type { LineRow, RosterRow, RoundRow } from '../repo.ts';

/**
 * One cross-check rule (复核比对): a file of its own in this folder, listed in RULES (engine.ts). A rule reads
 * the context, set-based, and returns its findings; it writes nothing. A county adds a rule by adding a file.
 */
export interface CheckContext {
  db: Conn;
  round: RoundRow;
  roster: RosterRow;
  /** The roster's active lines, with the columns the rules read (engine.ts CHECKED_COLUMNS). */
  lines: LineRow[];
  /** The registry as it is now, by person id (absent: not in the registry). */
  facts: Map<number, CheckFacts>;
  /** Other departments' current marks, by person id. */
  hits: Map<number, ReferenceHit[]>;
  /** The policy version the round is paid under. */
  version: PolicyVersion;
  /**
   * A read about the whole round (not this roster), made once for all the rosters checked together (a round's
   * submission or release checks every roster in one transaction, where the round's lines do not change).
   */
  roundWide<T>(key: string, read: () => Promise<T>): Promise<T>;
}

export interface Finding {
  /** null: a finding about the roster or the round as a whole (the budget). */
  lineId: number | null;
  message: string;
}

export interface CheckRule {
  code: string;
  label: string;
  severity: 'blocking' | 'warning';
  /**
   * A warning no township or department step waits on, because nobody there can settle it (the allocation is the
   * finance bureau's, Haicheng 二 8–9): it is shown, not counted among the warnings to explain; the finance
   * section's release blocks on it itself (round-workflow.ts).
   */
  decidedAtRelease?: boolean;
  /**
   * Why the supervisors' screening (大数据比对筛查) does not run this rule again over paid rounds, when it does not:
   * a rule that compares a line with the registry as it is now says nothing about a payment made before.
   */
  notScreened?: string;
  check(ctx: CheckContext): Promise<Finding[]> | Finding[];
}
