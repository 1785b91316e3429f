import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/core/auth/roles.ts';
import { businessDate } from '../../src/core/dates.ts';
import { ValidationError } from '../../src/core/errors.ts';
import { validate } from '../../src/core/http/validate.ts';
import { correctSchema } from '../../src/modules/bank/schemas.ts';
import { seededRandom } from '../../src/core/random.ts';
import { approveCorrections, approveReissue, compileReissue, correctFailure, decideReturn, recordRefund, recordRetransfer, recordTreasuryReturn, requestReissue, sendBackFailure, verifyFailure } from '../../src/modules/bank/failures.ts';
import { roundLedger } from '../../src/modules/bank/ledger.ts';
import { payoutFile } from '../../src/modules/bank/commands.ts';
import { createUser } from '../../src/core/users.ts';
import { checkRoster, removeLine } from '../../src/modules/batch/commands.ts';
import { fen } from '../../src/core/money.ts';
import { recordPaymentPlan, recordTransfer, releaseRound, submitRound } from '../../src/modules/batch/round-workflow.ts';
import type { RosterAction } from '../../src/modules/batch/model.ts';
import { actOnRoster } from '../../src/modules/batch/workflow.ts';
import { importResultFile } from '../../src/modules/bank/results.ts';
import { type ResultLine, resultFileCsv } from '../../src/modules/bank/simulator.ts';
import { DEMO_SETTLEMENT_ACCOUNT } from '../../seeds/demo-batch.ts';
import { type TestDb, actorFor, createSeededDb, publishRoster } from '../factories.ts';

/**
 * The money invariants (docs/architecture.md) under random sequences of what happens after a round is paid: the bank's
 * results (first payouts and resends), corrections, send-backs, re-reviews, refunds, the treasury's transfers
 * and returns. After every step, to the fen: transferred = paid + pending + refunded; refunded = re-sent +
 * returned + awaiting; no line paid twice; a case's `funds` agrees with its state.
 */
let t: TestDb;
let roundId: number;
const who: Record<string, Actor> = {};

