import type { Actor } from '../../core/auth/roles.ts';
import { hasRole } from '../../core/auth/roles.ts';
import { businessDate } from '../../core/dates.ts';
import { type Conn, selectInChunks } from '../../core/db.ts';
import { NotFoundError } from '../../core/errors.ts';
import { defineList } from '../../core/lists.ts';
import { type Fen, fen } from '../../core/money.ts';
import { isPathInScope } from '../../core/regions.ts';
import { type RoundRow, type TransferredRound, roundInScope, transferredRounds } from '../batch/index.ts';
import { type RegistryFacts, registryFactsById } from '../beneficiary/index.ts';
import { allocatedFen, versionsById, yearAllocations } from '../policy/index.ts';
import { BANK_DEADLINES } from './deadlines.ts';
import { type RoundLedger, roundLedger } from './ledger.ts';
import { type BankLineState, type CardReason, CORRECTION_OPEN_STATES, type DifferenceKind, FAILURE_STATES, REPAYMENT_OPEN_STATES, type FailureState, type FUNDS_LABELS } from './model.ts';
import { type SigningParty, can } from './policy.ts';
import { failureFilters } from './schemas.ts';

/**
 * The bank module's reads: rows for its pages, reports and commands, nothing changed here. Failed payments (the
 * cases in an actor's scope, one case, its events, the list with its filters) and a round as the bank sees it;
 * results, supplementary payouts, refunds and returns; quarterly reconciliations; the year-end clearing;
 * card-opening requests and completion receipts. The steps that change them are in failures.ts, results.ts,
 * reconcile.ts, clearing.ts, cards.ts and commands.ts; presenters.ts turns the rows into what the pages show.
 */

// ---------------------------------------------------------------------------------------------------------------
// Failed payments

export interface FailureRow {
  id: number;
  line_id: number;
  round_id: number;
  round_title: string;
  period: string;
  county_id: number;
  department_org_id: number;
  bank_org_id: number;
  person_id: number;
  person_name: string;
  id_masked: string;
  village_id: number;
  township_id: number;
  amount_fen: Fen;
  state: FailureState;
  funds: keyof typeof FUNDS_LABELS;
  attempt: number;
  failure_code: string;
  failure_reason: string;
  correction_note: string | null;
  account_id: number | null;
  account_last4: string | null;
  holder_name: string | null;
  corrected_by: number | null;
  verified_by: number | null;
  reviewed_by: number | null;
  deadline_key: string | null;
  refund_id: number | null;
  treasury_return_id: number | null;
  reissue_line_id: number | null;
  /** An early return (RETURN_GROUNDS) and its document; null otherwise. */
  return_ground: string | null;
  return_evidence: string | null;
  version: number;
  opened_at: string;
  updated_at: string;
}

/** Every case with its township and village names (callers narrow it: a scope, a county, a state). */
export function failedPaymentsQuery(db: Conn) {
  return db('bank_failure as f')
    .join('core_region as t', 't.id', 'f.township_id')
    .join('core_region as v', 'v.id', 'f.village_id')
    .select('f.*', 't.name as township_name', 't.path as township_path', 'v.name as village_name');
}

/** The cases in the actor's scope (a bank user: its rounds'). */
export function failuresQuery(db: Conn, actor: Actor) {
  const q = failedPaymentsQuery(db);
  if (hasRole(actor, 'bank')) return q.where('f.bank_org_id', actor.orgId ?? -1);
  q.where('t.path', 'like', `${actor.regionPath}%`);
  if (hasRole(actor, 'department') && actor.orgId !== null && !hasRole(actor, 'finance_section', 'treasury', 'township_station', 'township_finance', 'supervisor')) q.where('f.department_org_id', actor.orgId);
  return q;
}

export type FailureView = FailureRow & { township_name: string; township_path: string; village_name: string };

/** The failed-payments list (发放失败处理, core/lists.ts): the newest first; states sort in the order of the steps. */
export const failureList = defineList({
  path: '/bank/failures',
  filters: failureFilters,
  sorts: {
    name: { label: '收款人', by: ['f.person_name'] },
    amount: { label: '金额', by: ['f.amount_fen'], first: 'desc' },
    state: { label: '状态', by: [{ column: 'f.state', order: Object.keys(FAILURE_STATES) }] },
    opened: { label: '登记时间', by: ['f.opened_at'], first: 'desc' },
  },
  defaultSort: 'opened',
  defaultDir: 'desc',
  id: 'f.id',
});

export type FailureFilter = ReturnType<typeof failureList.parse>['filters'];

/** The cases in the actor's scope (failuresQuery), narrowed by the list's filters (those not given: all). */
export function failureListQuery(db: Conn, actor: Actor, filter: Partial<FailureFilter>) {
  const q = failuresQuery(db, actor);
  if (filter.state) q.where('f.state', filter.state);
  if (filter.township) q.where('f.township_id', filter.township);
  if (filter.round) q.where('f.round_id', filter.round);
  if (filter.overdue) q.whereExists(overdueClock(db, businessDate()));
  return q;
}

/** The supplementary payout lines the bank has not fetched yet (their correction clock still runs). */
const unfetchedLines = (db: Conn) => db('bank_supplement_line as sl').join('bank_supplement as s', 's.id', 'sl.supplement_id').whereNull('s.fetched_at').select('sl.failure_id');

/**
 * The clock a case waits on, open and past its due date — the conditions under which closeCorrectionIfDone,
 * closeGroupIfDone and closeRepaymentIfDone (failures.ts) keep it open: its group's correction clock until its
 * corrected line reaches the bank (fetched in a supplementary payout), its group's refund clock while the bank owes
 * the refund, its refund's repayment clock until the bank reports it paid (or failed) again.
 */
