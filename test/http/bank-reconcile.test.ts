import { afterEach, describe, expect, it } from 'vitest';
import { clearYear } from '../../src/modules/bank/clearing.ts';
import { roundLedger } from '../../src/modules/bank/ledger.ts';
import { openReconciliations } from '../../src/modules/bank/reconcile.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, binaryParser, createSeededDb, csrfFrom, login, loginWithTotp } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe(`quarterly reconciliation, from the pages (${TEST_DB})`, () => {
  it('shows every party the same figures, takes the bank\'s file, lists and resolves differences, collects the three sign-offs and serves the report', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    await openReconciliations(db, '2027-01-05');
    const recId = Number((await db('bank_reconciliation').where({ quarter: '2026-Q4' }).first('id')).id);
    const agent = async (username: string) => {
      const a = agentFor(t!.core);
      if (username === 'finance') await loginWithTotp(a, t!.core, username);
      else await login(a, username);
      return a;
    };
    const [bank, finance, civil] = [await agent('bank'), await agent('finance'), await agent('dept_civil')];
    for (const a of [bank, finance, civil]) {
      expect((await a.get('/')).text).toContain('待核对签认的季度对账');
      const page = await a.get(`/bank/reconciliations/${recId}`);
      expect(page.text).toContain('2026年8月经济困难高龄失能养老服务补贴资金');
      expect(page.text).toContain('待签认');
    }
    // The figures are shared; a round opens only for whoever may read it: 民政局 its own, 农业农村局 none of these.
    const roundLink = /href="\/bank\/rounds\/\d+"/;
    expect((await civil.get(`/bank/reconciliations/${recId}`)).text).toMatch(roundLink);
    const agriPage = await (await agent('dept_agri')).get(`/bank/reconciliations/${recId}`);
    expect(agriPage.status).toBe(200);
    expect(agriPage.text).toContain('2026年8月经济困难高龄失能养老服务补贴资金');
    expect(agriPage.text).not.toMatch(roundLink);
    const lines = await db('batch_line as l').join('batch_round as r', 'r.id', 'l.round_id').where('r.state', 'transferred').orderBy('l.id').select('l.id', 'l.round_id', 'l.amount_fen');
    const paid = new Set((await db('bank_line_result').where({ result: 'paid' }).pluck('line_id')).map(Number));
    const away = new Set((await db('bank_failure').whereIn('funds', ['source', 'treasury']).pluck('line_id')).map(Number));
    const rows = lines.map((l: { id: number; round_id: number; amount_fen: number }, i: number) => `R${l.round_id}-${l.id},${l.amount_fen},${i === 0 ? '已退回' : paid.has(Number(l.id)) ? '已发放' : away.has(Number(l.id)) ? '已退回' : '未发放'}`);
    const page = await bank.get(`/bank/reconciliations/${recId}`);
    const uploaded = await bank.post(`/bank/reconciliations/${recId}/confirmation`).field('_csrf', csrfFrom(page.text)).attach('file', Buffer.from(`流水号,金额（分）,状态\n${rows.join('\n')}\n`), '对账确认.csv');
    expect(uploaded.status).toBe(303);
    const withDiff = await finance.get(`/bank/reconciliations/${recId}`);
    expect(withDiff.text).toContain('未处理 1 笔');
    expect(withDiff.text).not.toContain('核对无误，以');
    const diff = await db('bank_reconciliation_diff').where({ reconciliation_id: recId, state: 'open' }).first('id');
    const resolved = await finance.post(`/bank/reconciliation-differences/${diff.id}/resolve`).type('form').send({ _csrf: csrfFrom(withDiff.text), resolution: '银行误记为已退回，已更正确认' });
    expect(resolved.status).toBe(303);
    for (const a of [finance, civil, bank]) {
      const before = await a.get(`/bank/reconciliations/${recId}`);
      const version = /name="version" value="(\d+)"/.exec(before.text)![1]!;
      expect((await a.post(`/bank/reconciliations/${recId}/sign`).type('form').send({ _csrf: csrfFrom(before.text), version })).status).toBe(303);
    }
    const done = await civil.get(`/bank/reconciliations/${recId}`);
    expect(done.text).toContain('下载签认报告（PDF）');
    const pdf = await civil.get(`/bank/reconciliations/${recId}/report.pdf`).buffer(true).parse(binaryParser);
    expect((pdf.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
    // The township does not see reconciliations.
    const station = agentFor(t.core);
    await login(station, 'station1');
    expect((await station.get(`/bank/reconciliations/${recId}`)).status).toBe(403);
    expect((await finance.get('/bank/clearing?year=2025')).text).toContain('年末清算');
  }, 120_000);
});