beforeAll(async () => {
  t = await createSeededDb({ demo: true }, { people: true });
  roundId = Number((await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id')).id);
  for (const name of ['station1', 'dept_civil', 'finance', 'treasury', 'bank']) who[name] = await actorFor(t, name);
});
afterAll(async () => t?.cleanup());

/** Back to the moment after the treasury's transfer: nothing the bank module wrote for the round. */
async function reset(): Promise<void> {
  const db = t.core.db;
  await db('bank_failure_event').whereIn('failure_id', db('bank_failure').select('id').where({ round_id: roundId })).delete();
  await db('bank_supplement_line').whereIn('supplement_id', db('bank_supplement').select('id').where({ round_id: roundId })).delete();
  await db('bank_failure').where({ round_id: roundId }).delete();
  for (const table of ['bank_supplement', 'bank_refund', 'bank_treasury_return', 'bank_notice', 'bank_line_result', 'bank_result_file']) await db(table).where({ round_id: roundId }).delete();
  const reissueRounds = db('batch_round').where({ kind: 'reissue' }).select('id');
  for (const table of ['bank_notice', 'bank_line_result', 'bank_result_file', 'batch_transfer']) await db(table).whereIn('round_id', reissueRounds).delete();
  await db('batch_finding').whereIn('roster_id', db('batch_roster').whereIn('round_id', reissueRounds).select('id')).delete();
  for (const table of ['batch_history', 'batch_line', 'batch_roster']) await db(table).whereIn('round_id', reissueRounds).delete();
  await db('batch_round').where({ kind: 'reissue' }).delete();
  await db('core_deadline').whereIn('rule', ['failure_correction', 'bank_refund', 'repayment']).delete();
}

type Op = 'results' | 'correct' | 'verify' | 'sendBack' | 'approve' | 'retransfer' | 'resendResults' | 'refund' | 'decideReturn' | 'treasuryReturn' | 'requestReissue' | 'approveReissue' | 'compileReissue';

/** Some of the items, at least one when there are any. */
function subset<T>(items: T[], rand: () => number, max = 6): T[] {
  const chosen = items.filter(() => rand() < 0.6).slice(0, max);
  return chosen.length || items.length === 0 ? chosen : [items[Math.floor(rand() * items.length)]!];
}

async function upload(refs: { ref: string; amount: number }[], rand: () => number, name: string, failRate = 0.5): Promise<void> {
  const csv = resultFileCsv(refs.map((r): ResultLine => (rand() >= failRate ? { ref: r.ref, amountFen: r.amount, result: '成功' } : { ref: r.ref, amountFen: r.amount, result: '失败', code: 'F03' })));
  const outcome = await importResultFile(t.core, who.bank!, roundId, { name, buffer: csv });
  expect(outcome.ok, JSON.stringify(outcome.ok ? '' : outcome.errors.slice(0, 3))).toBe(true);
}

async function cases(state: string): Promise<{ id: number; line_id: number; version: number; amount_fen: number; attempt: number }[]> {
  return (await t.core.db('bank_failure').where({ round_id: roundId, state }).orderBy('id').select('id', 'line_id', 'version', 'amount_fen', 'attempt')).map((c) => ({ id: Number(c.id), line_id: Number(c.line_id), version: Number(c.version), amount_fen: Number(c.amount_fen), attempt: Number(c.attempt) }));
}

/** The steps that have something to act on now (so that random sequences go deep into the flow). */
async function applicable(): Promise<Op[]> {
  const db = t.core.db;
  const states = new Set((await db('bank_failure').where({ round_id: roundId }).distinct('state')).map((r: { state: string }) => r.state));
  const answered = Number((await db('bank_line_result').where({ round_id: roundId, attempt: 1 }).count({ n: '*' }).first())?.n ?? 0);
  const lines = Number((await db('batch_line').where({ round_id: roundId, state: 'active' }).count({ n: '*' }).first())?.n ?? 0);
  const waitingTransfer = await db('bank_supplement').where({ round_id: roundId, needs_transfer: true }).whereNull('transferred_at').first('id');
  const ops: Op[] = [];
  if (answered < lines) ops.push('results');
  if (states.has('correcting') || states.has('refunded')) ops.push('correct');
  if (states.has('verifying') || states.has('reissue_verifying')) ops.push('verify', 'sendBack');
  if (states.has('reviewing')) ops.push('approve', 'sendBack');
  if (await db('bank_failure').where({ round_id: roundId, state: 'returned' }).whereNull('return_ground').first('id')) ops.push('requestReissue');
  if (states.has('reissue_reviewing')) ops.push('approveReissue', 'sendBack');
  if (states.has('reissue_approved')) ops.push('compileReissue');
  if (waitingTransfer) ops.push('retransfer');
  if (states.has('resend')) ops.push('resendResults');
  if (states.has('refund_due')) ops.push('refund');
  if (states.has('refunded')) ops.push('decideReturn');
  if (states.has('return_due')) ops.push('treasuryReturn');
  return ops;
}

/**
 * Later steps of the flow weigh more, so that sequences reach the refunds, returns and reissues; going back weighs
 * least, and so does an early return (the exception: a person no longer entitled, who gets no reissue).
 */
const DEPTH: Op[] = ['decideReturn', 'sendBack', 'results', 'correct', 'verify', 'approve', 'resendResults', 'retransfer', 'refund', 'treasuryReturn', 'requestReissue', 'approveReissue', 'compileReissue'];
function weighted(ops: Op[], seed: number): Op {
  const weights = ops.map((op) => 1 + DEPTH.indexOf(op));
  let n = seed % weights.reduce((a, b) => a + b, 0);
  for (const [i, w] of weights.entries()) {
    if (n < w) return ops[i]!;
    n -= w;
  }
  return ops[0]!;
}

async function run(op: Op, seed: number, step: number): Promise<void> {
  const db = t.core.db;
  const rand = seededRandom(seed);
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)];
  const today = businessDate();
  switch (op) {
    case 'results': {
      const answered = db('bank_line_result').where({ round_id: roundId, attempt: 1 }).select('line_id');
      const open = await db('batch_line').where({ round_id: roundId, state: 'active' }).whereNotIn('id', answered).orderBy('id').select('id', 'amount_fen');
      const chosen = subset(open, rand, 8);
      if (chosen.length) await upload(chosen.map((l) => ({ ref: `R${roundId}-${l.id}`, amount: Number(l.amount_fen) })), rand, `回盘-${step}.csv`);
      return;
    }
    case 'resendResults': {
      const rows = await db('bank_supplement_line as sl')
        .join('bank_supplement as s', 's.id', 'sl.supplement_id')
        .leftJoin('bank_line_result as r', (j) => j.on('r.line_id', 'sl.line_id').andOn('r.attempt', 'sl.attempt'))
        .where('s.round_id', roundId)
        .whereNull('r.id')
        .where((w) => w.where('s.needs_transfer', false).orWhereNotNull('s.transferred_at'))
        .select('sl.line_id', 'sl.attempt', 'sl.amount_fen');
      const chosen = subset(rows, rand);
      // Resends fail more often than not, so that sequences reach the third failure, the return to the treasury and
      // the reissue (the department no longer returns money at will after the second failure).
      if (chosen.length) await upload(chosen.map((l) => ({ ref: `R${roundId}-${l.line_id}-${l.attempt}`, amount: Number(l.amount_fen) })), rand, `补充回盘-${step}.csv`, 0.75);
      return;
    }
    case 'correct': {
      for (const c of subset([...(await cases('correcting')), ...(await cases('refunded')).filter((x) => x.attempt < 3)], rand)) await correctFailure(t.core, who.station1!, c.id, { version: c.version, note: '已核实：账户已解冻' });
      return;
    }
    case 'verify': {
      for (const c of subset([...(await cases('verifying')), ...(await cases('reissue_verifying'))], rand)) await verifyFailure(t.core, who.dept_civil!, c.id, { version: c.version });
      return;
    }
    case 'sendBack': {
      const verifying = [...(await cases('verifying')), ...(await cases('reissue_verifying'))];
      const c = pick(verifying.length && rand() < 0.5 ? verifying : [...(await cases('reviewing')), ...(await cases('reissue_reviewing'))]);
      if (c) await sendBackFailure(t.core, verifying.includes(c) ? who.dept_civil! : who.finance!, c.id, { version: c.version, reason: '请补充核实材料' });
      return;
    }
    case 'approve': {
      const chosen = subset(await cases('reviewing'), rand);
      if (chosen.length) await approveCorrections(t.core, who.finance!, roundId, chosen.map((c) => c.id));
      return;
    }
    case 'retransfer': {
      const s = pick(await db('bank_supplement').where({ round_id: roundId, needs_transfer: true }).whereNull('transferred_at').select('id', 'amount_fen'));
      if (s) await recordRetransfer(t.core, who.treasury!, roundId, Number(s.id), { amountFen: Number(s.amount_fen), voucherNo: `再拨-${step}`, destinationAccount: DEMO_SETTLEMENT_ACCOUNT });
      return;
    }
    case 'refund': {
      const chosen = subset(await cases('refund_due'), rand);
      if (chosen.length) await recordRefund(t.core, who.bank!, roundId, { failureIds: chosen.map((c) => c.id), voucherNo: `退-${step}`, refundedOn: today, amountFen: chosen.reduce((s, c) => s + c.amount_fen, 0) });
      return;
    }
    case 'decideReturn': {
      const c = pick(await cases('refunded'));
      if (c) await decideReturn(t.core, who.dept_civil!, c.id, { version: c.version, ground: 'moved_away', evidence: `迁出证明 QC-${step}` });
      return;
    }
    case 'requestReissue': {
      // A person returned early because no longer entitled gets no reissue (policy.ts).
      const early = new Set((await db('bank_failure').where({ round_id: roundId, state: 'returned' }).whereNotNull('return_ground').pluck('id')).map(Number));
      for (const c of subset((await cases('returned')).filter((x) => !early.has(x.id)), rand)) await requestReissue(t.core, who.station1!, c.id, { version: c.version, note: '本人已到站报备' });
      return;
    }
    case 'approveReissue': {
      for (const c of subset(await cases('reissue_reviewing'), rand)) await approveReissue(t.core, who.finance!, c.id, { version: c.version });
      return;
    }
    case 'compileReissue': {
      await compileReissue(t.core, who.dept_civil!, roundId);
      return;
    }
    case 'treasuryReturn': {
      const chosen = subset(await cases('return_due'), rand);
      if (chosen.length) await recordTreasuryReturn(t.core, who.treasury!, roundId, { failureIds: chosen.map((c) => c.id), voucherNo: `缴-${step}`, returnedOn: today, amountFen: chosen.reduce((s, c) => s + c.amount_fen, 0) });
      return;
    }
  }
}