function overdueClock(db: Conn, today: string) {
  return db('core_deadline as d')
    .select(db.raw('1'))
    .where('d.state', 'open')
    .where('d.due_on', '<', today)
    .where((w) =>
      w
        .where((c) =>
          c
            .where('d.rule', BANK_DEADLINES.failure_correction.code)
            .whereRaw('d.object_id = f.deadline_key')
            .where((x) => x.whereIn('f.state', CORRECTION_OPEN_STATES).orWhere((r) => r.where('f.state', 'resend').whereIn('f.id', unfetchedLines(db)))),
        )
        .orWhere((c) => c.where('d.rule', BANK_DEADLINES.bank_refund.code).whereRaw('d.object_id = f.deadline_key').where('f.state', 'refund_due'))
        .orWhere((c) => c.where('d.rule', BANK_DEADLINES.repayment.code).whereRaw('d.object_id = cast(f.refund_id as varchar(20))').whereIn('f.state', REPAYMENT_OPEN_STATES)),
    );
}

export async function failureInScope(db: Conn, actor: Actor, failureId: number): Promise<FailureView> {
  const row = (await failuresQuery(db, actor).where('f.id', failureId).first()) as FailureView | undefined;
  if (!row) throw new NotFoundError('失败处理记录不存在或不在您的管辖范围内');
  return row;
}

/** How many cases are in each state, and their money, among those a query selects (failuresQuery, failureListQuery). */
export async function countsByState(q: ReturnType<typeof failuresQuery>): Promise<Map<FailureState, { count: number; totalFen: Fen }>> {
  const rows = (await q.clearSelect().groupBy('f.state').select('f.state').count({ n: '*' }).sum({ total: 'f.amount_fen' })) as { state: FailureState; n: number; total: Fen }[];
  return new Map(rows.map((r) => [r.state, { count: r.n, totalFen: r.total }]));
}

/** Which of the rounds the bank has answered (a result file is recorded for it). */
export async function roundsWithResults(db: Conn, roundIds: number[]): Promise<Set<number>> {
  return new Set(((await selectInChunks(roundIds, (chunk) => db('bank_result_file').whereIn('round_id', chunk).distinct('round_id'))) as { round_id: number }[]).map((r) => Number(r.round_id)));
}

/** The states in which a failed payment's case is settled: paid again, put in a reissue round, or its money back at the treasury. */
const SETTLED_FAILURE_STATES: FailureState[] = ['paid', 'reissued', 'returned'];
/** The others, named (an index on the state finds them; a year's settled cases are not read to be left out). */
const OPEN_FAILURE_STATES = (Object.keys(FAILURE_STATES) as FailureState[]).filter((s) => !SETTLED_FAILURE_STATES.includes(s));

/**
 * The failed payments still being worked on in the actor's scope (failuresQuery: every state but those settled), in
 * count and fen, and how many of them wait on a clock past its due date (the list's overdue filter): the
 * supervisor's overview.
 */
export async function openFailureTotals(db: Conn, actor: Actor): Promise<{ count: number; totalFen: Fen; overdue: number }> {
  const open = () => failureListQuery(db, actor, {}).whereIn('f.state', OPEN_FAILURE_STATES).clearSelect();
  const all = (await open().count({ n: '*' }).sum({ total: 'f.amount_fen' }).first()) as { n: number | string; total: Fen | null } | undefined;
  const late = (await failureListQuery(db, actor, { overdue: true }).whereIn('f.state', OPEN_FAILURE_STATES).clearSelect().count({ n: '*' }).first()) as { n: number | string } | undefined;
  return { count: Number(all?.n ?? 0), totalFen: fen(Number(all?.total ?? 0)), overdue: Number(late?.n ?? 0) };
}

/** The rounds with cases in the actor's scope, newest first (the list's filter). */
export async function failureRounds(db: Conn, actor: Actor): Promise<{ round_id: number; round_title: string }[]> {
  return failuresQuery(db, actor).clearSelect().distinct('f.round_id', 'f.round_title').orderBy('f.round_id', 'desc');
}

/** A failed line's case as the person's page reads it: its step, where its money is, and its reissue line if any. */
export interface LineCase {
  id: number;
  line_id: number;
  state: FailureState;
  funds: keyof typeof FUNDS_LABELS;
  reissue_line_id: number | null;
  /** Set when the money went back early because the person is no longer entitled (RETURN_GROUNDS): no reissue. */
  return_ground: string | null;
}

/** The cases of these payment lines, by line id (the person's page). */
export async function casesOfLines(db: Conn, lineIds: number[]): Promise<Map<number, LineCase>> {
  const rows: LineCase[] = await selectInChunks(lineIds, (chunk) => db('bank_failure').whereIn('line_id', chunk).select('id', 'line_id', 'state', 'funds', 'reissue_line_id', 'return_ground'));
  return new Map(rows.map((c) => [c.line_id, c]));
}

/** Of these payment lines, the reissue lines (补发), each with the original line whose returned money it pays again. */
export async function originalsOfReissues(db: Conn, lineIds: number[]): Promise<Map<number, number>> {
  const rows: { line_id: number; reissue_line_id: number }[] = await selectInChunks(lineIds, (chunk) => db('bank_failure').whereIn('reissue_line_id', chunk).select('line_id', 'reissue_line_id'));
  return new Map(rows.map((c) => [c.reissue_line_id, c.line_id]));
}

export interface FailureEventRow {
  action: string;
  from_state: FailureState | null;
  to_state: FailureState;
  note: string | null;
  at: string;
  /** Who took the step; null: the bank's result file. */
  display_name: string | null;
}

export async function failureEvents(db: Conn, failureId: number): Promise<FailureEventRow[]> {
  return db('bank_failure_event as e').leftJoin('core_user as u', 'u.id', 'e.actor_id').where('e.failure_id', failureId).orderBy('e.id').select('e.action', 'e.from_state', 'e.to_state', 'e.note', 'e.at', 'u.display_name');
}

export interface CaseDeadline {
  rule: string;
  object_type: string;
  object_id: string;
  title: string;
  started_on: string;
  due_on: string;
  state: string;
  closed_at: string | null;
}

