import { type Conn, type Tx, bulkInsert, nowIso } from '../../../core/db.ts';
import { giveWay } from '../../../core/give-way.ts';
import { type CheckFacts, checkFactsOf, factsAsCompiled, referenceHitsOf, registryDiffsOf } from '../../beneficiary/index.ts';
import { versionsById } from '../../policy/index.ts';
import { type LineRow, type RosterRow, type RoundRow, asLine } from '../repo.ts';
import { alreadyPaid } from './already-paid.ts';
import { bankVerdict } from './bank-verdict.ts';
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
  bankVerdict,
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

/**
 * Lines read per query when the checks load a roster (see findOnRoster; a test sets it lower to check across
 * pages): turning a page and its people's registry facts into objects holds the event loop for about 25 ms at this
 * size (100 ms at 10,000), which is what a page view waits behind while a large round is released.
 */
export const CHECK_READS = { linesPerPage: 2_500 };

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

/** What the rules find on a roster now, by `<lineId>|<rule>` (computed, nothing written). */
type Found = Map<string, { rule: CheckRule; lineId: number | null; message: string }>;

/** Round-wide reads shared by the rosters of a round checked together in one transaction (CheckContext.roundWide). */
export type RoundReads = Map<string, Promise<unknown>>;

/** Run `rules` over a roster's active lines, set-based: the registry and the marks are read once for all lines. */
async function findOnRoster(db: Conn, round: RoundRow, roster: RosterRow, rules: CheckRule[], roundReads: RoundReads = new Map()): Promise<Found> {
  // Only the columns the rules read, a page at a time: a roster can hold hundreds of thousands of lines, and turning
  // them into objects in one piece would hold up every other request for a second or more.
  // With each page, the registry and the marks of its people, compared and joined in the database (set-based, no ids
  // sent back) and read a page at a time for the same reason: the registry's facts come back only for the people whose
  // registry differs from their line, the others' are their line's (factsAsCompiled). A person whose line was not
  // there when the facts were read is read by id, so that every line has its facts.
  const lines: LineRow[] = [];
  const facts = new Map<number, CheckFacts>();
  const absent = new Set<number>();
  const hits = new Map<number, Awaited<ReturnType<typeof referenceHitsOf>>>();
  for (let after = 0; ; ) {
    const page = (await db('batch_line').where({ roster_id: roster.id, state: 'active' }).where('id', '>', after).orderBy('id').limit(CHECK_READS.linesPerPage).select(CHECKED_COLUMNS)) as LineRow[];
    for (const line of page) lines.push(asLine(line));
    if (page.length) {
      const onPage = db('batch_line').where({ roster_id: roster.id, state: 'active' }).where('id', '>', after).where('id', '<=', page.at(-1)!.id);
      // Each read keeps a core of the database server busy for some 10 ms (PostgreSQL), the one a page view's queries
      // need on a 2-core machine: the page views that came in meanwhile go first before each, not only after the page.
      await giveWay();
      const { differing, missing } = await registryDiffsOf(db, onPage.clone().select('person_id', 'person_name', 'account_index', 'account_last4'), roster.township_id);
      for (const f of differing) facts.set(f.personId, f);
      for (const personId of missing) absent.add(personId);
      for (const line of page) if (!facts.has(line.person_id) && !absent.has(line.person_id)) facts.set(line.person_id, factsAsCompiled(line, roster.township_id));
      const pageHits = new Map<number, Awaited<ReturnType<typeof referenceHitsOf>>>();
      await giveWay();
      for (const h of await referenceHitsOf(db, onPage.select('person_id'))) {
        const mine = pageHits.get(h.person_id);
        if (mine) mine.push(h);
        else pageHits.set(h.person_id, [h]);
      }
      // A person with lines on two pages has their marks read twice: kept from the first.
      for (const [personId, marks] of pageHits) if (!hits.has(personId)) hits.set(personId, marks);
    }
    if (page.length < CHECK_READS.linesPerPage) break;
    after = page.at(-1)!.id;
    await giveWay();
  }
  const missing = [...new Set(lines.map((l) => l.person_id).filter((id) => !facts.has(id) && !absent.has(id)))];
  for (const f of await checkFactsOf(db, missing)) facts.set(f.personId, f);
  const [version] = await versionsById(db, [round.policy_version_id]);
  const roundWide = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    const known = roundReads.get(`${round.id}|${key}`);
    if (known) return known as Promise<T>;
    const reading = read();
    roundReads.set(`${round.id}|${key}`, reading);
    return reading;
  };
  const ctx: CheckContext = { db, round, roster, lines, facts, hits, version: version!, roundWide };

  const found: Found = new Map();
  for (const rule of rules) {
    for (const f of await rule.check(ctx)) found.set(`${f.lineId ?? ''}|${rule.code}`, { rule, lineId: f.lineId, message: f.message.slice(0, 300) });
    // A rule's pass over a large roster takes up to 100 ms: the page views that came in meanwhile go first.
    await giveWay();
  }
  return found;
}

/** The rules the supervisors' screening runs again over paid rounds (CheckRule.notScreened says why the others are not). */
export const SCREENED_RULES = RULES.filter((r) => r.notScreened === undefined);

export interface ScreenedFinding {
  rule: string;
  label: string;
  severity: 'blocking' | 'warning';
  lineId: number;
  message: string;
}

/**
 * The supervisors' screening (大数据比对筛查) of a released roster: the rules that still mean something about a past
 * payment, run again now, computed and not recorded here. A warning the finance office explained at the time (accepted
 * with its reason) is not found again.
 */
export async function screenRoster(db: Conn, round: RoundRow, roster: RosterRow): Promise<ScreenedFinding[]> {
  const found = await findOnRoster(db, round, roster, SCREENED_RULES);
  const explained = new Set(((await db('batch_finding').where({ roster_id: roster.id, state: 'resolved' }).select('line_id', 'rule')) as { line_id: number | null; rule: string }[]).map((e) => `${e.line_id ?? ''}|${e.rule}`));
  return [...found]
    .filter(([key, f]) => f.lineId !== null && !(f.rule.severity === 'warning' && explained.has(key)))
    .map(([, f]) => ({ rule: f.rule.code, label: f.rule.label, severity: f.rule.severity, lineId: f.lineId!, message: f.message }));
}

/**
 * Run every rule over a roster's active lines, in the caller's transaction, and reconcile with the findings on
 * record: a finding still found keeps its state (an accepted warning stays accepted), one no longer found is
 * cleared, a new one is opened. A caller checking several rosters of a round in one transaction passes the same
 * `roundReads` to each, so that what the rules read about the whole round is read once.
 */
export async function runChecks(trx: Tx, round: RoundRow, roster: RosterRow, roundReads?: RoundReads): Promise<CheckSummary> {
  const found = await findOnRoster(trx, round, roster, RULES, roundReads);

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