async function assertInvariants(): Promise<void> {
  const db = t.core.db;
  const l = await roundLedger(db, roundId);
  expect(l.transferredFen).toBe(l.paidFen + l.pendingFen + l.refundedFen);
  expect(l.refundedFen).toBe(l.resentFen + l.returnedFen + l.awaitingFen);
  expect(l.pendingFen).toBeGreaterThanOrEqual(0);
  expect(l.pending).toBeGreaterThanOrEqual(0);
  const twice = await db('bank_line_result').where({ round_id: roundId, result: 'paid' }).groupBy('line_id').havingRaw('count(*) > 1').select('line_id');
  expect(twice).toEqual([]);
  // A reissue only for money returned to the treasury, one line per case, for the same person and amount.
  const reissues = await db('bank_failure as f').join('batch_line as l', 'l.id', 'f.reissue_line_id').where('f.round_id', roundId).select('f.funds', 'f.person_id', 'f.amount_fen', 'l.person_id as line_person', 'l.amount_fen as line_amount', 'l.reissue');
  for (const r of reissues) expect([r.funds, Number(r.line_person), Number(r.line_amount), Boolean(r.reissue)]).toEqual(['treasury', Number(r.person_id), Number(r.amount_fen), true]);
  const reissueLines = await db('batch_line').where({ reissue: true }).whereIn('round_id', db('batch_round').where({ kind: 'reissue' }).select('id')).count({ n: '*' }).first();
  expect(Number(reissueLines?.n)).toBe(reissues.length);
  const inconsistent = await db('bank_failure')
    .where({ round_id: roundId })
    .where((w) => w.where((a) => a.where('state', 'paid').whereNot('funds', 'paid')).orWhere((a) => a.where('state', 'returned').whereNot('funds', 'treasury')).orWhere((a) => a.whereIn('state', ['refunded', 'return_due']).whereNot('funds', 'source')))
    .select('id', 'state', 'funds');
  expect(inconsistent).toEqual([]);
}