/** The working-day clocks of a case: its group's (correction, refund) and its refund's repayment clock, oldest first. */
export async function caseDeadlines(db: Conn, failure: Pick<FailureRow, 'deadline_key' | 'refund_id'>): Promise<CaseDeadline[]> {
  return db('core_deadline')
    .where({ object_type: 'bank_failure_group', object_id: failure.deadline_key ?? '' })
    .orWhere((w) => w.where({ object_type: 'bank_refund', object_id: String(failure.refund_id ?? '') }))
    .orderBy('id')
    .select('rule', 'object_type', 'object_id', 'title', 'started_on', 'due_on', 'state', 'closed_at');
}

/** The supplementary payout that carries a case's latest attempt, and when the bank first fetched it (null: not yet). */
export async function caseSupplement(db: Conn, failure: Pick<FailureRow, 'id' | 'attempt'>): Promise<{ seq: number; fetched_at: string | null; needs_transfer: boolean; transferred_at: string | null } | null> {
  const row = await db('bank_supplement_line as sl').join('bank_supplement as s', 's.id', 'sl.supplement_id').where({ 'sl.failure_id': failure.id, 'sl.attempt': failure.attempt }).first('s.seq', 's.fetched_at', 's.needs_transfer', 's.transferred_at');
  return row ? { ...row, needs_transfer: Boolean(row.needs_transfer) } : null;
}

/** The township finance office's imported files of corrected lines of a township, newest first. */
export async function correctionFilesOf(db: Conn, townshipId: number): Promise<{ file_name: string; lines: number; uploaded_at: string; display_name: string | null }[]> {
  return db('bank_correction_file as c').leftJoin('core_user as u', 'u.id', 'c.uploaded_by').where('c.township_id', townshipId).orderBy('c.id', 'desc').limit(20).select('c.file_name', 'c.lines', 'c.uploaded_at', 'u.display_name');
}

/** The cases whose money went back to the treasury, from a query of cases (failuresQuery, failedPaymentsQuery): the public list's order. */
export async function returnedCases(q: ReturnType<typeof failedPaymentsQuery>): Promise<FailureView[]> {
  // A person no longer entitled (an early return, RETURN_GROUNDS) is not asked to come forward.
  return (await q.where('f.state', 'returned').whereNull('f.return_ground').orderBy('t.path').orderBy('v.name').orderBy('f.id').limit(5000)) as FailureView[];
}

/** Supplements of refunded lines the treasury has not sent the money of yet, in the actor's scope. */
export async function supplementsAwaitingTransfer(db: Conn, actor: Actor): Promise<{ count: number; totalFen: Fen }> {
  const inScope = db('bank_supplement_line as sl').join('bank_failure as f', 'f.id', 'sl.failure_id').join('core_region as c', 'c.id', 'f.county_id').where('c.path', 'like', `${actor.regionPath}%`).select('sl.supplement_id');
  const row = (await db('bank_supplement').where({ needs_transfer: true }).whereNull('transferred_at').whereIn('id', inScope).count({ n: '*' }).sum({ total: 'amount_fen' }).first()) as { n: number; total: Fen | null } | undefined;
  // A sum over no rows is null: nothing awaits.
  return { count: row?.n ?? 0, totalFen: row?.total ?? fen(0) };
}

/** A round in the actor's scope; for a bank user, only one released to its bank. */
export async function bankRoundInScope(db: Conn, actor: Actor, roundId: number): Promise<RoundRow> {
  const round = await roundInScope(db, actor, roundId);
  if (!can(actor, 'read_round', round).ok) throw new NotFoundError('没有下达给本机构的该发放批次');
  return round;
}

/** The names of organisations (departments, banks), by id. */
export async function orgNames(db: Conn, ids: number[]): Promise<Map<number, string>> {
  const rows: { id: number; name: string }[] = await db('core_org').whereIn('id', [...new Set(ids)]).select('id', 'name');
  return new Map(rows.map((o) => [o.id, o.name]));
}

// ---------------------------------------------------------------------------------------------------------------
// A round's results, supplementary payouts, refunds and returns

/** Where a round's lines stand at the bank: paid, failed, pending (no result yet), in count and fen. */
export async function roundResults(db: Conn, roundId: number, lines: { count: number; totalFen: number }): Promise<{ paid: number; paidFen: number; failed: number; failedFen: number; pending: number; pendingFen: number }> {
  const rows = (await db('bank_line_result').where({ round_id: roundId, attempt: 1 }).groupBy('result').select('result').count({ n: '*' }).sum({ total: 'amount_fen' })) as { result: string; n: number; total: Fen }[];
  // A result no line has is no row: none of it.
  const of = (result: string) => rows.find((r) => r.result === result) ?? { n: 0, total: fen(0) };
  const { n: paid, total: paidFen } = of('paid');
  const { n: failed, total: failedFen } = of('failed');
  return { paid, paidFen, failed, failedFen, pending: lines.count - paid - failed, pendingFen: lines.totalFen - paidFen - failedFen };
}

/** The bank's results of these lines (latest attempt each), by line id: the person's page shows them. */
export async function resultsOfLines(db: Conn, lineIds: number[]): Promise<Map<number, { result: string; failure_code: string | null; failure_reason: string | null; recorded_at: string }>> {
  const rows: { line_id: number; attempt: number; result: string; failure_code: string | null; failure_reason: string | null; recorded_at: string }[] = await selectInChunks(lineIds, (chunk) =>
    db('bank_line_result').whereIn('line_id', chunk).orderBy('attempt').select('line_id', 'attempt', 'result', 'failure_code', 'failure_reason', 'recorded_at'),
  );
  return new Map(rows.map((r) => [r.line_id, r]));
}

export interface SupplementRow {
  id: number;
  seq: number;
  lines: number;
  amount_fen: Fen;
  needs_transfer: boolean;
  created_at: string;
  transferred_at: string | null;
  transfer_voucher: string | null;
}

