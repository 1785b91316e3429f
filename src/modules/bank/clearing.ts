import { recordAudit } from '../../core/audit.ts';
import { type Actor, hasRole } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import { sm3Hex } from '../../core/crypto.ts';
import { businessDate, businessYear } from '../../core/dates.ts';
import { type Conn, type Tx, bulkInsert, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import type { Fen } from '../../core/money.ts';
import type { WorkQueue } from '../../core/module.ts';
import { type Region, findRegion } from '../../core/regions.ts';
import { transferredRounds } from '../batch/index.ts';
import { yearAllocations } from '../policy/index.ts';
import type { FailureState } from './model.ts';
import { closeRepaymentIfDone } from './failures.ts';
import { type SigningParty, can, clearingPartyOf } from './policy.ts';
import { type ClearingDraft, type ClearingFigures, clearingConfirmationsOf, clearingDraftOf, clearingFigures, clearingParties, confirmationOf, openClearingDrafts, orgNames } from './queries.ts';
import { clearingReportPdf } from './reports.ts';

/**
 * Year-end clearing (年末清算, Qinghai 二(二)9: 在年末或一个执行期结束后，财政、实施部门、受托银行业金融机构对发放的补贴资金
 * 进行清算，未发放完形成结余的，收回财政统筹安排), with all three parties:
 *
 * 1. The finance section opens the clearing of a finished year for its county (openClearing): a draft with the
 *    figures (clearingFigures in queries.ts: every policy with an allocation or a round in the year; the unspent
 *    balance to return to the treasury, defined there in fen; each agent bank's part) and its parties: the finance
 *    section, each department with a part, each agent bank with rounds.
 * 2. Each department confirms its policies' part and each bank its rounds' part (paid, still at the bank), or
 *    disputes it with a reason (disputeClearing): the draft goes back to the finance section, which corrects what
 *    needs correcting where it is recorded and re-opens the clearing (openClearing again): the figures are read
 *    anew and every confirmation given on the earlier ones is withdrawn. The figures confirmed are those stored at
 *    opening: a confirmation is refused when the records have changed since (a late bank result, a refund), until
 *    the finance section re-opens.
 * 3. The finance section's confirmation is the last (after every department and bank) and makes the clearing final:
 *    it is taken by another person than the one who opened or last re-opened it (four-eyes), with the voucher of
 *    the money returned. In that transaction the money still awaiting a decision goes back to the treasury (one
 *    return per round, as a treasury return), and the report (PDF, with each party's confirmation) is kept in
 *    bank_clearing with its SM3. Once per county and year.
 */

type Confirmed = Awaited<ReturnType<typeof clearingConfirmationsOf>>;

/** What can() decides a clearing step on. */
const facts = (draft: ClearingDraft, confirmed: Confirmed) => ({ state: draft.state, parties: draft.parties, confirmed: confirmed.map((c) => ({ party: c.party, orgId: c.org_id })), openedBy: draft.opened_by });

async function countyOf(core: Core, actor: Actor): Promise<Region> {
  const county = await findRegion(core.db, actor.regionId);
  if (!county) throw new NotFoundError('地区不存在');
  return county;
}

async function draftOf(db: Conn, countyId: number, year: number): Promise<ClearingDraft> {
  const draft = await clearingDraftOf(db, countyId, year);
  if (!draft) throw new NotFoundError(`${year}年度尚未开启年末清算`);
  return draft;
}

/** The figures and parties of a year as the records stand now. */
async function currentFigures(db: Conn, countyId: number, year: number): Promise<{ figures: ClearingFigures; parties: SigningParty[] }> {
  const figures = await clearingFigures(db, countyId, year);
  const names = await orgNames(db, figures.policies.flatMap((p) => p.departmentOrgIds));
  return { figures, parties: clearingParties(figures, names) };
}

const sameFigures = (a: ClearingFigures, b: ClearingFigures) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The finance section opens a finished year's clearing, or re-opens it (after a dispute, or when the records changed
 * since it was opened: `version` is the draft's, as the page showed it): the figures are read anew and every
 * confirmation is withdrawn.
 */
export async function openClearing(core: Core, actor: Actor, input: { year: number; version?: number }, at = new Date()): Promise<number> {
  const county = await countyOf(core, actor);
  const existing = await clearingDraftOf(core.db, county.id, input.year);
  await authorize(core.db, actor, can(actor, 'open_clearing', { state: existing?.state ?? null }), { objectType: 'clearing_draft', objectId: existing?.id });
  if (!Number.isInteger(input.year) || input.year >= businessYear(at)) throw new ValidationError({ year: '只能清算已结束的年度' });
  return inTransaction(core.db, async (trx) => {
    if (!existing && (await trx('bank_clearing').where({ county_id: county.id, year: input.year }).first('id'))) throw new ConflictError(`${input.year}年度已清算`);
    const rounds = await transferredRounds(trx, { countyId: county.id, year: input.year });
    if (await trx('bank_supplement').whereIn('round_id', rounds.map((r) => r.id)).where({ needs_transfer: true }).whereNull('transferred_at').first('id')) {
      throw new ConflictError('还有退回后重新发放、待国库科再次拨付的补充代发文件：请先办理拨付，再清算');
    }
    const { figures, parties } = await currentFigures(trx, county.id, input.year);
    if (figures.policies.length === 0) throw new ConflictError(`${input.year}年度没有资金指标，也没有已拨付的发放批次，无需清算`);
    const now = nowIso();
    const row = { state: 'open', figures: JSON.stringify(figures), parties: JSON.stringify(parties), opened_by: actor.userId, opened_at: now };
    let id: number;
    if (existing) {
      const updated = await trx('bank_clearing_draft').where({ id: existing.id, version: input.version ?? -1 }).whereIn('state', ['open', 'disputed']).update({ ...row, version: existing.version + 1 });
      if (updated !== 1) throw new ConflictError('清算已有变化，请刷新页面后再办理');
      await trx('bank_clearing_confirmation').where({ draft_id: existing.id }).delete();
      id = existing.id;
    } else {
      id = await insertReturningId(trx, 'bank_clearing_draft', { county_id: county.id, year: input.year, ...row, version: 1 });
    }
    const clearedFen = figures.policies.reduce((s, p) => s + p.clearedFen, 0);
    await recordAudit(trx, actor, { action: 'bank.clearing.open', objectType: 'clearing_draft', objectId: id, summary: { county: county.id, year: input.year, reopened: Boolean(existing), policies: figures.policies.length, parties: parties.length, clearedFen } });
    return id;
  });
}

/**
 * A party confirms the clearing (`version`: the draft's, as the page showed it). A department or bank records its
 * confirmation; the finance section's, the last, makes it final (with the voucher of the money returned): returns
 * true then.
 */
export async function confirmClearing(core: Core, actor: Actor, input: { year: number; version: number; voucherNo?: string }, at = new Date()): Promise<boolean> {
  const county = await countyOf(core, actor);
  const draft = await draftOf(core.db, county.id, input.year);
  const confirmed = await clearingConfirmationsOf(core.db, draft.id);
  const step = facts(draft, confirmed);
  await authorize(core.db, actor, can(actor, 'confirm_clearing', step), { objectType: 'clearing_draft', objectId: draft.id });
  const mine = clearingPartyOf(actor, step)!;
  const voucherNo = (input.voucherNo ?? '').trim();
  if (mine.party === 'finance_section' && !voucherNo) throw new ValidationError({ voucherNo: '请填写清算缴款凭证号' });
  if (draft.version !== input.version) throw new ConflictError('清算已有变化，请刷新页面核对后再确认');
  if (!sameFigures((await currentFigures(core.db, county.id, input.year)).figures, draft.figures)) {
    throw new ConflictError('清算开启后相关资金记录已有变化（如银行新的发放结果或退回）：请财政局业务科室重新开启清算，核对新的数据后再确认');
  }
  return inTransaction(core.db, async (trx) => {
    const now = nowIso();
    const signer = `${actor.displayName}（${actor.orgName ?? mine.label}）`;
    if (mine.party !== 'finance_section') {
      // The draft's version guards against a re-opening or a dispute taken meanwhile.
      const current: { version: number; state: string } = await trx('bank_clearing_draft').where({ id: draft.id }).first('version', 'state');
      if (current.version !== draft.version || current.state !== 'open') throw new ConflictError('清算已有变化，请刷新页面核对后再确认');
      if (await trx('bank_clearing_confirmation').where({ draft_id: draft.id, party: mine.party, org_id: mine.orgId }).first('id')) throw new ConflictError(`${mine.label}已确认`);
      await trx('bank_clearing_confirmation').insert({ draft_id: draft.id, party: mine.party, org_id: mine.orgId, user_id: actor.userId, signer_name: signer.slice(0, 120), confirmed_at: now });
      await recordAudit(trx, actor, { action: 'bank.clearing.confirm', objectType: 'clearing_draft', objectId: draft.id, summary: { year: input.year, party: mine.party, org: mine.orgId } });
      return false;
    }
    const updated = await trx('bank_clearing_draft').where({ id: draft.id, state: 'open', version: draft.version }).update({ state: 'final', version: draft.version + 1 });
    if (updated !== 1) throw new ConflictError('清算已有变化，请刷新页面核对后再确认');
    await trx('bank_clearing_confirmation').insert({ draft_id: draft.id, party: mine.party, org_id: null, user_id: actor.userId, signer_name: signer.slice(0, 120), confirmed_at: now });
    const awaitingReturned = await returnAwaiting(trx, actor, { countyId: county.id, year: input.year, voucherNo }, at);
    const confirmations = await clearingConfirmationsOf(trx, draft.id);
    const pdf = await clearingReportPdf({
      county: county.name,
      year: input.year,
      voucherNo,
      figures: draft.figures,
      openedBy: draft.opened_by_name,
      openedAt: draft.opened_at,
      confirmations: draft.parties.map((p) => {
        const c = confirmationOf(confirmations, p);
        return { label: p.party === 'finance_section' ? `${p.label}（最终确认）` : p.label, signer: c?.signer_name ?? '', at: c ? new Date(c.confirmed_at).toISOString() : '' };
      }),
    });
    const clearingId = await insertReturningId(trx, 'bank_clearing', { county_id: county.id, year: input.year, figures: JSON.stringify(draft.figures), voucher_no: voucherNo, report_pdf: pdf, report_sm3: sm3Hex(pdf), cleared_by: actor.userId, cleared_at: now });
    await trx('bank_clearing_draft').where({ id: draft.id }).update({ clearing_id: clearingId });
    const clearedFen = draft.figures.policies.reduce((s, p) => s + p.clearedFen, 0);
    await recordAudit(trx, actor, { action: 'bank.clearing', objectType: 'clearing', objectId: clearingId, summary: { county: county.id, year: input.year, voucherNo, awaitingReturned, clearedFen } });
    return true;
  });
}

/** The money of the year's rounds still awaiting a decision goes back to the treasury: one return per round, each case returned. */
async function returnAwaiting(trx: Tx, actor: Actor, input: { countyId: number; year: number; voucherNo: string }, at: Date): Promise<number> {
  const rounds = await transferredRounds(trx, { countyId: input.countyId, year: input.year });
  const awaiting: { id: number; round_id: number; amount_fen: Fen; state: FailureState; version: number; refund_id: number | null }[] = await trx('bank_failure').whereIn('round_id', rounds.map((r) => r.id)).where({ funds: 'source' }).orderBy('id').select('id', 'round_id', 'amount_fen', 'state', 'version', 'refund_id');
  const now = nowIso();
  for (const roundId of new Set(awaiting.map((c) => c.round_id))) {
    const cases = awaiting.filter((c) => c.round_id === roundId);
    const returnId = await insertReturningId(trx, 'bank_treasury_return', { round_id: roundId, voucher_no: input.voucherNo, returned_on: businessDate(at), lines: cases.length, amount_fen: cases.reduce((s, c) => s + c.amount_fen, 0), recorded_by: actor.userId, recorded_at: now });
    for (const c of cases) {
      const updated = await trx('bank_failure').where({ id: c.id, version: c.version }).update({ state: 'returned', funds: 'treasury', treasury_return_id: returnId, updated_at: now, version: c.version + 1 });
      if (updated !== 1) throw new ConflictError('有失败明细正在办理，请稍后再试');
    }
    await bulkInsert(trx, 'bank_failure_event', cases, (c) => ({ failure_id: c.id, action: 'clearing', from_state: c.state, to_state: 'returned', note: `${input.year}年度年末清算，缴款凭证 ${input.voucherNo}`, actor_id: actor.userId, at: now }));
  }
  // The refunds' repayment clocks end with the money they waited for back at the treasury.
  for (const refundId of new Set(awaiting.map((c) => c.refund_id))) await closeRepaymentIfDone(trx, actor, refundId);
  return awaiting.length;
}

/** A department or bank disputes its part, with a reason: the clearing goes back to the finance section to correct and re-open. */
export async function disputeClearing(core: Core, actor: Actor, input: { year: number; version: number; reason: string }): Promise<void> {
  const county = await countyOf(core, actor);
  const draft = await draftOf(core.db, county.id, input.year);
  const confirmed = await clearingConfirmationsOf(core.db, draft.id);
  const step = facts(draft, confirmed);
  await authorize(core.db, actor, can(actor, 'dispute_clearing', step), { objectType: 'clearing_draft', objectId: draft.id });
  const reason = input.reason.trim();
  if (!reason) throw new ValidationError({ reason: '请写明异议的理由（哪一项、哪一笔不符）' });
  const mine = clearingPartyOf(actor, step)!;
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('bank_clearing_draft')
      .where({ id: draft.id, state: 'open', version: input.version })
      .update({ state: 'disputed', dispute_party: `${actor.displayName}（${actor.orgName ?? mine.label}）`.slice(0, 120), dispute_reason: reason.slice(0, 500), disputed_by: actor.userId, disputed_at: nowIso(), version: draft.version + 1 });
    if (updated !== 1) throw new ConflictError('清算已有变化，请刷新页面核对后再办理');
    await recordAudit(trx, actor, { action: 'bank.clearing.dispute', objectType: 'clearing_draft', objectId: draft.id, summary: { year: input.year, party: mine.party, org: mine.orgId, reason } });
  });
}

