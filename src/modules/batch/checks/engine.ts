import { type Tx, bulkInsert, nowIso } from '../../../core/db.ts';
import { referenceHitsOf, registryFactsById } from '../../beneficiary/index.ts';
import { versionsById } from '../../policy/index.ts';
import { type LineRow, type RosterRow, type RoundRow, asLine } from '../repo.ts';
import { alreadyPaid } from './already-paid.ts';
import { budget } from './budget.ts';
import { deceasedOrMoved } from './deceased-or-moved.ts';
import { duplicateInRound } from './duplicate-in-round.ts';
import { exclusivePolicies } from './exclusive-policies.ts';
import { holderMismatch } from './holder-mismatch.ts';
import { householdHead } from './household-head.ts';
import { noAccount } from './no-account.ts';
import { overStandard } from './over-standard.ts';
import { publicEmployee } from './public-employee.ts';
import { registryChanged, registryRenamed } from './registry-changed.ts';
import type { CheckContext, CheckRule } from './rule.ts';
import { sharedAccount } from './shared-account.ts';
import { unknownPerson } from './unknown-person.ts';

/** Every rule, in the order findings are listed. A county's own rule is one more file and one more entry here. */
export const RULES: CheckRule[] = [
  unknownPerson,
  deceasedOrMoved,
  noAccount,
  holderMismatch,
  householdHead,
  registryChanged,
  duplicateInRound,
  alreadyPaid,
  exclusivePolicies,
  overStandard,
  publicEmployee,
  budget,
  sharedAccount,
  registryRenamed,
];

const CHECKED_COLUMNS = ['id', 'person_id', 'account_id', 'account_index', 'account_last4', 'holder_name', 'person_name', 'tier_name', 'standard_fen', 'quantity_milli', 'amount_fen', 'reissue', 'changed_after_publicity'];

export const RULE_LABELS: Record<string, string> = Object.fromEntries(RULES.map((r) => [r.code, r.label]));

/** The rules whose findings the finance section's release decides on (CheckRule.decidedAtRelease): shown, not counted as waiting. */
export const DECIDED_AT_RELEASE = RULES.filter((r) => r.decidedAtRelease).map((r) => r.code);

export interface CheckSummary {
  blocking: number;
  /** Open warnings waiting for the finance office's explanation (not those the release decides on). */
  warnings: number;
  /** Warnings accepted with a reason that are still found. */
  resolved: number;
}

/**
 * Run every rule over a roster's active lines, in the caller's transaction, and reconcile with the findings on
 * record: a finding still found keeps its state (an accepted warning stays accepted), one no longer found is
 * cleared, a new one is opened. Set-based: the registry and the marks are read once for all lines.
 */
export async function runChecks(trx: Tx, round: RoundRow, roster: RosterRow): Promise<CheckSummary> {
  // Only the columns the rules read: a roster can hold hundreds of thousands of lines.
  const lines = ((await trx('batch_line').where({ roster_id: roster.id, state: 'active' }).orderBy('id').select(CHECKED_COLUMNS)) as LineRow[]).map(asLine);
  const people = lines.map((l) => l.person_id);
  const facts = new Map((await registryFactsById(trx, people)).map((f) => [f.personId, f]));
  const hits = new Map<number, Awaited<ReturnType<typeof referenceHitsOf>>>();
  for (const h of await referenceHitsOf(trx, people)) {
    const mine = hits.get(h.person_id);
    if (mine) mine.push(h);
    else hits.set(h.person_id, [h]);
  }
  const [version] = await versionsById(trx, [round.policy_version_id]);
  const ctx: CheckContext = { db: trx, round, roster, lines, facts, hits, version: version! };

  const found = new Map<string, { rule: CheckRule; lineId: number | null; message: string }>();
  for (const rule of RULES) {
    for (const f of await rule.check(ctx)) found.set(`${f.lineId ?? ''}|${rule.code}`, { rule, lineId: f.lineId, message: f.message.slice(0, 300) });
  }

  const now = nowIso();
  const existing: { id: number; line_id: number | null; rule: string; message: string }[] = await trx('batch_finding').where({ roster_id: roster.id }).whereIn('state', ['open', 'resolved']).select('id', 'line_id', 'rule', 'message');
  const kept = new Set<string>();
  const cleared: number[] = [];
  for (const e of existing) {
    const key = `${e.line_id ?? ''}|${e.rule}`;
    const still = found.get(key);
    if (!still) cleared.push(e.id);
    else {
      kept.add(key);
      if (still.message !== e.message) await trx('batch_finding').where({ id: e.id }).update({ message: still.message });
    }
  }
  for (let i = 0; i < cleared.length; i += 5_000) await trx('batch_finding').whereIn('id', cleared.slice(i, i + 5_000)).update({ state: 'cleared' });
  const fresh = [...found].filter(([key]) => !kept.has(key)).map(([, f]) => f);
  await bulkInsert(trx, 'batch_finding', fresh, (f) => ({ roster_id: roster.id, line_id: f.lineId, rule: f.rule.code, severity: f.rule.severity, message: f.message, state: 'open', found_at: now }));
  await trx('batch_roster').where({ id: roster.id }).update({ checked_at: now });

  const summary = { blocking: 0, warnings: 0, resolved: 0 };
  for (const row of (await trx('batch_finding').where({ roster_id: roster.id }).whereIn('state', ['open', 'resolved']).groupBy('severity', 'state', 'rule').select('severity', 'state', 'rule').count({ n: '*' })) as { severity: string; state: string; rule: string; n: number }[]) {
    if (row.state === 'resolved') summary.resolved += row.n;
    else if (DECIDED_AT_RELEASE.includes(row.rule)) continue;
    else if (row.severity === 'blocking') summary.blocking += row.n;
    else summary.warnings += row.n;
  }
  return summary;
}
