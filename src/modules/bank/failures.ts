import { type AuditWho, recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { businessDate } from '../../core/dates.ts';
import { type Tx, bulkInsert, inTransaction, insertReturningId, nowIso, selectInChunks } from '../../core/db.ts';
import { closeDeadline, openDeadline } from '../../core/deadlines.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { authorize, refuseWith } from '../../core/authz.ts';
import { formatYuan } from '../../core/money.ts';
import { type RoundRow, insertReissueRound, lineFacts } from '../batch/index.ts';
import { type RegistryFacts, registryFactsById } from '../beneficiary/index.ts';
import { agreementInForce, settlementAccountNumber } from '../agreement/index.ts';
import { BANK_DEADLINES } from './deadlines.ts';
import { CORRECTION_OPEN_STATES, FAILURE_STATES, type FailureState, MAX_ATTEMPTS, REPAYMENT_OPEN_STATES, RETURN_GROUNDS, type ReturnGround } from './model.ts';
import { type BankRoundAction, type FailureAction, can, nextState } from './policy.ts';
import { type FailureRow, type FailureView, bankRoundInScope, failureInScope } from './queries.ts';

/**
 * Failed payments, as the documents say (Qinghai 二(一)4; Haicheng 三). One case per failed line:
 *
 *   first failure → the township station verifies and corrects (the payee's registry account as it now stands,
 *   with a note), the department verifies (another person), both within 10 working days → the finance section
 *   reviews it again (four-eyes) and it goes to the bank in a supplementary payout file → paid, or
 *   a second failure → the bank refunds the money to the source account within 5 working days (voucher) → the
 *   department finds the cause and pays again within 10 working days (corrected the same way; the treasury sends
 *   the money again) — or, only when the person is no longer entitled (died, moved away, disqualified: a listed
 *   ground with its document), returns it early → a third failure is refunded and the money goes back to the
 *   treasury (暂缴回同级财政, voucher), and the person is on the public list of failed payments →
 * when they come forward, the station takes their request with the registry corrected, the department verifies
 * it and the finance section approves it (four-eyes), and the department puts it in a reissue round (补发批次)
 * of the same policy and period: one reissue per case, once.
 *
 * `funds` says where the line's money is (bank, source, treasury, paid); the ledger (ledger.ts) adds it up.
 *
 * The clocks end where the documents say the work ends: the correction clock (failure_correction, one per result file
 * and township) when the corrected lines reach the bank — the bank fetches the supplementary payout file that holds
 * them (supplementFetched) or answers them —, the repayment clock (repayment, one per refund) when the bank reports
 * the lines paid again (or failed again, or returned early because the person is no longer entitled).
 */
export async function event(trx: Tx, failureIds: number[], who: { userId: number | null }, input: { action: string; from: FailureState | null; to: FailureState; note?: string | null }): Promise<void> {
  const at = nowIso();
  await bulkInsert(trx, 'bank_failure_event', failureIds, (id) => ({ failure_id: id, action: input.action, from_state: input.from, to_state: input.to, note: input.note ?? null, actor_id: who.userId, at }));
}

// ---------------------------------------------------------------------------------------------------------------
// What the bank's results start and end (called inside the result import's transaction)

export interface AttemptResult {
  lineId: number;
  attempt: number;
  result: 'paid' | 'failed';
  code: string | null;
  reason: string | null;
}

/**
 * First failures open cases (one correction clock per township and result file); a failed resend is due for
 * refund by the bank (one refund clock per result file); a paid resend closes its case.
 */
export async function recordAttempts(trx: Tx, who: AuditWho, roundId: number, resultFileId: number, results: AttemptResult[]): Promise<void> {
  const now = nowIso();
  const first = results.filter((r) => r.attempt === 1 && r.result === 'failed');
  if (first.length) {
    const facts = new Map((await lineFacts(trx, first.map((f) => f.lineId))).map((l) => [l.line_id, l]));
    const byTownship = new Map<number, AttemptResult[]>();
    for (const f of first) {
      const township = facts.get(f.lineId)!.township_id;
      byTownship.set(township, [...(byTownship.get(township) ?? []), f]);
    }
    const title = facts.values().next().value!.round_title;
    for (const [townshipId, failures] of byTownship) {
      const key = `${resultFileId}-${townshipId}`;
      await openDeadline(trx, who, { rule: BANK_DEADLINES.failure_correction, objectType: 'bank_failure_group', objectId: key, regionId: townshipId, title: `${title}：发放失败 ${failures.length} 笔待核实修正` });
      await bulkInsert(trx, 'bank_failure', failures, (f) => {
        const l = facts.get(f.lineId)!;
        return {
          line_id: f.lineId,
          round_id: roundId,
          round_title: l.round_title,
          period: l.period,
          county_id: l.county_id,
          department_org_id: l.department_org_id,
          bank_org_id: l.bank_org_id,
          person_id: l.person_id,
          person_name: l.person_name,
          id_masked: l.id_masked,
          township_id: townshipId,
          village_id: l.village_id,
          amount_fen: l.amount_fen,
          state: 'correcting',
          funds: 'bank',
          attempt: 1,
          failure_code: f.code,
          failure_reason: f.reason,
          deadline_key: key,
          opened_at: now,
          updated_at: now,
        };
      });
    }
    const ids: { id: number }[] = await selectInChunks(first.map((f) => f.lineId), (chunk) => trx('bank_failure').whereIn('line_id', chunk).select('id'));
    await event(trx, ids.map((r) => r.id), who, { action: 'fail', from: null, to: 'correcting', note: '代发银行回盘：发放失败' });
  }
  const later = results.filter((r) => r.attempt > 1);
  if (later.length === 0) return;
  const cases = new Map(
    ((await selectInChunks(later.map((r) => r.lineId), (chunk) => trx('bank_failure').whereIn('line_id', chunk).select('*'))) as FailureRow[]).map((r) => [r.line_id, r]),
  );
  const refundKey = `refund-${resultFileId}`;
  const failedAgain = later.filter((r) => r.result === 'failed');
  if (failedAgain.length) {
    await openDeadline(trx, who, { rule: BANK_DEADLINES.bank_refund, objectType: 'bank_failure_group', objectId: refundKey, regionId: cases.values().next().value!.county_id, title: `发放失败 ${failedAgain.length} 笔待代发银行退回资金` });
  }
  for (const r of later) {
    const c = cases.get(r.lineId);
    if (!c || c.state !== 'resend' || c.attempt !== r.attempt) throw new ConflictError(`第 ${r.attempt} 次发放的结果与失败处理记录不符`);
    const to: FailureState = r.result === 'paid' ? 'paid' : 'refund_due';
    const updated = await trx('bank_failure')
      .where({ id: c.id, version: c.version })
      .update(r.result === 'paid' ? { state: to, funds: 'paid', updated_at: now, version: c.version + 1 } : { state: to, failure_code: r.code, failure_reason: r.reason, deadline_key: refundKey, updated_at: now, version: c.version + 1 });
    if (updated !== 1) throw new ConflictError('失败处理记录已被他人更改，请稍后重新导入回盘');
    await event(trx, [c.id], who, { action: r.result === 'paid' ? 'paid' : 'fail', from: 'resend', to, note: r.result === 'paid' ? `第 ${r.attempt} 次发放成功` : `第 ${r.attempt} 次发放失败：${r.code} ${r.reason ?? ''}` });
  }
  // The bank answered the lines, so they reached it (even if it never fetched their file here); paid or failed again,
  // the payment after the refund is done.
  for (const key of new Set(later.map((r) => cases.get(r.lineId)!.deadline_key))) await closeCorrectionIfDone(trx, who, key);
  for (const refundId of new Set(later.map((r) => cases.get(r.lineId)!.refund_id))) await closeRepaymentIfDone(trx, who, refundId);
}

// ---------------------------------------------------------------------------------------------------------------
// Steps on one case

/** The case in the actor's scope, if policy.ts allows them this step on it now (refusals audited). */
async function caseFor(core: Core, actor: Actor, failureId: number, action: FailureAction): Promise<FailureView> {
  const failure = await failureInScope(core.db, actor, failureId);
  await authorize(core.db, actor, can(actor, action, failure), { objectType: 'bank_failure', objectId: failureId });
  return failure;
}

/** Take a step of FAILURE_TRANSITIONS on a case, guarded by its state and version, with its event and audit row. */
async function move(core: Core, actor: Actor, failure: FailureView, action: FailureAction, input: { version: number; note?: string | null; set?: Record<string, unknown>; after?: (trx: Tx) => Promise<void> }): Promise<void> {
  const to = nextState(action, failure.state);
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('bank_failure')
      .where({ id: failure.id, state: failure.state, version: input.version })
      .update({ state: to, ...(input.set ?? {}), updated_at: nowIso(), version: input.version + 1 });
    if (updated !== 1) throw new ConflictError('该笔已被他人处理，请刷新后再试');
    const eventAction = failure.state.startsWith('reissue_') && action === 'verify' ? 'verify_reissue' : action;
    await event(trx, [failure.id], actor, { action: eventAction, from: failure.state, to, note: input.note });
    if (input.after) await input.after(trx);
    await recordAudit(trx, actor, { action: `bank.failure.${eventAction}`, objectType: 'bank_failure', objectId: failure.id, summary: { line: failure.line_id, round: failure.round_id, from: failure.state, to, note: input.note ?? null } });
  });
}

