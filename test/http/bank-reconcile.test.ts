import { afterEach, describe, expect, it } from 'vitest';
import { createUser } from '../../src/core/users.ts';
import { confirmClearing, openClearing } from '../../src/modules/bank/clearing.ts';
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
  });
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
  });
});

/** The demo's 2026 clearing taken to the end through the commands: opened by `finance`, confirmed by both departments and the bank, made final by a colleague of the finance section. */
async function clearDemoYear(t: TestDb): Promise<number> {
  const at = new Date('2027-01-10T00:00:00Z');
  const county = Number((await t.core.db('core_region').where({ name: '青禾县' }).first('id')).id);
  const version = async () => Number((await t.core.db('bank_clearing_draft').where({ county_id: county, year: 2026 }).first('version')).version);
  const finance = await actorFor(t, 'finance');
  await openClearing(t.core, finance, { year: 2026 }, at);
  for (const username of ['dept_civil', 'dept_agri', 'bank']) await confirmClearing(t.core, await actorFor(t, username), { year: 2026, version: await version() }, at);
  await createUser(t.core, await actorFor(t, 'admin'), { username: 'finance2', displayName: '财政复核人', roles: ['finance_section'], regionId: finance.regionId, orgId: null });
  await confirmClearing(t.core, await actorFor(t, 'finance2'), { year: 2026, version: await version(), voucherNo: '清算001' }, at);
  return Number((await t.core.db('bank_clearing').where({ county_id: county, year: 2026 }).first('id')).id);
}

describe(`the year-end clearing report (${TEST_DB})`, () => {
  it('is read by the finance section and by the departments and the bank that confirmed the clearing, not by a township', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const id = await clearDemoYear(t);
    const agent = async (username: string) => {
      const a = agentFor(t!.core);
      if (username === 'finance') await loginWithTotp(a, t!.core, username);
      else await login(a, username);
      return a;
    };
    const report = (a: Awaited<ReturnType<typeof agent>>) => a.get(`/bank/clearing/${id}/report.pdf`).buffer(true).parse(binaryParser);
    for (const username of ['finance', 'dept_civil', 'dept_agri', 'bank']) {
      const pdf = await report(await agent(username));
      expect(pdf.status, username).toBe(200);
      expect((pdf.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
    }
    // The parties find the report on their reconciliations page too.
    const reportLink = `/bank/clearing/${id}/report.pdf`;
    expect((await (await agent('dept_civil')).get('/bank/reconciliations')).text).toContain(reportLink);
    expect((await (await agent('bank')).get('/bank/reconciliations')).text).toContain(reportLink);
    // A bank that was not a party of the clearing reads the clearing page but not that report.
    const county = Number((await t.core.db('core_region').where({ name: '青禾县' }).first('id')).id);
    const [otherBank] = await t.core.db('core_org').insert({ kind: 'bank', region_id: county, name: '青禾县另一家银行', created_at: new Date().toISOString() }).returning('id');
    await createUser(t.core, await actorFor(t, 'admin'), { username: 'bank2', displayName: '另一银行经办', roles: ['bank'], regionId: county, orgId: Number(typeof otherBank === 'object' ? otherBank.id : otherBank) });
    await t.core.db('core_user').where({ username: 'bank2' }).update({ password_hash: (await t.core.db('core_user').where({ username: 'bank' }).first('password_hash')).password_hash, must_change_password: false });
    const bank2 = await agent('bank2');
    expect((await bank2.get('/bank/clearing?year=2025')).status).toBe(200);
    expect((await report(bank2)).status).toBe(404);
    expect((await bank2.get('/bank/reconciliations')).text).not.toContain(reportLink);
    const station = await agent('station1');
    expect((await report(station)).status).toBe(403);
    expect((await station.get('/bank/clearing')).status).toBe(403);
  });
});