/** The supplementary payouts of a round (those the bank may fetch: whose money is at the bank). */
export async function supplementsOf(db: Conn, roundId: number, options: { fetchableOnly: boolean }): Promise<SupplementRow[]> {
  const q = db('bank_supplement').where({ round_id: roundId }).orderBy('seq');
  if (options.fetchableOnly) q.where((w) => w.where('needs_transfer', false).orWhereNotNull('transferred_at'));
  // SQLite keeps a boolean as 0 or 1.
  return ((await q.select('*')) as (Omit<SupplementRow, 'needs_transfer'> & { needs_transfer: boolean | number })[]).map((s) => ({ ...s, needs_transfer: Boolean(s.needs_transfer) }));
}

/** A voucher of a round: the bank's refund to the source account, or the treasury's receipt of money returned. */
export interface VoucherRow {
  id: number;
  voucher_no: string;
  lines: number;
  amount_fen: Fen;
}

export async function refundsOf(db: Conn, roundId: number): Promise<(VoucherRow & { refunded_on: string })[]> {
  return db('bank_refund').where({ round_id: roundId }).orderBy('id').select('id', 'voucher_no', 'refunded_on', 'lines', 'amount_fen');
}

export async function treasuryReturnsOf(db: Conn, roundId: number): Promise<(VoucherRow & { returned_on: string })[]> {
  return db('bank_treasury_return').where({ round_id: roundId }).orderBy('id').select('id', 'voucher_no', 'returned_on', 'lines', 'amount_fen');
}

// ---------------------------------------------------------------------------------------------------------------
// Quarterly reconciliation

export interface ReconciliationRow {
  id: number;
  county_id: number;
  bank_org_id: number;
  quarter: string;
  period_end: string;
  state: 'open' | 'signed';
  confirmation_sha256: string | null;
  confirmation_name: string | null;
  confirmation_rows: number | null;
  confirmed_at: string | null;
  report_sm3: string | null;
  opened_at: string;
  signed_at: string | null;
  version: number;
  bank_name: string;
  county_name: string;
  county_path: string;
}

function reconciliationQuery(db: Conn) {
  return db('bank_reconciliation as c')
    .join('core_org as o', 'o.id', 'c.bank_org_id')
    .join('core_region as r', 'r.id', 'c.county_id')
    .select('c.id', 'c.county_id', 'c.bank_org_id', 'c.quarter', 'c.period_end', 'c.state', 'c.confirmation_sha256', 'c.confirmation_name', 'c.confirmation_rows', 'c.confirmed_at', 'c.report_sm3', 'c.opened_at', 'c.signed_at', 'c.version', 'o.name as bank_name', 'r.name as county_name', 'r.path as county_path');
}

function visible(actor: Actor, r: ReconciliationRow): boolean {
  if (!can(actor, 'read_reconciliations', null).ok) return false;
  if (hasRole(actor, 'bank')) return r.bank_org_id === actor.orgId;
  return isPathInScope(actor, r.county_path) || actor.regionPath.startsWith(r.county_path);
}

export async function listReconciliations(db: Conn, actor: Actor): Promise<ReconciliationRow[]> {
  return ((await reconciliationQuery(db).orderBy('c.id', 'desc').limit(200)) as ReconciliationRow[]).filter((r) => visible(actor, r));
}

export async function reconciliationInScope(db: Conn, actor: Actor, id: number): Promise<ReconciliationRow> {
  const row = (await reconciliationQuery(db).where('c.id', id).first()) as ReconciliationRow | undefined;
  if (!row || !visible(actor, row)) throw new NotFoundError('对账记录不存在或不在您的管辖范围内');
  return row;
}

/** The rounds a reconciliation covers: the bank's rounds in the county the treasury transferred by the quarter's end. */
export async function reconciliationRounds(db: Conn, rec: Pick<ReconciliationRow, 'county_id' | 'bank_org_id' | 'period_end'>): Promise<TransferredRound[]> {
  return (await transferredRounds(db, { countyId: rec.county_id, bankOrgId: rec.bank_org_id })).filter((r) => businessDate(new Date(r.transferred_at)) <= rec.period_end);
}

export interface ReconciliationFigures {
  rounds: (TransferredRound & { ledger: RoundLedger; policy: string })[];
  policies: { policy: string; ledger: Pick<RoundLedger, 'lines' | 'transferredFen' | 'paidFen' | 'pendingFen' | 'refundedFen' | 'returnedFen' | 'awaitingFen'> }[];
  bankTotals: Map<number, { paidFen: number; unpaidFen: number; refundedFen: number }> | null;
}

/** The same figures for finance, department and bank: each round's ledger, per policy, and the bank's confirmed totals. */
export async function reconciliationFigures(db: Conn, rec: ReconciliationRow): Promise<ReconciliationFigures> {
  const rounds = await reconciliationRounds(db, rec);
  const versions = new Map((await versionsById(db, [...new Set(rounds.map((r) => r.policy_version_id))])).map((v) => [v.id, `${v.code} ${v.name}`]));
  const withLedger = await Promise.all(rounds.map(async (r) => ({ ...r, ledger: await roundLedger(db, r.id), policy: versions.get(r.policy_version_id) ?? '' })));
  const byPolicy = new Map<string, ReconciliationFigures['policies'][number]['ledger']>();
  for (const r of withLedger) {
    const sum = byPolicy.get(r.policy) ?? { lines: 0, transferredFen: 0, paidFen: 0, pendingFen: 0, refundedFen: 0, returnedFen: 0, awaitingFen: 0 };
    for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += r.ledger[key];
    byPolicy.set(r.policy, sum);
  }
  let bankTotals: ReconciliationFigures['bankTotals'] = null;
  if (rec.confirmation_sha256) {
    bankTotals = new Map();
    const rows = (await db('bank_reconciliation_line').where({ reconciliation_id: rec.id }).groupBy('round_id', 'bank_state').select('round_id', 'bank_state').sum({ total: 'bank_amount_fen' })) as { round_id: number; bank_state: BankLineState; total: Fen }[];
    for (const row of rows) {
      const t = bankTotals.get(row.round_id) ?? { paidFen: 0, unpaidFen: 0, refundedFen: 0 };
      t[`${row.bank_state}Fen`] += row.total;
      bankTotals.set(row.round_id, t);
    }
    const entered: { round_id: number; paid_fen: Fen; unpaid_fen: Fen; refunded_fen: Fen }[] = await db('bank_reconciliation_total').where({ reconciliation_id: rec.id }).select('round_id', 'paid_fen', 'unpaid_fen', 'refunded_fen');
    for (const e of entered) bankTotals.set(e.round_id, { paidFen: e.paid_fen, unpaidFen: e.unpaid_fen, refundedFen: e.refunded_fen });
  }
  return { rounds: withLedger, policies: [...byPolicy].map(([policy, ledger]) => ({ policy, ledger })), bankTotals };
}