/**
 * The township station records what it verified and corrected. The next attempt pays the payee's registry
 * account as it now stands (a new account goes through the registry's account change first), so the note says
 * what was wrong: a frozen account now unfrozen, a name corrected, a new card.
 */
export async function correctFailure(core: Core, actor: Actor, failureId: number, input: { version: number; note: string }): Promise<void> {
  const failure = await caseFor(core, actor, failureId, 'correct');
  const { note } = input;
  const set = await nextPayment(core, actor, failure, note, '再次发放');
  await move(core, actor, failure, 'correct', { version: input.version, note, set });
}

/**
 * What a correction sets on a case, from the payee's registry facts: the note, the registry account as it now stands,
 * who corrected it (verification and review start over); or why the registry does not allow the payment.
 */
export function correctionOf(person: RegistryFacts | undefined, actor: Actor, note: string, what: string): { set: Record<string, unknown> } | { problem: string } {
  if (!person?.account) return { problem: '收款人在登记册中没有有效账户：请先在受益对象登记中办理账户变更并经财政所确认' };
  if (person.status !== 'active') return { problem: `收款人在登记册中已不是在册状态，不能${what}` };
  return { set: { correction_note: note, account_id: person.account.id, account_last4: person.account.last4, holder_name: person.account.holderName, corrected_by: actor.userId, verified_by: null, reviewed_by: null } };
}