describe('the money of a paid round, to the fen, at every moment', () => {
  it('holds both identities after every step of random sequences of results, corrections, refunds, transfers and returns', async () => {
    const reached = new Set<string>();
    await fc.assert(
      // Long enough to reach the third attempt, the return to the treasury and the reissue.
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { minLength: 50, maxLength: 120 }), async (seeds) => {
        await reset();
        await assertInvariants();
        for (const [i, seed] of seeds.entries()) {
          const ops = await applicable();
          if (ops.length === 0) break;
          await run(weighted(ops, seed), seed, i);
          await assertInvariants();
          for (const r of await t.core.db('bank_failure').where({ round_id: roundId }).distinct('state')) reached.add(r.state);
        }
      }),
      { numRuns: 20, seed: 20261123, endOnFailure: true },
    );
    // The sequences went through the whole flow, not just its first steps.
    expect([...reached].sort()).toEqual(expect.arrayContaining(['paid', 'refunded', 'resend', 'return_due', 'returned', 'reviewing', 'verifying', 'reissue_approved', 'reissued']));
  }, 600_000);

  it('reaches every end of the documents\' flow on a fixed path: paid on resend, refunded and paid again, returned to the treasury', async () => {
    await reset();
    const db = t.core.db;
    const lines = await db('batch_line').where({ round_id: roundId, state: 'active' }).orderBy('id').limit(3).select('id', 'amount_fen');
    // Rows written as the file's lines (流水号,金额（分）,结果,失败代码), the file's summary counted from them.
    const csv = (rows: string[]) => resultFileCsv(rows.map((row) => {
      const [ref, amountFen, result, code] = row.split(',') as [string, string, string, string];
      return { ref, amountFen, result, code };
    }));
    const answer = async (rows: string[], name: string) => expect((await importResultFile(t.core, who.bank!, roundId, { name, buffer: csv(rows) })).ok).toBe(true);
    await answer(lines.map((l) => `R${roundId}-${l.id},${l.amount_fen},失败,F03,`), 'first.csv');
    // One correction clock per township and result file, 10 working days.
    expect(Number((await db('core_deadline').where({ rule: 'failure_correction', state: 'open' }).count({ n: '*' }).first())?.n)).toBe(1);
    const through = async () => {
      for (const c of await cases('correcting')) await correctFailure(t.core, who.station1!, c.id, { version: c.version, note: '已核实' });
      for (const c of await cases('verifying')) await verifyFailure(t.core, who.dept_civil!, c.id, { version: c.version });
      await approveCorrections(t.core, who.finance!, roundId, (await cases('reviewing')).map((c) => c.id));
    };
    await through();
    // Verified and re-reviewed, the corrected lines have not reached the bank yet: the correction clock runs until the
    // bank fetches the supplementary payout file that holds them (its checksum alone is not the file).
    expect(await db('core_deadline').where({ rule: 'failure_correction', state: 'open' }).first('id')).toBeDefined();
    await payoutFile(t.core, { actor: who.bank! }, roundId, 'csv', 1, { delivered: false });
    expect(await db('core_deadline').where({ rule: 'failure_correction', state: 'open' }).first('id')).toBeDefined();
    await payoutFile(t.core, { actor: who.bank! }, roundId, 'csv', 1);
    expect(await db('core_deadline').where({ rule: 'failure_correction', state: 'open' }).first('id')).toBeUndefined();
    const [a, b, c] = lines.map((l) => ({ id: Number(l.id), fen: Number(l.amount_fen) }));
    await answer([`R${roundId}-${a!.id}-2,${a!.fen},成功,,`, `R${roundId}-${b!.id}-2,${b!.fen},失败,F01,`, `R${roundId}-${c!.id}-2,${c!.fen},失败,F01,`], 'second.csv');
    expect((await db('bank_failure').where({ line_id: a!.id }).first('state')).state).toBe('paid');
    expect(await db('core_deadline').where({ rule: 'bank_refund', state: 'open' }).first('id')).toBeDefined();
    const due = await cases('refund_due');
    await recordRefund(t.core, who.bank!, roundId, { failureIds: due.map((x) => x.id), voucherNo: '退款001', refundedOn: businessDate(), amountFen: b!.fen + c!.fen });
    expect(await db('core_deadline').where({ rule: 'repayment', state: 'open' }).first('id')).toBeDefined();
    // c: the department decides to return it; b: corrected, re-reviewed, the treasury sends the money again, fails a third time.
    const cCase = (await cases('refunded')).find((x) => x.line_id === c!.id)!;
    const bCase = (await cases('refunded')).find((x) => x.line_id === b!.id)!;
    await decideReturn(t.core, who.dept_civil!, cCase.id, { version: cCase.version, ground: 'moved_away', evidence: '户口迁移证 鲁迁字第 0012 号' });
    await correctFailure(t.core, who.station1!, bCase.id, { version: bCase.version, note: '本人已补办社保卡' });
    await verifyFailure(t.core, who.dept_civil!, bCase.id, { version: (await cases('verifying'))[0]!.version });
    const { supplements } = await approveCorrections(t.core, who.finance!, roundId, [bCase.id]);
    const supplement = await db('bank_supplement').where({ id: supplements[0] }).first();
    expect(Boolean(supplement.needs_transfer)).toBe(true);
    // The bank cannot answer a supplement whose money has not been sent again.
    const early = await importResultFile(t.core, who.bank!, roundId, { name: 'early.csv', buffer: csv([`R${roundId}-${b!.id}-3,${b!.fen},成功,,`]) });
    expect(early.ok).toBe(false);
    await recordRetransfer(t.core, who.treasury!, roundId, Number(supplement.id), { amountFen: b!.fen, voucherNo: '再拨001', destinationAccount: DEMO_SETTLEMENT_ACCOUNT });
    // The money is at the bank again, but the repayment clock runs until the bank reports the line (paid, or failed again).
    expect(await db('core_deadline').where({ rule: 'repayment', state: 'open' }).first('id')).toBeDefined();
    await answer([`R${roundId}-${b!.id}-3,${b!.fen},失败,F04,`], 'third.csv');
    expect(await db('core_deadline').where({ rule: 'repayment', state: 'open' }).first('id')).toBeUndefined();
    await recordRefund(t.core, who.bank!, roundId, { failureIds: [bCase.id], voucherNo: '退款002', refundedOn: businessDate(), amountFen: b!.fen });
    expect((await db('bank_failure').where({ id: bCase.id }).first('state')).state).toBe('return_due');
    await recordTreasuryReturn(t.core, who.treasury!, roundId, { failureIds: [bCase.id, cCase.id], voucherNo: '缴库001', returnedOn: businessDate(), amountFen: b!.fen + c!.fen });
    const ledger = await roundLedger(db, roundId);
    expect(ledger).toMatchObject({ refundedFen: 2 * b!.fen + c!.fen, resentFen: b!.fen, returnedFen: b!.fen + c!.fen, awaitingFen: 0, balanced: true });
    await assertInvariants();

    // c was returned early (no longer entitled): no reissue, not on the public list.
    await expect(requestReissue(t.core, who.station1!, cCase.id, { version: (await cases('returned')).find((x) => x.id === cCase.id)!.version, note: '本人到站' })).rejects.toThrow('不予补发');
    // b comes forward: the station takes the request, the department verifies, the finance section approves, the
    // department compiles a reissue round: the same person and amount, marked reissue, through the checks unblocked.
    await requestReissue(t.core, who.station1!, bCase.id, { version: (await cases('returned')).find((x) => x.id === bCase.id)!.version, note: '本人已到站报备，账户已变更' });
    await verifyFailure(t.core, who.dept_civil!, bCase.id, { version: (await cases('reissue_verifying'))[0]!.version });
    await approveReissue(t.core, who.finance!, bCase.id, { version: (await cases('reissue_reviewing'))[0]!.version });
    const reissueRoundId = await compileReissue(t.core, who.dept_civil!, roundId);
    await expect(compileReissue(t.core, who.dept_civil!, roundId)).rejects.toThrow('没有已批准、待编入的补发');
    const reissueRound = await db('batch_round').where({ id: reissueRoundId }).first();
    const original = await db('batch_round').where({ id: roundId }).first();
    expect([reissueRound.kind, reissueRound.period, reissueRound.policy_version_id, reissueRound.state]).toEqual(['reissue', original.period, original.policy_version_id, 'compiling']);
    const reissueLine = await db('batch_line').where({ round_id: reissueRoundId }).first();
    const originalLine = await db('batch_line').where({ id: b!.id }).first();
    expect([Number(reissueLine.person_id), Number(reissueLine.amount_fen), Boolean(reissueLine.reissue)]).toEqual([Number(originalLine.person_id), b!.fen, true]);
    const roster = await db('batch_roster').where({ round_id: reissueRoundId }).first('id');
    await checkRoster(t.core, who.station1!, Number(roster.id));
    const rules = (await db('batch_finding').where({ roster_id: roster.id, state: 'open' }).pluck('rule')) as string[];
    expect(rules.filter((r) => r === 'already-paid' || r === 'budget')).toEqual([]);
    await expect(removeLine(t.core, who.station1!, Number(reissueLine.id), '误加')).rejects.toThrow('补发明细');
    expect((await db('bank_failure').where({ id: bCase.id }).first('state')).state).toBe('reissued');
    await assertInvariants();

    // The reissue round goes through the whole flow like any other and pays the person for that period. The
    // department person who compiled it cannot approve its roster: a colleague does (four-eyes).
    const [office, treasury, admin] = await Promise.all([actorFor(t, 'finance1'), actorFor(t, 'treasury'), actorFor(t, 'admin')]);
    await createUser(t.core, admin, { username: 'dept_civil2', displayName: '民政局复核人', roles: ['department'], regionId: who.dept_civil!.regionId, orgId: who.dept_civil!.orgId });
    const colleague = await actorFor(t, 'dept_civil2');
    const step = async (who: Actor, action: RosterAction, extra: Record<string, string> = {}) => {
      const { version } = await db('batch_roster').where({ id: roster.id }).first('version');
      await actOnRoster(t.core, who, Number(roster.id), action, { version: Number(version), ...extra });
    };
    await step(who.station1!, 'send_check');
    await step(office, 'confirm_check');
    await step(who.station1!, 'submit');
    await expect(step(who.dept_civil!, 'approve')).rejects.toThrow('四眼原则');
    await step(colleague, 'approve');
    await publishRoster(t, who.station1!, roster.id);
    await db('batch_roster').where({ id: roster.id }).update({ publicity_start: '2026-10-08', publicity_end: '2026-10-14' });
    await step(office, 'confirm_publicity');
    await step(who.station1!, 'report');
    const roundVersion = async () => Number((await db('batch_round').where({ id: reissueRoundId }).first('version')).version);
    await recordPaymentPlan(t.core, who.dept_civil!, reissueRoundId, { version: await roundVersion(), planNo: '民用款〔2026〕补1号', planFen: fen(b!.fen), planDate: '2026-11-20' });
    await submitRound(t.core, who.dept_civil!, reissueRoundId, await roundVersion());
    const bankOrg = await db('core_org').where({ kind: 'bank' }).first('id');
    await releaseRound(t.core, who.finance!, reissueRoundId, { version: await roundVersion(), bankOrgId: Number(bankOrg.id) });
    await recordTransfer(t.core, treasury, reissueRoundId, { version: await roundVersion(), amountFen: b!.fen, voucherNo: '补发拨付001', bankOrgId: Number(bankOrg.id), destinationAccount: DEMO_SETTLEMENT_ACCOUNT });
    const paidAgain = await importResultFile(t.core, who.bank!, reissueRoundId, { name: 'reissue.csv', buffer: csv([`R${reissueRoundId}-${reissueLine.id},${b!.fen},成功,,`]) });
    expect(paidAgain.ok).toBe(true);
    expect(await roundLedger(db, reissueRoundId)).toMatchObject({ transferredFen: b!.fen, paidFen: b!.fen, pendingFen: 0, balanced: true });
  });
});