describe(`the bank's confirmed totals entered on the page (${TEST_DB})`, () => {
  it('lists a round whose entered totals differ, names the field of a wrong amount, and takes a corrected entry', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    await openReconciliations(db, '2027-01-05');
    const recId = Number((await db('bank_reconciliation').where({ quarter: '2026-Q4' }).first('id')).id);
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const page = await bank.get(`/bank/reconciliations/${recId}`);
    const rounds = await db('batch_round').where({ state: 'transferred' }).orderBy('id').select('id', 'period');
    const fields: Record<string, string> = { _csrf: csrfFrom(page.text) };
    for (const r of rounds) {
      const l = await roundLedger(db, Number(r.id));
      Object.assign(fields, { [`paid-${r.id}`]: (l.paidFen / 100).toFixed(2), [`unpaid-${r.id}`]: (l.pendingFen / 100).toFixed(2), [`refunded-${r.id}`]: (l.refundedFen / 100).toFixed(2) });
    }
    const august = rounds.find((r: { period: string }) => r.period === '2026-08')!;
    const wrong = await bank.post(`/bank/reconciliations/${recId}/totals`).type('form').send({ ...fields, [`paid-${august.id}`]: '一百' });
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain('2026年8月经济困难高龄失能养老服务补贴资金：已发放');
    const off = await bank.post(`/bank/reconciliations/${recId}/totals`).type('form').send({ ...fields, [`paid-${august.id}`]: '1.00' });
    expect(off.status).toBe(303);
    const listed = await bank.get(`/bank/reconciliations/${recId}`);
    expect(listed.text).toContain(`批次 ${august.id} 合计`);
    expect(listed.text).toContain('已发放合计不符');
    expect((await bank.post(`/bank/reconciliations/${recId}/totals`).type('form').send(fields)).status).toBe(303);
    expect((await bank.get(`/bank/reconciliations/${recId}`)).text).toContain('未处理 0 笔');
  }, 120_000);
});

describe(`the year-end clearing report (${TEST_DB})`, () => {
  it('is read by the finance section and by a department that had a round in the year cleared, not by a department without one, nor by a township', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const id = await clearYear(t.core, await actorFor(t, 'finance'), { year: 2026, voucherNo: '清算001' }, new Date('2027-01-10T00:00:00Z'));
    // The demo's transferred rounds of 2026 are the civil affairs bureau's; the agriculture bureau has none.
    const departments = new Set((await db('batch_round as r').join('core_org as o', 'o.id', 'r.department_org_id').where({ 'r.state': 'transferred', 'r.period_year': 2026 }).pluck('o.name')));
    expect([...departments]).toEqual(['青禾县民政局']);
    const agent = async (username: string) => {
      const a = agentFor(t!.core);
      if (username === 'finance') await loginWithTotp(a, t!.core, username);
      else await login(a, username);
      return a;
    };
    const report = (a: Awaited<ReturnType<typeof agent>>) => a.get(`/bank/clearing/${id}/report.pdf`).buffer(true).parse(binaryParser);
    for (const username of ['finance', 'dept_civil']) {
      const pdf = await report(await agent(username));
      expect(pdf.status).toBe(200);
      expect((pdf.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
    }
    // The department finds the report it may read on its reconciliations page; the other department does not.
    const reportLink = `/bank/clearing/${id}/report.pdf`;
    expect((await (await agent('dept_civil')).get('/bank/reconciliations')).text).toContain(reportLink);
    const agri = await agent('dept_agri');
    expect((await agri.get('/bank/reconciliations')).text).not.toContain(reportLink);
    expect((await report(agri)).status).toBe(404);
    // The clearing page itself stays the finance section's, the treasury's and the supervisor's.
    expect((await agri.get('/bank/clearing')).status).toBe(403);
    expect((await report(await agent('station1'))).status).toBe(403);
  }, 120_000);
});