/**
 * What the station enters for a case's next payment: its note, and the payee's registry account as it now stands
 * (the registry is the one place an account is changed); the verification and review start over.
 */
async function nextPayment(core: Core, actor: Actor, failure: FailureView, note: string, what: string): Promise<Record<string, unknown>> {
  const [person] = await registryFactsById(core.db, [failure.person_id]);
  const correction = correctionOf(person, actor, note, what);
  if ('problem' in correction) throw new ValidationError({ note: correction.problem });
  return correction.set;
}

/**
 * The department verifies the correction: another person than the one who entered or imported it. The correction
 * clock keeps running: it ends when the corrected line reaches the bank.
 */
export async function verifyFailure(core: Core, actor: Actor, failureId: number, input: { version: number }): Promise<void> {
  const failure = await caseFor(core, actor, failureId, 'verify');
  await move(core, actor, failure, 'verify', { version: input.version, set: { verified_by: actor.userId } });
}

/** The department or the finance section sends a correction back to the township, with the reason. */
export async function sendBackFailure(core: Core, actor: Actor, failureId: number, input: { version: number; reason: string }): Promise<void> {
  const failure = await caseFor(core, actor, failureId, 'send_back');
  const { reason } = input;
  await move(core, actor, failure, 'send_back', { version: input.version, note: reason });
}

/**
 * A person on the public list comes forward: the township station takes the request, with the registry corrected
 * first (the reissue pays the payee's registry account as it then stands).
 */
export async function requestReissue(core: Core, actor: Actor, failureId: number, input: { version: number; note: string }): Promise<void> {
  const failure = await caseFor(core, actor, failureId, 'request_reissue');
  const { note } = input;
  const set = await nextPayment(core, actor, failure, note, '补发');
  await move(core, actor, failure, 'request_reissue', { version: input.version, note, set });
}

/** The finance section approves a verified reissue request (another person than who took or verified it). */
export async function approveReissue(core: Core, actor: Actor, failureId: number, input: { version: number }): Promise<void> {
  const failure = await caseFor(core, actor, failureId, 'approve_reissue');
  await move(core, actor, failure, 'approve_reissue', { version: input.version, set: { reviewed_by: actor.userId } });
}

