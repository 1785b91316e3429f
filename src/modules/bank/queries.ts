import type { Actor } from '../../core/auth/roles.ts';
import { hasRole } from '../../core/auth/roles.ts';
import { businessDate } from '../../core/dates.ts';
import type { Conn } from '../../core/db.ts';
import { NotFoundError } from '../../core/errors.ts';
import { defineList } from '../../core/lists.ts';
import { type RoundRow, roundInScope } from '../batch/index.ts';
import { BANK_DEADLINES } from './deadlines.ts';
import { FAILURE_STATES, type FailureState, type FUNDS_LABELS } from './model.ts';
import { can } from './policy.ts';
import { failureFilters } from './schemas.ts';

/**
 * Reads of the bank module's failed payments: the cases in an actor's scope, one case, its events, the list with its
 * filters, and a round as the bank module sees it. The steps that change them are in failures.ts.
 */

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
  amount_fen: number;
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
  version: number;
  opened_at: string;
  updated_at: string;
}

export const asFailure = <T extends FailureRow>(r: T): T => ({ ...r, id: Number(r.id), line_id: Number(r.line_id), round_id: Number(r.round_id), county_id: Number(r.county_id), bank_org_id: Number(r.bank_org_id), person_id: Number(r.person_id), township_id: Number(r.township_id), amount_fen: Number(r.amount_fen), attempt: Number(r.attempt), version: Number(r.version) });

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

/**
 * The clock a case waits on, open and past its due date — the conditions under which closeGroupIfDone and
 * closeRepaymentIfDone (below) keep it open: its group's correction clock while it is corrected and verified, its
 * group's refund clock while the bank owes the refund, its refund's repayment clock while the money is back on the
 * source account and neither paid again nor on its way to the treasury.
 */
function overdueClock(db: Conn, today: string) {
  return db('core_deadline as d')
    .select(db.raw('1'))
    .where('d.state', 'open')
    .where('d.due_on', '<', today)
    .where((w) =>
      w
        .where((c) => c.where('d.rule', BANK_DEADLINES.failure_correction.code).whereRaw('d.object_id = f.deadline_key').whereIn('f.state', ['correcting', 'verifying']))
        .orWhere((c) => c.where('d.rule', BANK_DEADLINES.bank_refund.code).whereRaw('d.object_id = f.deadline_key').where('f.state', 'refund_due'))
        .orWhere((c) => c.where('d.rule', BANK_DEADLINES.repayment.code).whereRaw('d.object_id = cast(f.refund_id as varchar(20))').where('f.funds', 'source').whereNot('f.state', 'return_due')),
    );
}

export async function failureInScope(db: Conn, actor: Actor, failureId: number): Promise<FailureView> {
  const row = (await failuresQuery(db, actor).where('f.id', failureId).first()) as FailureView | undefined;
  if (!row) throw new NotFoundError('失败处理记录不存在或不在您的管辖范围内');
  return asFailure(row);
}

export async function failureEvents(db: Conn, failureId: number) {
  return db('bank_failure_event as e').leftJoin('core_user as u', 'u.id', 'e.actor_id').where('e.failure_id', failureId).orderBy('e.id').select('e.*', 'u.display_name');
}

/** Supplements of refunded lines the treasury has not sent the money of yet, in the actor's scope. */
export async function supplementsAwaitingTransfer(db: Conn, actor: Actor): Promise<{ count: number; totalFen: number }> {
  const inScope = db('bank_supplement_line as sl').join('bank_failure as f', 'f.id', 'sl.failure_id').join('core_region as c', 'c.id', 'f.county_id').where('c.path', 'like', `${actor.regionPath}%`).select('sl.supplement_id');
  const row = await db('bank_supplement').where({ needs_transfer: true }).whereNull('transferred_at').whereIn('id', inScope).count({ n: '*' }).sum({ total: 'amount_fen' }).first();
  return { count: Number(row?.n ?? 0), totalFen: Number(row?.total ?? 0) };
}

/** A round in the actor's scope; for a bank user, only one released to its bank. */
export async function bankRoundInScope(db: Conn, actor: Actor, roundId: number): Promise<RoundRow> {
  const round = await roundInScope(db, actor, roundId);
  if (!can(actor, 'read_round', round).ok) throw new NotFoundError('没有下达给本机构的该发放批次');
  return round;
}
