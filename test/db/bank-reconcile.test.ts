import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { confirmClearing, openClearing } from '../../src/modules/bank/clearing.ts';
import { createUser } from '../../src/core/users.ts';
import { recordRefund } from '../../src/modules/bank/failures.ts';
import { roundLedger } from '../../src/modules/bank/ledger.ts';
import { clearingDraftOf, clearingFigures, reconciliationFigures, reconciliationInScope, reconciliationPdf } from '../../src/modules/bank/queries.ts';
import { importConfirmation, lastEndedQuarter, openReconciliations, quarterOf, resolveDifference, signReconciliation } from '../../src/modules/bank/reconcile.ts';
import { type TestDb, actorFor, createSeededDb } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** The bank's confirmation of every line of the answered demo round: paid lines paid, the rest as the platform has them. */
async function confirmation(db: TestDb, roundId: number, change: (rows: string[][]) => string[][] = (r) => r): Promise<Buffer> {
  const lines = await db.core.db('batch_line').where({ round_id: roundId, state: 'active' }).orderBy('id').select('id', 'amount_fen');
  const paid = new Set((await db.core.db('bank_line_result').where({ round_id: roundId, result: 'paid' }).pluck('line_id')).map(Number));
  const away = new Set((await db.core.db('bank_failure').where({ round_id: roundId }).whereIn('funds', ['source', 'treasury']).pluck('line_id')).map(Number));
  const rows = lines.map((l: { id: number; amount_fen: number }) => [`R${roundId}-${l.id}`, String(l.amount_fen), paid.has(Number(l.id)) ? '已发放' : away.has(Number(l.id)) ? '已退回' : '未发放']);
  return Buffer.from(['流水号,金额（分）,状态', ...change(rows).map((r) => r.join(','))].join('\r\n'));
}