/**
 * The department puts the approved reissues of one of its rounds into a new reissue round (补发批次) of the same
 * policy and period, which then goes through the whole flow. Each case gets its one reissue line, once.
 */
export async function compileReissue(core: Core, actor: Actor, roundId: number): Promise<number> {
  await roundFor(core, actor, roundId, 'compile_reissue');
  return inTransaction(core.db, async (trx) => {
    const cases = (await trx('bank_failure').where({ round_id: roundId, state: 'reissue_approved', department_org_id: actor.orgId }).orderBy('id').select('*')) as FailureRow[];
    if (cases.length === 0) throw new ConflictError('本批次没有已批准、待编入的补发');
    const facts = await registryFactsById(trx, cases.map((c) => c.person_id));
    const accountOf = new Map(facts.map((p) => [p.personId, p.account]));
    const items = cases.map((c) => {
      const account = accountOf.get(c.person_id);
      if (!account || account.id !== c.account_id) throw new ConflictError(`${c.person_name}的登记账户在批准补发后又有变更，请退回重新受理`);
      return { lineId: c.line_id, account: { id: account.id, index: account.index, last4: account.last4, bankName: account.bankName, holderName: account.holderName } };
    });
    const { roundId: reissueRoundId, lineIds } = await insertReissueRound(trx, actor, roundId, items);
    for (const c of cases) {
      const updated = await trx('bank_failure').where({ id: c.id, version: c.version, state: 'reissue_approved' }).update({ state: 'reissued', reissue_line_id: lineIds.get(c.line_id), updated_at: nowIso(), version: c.version + 1 });
      if (updated !== 1) throw new ConflictError('补发已被他人处理，请刷新后再试');
    }
    await event(trx, cases.map((c) => c.id), actor, { action: 'reissue', from: 'reissue_approved', to: 'reissued', note: `编入补发批次 ${reissueRoundId}` });
    await recordAudit(trx, actor, { action: 'bank.reissue.compile', objectType: 'round', objectId: roundId, summary: { reissueRound: reissueRoundId, lines: cases.length } });
    return reissueRoundId;
  });
}

/**
 * After a refund the department pays again within 10 working days (Qinghai 二(一)4); it returns the money to the
 * treasury before that only when the person is no longer entitled: a listed ground (RETURN_GROUNDS) and the document
 * that shows it, both recorded on the case. Such a case is not put on the public list and gets no reissue.
 */
export async function decideReturn(core: Core, actor: Actor, failureId: number, input: { version: number; ground: ReturnGround; evidence: string; note?: string | null }): Promise<void> {
  const failure = await caseFor(core, actor, failureId, 'decide_return');
  const ground = RETURN_GROUNDS[input.ground];
  if (!ground) throw new ValidationError({ ground: '请选择不再发放的理由（收款人已死亡、已迁出或已取消资格）' });
  const evidence = input.evidence.trim();
  if (!evidence) throw new ValidationError({ evidence: '请填写证明材料（证明名称及编号）' });
  const note = `${ground.label}；证明材料：${evidence}${input.note ? `；${input.note}` : ''}`;
  await move(core, actor, failure, 'decide_return', {
    version: input.version,
    note,
    set: { return_ground: input.ground, return_evidence: evidence },
    after: (trx) => closeRepaymentIfDone(trx, actor, failure.refund_id),
  });
}

/** Close a group's clock when none of its cases is still in the given states. */
async function closeGroupIfDone(trx: Tx, who: AuditWho, rule: string, key: string | null, open: FailureState[]): Promise<void> {
  if (!key) return;
  const left = await trx('bank_failure').where({ deadline_key: key }).whereIn('state', open).first('id');
  if (!left) await closeDeadline(trx, who, { rule, objectType: 'bank_failure_group', objectId: key, outcome: 'done' });
}

/**
 * The correction clock of a group (result file and township) ends when every case of it has reached the bank: none
 * is being corrected, verified or reviewed, and none waits in a supplementary payout the bank has not fetched.
 */
async function closeCorrectionIfDone(trx: Tx, who: AuditWho, key: string | null): Promise<void> {
  if (!key) return;
  const unfetched = trx('bank_supplement_line as sl').join('bank_supplement as s', 's.id', 'sl.supplement_id').whereNull('s.fetched_at').select('sl.failure_id');
  const left = await trx('bank_failure')
    .where({ deadline_key: key })
    .where((w) => w.whereIn('state', CORRECTION_OPEN_STATES).orWhere((r) => r.where('state', 'resend').whereIn('id', unfetched)))
    .first('id');
  if (!left) await closeDeadline(trx, who, { rule: BANK_DEADLINES.failure_correction.code, objectType: 'bank_failure_group', objectId: key, outcome: 'done' });
}

