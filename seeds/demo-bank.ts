import { loadActor } from '../src/core/auth/actor.ts';
import type { Actor } from '../src/core/auth/roles.ts';
import type { Core } from '../src/core/context.ts';
import { businessDate } from '../src/core/dates.ts';
import { approveCorrections, correctFailure, recordRefund, recordRetransfer, recordTreasuryReturn, verifyFailure } from '../src/modules/bank/failures.ts';
import { DEMO_SETTLEMENT_ACCOUNT } from './demo-batch.ts';
import { lastEndedQuarter, openReconciliations } from '../src/modules/bank/reconcile.ts';
import { importResultFile } from '../src/modules/bank/results.ts';
import { type ResultLine, resultFileCsv } from '../src/modules/bank/simulator.ts';

/**
 * The demo's paid round after the bank answered (through the same commands the pages use): every line paid but four,
 * whose failures stand at different steps, so that each role finds its work and the public list has a name:
 * one waiting for the township's correction, one for the finance section's re-review, one failed again and due
 * for the bank's refund, one paid again after its refund that failed a third time and was returned to the treasury (on
 * the list of failed payments).
 */
export async function seedDemoBank(core: Core, roundId: number): Promise<void> {
  const actor = async (username: string): Promise<Actor> => (await loadActor(core.db, { username }, null))!.actor;
  const [bank, station, civil, finance, treasury] = await Promise.all(['bank', 'station1', 'dept_civil', 'finance', 'treasury'].map(actor));
  const lines: { id: number; amount_fen: number }[] = await core.db('batch_line').where({ round_id: roundId, state: 'active' }).orderBy('id').select('id', 'amount_fen');
  const failing = new Map([[lines[2]!.id, 'F03'], [lines[7]!.id, 'F01'], [lines[11]!.id, 'F05'], [lines[19]!.id, 'F04']]);
  const answer = async (rows: ResultLine[], name: string) => {
    const outcome = await importResultFile(core, bank, roundId, { name, buffer: resultFileCsv(rows) });
    if (!outcome.ok) throw new Error(`demo results refused: ${outcome.errors[0]?.message}`);
  };
  await answer(lines.map((l) => ({ ref: `R${roundId}-${l.id}`, amountFen: l.amount_fen, ...(failing.has(l.id) ? { result: '失败', code: failing.get(l.id) } : { result: '成功' }) })), '回盘（演示）.csv');
  const cases = async () => (await core.db('bank_failure').where({ round_id: roundId }).orderBy('id').select('id', 'version', 'amount_fen', 'line_id', 'attempt')).map((c) => ({ id: Number(c.id), version: Number(c.version), fen: Number(c.amount_fen), lineId: Number(c.line_id), attempt: Number(c.attempt) }));
  const refresh = async (id: number) => (await cases()).find((c) => c.id === id)!;
  const [, reviewing, refundDue, returned] = await cases();
  for (const c of [reviewing!, refundDue!, returned!]) {
    await correctFailure(core, station, c.id, { version: c.version, note: '已核实：账户状态已恢复正常（演示）' });
    await verifyFailure(core, civil, c.id, { version: (await refresh(c.id)).version });
  }
  await approveCorrections(core, finance, roundId, [refundDue!.id, returned!.id]);
  await answer([refundDue!, returned!].map((c) => ({ ref: `R${roundId}-${c.lineId}-2`, amountFen: c.fen, result: '失败', code: 'F04' })), '补充回盘（演示）.csv');
  const today = businessDate();
  await recordRefund(core, bank, roundId, { failureIds: [returned!.id], voucherNo: '信联退〔2026〕0008号（演示）', refundedOn: today, amountFen: returned!.fen });
  // Paid again within 10 working days (Qinghai 二(一)4): corrected, verified, re-reviewed, the money sent again; it
  // fails a third time, the bank refunds it and the money goes back to the treasury (the public list).
  await correctFailure(core, station, returned!.id, { version: (await refresh(returned!.id)).version, note: '已核实：本人长期外出务工，按登记账户再次发放（演示）' });
  await verifyFailure(core, civil, returned!.id, { version: (await refresh(returned!.id)).version });
  const { supplements } = await approveCorrections(core, finance, roundId, [returned!.id]);
  await recordRetransfer(core, treasury, roundId, supplements[0]!, { amountFen: returned!.fen, voucherNo: '青国库拨〔2026〕0019号（演示）', destinationAccount: DEMO_SETTLEMENT_ACCOUNT });
  await answer([{ ref: `R${roundId}-${returned!.lineId}-3`, amountFen: returned!.fen, result: '失败', code: 'F04' }], '第三次回盘（演示）.csv');
  await recordRefund(core, bank, roundId, { failureIds: [returned!.id], voucherNo: '信联退〔2026〕0011号（演示）', refundedOn: today, amountFen: returned!.fen });
  await recordTreasuryReturn(core, treasury, roundId, { failureIds: [returned!.id], voucherNo: '青国库缴〔2026〕0021号（演示）', returnedOn: today, amountFen: returned!.fen });
}

/**
 * Demo time: the paid round's transfer is dated to the last day of the quarter that ended last, and the quarter-end
 * task (reconcile.ts) opens that quarter's reconciliation with the bank, waiting for the bank's confirmation file and
 * the three sign-offs.
 */
export async function seedDemoReconciliation(core: Core, roundId: number): Promise<void> {
  const today = businessDate();
  const quarter = lastEndedQuarter(today);
  await core.db('batch_transfer').where({ round_id: roundId }).update({ recorded_at: new Date(`${quarter.end}T10:00:00+08:00`).toISOString() });
  if ((await openReconciliations(core.db, today)) !== 1) throw new Error('demo reconciliation not opened');
}