export interface DifferenceRow {
  id: number;
  reconciliation_id: number;
  round_id: number;
  /** null: a difference of a round's entered totals. */
  line_id: number | null;
  kind: DifferenceKind;
  platform: string;
  bank: string;
  amount_fen: Fen;
  state: 'open' | 'resolved';
  resolution: string | null;
  resolved_by: number | null;
  resolved_at: string | null;
}

/** One difference, wherever it is (the command checks the reconciliation's scope). */
export async function differenceById(db: Conn, diffId: number): Promise<DifferenceRow | undefined> {
  return db('bank_reconciliation_diff').where({ id: diffId }).first();
}

export async function openDifferences(db: Conn, reconciliationId: number): Promise<number> {
  const row = (await db('bank_reconciliation_diff').where({ reconciliation_id: reconciliationId, state: 'open' }).count({ n: '*' }).first()) as { n: number } | undefined;
  return row?.n ?? 0;
}

/** A reconciliation's differences, the open ones first, each with who resolved it. */
export async function differencesOf(db: Conn, reconciliationId: number): Promise<(DifferenceRow & { resolved_by_name: string | null })[]> {
  return db('bank_reconciliation_diff as d')
    .leftJoin('core_user as u', 'u.id', 'd.resolved_by')
    .where('d.reconciliation_id', reconciliationId)
    .orderBy('d.state')
    .orderBy('d.id')
    .limit(2000)
    .select('d.*', 'u.display_name as resolved_by_name');
}

/** Who must sign: the finance section, the bank, and each department with a round in the reconciliation. */
export async function requiredParties(db: Conn, rec: ReconciliationRow): Promise<SigningParty[]> {
  const departments = [...new Set((await reconciliationRounds(db, rec)).map((r) => r.department_org_id))];
  const names = await orgNames(db, departments);
  return [{ party: 'finance_section', orgId: null, label: '财政局业务科室' }, ...departments.map((id) => ({ party: 'department', orgId: id, label: names.get(id) ?? '主管部门' })), { party: 'bank', orgId: rec.bank_org_id, label: rec.bank_name }];
}

export interface SignatureRow {
  party: string;
  org_id: number | null;
  signer_name: string;
  signed_at: string;
}

export async function signaturesOf(db: Conn, reconciliationId: number): Promise<SignatureRow[]> {
  return db('bank_reconciliation_signature').where({ reconciliation_id: reconciliationId }).orderBy('id').select('party', 'org_id', 'signer_name', 'signed_at');
}

/** Whether a party's signature is among these. */
export const signatureOf = (signed: SignatureRow[], p: Pick<SigningParty, 'party' | 'orgId'>) => signed.find((s) => s.party === p.party && s.org_id === p.orgId);

/** The signed report of a reconciliation in the actor's scope, as kept. */
export async function reconciliationPdf(db: Conn, actor: Actor, reconciliationId: number): Promise<{ fileName: string; body: Buffer }> {
  const rec = await reconciliationInScope(db, actor, reconciliationId);
  const row: { report_pdf: Buffer | null } | undefined = await db('bank_reconciliation').where({ id: rec.id }).first('report_pdf');
  if (rec.state !== 'signed' || !row?.report_pdf) throw new NotFoundError('该季度对账尚未签认，没有签认报告');
  return { fileName: `对账报告-${rec.county_name}-${rec.bank_name}-${rec.quarter}.pdf`, body: Buffer.from(row.report_pdf) };
}

// ---------------------------------------------------------------------------------------------------------------
// Year-end clearing

/**
 * A policy's figures for a finished year (年末清算, Qinghai 二(二)9), in integer fen. Every policy with an allocation
 * to the county in the year is listed, with or without a round, and every policy with a round of the year:
 *
 *   allocated  = its allocation documents of the year (指标, policy module)
 *   transferred (firstTransfer) = the treasury's transfers of the year's rounds
 *   paid       = the bank's "paid" results of those rounds
 *   pending    = still at the bank (transferred, no result yet, or sent again)
 *   returned   = already returned to the treasury (暂缴回财政)
 *   awaiting   = refunded by the bank to the source account, no decision yet: the clearing returns it to the treasury
 *   unspent    = allocated − transferred: allocation never transferred
 *   cleared    = allocated − paid − pending: the unspent balance (结余) that goes back to the treasury
 *              = unspent + returned + awaiting (the ledger's identities: transferred = paid + pending + returned + awaiting)
 *
 * `departmentOrgIds`: the departments that confirm this policy's part: those that ran its rounds in the year or,
 * with no round, its own competent department when that is one of the county's (a province's department with no
 * round in the county: none, the finance section answers for it).
 */
export interface PolicyClearing {
  itemId: number;
  policy: string;
  departmentOrgIds: number[];
  department: string;
  rounds: number;
  allocatedFen: number;
  firstTransferFen: number;
  paidFen: number;
  pendingFen: number;
  returnedFen: number;
  awaitingFen: number;
  unspentFen: number;
  clearedFen: number;
}

/** An agent bank's part of the year: its rounds' money as the ledger has it (transferred = paid + pending + refunded). */
export interface BankClearing {
  bankOrgId: number;
  bank: string;
  rounds: number;
  transferredFen: number;
  paidFen: number;
  pendingFen: number;
  refundedFen: number;
}

export interface ClearingFigures {
  policies: PolicyClearing[];
  banks: BankClearing[];
}