/**
 * The repayment clock of a refund ends when the bank has reported each of its lines paid again (or failed again:
 * then the money is due back to the treasury), or the line was returned early (the person no longer entitled).
 */
export async function closeRepaymentIfDone(trx: Tx, who: AuditWho, refundId: number | null): Promise<void> {
  if (refundId === null) return;
  const left = await trx('bank_failure').where({ refund_id: refundId }).whereIn('state', REPAYMENT_OPEN_STATES).first('id');
  if (!left) await closeDeadline(trx, who, { rule: BANK_DEADLINES.repayment.code, objectType: 'bank_refund', objectId: refundId, outcome: 'done' });
}

/**
 * The bank fetched a supplementary payout file (its page or its API token): the first fetch is recorded, and the
 * corrected lines in it have reached the bank — their groups' correction clocks end if nothing else of them is left.
 * Called inside the transaction that audits the download.
 */
export async function supplementFetched(trx: Tx, who: AuditWho, supplementId: number): Promise<void> {
  const first = await trx('bank_supplement').where({ id: supplementId }).whereNull('fetched_at').update({ fetched_at: nowIso() });
  if (first !== 1) return;
  const keys: { deadline_key: string | null }[] = await trx('bank_failure').whereIn('id', trx('bank_supplement_line').where({ supplement_id: supplementId }).select('failure_id')).distinct('deadline_key');
  for (const k of keys) await closeCorrectionIfDone(trx, who, k.deadline_key);
}

// ---------------------------------------------------------------------------------------------------------------
// Steps on a round's cases together

async function casesOfRound(trx: Tx, roundId: number, ids: number[], state: FailureState): Promise<FailureRow[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) throw new ValidationError({ failureIds: '请选择要办理的发放失败明细' });
  const rows = (await selectInChunks(unique, (chunk) => trx('bank_failure').whereIn('id', chunk).select('*'))) as FailureRow[];
  if (rows.length !== unique.length || rows.some((r) => r.round_id !== roundId || r.state !== state)) {
    throw new ConflictError(`所选明细须都属本批次且处于“${FAILURE_STATES[state]}”状态，请刷新后再试`);
  }
  return rows;
}

/** The cases one voucher covers: of this round, in the state, and the amount on the voucher exactly their total. */
async function voucherCases(trx: Tx, roundId: number, input: { failureIds: number[]; amountFen: number }, state: FailureState, amountLabel: string): Promise<{ cases: FailureRow[]; totalFen: number }> {
  const cases = await casesOfRound(trx, roundId, input.failureIds, state);
  const totalFen = cases.reduce((sum, c) => sum + c.amount_fen, 0);
  if (input.amountFen !== totalFen) throw new ValidationError({ amount: `${amountLabel}应为所选 ${cases.length} 笔的合计 ${formatYuan(totalFen)} 元` });
  return { cases, totalFen };
}

/** A round in the actor's scope, if policy.ts allows them this round-level step (refusals audited). */
async function roundFor(core: Core, actor: Actor, roundId: number, action: BankRoundAction): Promise<RoundRow> {
  const round = await bankRoundInScope(core.db, actor, roundId);
  await authorize(core.db, actor, can(actor, action, round), { objectType: 'round', objectId: roundId });
  return round;
}

/**
 * The finance section reviews the verified corrections again (程序性复核, another person than who corrected or
 * verified them) and sends them in a supplementary payout file. Lines whose money is still at the bank go at once;
 * lines whose money was refunded wait in their own supplement for the treasury to send the money again.
 */