describe('who may take each step of a failed payment', () => {
  it('refuses a verification by the person who corrected, a re-review by one who corrected or verified, and steps outside the role', async () => {
    await reset();
    const db = t.core.db;
    const line = await db('batch_line').where({ round_id: roundId, state: 'active' }).orderBy('id').first('id', 'amount_fen');
    const outcome = await importResultFile(t.core, who.bank!, roundId, { name: 'one.csv', buffer: resultFileCsv([{ ref: `R${roundId}-${line.id}`, amountFen: line.amount_fen, result: '失败', code: 'F02' }]) });
    expect(outcome.ok).toBe(true);
    const [c] = await cases('correcting');
    // One person holding both the station's and the department's role (a small county) still needs a second person.
    const both: Actor = { ...who.station1!, roles: ['township_station', 'department'], orgId: who.dept_civil!.orgId };
    await expect(correctFailure(t.core, who.dept_civil!, c!.id, { version: c!.version, note: '已核实' })).rejects.toThrow('乡镇经办站所');
    // A correction without what was verified is refused at the edge, by the schema every route of the step uses.
    expect(() => validate(correctSchema, { version: String(c!.version), note: ' ' })).toThrow(ValidationError);
    await correctFailure(t.core, both, c!.id, { version: c!.version, note: '户名已按身份证更正' });
    const [v] = await cases('verifying');
    await expect(verifyFailure(t.core, both, v!.id, { version: v!.version })).rejects.toThrow('另一人核实');
    await verifyFailure(t.core, who.dept_civil!, v!.id, { version: v!.version });
    const financeAndDept: Actor = { ...who.dept_civil!, roles: ['department', 'finance_section'] };
    await expect(approveCorrections(t.core, financeAndDept, roundId, [v!.id])).rejects.toThrow('另一人复核');
    await expect(approveCorrections(t.core, who.bank!, roundId, [v!.id])).rejects.toThrow('财政局业务科室');
    // A stale version (someone else acted) is refused, not applied twice.
    await expect(verifyFailure(t.core, who.dept_civil!, v!.id, { version: v!.version })).rejects.toThrow();
    await approveCorrections(t.core, who.finance!, roundId, [v!.id]);
    expect((await db('bank_failure').where({ id: v!.id }).first('state')).state).toBe('resend');
    const trail = await db('core_audit').whereIn('action', ['bank.failure.correct', 'bank.failure.verify', 'bank.supplement.create']).count({ n: '*' }).first();
    expect(Number(trail?.n)).toBeGreaterThanOrEqual(3);
  });
});