export async function clearingFigures(db: Conn, countyId: number, year: number): Promise<ClearingFigures> {
  const rounds = await transferredRounds(db, { countyId, year });
  const allocated = await yearAllocations(db, countyId, year);
  const versions = new Map((await versionsById(db, [...new Set(rounds.map((r) => r.policy_version_id))])).map((v) => [v.id, v]));
  const orgIds = [...allocated.map((a) => a.version.departmentOrgId), ...rounds.map((r) => r.department_org_id), ...rounds.map((r) => r.bank_org_id)];
  const orgs = new Map(((await db('core_org').whereIn('id', [...new Set(orgIds)]).select('id', 'name', 'region_id')) as { id: number; name: string; region_id: number | null }[]).map((o) => [o.id, o]));
  const blank = (itemId: number, policy: string): PolicyClearing => ({ itemId, policy, departmentOrgIds: [], department: '', rounds: 0, allocatedFen: 0, firstTransferFen: 0, paidFen: 0, pendingFen: 0, returnedFen: 0, awaitingFen: 0, unspentFen: 0, clearedFen: 0 });
  const byItem = new Map<number, PolicyClearing>();
  for (const a of allocated) byItem.set(a.itemId, { ...blank(a.itemId, `${a.version.code} ${a.version.name}`), allocatedFen: a.allocatedFen });
  const byBank = new Map<number, BankClearing>();
  for (const r of rounds) {
    const ledger = await roundLedger(db, r.id);
    const v = versions.get(r.policy_version_id);
    let p = byItem.get(r.policy_item_id);
    if (!p) {
      p = { ...blank(r.policy_item_id, v ? `${v.code} ${v.name}` : ''), allocatedFen: await allocatedFen(db, countyId, r.policy_item_id, year) };
      byItem.set(r.policy_item_id, p);
    }
    p.rounds++;
    if (!p.departmentOrgIds.includes(r.department_org_id)) p.departmentOrgIds.push(r.department_org_id);
    p.firstTransferFen += ledger.firstTransferFen;
    p.paidFen += ledger.paidFen;
    p.pendingFen += ledger.pendingFen;
    p.returnedFen += ledger.returnedFen;
    p.awaitingFen += ledger.awaitingFen;
    const b = byBank.get(r.bank_org_id) ?? { bankOrgId: r.bank_org_id, bank: orgs.get(r.bank_org_id)?.name ?? '', rounds: 0, transferredFen: 0, paidFen: 0, pendingFen: 0, refundedFen: 0 };
    b.rounds++;
    b.transferredFen += ledger.transferredFen;
    b.paidFen += ledger.paidFen;
    b.pendingFen += ledger.pendingFen;
    b.refundedFen += ledger.refundedFen;
    byBank.set(r.bank_org_id, b);
  }
  for (const a of allocated) {
    const p = byItem.get(a.itemId)!;
    const own = orgs.get(a.version.departmentOrgId);
    if (p.departmentOrgIds.length === 0 && own?.region_id === countyId) p.departmentOrgIds.push(own.id);
  }
  const policies = [...byItem.values()]
    .map((p) => ({ ...p, department: p.departmentOrgIds.map((id) => orgs.get(id)?.name ?? '').join('、'), unspentFen: p.allocatedFen - p.firstTransferFen, clearedFen: p.allocatedFen - p.paidFen - p.pendingFen }))
    .sort((a, b) => a.policy.localeCompare(b.policy));
  return { policies, banks: [...byBank.values()].sort((a, b) => a.bankOrgId - b.bankOrgId) };
}

/** The parties that confirm a clearing: the finance section, each department with a part, each agent bank with rounds. */
export function clearingParties(figures: ClearingFigures, orgNamesById: Map<number, string>): SigningParty[] {
  const departments = [...new Set(figures.policies.flatMap((p) => p.departmentOrgIds))].sort((a, b) => a - b);
  return [
    { party: 'finance_section', orgId: null, label: '财政局业务科室' },
    ...departments.map((id) => ({ party: 'department', orgId: id, label: orgNamesById.get(id) ?? '主管部门' })),
    ...figures.banks.map((b) => ({ party: 'bank', orgId: b.bankOrgId, label: b.bank })),
  ];
}

export type ClearingState = 'open' | 'disputed' | 'final';

/** A county's clearing of a year as the parties work on it (bank_clearing_draft), its stored figures and parties read. */
export interface ClearingDraft {
  id: number;
  county_id: number;
  year: number;
  state: ClearingState;
  figures: ClearingFigures;
  parties: SigningParty[];
  opened_by: number;
  opened_by_name: string;
  opened_at: string;
  dispute_party: string | null;
  dispute_reason: string | null;
  disputed_at: string | null;
  clearing_id: number | null;
  version: number;
}

function draftQuery(db: Conn) {
  return db('bank_clearing_draft as d').join('core_user as u', 'u.id', 'd.opened_by').select('d.*', 'u.display_name as opened_by_name');
}

const readDraft = (row: Record<string, unknown>): ClearingDraft => ({ ...(row as unknown as ClearingDraft), figures: JSON.parse(String(row.figures)), parties: JSON.parse(String(row.parties)) });

/** The clearing of a county and year, if the finance section has opened it. */
export async function clearingDraftOf(db: Conn, countyId: number, year: number): Promise<ClearingDraft | undefined> {
  const row = await draftQuery(db).where({ 'd.county_id': countyId, 'd.year': year }).first();
  return row ? readDraft(row) : undefined;
}

/** The open clearings (any county, any year), for the home pages' to-dos. */
export async function openClearingDrafts(db: Conn): Promise<ClearingDraft[]> {
  return ((await draftQuery(db).whereIn('d.state', ['open', 'disputed']).orderBy('d.year')) as Record<string, unknown>[]).map(readDraft);
}

export interface ClearingConfirmationRow {
  party: string;
  org_id: number | null;
  user_id: number;
  signer_name: string;
  confirmed_at: string;
}

export async function clearingConfirmationsOf(db: Conn, draftId: number): Promise<ClearingConfirmationRow[]> {
  return db('bank_clearing_confirmation').where({ draft_id: draftId }).orderBy('id').select('party', 'org_id', 'user_id', 'signer_name', 'confirmed_at');
}