export async function approveCorrections(core: Core, actor: Actor, roundId: number, failureIds: number[]): Promise<{ supplements: number[] }> {
  await roundFor(core, actor, roundId, 'approve_corrections');
  const outcome = await inTransaction(core.db, async (trx) => {
    const cases = await casesOfRound(trx, roundId, failureIds, 'reviewing');
    // Each line is decided by policy.ts (four-eyes); a refusal writes nothing and is audited after the transaction.
    const refusedCase = cases.flatMap((c) => {
      const decision = can(actor, 'approve', c);
      return decision.ok ? [] : [{ id: c.id, refusal: decision }];
    })[0];
    if (refusedCase) return refusedCase;
    const supplements: number[] = [];
    // The round's first supplement: no row, max() is null.
    let seq = ((await trx('bank_supplement').where({ round_id: roundId }).max({ m: 'seq' }).first()) as { m: number | null } | undefined)?.m ?? 0;
    for (const needsTransfer of [false, true]) {
      const group = cases.filter((c) => (c.funds === 'source') === needsTransfer);
      if (group.length === 0) continue;
      const amountFen = group.reduce((sum, c) => sum + c.amount_fen, 0);
      const supplementId = await insertReturningId(trx, 'bank_supplement', { round_id: roundId, seq: ++seq, needs_transfer: needsTransfer, lines: group.length, amount_fen: amountFen, created_by: actor.userId, created_at: nowIso() });
      await bulkInsert(trx, 'bank_supplement_line', group, (c) => ({ supplement_id: supplementId, failure_id: c.id, line_id: c.line_id, attempt: c.attempt + 1, amount_fen: c.amount_fen, account_id: c.account_id, holder_name: c.holder_name }));
      for (const c of group) {
        const updated = await trx('bank_failure').where({ id: c.id, version: c.version }).update({ state: 'resend', attempt: c.attempt + 1, reviewed_by: actor.userId, updated_at: nowIso(), version: c.version + 1 });
        if (updated !== 1) throw new ConflictError('明细已被他人处理，请刷新后再试');
      }
      await event(trx, group.map((c) => c.id), actor, { action: 'approve', from: 'reviewing', to: 'resend', note: `补充代发文件 ${seq}${needsTransfer ? '（待国库再次拨付）' : ''}` });
      await recordAudit(trx, actor, { action: 'bank.supplement.create', objectType: 'round', objectId: roundId, summary: { supplement: supplementId, seq, lines: group.length, amountFen, needsTransfer } });
      supplements.push(supplementId);
    }
    return { supplements };
  });
  if ('refusal' in outcome) return refuseWith(core.db, actor, outcome.refusal, { objectType: 'bank_failure', objectId: outcome.id });
  return outcome;
}

/**
 * The treasury sends the money of a supplement whose lines were refunded back to the bank: exactly its total, to
 * the settlement account of the bank's agreement. Until then the bank cannot fetch that supplement.
 */
export async function recordRetransfer(core: Core, actor: Actor, roundId: number, supplementId: number, input: { amountFen: number; voucherNo: string; destinationAccount: string }): Promise<void> {
  const round = await roundFor(core, actor, roundId, 'retransfer');
  const supplement = await core.db('bank_supplement').where({ id: supplementId, round_id: roundId }).first();
  if (!supplement) throw new NotFoundError('本批次没有该补充代发文件');
  if (!supplement.needs_transfer) throw new ConflictError('该补充代发文件的资金仍在代发银行，无需再次拨付');
  if (supplement.transferred_at) throw new ConflictError('该补充代发文件的资金已拨付');
  const { voucherNo } = input;
  if (input.amountFen !== supplement.amount_fen) throw new ValidationError({ amount: `拨付金额应为 ${formatYuan(supplement.amount_fen)} 元` });
  const agreement = await agreementInForce(core.db, { countyId: round.county_id, bankOrgId: round.bank_org_id!, on: businessDate(), townshipIds: [] });
  if (typeof agreement === 'string') throw new ValidationError({ destinationAccount: agreement });
  const settlementAccount = settlementAccountNumber(core.crypto, agreement);
  if (input.destinationAccount.replace(/\s/g, '') !== settlementAccount) {
    throw new ValidationError({ destinationAccount: `只能拨付到代发协议（${agreement.agreement_no}）约定的资金清算账户 ${settlementAccount}` });
  }
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('bank_supplement').where({ id: supplementId }).whereNull('transferred_at').update({ transfer_voucher: voucherNo, transferred_by: actor.userId, transferred_at: nowIso() });
    if (updated !== 1) throw new ConflictError('该补充代发文件的资金已拨付');
    const cases: { failure_id: number }[] = await trx('bank_supplement_line').where({ supplement_id: supplementId }).select('failure_id');
    const ids = cases.map((c) => c.failure_id);
    const moved = await trx('bank_failure').whereIn('id', ids).where({ state: 'resend', funds: 'source' }).update({ funds: 'bank', updated_at: nowIso(), version: trx.raw('version + 1') });
    if (moved !== ids.length) throw new ConflictError('补充代发文件中的明细状态已变化，请刷新后再试');
    await recordAudit(trx, actor, { action: 'bank.supplement.transfer', objectType: 'round', objectId: round.id, summary: { supplement: supplementId, amountFen: input.amountFen, voucherNo } });
  });
}

