import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { sm3Hex } from '../../core/crypto.ts';
import { businessDate, businessYear } from '../../core/dates.ts';
import { bulkInsert, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import type { Fen } from '../../core/money.ts';
import { findRegion } from '../../core/regions.ts';
import { transferredRounds } from '../batch/index.ts';
import { authorize } from '../../core/authz.ts';
import type { FailureState } from './model.ts';
import { can } from './policy.ts';
import { clearingFigures } from './queries.ts';
import { clearingReportPdf } from './reports.ts';

/**
 * Year-end clearing (年末清算, Qinghai 二(二)9: 未发放完形成结余的，收回财政统筹安排). For a finished year, per policy
 * (clearingFigures in queries.ts): the allocation, what was paid, what is still at the bank, what went back to the
 * treasury, and the money still awaiting a decision — which the clearing returns to the treasury (each such failed
 * payment goes on the public list and can still be reissued).
 */

/**
 * The finance section clears a finished year: money awaiting a decision goes back to the treasury (one return per
 * round, the clearing's voucher), and the report is kept as PDF with its SM3. Once per county and year.
 */
export async function clearYear(core: Core, actor: Actor, input: { year: number; voucherNo: string }, at = new Date()): Promise<number> {
  const county = await findRegion(core.db, actor.regionId);
  if (!county) throw new NotFoundError('地区不存在');
  await authorize(core.db, actor, can(actor, 'clear_year', null), { objectType: 'clearing' });
  if (!Number.isInteger(input.year) || input.year >= businessYear(at)) throw new ValidationError({ year: '只能清算已结束的年度' });
  const voucherNo = input.voucherNo.trim();
  if (!voucherNo) throw new ValidationError({ voucherNo: '请填写清算缴款凭证号' });
  return inTransaction(core.db, async (trx) => {
    if (await trx('bank_clearing').where({ county_id: county.id, year: input.year }).first('id')) throw new ConflictError(`${input.year}年度已清算`);
    const rounds = await transferredRounds(trx, { countyId: county.id, year: input.year });
    if (await trx('bank_supplement').whereIn('round_id', rounds.map((r) => r.id)).where({ needs_transfer: true }).whereNull('transferred_at').first('id')) {
      throw new ConflictError('还有退回后重新发放、待国库科再次拨付的补充代发文件：请先办理拨付，再清算');
    }
    const awaiting: { id: number; round_id: number; amount_fen: Fen; state: FailureState; version: number }[] = await trx('bank_failure').whereIn('round_id', rounds.map((r) => r.id)).where({ funds: 'source' }).orderBy('id').select('id', 'round_id', 'amount_fen', 'state', 'version');
    const now = nowIso();
    for (const roundId of new Set(awaiting.map((c) => c.round_id))) {
      const cases = awaiting.filter((c) => c.round_id === roundId);
      const returnId = await insertReturningId(trx, 'bank_treasury_return', { round_id: roundId, voucher_no: voucherNo, returned_on: businessDate(at), lines: cases.length, amount_fen: cases.reduce((s, c) => s + c.amount_fen, 0), recorded_by: actor.userId, recorded_at: now });
      for (const c of cases) {
        const updated = await trx('bank_failure').where({ id: c.id, version: c.version }).update({ state: 'returned', funds: 'treasury', treasury_return_id: returnId, updated_at: now, version: c.version + 1 });
        if (updated !== 1) throw new ConflictError('有失败明细正在办理，请稍后再试');
      }
      await bulkInsert(trx, 'bank_failure_event', cases, (c) => ({ failure_id: c.id, action: 'clearing', from_state: c.state, to_state: 'returned', note: `${input.year}年度年末清算，缴款凭证 ${voucherNo}`, actor_id: actor.userId, at: now }));
    }
    const figures = await clearingFigures(trx, county.id, input.year);
    const pdf = await clearingReportPdf({ county: county.name, year: input.year, voucherNo, figures, clearedBy: actor.displayName, clearedAt: nowIso() });
    const id = await insertReturningId(trx, 'bank_clearing', { county_id: county.id, year: input.year, figures: JSON.stringify(figures), voucher_no: voucherNo, report_pdf: pdf, report_sm3: sm3Hex(pdf), cleared_by: actor.userId, cleared_at: now });
    await recordAudit(trx, actor, { action: 'bank.clearing', objectType: 'clearing', objectId: id, summary: { county: county.id, year: input.year, voucherNo, awaitingReturned: awaiting.length, clearedFen: figures.reduce((s, p) => s + p.clearedFen, 0) } });
    return id;
  });
}