/** Whether a party's confirmation is among these. */
export const confirmationOf = (confirmed: ClearingConfirmationRow[], p: Pick<SigningParty, 'party' | 'orgId'>) => confirmed.find((c) => c.party === p.party && c.org_id === p.orgId);

export interface ClearingRow {
  id: number;
  year: number;
  voucher_no: string;
  report_sm3: string;
  cleared_at: string;
  /** Who made it final. */
  display_name: string;
}

/** A county's clearings, the latest year first. */
export async function clearingsOf(db: Conn, countyId: number): Promise<ClearingRow[]> {
  return db('bank_clearing as c').join('core_user as u', 'u.id', 'c.cleared_by').where('c.county_id', countyId).orderBy('c.year', 'desc').select('c.id', 'c.year', 'c.voucher_no', 'c.report_sm3', 'c.cleared_at', 'u.display_name');
}

/**
 * The departments and banks that may read a kept clearing: its confirming parties (a clearing made before the
 * parties confirmed: the departments and banks of the year's rounds).
 */
async function clearingPartyOrgIds(db: Conn, countyId: number, year: number): Promise<number[]> {
  const draft = await clearingDraftOf(db, countyId, year);
  if (draft) return draft.parties.flatMap((p) => (p.orgId === null ? [] : [p.orgId]));
  return (await transferredRounds(db, { countyId, year })).flatMap((r) => [r.department_org_id, r.bank_org_id]);
}

/**
 * The kept clearings of the actor's county that policy.ts lets them read: all for the finance section, the treasury
 * and the supervisor; a department's or a bank's, those of the clearings it was a party of.
 */
export async function clearingReportsFor(db: Conn, actor: Actor): Promise<ClearingRow[]> {
  const readable: ClearingRow[] = [];
  for (const clearing of await clearingsOf(db, actor.regionId)) {
    if (can(actor, 'read_clearing_report', { partyOrgIds: await clearingPartyOrgIds(db, actor.regionId, clearing.year) }).ok) readable.push(clearing);
  }
  return readable;
}

/** A kept clearing report, for an actor in its county's scope whom policy.ts lets read it (clearingReportsFor). */
export async function clearingPdf(db: Conn, actor: Actor, clearingId: number): Promise<{ fileName: string; body: Buffer }> {
  const row: { county_id: number; year: number; report_pdf: Buffer; path: string; name: string } | undefined = await db('bank_clearing as c').join('core_region as r', 'r.id', 'c.county_id').where('c.id', clearingId).first('c.county_id', 'c.year', 'c.report_pdf', 'r.path', 'r.name');
  const inScope = row && (row.path.startsWith(actor.regionPath) || actor.regionPath.startsWith(row.path));
  const partyOrgIds = inScope ? await clearingPartyOrgIds(db, row.county_id, row.year) : [];
  if (!row || !inScope || !can(actor, 'read_clearing_report', { partyOrgIds }).ok) throw new NotFoundError('清算报告不存在或不在您的管辖范围内');
  return { fileName: `年末清算报告-${row.name}-${row.year}.pdf`, body: Buffer.from(row.report_pdf) };
}

// ---------------------------------------------------------------------------------------------------------------
// Card-opening requests and completion receipts

export interface CardRequestRow {
  id: number;
  township_id: number;
  township_name: string;
  township_path: string;
  /** The township's county: the agreement of the bank there decides signatures and encryption. */
  county_id: number;
  bank_org_id: number;
  bank_name: string;
  state: 'sent' | 'answered';
  lines: number;
  created_at: string;
  answered_at: string | null;
}

function requestQuery(db: Conn) {
  return db('bank_card_request as r')
    .join('core_region as t', 't.id', 'r.township_id')
    .join('core_org as o', 'o.id', 'r.bank_org_id')
    .select('r.id', 'r.township_id', 't.name as township_name', 't.path as township_path', 't.parent_id as county_id', 'r.bank_org_id', 'o.name as bank_name', 'r.state', 'r.lines', 'r.created_at', 'r.answered_at');
}

const canSee = (actor: Actor, r: CardRequestRow) => (hasRole(actor, 'bank') ? r.bank_org_id === actor.orgId : hasRole(actor, 'township_station', 'township_finance', 'supervisor') && isPathInScope(actor, r.township_path));

export async function listCardRequests(db: Conn, actor: Actor): Promise<CardRequestRow[]> {
  const q = requestQuery(db).orderBy('r.id', 'desc').limit(200);
  if (hasRole(actor, 'bank')) q.where('r.bank_org_id', actor.orgId ?? -1);
  else q.where('t.path', 'like', `${actor.regionPath}%`);
  return ((await q) as CardRequestRow[]).filter((r) => canSee(actor, r));
}

export async function cardRequestInScope(db: Conn, actor: Actor, id: number): Promise<CardRequestRow> {
  const row = (await requestQuery(db).where('r.id', id).first()) as CardRequestRow | undefined;
  if (!row || !canSee(actor, row)) throw new NotFoundError('开卡申请不存在或不在您的管辖范围内');
  return row;
}

export interface CardLineRow {
  id: number;
  person_id: number;
  reason: CardReason;
  outcome: 'opened' | 'not_opened' | null;
  outcome_note: string | null;
  change_request_id: number | null;
  /** The person as the registry has them now. */
  person: RegistryFacts | undefined;
}

export async function cardRequestLines(db: Conn, requestId: number): Promise<CardLineRow[]> {
  const lines: Omit<CardLineRow, 'person'>[] = await db('bank_card_request_line').where({ request_id: requestId }).orderBy('id').select('id', 'person_id', 'reason', 'outcome', 'outcome_note', 'change_request_id');
  const facts = new Map((await registryFactsById(db, lines.map((l) => l.person_id))).map((p) => [p.personId, p]));
  return lines.map((l) => ({ ...l, person: facts.get(l.person_id) }));
}