/**
 * The bank records the refund of failed resends to the source account (one voucher may cover several lines of a
 * round; its amount must be their total). Lines with attempts left wait for the department (10 working days);
 * a line that failed its last attempt is due back to the treasury.
 */
export async function recordRefund(core: Core, actor: Actor, roundId: number, input: { failureIds: number[]; voucherNo: string; refundedOn: string; amountFen: number }): Promise<number> {
  const round = await roundFor(core, actor, roundId, 'refund');
  const { voucherNo } = input;
  return inTransaction(core.db, async (trx) => {
    const { cases, totalFen } = await voucherCases(trx, roundId, input, 'refund_due', '退回金额');
    const refundId = await insertReturningId(trx, 'bank_refund', { round_id: roundId, bank_org_id: round.bank_org_id, voucher_no: voucherNo, refunded_on: input.refundedOn, lines: cases.length, amount_fen: totalFen, recorded_by: actor.userId, recorded_at: nowIso() });
    const keys = new Set<string>();
    for (const c of cases) {
      const to: FailureState = c.attempt >= MAX_ATTEMPTS ? 'return_due' : 'refunded';
      const updated = await trx('bank_failure').where({ id: c.id, version: c.version }).update({ state: to, funds: 'source', refund_id: refundId, updated_at: nowIso(), version: c.version + 1 });
      if (updated !== 1) throw new ConflictError('明细已被他人处理，请刷新后再试');
      await event(trx, [c.id], actor, { action: 'refund', from: 'refund_due', to, note: `退款凭证 ${voucherNo}` });
      if (c.deadline_key) keys.add(c.deadline_key);
    }
    for (const key of keys) await closeGroupIfDone(trx, actor, 'bank_refund', key, ['refund_due']);
    const toRepay = cases.filter((c) => c.attempt < MAX_ATTEMPTS).length;
    if (toRepay) {
      await openDeadline(trx, actor, { rule: BANK_DEADLINES.repayment, objectType: 'bank_refund', objectId: refundId, regionId: round.county_id, title: `${round.title}：退回资金 ${toRepay} 笔待重新发放`, startedOn: input.refundedOn });
    }
    await recordAudit(trx, actor, { action: 'bank.refund', objectType: 'round', objectId: roundId, summary: { refund: refundId, lines: cases.length, amountFen: totalFen, voucherNo, refundedOn: input.refundedOn } });
    return refundId;
  });
}

/** The treasury records the money of lines due back received (暂缴回同级财政); they go on the public list. */
export async function recordTreasuryReturn(core: Core, actor: Actor, roundId: number, input: { failureIds: number[]; voucherNo: string; returnedOn: string; amountFen: number }): Promise<number> {
  await roundFor(core, actor, roundId, 'treasury_return');
  const { voucherNo } = input;
  return inTransaction(core.db, async (trx) => {
    const { cases, totalFen } = await voucherCases(trx, roundId, input, 'return_due', '缴回金额');
    const returnId = await insertReturningId(trx, 'bank_treasury_return', { round_id: roundId, voucher_no: voucherNo, returned_on: input.returnedOn, lines: cases.length, amount_fen: totalFen, recorded_by: actor.userId, recorded_at: nowIso() });
    for (const c of cases) {
      const updated = await trx('bank_failure').where({ id: c.id, version: c.version }).update({ state: 'returned', funds: 'treasury', treasury_return_id: returnId, updated_at: nowIso(), version: c.version + 1 });
      if (updated !== 1) throw new ConflictError('明细已被他人处理，请刷新后再试');
    }
    await event(trx, cases.map((c) => c.id), actor, { action: 'treasury_return', from: 'return_due', to: 'returned', note: `缴款凭证 ${voucherNo}` });
    await recordAudit(trx, actor, { action: 'bank.treasury_return', objectType: 'round', objectId: roundId, summary: { treasuryReturn: returnId, lines: cases.length, amountFen: totalFen, voucherNo, returnedOn: input.returnedOn } });
    return returnId;
  });
}