describe('quarterly reconciliation and year-end clearing', () => {
  it('knows the quarters', () => {
    expect(quarterOf('2026-11-24')).toEqual({ quarter: '2026-Q4', start: '2026-10-01', end: '2026-12-31' });
    expect(lastEndedQuarter('2027-01-05')).toEqual({ quarter: '2026-Q4', start: '2026-10-01', end: '2026-12-31' });
    expect(lastEndedQuarter('2026-04-01')).toEqual({ quarter: '2026-Q1', start: '2026-01-01', end: '2026-03-31' });
  });

  it('opens one per county and bank at the quarter\'s end; differences line by line until resolved; three parties sign; the report is kept as PDF', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    // The demo opened 2026-Q3's reconciliation (its paid round was transferred then; its other transfers happened in
    // 2026-Q4): nothing more to open for Q3, one reconciliation after Q4, once.
    expect(await openReconciliations(db, '2026-11-24')).toBe(0);
    expect(await openReconciliations(db, '2027-01-05')).toBe(1);
    expect(await openReconciliations(db, '2027-01-06')).toBe(0);
    const [bank, finance, civil, station] = await Promise.all(['bank', 'finance', 'dept_civil', 'station1'].map((u) => actorFor(t!, u)));
    const recId = Number((await db('bank_reconciliation').where({ quarter: '2026-Q4' }).first('id')).id);
    const rec = await reconciliationInScope(db, finance, recId);
    await expect(reconciliationInScope(db, station, recId)).rejects.toThrow();
    const figures = await reconciliationFigures(db, rec);
    const answered = Number((await db('batch_round').where({ period: '2026-08', state: 'transferred' }).first('id')).id);
    expect(figures.rounds.map((r) => r.period).sort()).toEqual(['2026-08', '2026-09']);
    expect(figures.rounds.every((r) => r.ledger.balanced)).toBe(true);

    // A reference outside the reconciliation: the whole file is refused, nothing kept.
    const bad = await importConfirmation(t.core, bank, recId, { name: 'bad.csv', buffer: await confirmation(t, answered, (rows) => [...rows, ['R999-1', '100', '已发放']]) });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.errors.map((e) => e.message)).toContain('“R999-1”不是本次对账所含批次的流水号');
    expect(Number((await db('bank_reconciliation_line').count({ n: '*' }).first())?.n)).toBe(0);

    // The bank confirms only the answered round, and says one paid line is unpaid: every line of the other round
    // is missing, and one state differs.
    const file = await confirmation(t, answered, (rows) => rows.map((r, i) => (i === 0 ? [r[0]!, r[1]!, '未发放'] : r)));
    const first = await importConfirmation(t.core, bank, recId, { name: '确认.csv', buffer: file });
    const september = figures.rounds.find((r) => r.period === '2026-09')!;
    expect(first).toMatchObject({ ok: true, repeated: false, differences: september.ledger.lines + 1 });
    expect(await importConfirmation(t.core, bank, recId, { name: '确认.csv', buffer: file })).toMatchObject({ ok: true, repeated: true });
    const version = async () => Number((await db('bank_reconciliation').where({ id: recId }).first('version')).version);
    await expect(signReconciliation(t.core, finance, recId, { version: await version() })).rejects.toThrow('还有未处理的对账差异');
    for (const d of await db('bank_reconciliation_diff').where({ reconciliation_id: recId, state: 'open' }).select('id')) {
      await resolveDifference(t.core, finance, Number(d.id), '已与银行核实：银行系统漏报，已更正');
    }
    await signReconciliation(t.core, finance, recId, { version: await version() });
    await expect(signReconciliation(t.core, finance, recId, { version: await version() })).rejects.toThrow('已签认');
    // A corrected confirmation withdraws the signatures given on the earlier figures; resolved differences that remain keep their resolution.
    const full = Buffer.concat([await confirmation(t, answered), Buffer.from('\r\n'), (await confirmation(t, september.id)).subarray(Buffer.from('流水号,金额（分）,状态\r\n').length)]);
    expect(await importConfirmation(t.core, bank, recId, { name: '确认（更正）.csv', buffer: full })).toMatchObject({ ok: true, differences: 0 });
    expect(Number((await db('bank_reconciliation_signature').where({ reconciliation_id: recId }).count({ n: '*' }).first())?.n)).toBe(0);
    expect(await signReconciliation(t.core, finance, recId, { version: await version() })).toBe(false);
    expect(await signReconciliation(t.core, civil, recId, { version: await version() })).toBe(false);
    expect(await signReconciliation(t.core, bank, recId, { version: await version() })).toBe(true);
    const signed = await db('bank_reconciliation').where({ id: recId }).first('state', 'report_sm3');
    expect(signed.state).toBe('signed');
    const report = await reconciliationPdf(db, civil, recId);
    expect(report.body.subarray(0, 5).toString()).toBe('%PDF-');
    // The report says what the pages say.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-rec-'));
    fs.writeFileSync(path.join(dir, 'r.pdf'), report.body);
    let text = '';
    try {
      text = execFileSync('pdftotext', ['-layout', path.join(dir, 'r.pdf'), '-'], { encoding: 'utf8' });
    } catch {
      text = '';
    }
    if (text) {
      expect(text).toContain('季度对账报告（2026-Q4）');
      expect(text).toContain('青禾县农村信用合作联社');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('clears a finished year with finance, departments and bank: final only when all have confirmed; money awaiting a decision goes back to the treasury; the report adds up', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const [finance, bank, station, civil, agri, admin] = await Promise.all(['finance', 'bank', 'station1', 'dept_civil', 'dept_agri', 'admin'].map((u) => actorFor(t!, u)));
    const county = Number((await db('core_region').where({ name: '青禾县' }).first('id')).id);
    const answered = Number((await db('batch_round').where({ period: '2026-08', state: 'transferred' }).first('id')).id);
    // The demo's failed resend due for refund: the bank refunds it, so its money awaits a decision at year end.
    const due = await db('bank_failure').where({ round_id: answered, state: 'refund_due' }).first('id', 'amount_fen');
    await recordRefund(t.core, bank, answered, { failureIds: [Number(due.id)], voucherNo: '退款A', refundedOn: '2026-11-20', amountFen: Number(due.amount_fen) });
    const before = await roundLedger(db, answered);
    expect(before.awaitingFen).toBe(Number(due.amount_fen));
    const at = new Date('2027-01-10T00:00:00Z');
    await expect(openClearing(t.core, finance, { year: 2026 }, new Date('2026-12-01T00:00:00Z'))).rejects.toMatchObject({ fieldErrors: { year: '只能清算已结束的年度' } });
    await expect(openClearing(t.core, station, { year: 2026 }, at)).rejects.toThrow('财政局业务科室');
    await openClearing(t.core, finance, { year: 2026 }, at);
    const draft = (await clearingDraftOf(db, county, 2026))!;
    expect(draft.parties.map((p) => p.party)).toEqual(['finance_section', 'department', 'department', 'bank']);
    const version = async () => (await clearingDraftOf(db, county, 2026))!.version;
    // Not final until every party has confirmed: the finance section's confirmation waits for the others, and is
    // not taken by the person who opened the clearing.
    await expect(confirmClearing(t.core, finance, { year: 2026, version: await version(), voucherNo: '清算001' }, at)).rejects.toThrow('均确认后');
    expect(await confirmClearing(t.core, civil, { year: 2026, version: await version() }, at)).toBe(false);
    await expect(confirmClearing(t.core, civil, { year: 2026, version: await version() }, at)).rejects.toThrow('已确认');
    expect(await confirmClearing(t.core, agri, { year: 2026, version: await version() }, at)).toBe(false);
    expect(await confirmClearing(t.core, bank, { year: 2026, version: await version() }, at)).toBe(false);
    await expect(confirmClearing(t.core, finance, { year: 2026, version: await version(), voucherNo: '清算001' }, at)).rejects.toThrow('双人复核');
    await createUser(t.core, admin, { username: 'finance2', displayName: '财政复核人', roles: ['finance_section'], regionId: finance.regionId, orgId: null });
    const colleague = await actorFor(t, 'finance2');
    await expect(confirmClearing(t.core, colleague, { year: 2026, version: await version() }, at)).rejects.toMatchObject({ fieldErrors: { voucherNo: '请填写清算缴款凭证号' } });
    expect((await clearingDraftOf(db, county, 2026))!.state).toBe('open');
    expect(await confirmClearing(t.core, colleague, { year: 2026, version: await version(), voucherNo: '清算001' }, at)).toBe(true);
    await expect(openClearing(t.core, finance, { year: 2026, version: await version() }, at)).rejects.toThrow('已清算');
    const after = await roundLedger(db, answered);
    expect([after.awaitingFen, after.returnedFen, after.balanced]).toEqual([0, before.returnedFen + before.awaitingFen, true]);
    expect((await db('bank_failure').where({ id: due.id }).first('state')).state).toBe('returned');
    const { policies } = await clearingFigures(db, county, 2026);
    for (const p of policies) {
      expect(p.clearedFen).toBe(p.allocatedFen - p.paidFen - p.pendingFen);
      expect(p.clearedFen).toBe(p.unspentFen + p.returnedFen + p.awaitingFen);
    }
    const stored = await db('bank_clearing').where({ county_id: county, year: 2026 }).first('report_pdf', 'report_sm3', 'figures');
    expect(Buffer.from(stored.report_pdf).subarray(0, 5).toString()).toBe('%PDF-');
    expect(JSON.parse(stored.figures).policies.length).toBe(policies.length);
  });
});