export interface ReceiptRow {
  id: number;
  file_name: string;
  content_type: string;
  sha256: string;
  note: string | null;
  uploaded_at: string;
  /** Who uploaded it. */
  display_name: string;
}

export async function receiptsOf(db: Conn, roundId: number): Promise<ReceiptRow[]> {
  return db('bank_receipt as r').join('core_user as u', 'u.id', 'r.uploaded_by').where('r.round_id', roundId).orderBy('r.id').select('r.id', 'r.file_name', 'r.content_type', 'r.sha256', 'r.note', 'r.uploaded_at', 'u.display_name');
}

export async function receiptFile(db: Conn, receiptId: number): Promise<{ roundId: number; fileName: string; contentType: string; body: Buffer }> {
  const row: { round_id: number; file_name: string; content_type: string; body: Buffer } | undefined = await db('bank_receipt').where({ id: receiptId }).first('round_id', 'file_name', 'content_type', 'body');
  if (!row) throw new NotFoundError('回执不存在');
  return { roundId: row.round_id, fileName: row.file_name, contentType: row.content_type, body: Buffer.from(row.body) };
}

/** What the bank's records say happened to released lines, for the supervision reports (per line, money in fen). */
export interface LineOutcomes {
  /** Each "paid" result (any attempt), with when it was recorded. */
  paid: { line_id: number; round_id: number; amount_fen: Fen; recorded_at: string }[];
  /** Each failure case (one per failed line), whether its money was returned to the treasury and whether it was reissued (补发). */
  failures: { line_id: number; round_id: number; amount_fen: Fen; returned: boolean; reissued: boolean }[];
  /** Each refund of a line to the source account (a line refunded twice counts twice, as bank_refund does). */
  refunds: { line_id: number; round_id: number; amount_fen: Fen }[];
}

/** The outcomes of the lines of these rounds: paid results, failure cases, refunds (from each case's refund events). */
export async function lineOutcomesOfRounds(db: Conn, roundIds: readonly number[]): Promise<LineOutcomes> {
  const paid = (await selectInChunks(roundIds, (chunk) => db('bank_line_result').whereIn('round_id', chunk).where({ result: 'paid' }).orderBy('id').select('line_id', 'round_id', 'amount_fen', 'recorded_at'))) as { line_id: number; round_id: number; amount_fen: number; recorded_at: string | Date }[];
  const failures = (await selectInChunks(roundIds, (chunk) => db('bank_failure').whereIn('round_id', chunk).orderBy('id').select('line_id', 'round_id', 'amount_fen', 'treasury_return_id', 'reissue_line_id'))) as { line_id: number; round_id: number; amount_fen: number; treasury_return_id: number | null; reissue_line_id: number | null }[];
  const refunds = (await selectInChunks(roundIds, (chunk) =>
    db('bank_failure_event as e').join('bank_failure as f', 'f.id', 'e.failure_id').whereIn('f.round_id', chunk).where('e.action', 'refund').orderBy('e.id').select('f.line_id', 'f.round_id', 'f.amount_fen'),
  )) as { line_id: number; round_id: number; amount_fen: number }[];
  return {
    paid: paid.map((p) => ({ line_id: p.line_id, round_id: p.round_id, amount_fen: fen(Number(p.amount_fen)), recorded_at: new Date(p.recorded_at).toISOString() })),
    failures: failures.map((f) => ({ line_id: f.line_id, round_id: f.round_id, amount_fen: fen(Number(f.amount_fen)), returned: f.treasury_return_id !== null, reissued: f.reissue_line_id !== null })),
    refunds: refunds.map((r) => ({ line_id: r.line_id, round_id: r.round_id, amount_fen: fen(Number(r.amount_fen)) })),
  };
}

/** A bank's result for a payment line as the complete export (supervision, 完整导出) writes it. */
export interface ExportResultRow {
  id: number;
  round_id: number;
  line_id: number;
  attempt: number;
  result: string;
  amount_fen: number | string;
  failure_code: string | null;
  failure_reason: string | null;
  recorded_at: string;
}

/** The bank's results of these rounds (at most 500 ids), `limit` at a time in id order after `afterId`. */
export async function resultsForExport(db: Conn, roundIds: readonly number[], afterId: number, limit: number): Promise<ExportResultRow[]> {
  if (roundIds.length === 0) return [];
  return db('bank_line_result')
    .whereIn('round_id', roundIds)
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .select('id', 'round_id', 'line_id', 'attempt', 'result', 'amount_fen', 'failure_code', 'failure_reason', 'recorded_at');
}

/** A failed-payment case as the complete export writes it: the amount is the failed attempt's. */
export interface ExportFailureRow {
  id: number;
  round_id: number;
  line_id: number;
  person_name: string;
  id_masked: string;
  village_name: string;
  state: string;
  funds: string;
  attempt: number;
  failure_code: string;
  failure_reason: string;
  amount_fen: number | string | null;
  reissue_line_id: number | null;
  opened_at: string;
  updated_at: string;
}

/** The failed-payment cases of these rounds (at most 500 ids) in villages of the region subtree, a keyset chunk. */
export async function failuresForExport(db: Conn, regionPath: string, roundIds: readonly number[], afterId: number, limit: number): Promise<ExportFailureRow[]> {
  if (roundIds.length === 0) return [];
  return db('bank_failure as f')
    .join('core_region as v', 'v.id', 'f.village_id')
    .leftJoin('bank_line_result as x', (j) => j.on('x.line_id', 'f.line_id').andOn('x.attempt', 'f.attempt'))
    .where('v.path', 'like', `${regionPath}%`)
    .whereIn('f.round_id', roundIds)
    .where('f.id', '>', afterId)
    .orderBy('f.id')
    .limit(limit)
    .select('f.id', 'f.round_id', 'f.line_id', 'f.person_name', 'f.id_masked', 'v.name as village_name', 'f.state', 'f.funds', 'f.attempt', 'f.failure_code', 'f.failure_reason', 'x.amount_fen', 'f.reissue_line_id', 'f.opened_at', 'f.updated_at');
}