/**
 * The home pages' to-dos of the clearing: the finance section's (open last year's; re-open a disputed one; make one
 * final that every other party confirmed, unless they opened it), a department's or bank's (confirm its part).
 */
export async function clearingQueues(db: Conn, actor: Actor, today = new Date()): Promise<WorkQueue[]> {
  const queues: WorkQueue[] = [];
  const drafts = (await openClearingDrafts(db)).filter((d) => d.county_id === actor.regionId);
  if (hasRole(actor, 'finance_section') && actor.regionLevel === 'county') {
    const lastYear = businessYear(today) - 1;
    const started = (await clearingDraftOf(db, actor.regionId, lastYear)) ?? (await db('bank_clearing').where({ county_id: actor.regionId, year: lastYear }).first('id'));
    if (!started && ((await transferredRounds(db, { countyId: actor.regionId, year: lastYear })).length || (await yearAllocations(db, actor.regionId, lastYear)).length)) {
      queues.push({ title: `${lastYear}年度待开启年末清算`, count: 1, href: `/bank/clearing?year=${lastYear}` });
    }
    for (const d of drafts) {
      if (d.state === 'disputed') queues.push({ title: `${d.year}年度年末清算有异议，待更正后重新开启`, count: 1, href: `/bank/clearing?year=${d.year}` });
      else if (can(actor, 'confirm_clearing', facts(d, await clearingConfirmationsOf(db, d.id))).ok) queues.push({ title: `${d.year}年度年末清算各方已确认，待最终确认`, count: 1, href: `/bank/clearing?year=${d.year}` });
    }
  }
  if (hasRole(actor, 'department', 'bank')) {
    for (const d of drafts) {
      if (d.state !== 'open') continue;
      const confirmed = await clearingConfirmationsOf(db, d.id);
      const mine = clearingPartyOf(actor, facts(d, confirmed));
      if (mine && mine.party !== 'finance_section' && !confirmationOf(confirmed, mine)) queues.push({ title: `${d.year}年度年末清算待本单位确认`, count: 1, href: `/bank/clearing?year=${d.year}` });
    }
  }
  return queues;
}
