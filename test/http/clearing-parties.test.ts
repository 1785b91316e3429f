import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'node-html-parser';
import type TestAgent from 'supertest/lib/agent.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatYuan } from '../../src/core/money.ts';
import { createUser } from '../../src/core/users.ts';
import { clearingFigures } from '../../src/modules/bank/queries.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, binaryParser, createSeededDb, csrfFrom, login, loginWithTotp } from '../factories.ts';

/**
 * The year-end clearing with all three parties (Qinghai 二(二)9), from the pages: the finance section opens the
 * demo county's 2026 clearing in January 2027; each department and the bank confirms its part or disputes it; the
 * clearing is final only when every party has confirmed, the finance section's last, by another person than the one
 * who opened it.
 */

let t: TestDb | undefined;
beforeEach(() => {
  // The clearing of 2026 is taken once 2026 has ended.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2027-01-10T02:00:00Z'));
});
afterEach(async () => {
  vi.useRealTimers();
  await t?.cleanup();
  t = undefined;
});

const PAGE = '/bank/clearing?year=2026';

async function as(username: string): Promise<TestAgent> {
  const a = agentFor(t!.core);
  if (['finance', 'finance2', 'treasury'].includes(username)) await loginWithTotp(a, t!.core, username);
  else await login(a, username);
  return a;
}

/** A second person of the finance section (four-eyes), with the demo password. */
async function financeColleague(): Promise<TestAgent> {
  const finance = await actorFor(t!, 'finance');
  await createUser(t!.core, await actorFor(t!, 'admin'), { username: 'finance2', displayName: '钱复核', roles: ['finance_section'], regionId: finance.regionId, orgId: null });
  const { password_hash } = await t!.core.db('core_user').where({ username: 'finance' }).first('password_hash');
  await t!.core.db('core_user').where({ username: 'finance2' }).update({ password_hash, must_change_password: false });
  return as('finance2');
}

/** The actions of the clearing's step forms on a page. */
const stepForms = (html: string) =>
  parse(html)
    .querySelectorAll('form[method="post"]')
    .map((f) => f.getAttribute('action') ?? '')
    .filter((a) => a.startsWith('/bank/clearing'));

async function post(agent: TestAgent, action: string, fields: Record<string, string> = {}) {
  const page = await agent.get(PAGE);
  // A page that offers no step has no version: the draft's current one, as a forged or outdated post would send.
  const version = /name="version" value="(\d+)"/.exec(page.text)?.[1] ?? String((await t!.core.db('bank_clearing_draft').where({ year: 2026 }).first('version'))?.version ?? 1);
  return agent.post(action).type('form').send({ _csrf: csrfFrom(page.text), version, ...fields });
}

const draftState = async () => (await t!.core.db('bank_clearing_draft').where({ year: 2026 }).first('state'))?.state;

describe(`year-end clearing with finance, departments and bank (${TEST_DB})`, () => {
  it('lists every policy with an allocation, even with no round; each party confirms; final only when all have, by a second finance person', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const county = Number((await db('core_region').where({ name: '青禾县' }).first('id')).id);
    // 农机购置补贴资金 has a 2026 allocation and no round: it is listed, its whole allocation to return.
    const item = await db('policy_item').where({ code: 'JC-02' }).first('id');
    expect(await db('batch_round').where({ policy_item_id: item.id, period_year: 2026 }).first('id')).toBeUndefined();
    const { policies } = await clearingFigures(db, county, 2026);
    const noRound = policies.find((p) => p.policy.startsWith('JC-02'))!;
    expect(noRound).toMatchObject({ rounds: 0, paidFen: 0, pendingFen: 0 });
    expect(noRound.allocatedFen).toBeGreaterThan(0);
    expect(noRound.clearedFen).toBe(noRound.allocatedFen);
    expect(noRound.unspentFen).toBe(noRound.allocatedFen);

    const finance = await as('finance');
    expect((await finance.get('/')).text).toContain('2026年度待开启年末清算');
    const before = await finance.get(PAGE);
    const row = parse(before.text).querySelectorAll('tr').find((r) => r.text.includes('JC-02'))!;
    expect(row.text).toContain(formatYuan(noRound.allocatedFen));
    expect(stepForms(before.text)).toEqual(['/bank/clearing']);
    expect((await post(finance, '/bank/clearing', { year: '2026' })).status).toBe(303);
    expect(await draftState()).toBe('open');

    // Each department and the bank sees its to-do and confirms its part; the finance section who opened it cannot make it final.
    const [civil, agri, bank] = [await as('dept_civil'), await as('dept_agri'), await as('bank')];
    for (const [agent, label] of [[civil, '青禾县民政局'], [agri, '青禾县农业农村局'], [bank, '青禾县农村信用合作联社']] as const) {
      expect((await agent.get('/')).text).toContain('2026年度年末清算待本单位确认');
      const page = await agent.get(PAGE);
      expect(page.text).toContain(`以${label}名义确认`);
      expect(stepForms(page.text)).toEqual(['/bank/clearing/2026/confirm', '/bank/clearing/2026/dispute']);
      expect(stepForms((await finance.get(PAGE)).text), 'the opener is offered no final confirmation').toEqual(['/bank/clearing/2026/reopen']);
      expect(await draftState(), 'not final before every party has confirmed').toBe('open');
      expect((await post(agent, '/bank/clearing/2026/confirm')).status).toBe(303);
      expect(stepForms((await agent.get(PAGE)).text), 'a party that confirmed may still dispute').toEqual(['/bank/clearing/2026/dispute']);
      expect((await agent.get('/')).text).not.toContain('2026年度年末清算待本单位确认');
    }
    expect(await db('bank_clearing').where({ year: 2026 }).first('id')).toBeUndefined();
    const opener = await finance.get(PAGE);
    expect(opener.text).toContain('双人复核');
    const refused = await post(finance, '/bank/clearing/2026/confirm', { voucherNo: '清算001' });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('双人复核');

    // A colleague makes it final, with the voucher of the money returned.
    const colleague = await financeColleague();
    expect((await colleague.get('/')).text).toContain('2026年度年末清算各方已确认，待最终确认');
    const page = await colleague.get(PAGE);
    expect(page.text).toContain('以财政局业务科室名义最终确认');
    const noVoucher = await post(colleague, '/bank/clearing/2026/confirm', { voucherNo: '' });
    expect(noVoucher.status).toBe(422);
    expect(noVoucher.text).toContain('请填写清算缴款凭证号');
    expect(await draftState()).toBe('open');
    expect((await post(colleague, '/bank/clearing/2026/confirm', { voucherNo: '清算001' })).status).toBe(303);
    expect(await draftState()).toBe('final');
    const kept = await db('bank_clearing').where({ county_id: county, year: 2026 }).first('id', 'figures');
    expect(JSON.parse(kept.figures).policies.find((p: { policy: string }) => p.policy.startsWith('JC-02')).clearedFen).toBe(noRound.clearedFen);
    const done = await civil.get(PAGE);
    expect(done.text).toContain('完成清算（凭证 清算001');
    expect(stepForms(done.text)).toEqual([]);
    const confirmations = await db('bank_clearing_confirmation').orderBy('id').pluck('party');
    expect(confirmations).toEqual(['department', 'department', 'bank', 'finance_section']);

    // The report lists each policy and the parties' confirmations (who, when).
    const pdf = await bank.get(`/bank/clearing/${kept.id}/report.pdf`).buffer(true).parse(binaryParser);
    expect(pdf.status).toBe(200);
    const body = pdf.body as Buffer;
    expect(body.subarray(0, 5).toString()).toBe('%PDF-');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-clearing-'));
    fs.writeFileSync(path.join(dir, 'c.pdf'), body);
    let text = '';
    try {
      text = execFileSync('pdftotext', ['-layout', path.join(dir, 'c.pdf'), '-'], { encoding: 'utf8' });
    } catch {
      text = '';
    }
    fs.rmSync(dir, { recursive: true, force: true });
    if (text) {
      expect(text).toContain('年末清算报告');
      expect(text).toContain('农机购置补贴资金');
      expect(text).toContain('钱复核');
      expect(text).toContain('周丽华');
      expect(text).toContain('冯晓东');
    }
  });

  it('a dispute sends the clearing back to the finance section, which re-opens it; refusals answer 422, 409 and 403; a role outside the parties gets no button', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const finance = await as('finance');
    expect((await post(finance, '/bank/clearing', { year: '2026' })).status).toBe(303);
    const [civil, bank] = [await as('dept_civil'), await as('bank')];
    expect((await post(civil, '/bank/clearing/2026/confirm')).status).toBe(303);

    // A dispute needs its reason.
    const empty = await post(bank, '/bank/clearing/2026/dispute', { reason: '  ' });
    expect(empty.status).toBe(422);
    expect(empty.text).toContain('请填写异议的理由');
    expect(await draftState()).toBe('open');
    expect((await post(bank, '/bank/clearing/2026/dispute', { reason: '2026年8月批次有一笔本行已发放，平台记为在银行未发放' })).status).toBe(303);
    expect(await draftState()).toBe('disputed');
    // Back with the finance section: its to-do; no party confirms meanwhile.
    expect((await finance.get('/')).text).toContain('2026年度年末清算有异议，待更正后重新开启');
    const disputed = await civil.get(PAGE);
    expect(disputed.text).toContain('本行已发放');
    expect(stepForms(disputed.text)).toEqual([]);
    const agri = await as('dept_agri');
    expect((await post(agri, '/bank/clearing/2026/confirm')).status).toBe(409);

    // A stale page's re-opening is refused; the current one re-opens it with fresh figures, every confirmation withdrawn.
    const page = await finance.get(PAGE);
    expect((await finance.post('/bank/clearing/2026/reopen').type('form').send({ _csrf: csrfFrom(page.text), version: '1' })).status).toBe(409);
    expect((await post(finance, '/bank/clearing/2026/reopen')).status).toBe(303);
    expect(await draftState()).toBe('open');
    expect(await db('bank_clearing_confirmation').count({ n: '*' }).first()).toMatchObject({ n: 0 });
    const reopened = await civil.get(PAGE);
    expect(reopened.text).toContain('上次异议');
    expect(stepForms(reopened.text)).toContain('/bank/clearing/2026/confirm');

    // A record that changes after opening (here a further allocation document) stops the confirmations until the
    // finance section re-opens the clearing with the new figures.
    const county = Number((await db('core_region').where({ name: '青禾县' }).first('id')).id);
    const item = await db('policy_item').where({ code: 'JC-02' }).first('id');
    const recordedBy = (await db('core_user').where({ username: 'finance' }).first('id')).id;
    await db('policy_allocation').insert({ county_id: county, item_id: item.id, year: 2026, amount_fen: 1_000_00, doc_number: '青财农〔2026〕99号', doc_title: '追加指标', doc_date: '2026-12-20', recorded_by: recordedBy, recorded_at: new Date().toISOString() });
    const changed = await civil.get(PAGE);
    expect(changed.text).toContain('须由财政局业务科室重新开启清算');
    expect(stepForms(changed.text)).not.toContain('/bank/clearing/2026/confirm');
    const stale = await civil.post('/bank/clearing/2026/confirm').type('form').send({ _csrf: csrfFrom(changed.text), version: String((await db('bank_clearing_draft').where({ year: 2026 }).first('version')).version) });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('重新开启清算');
    expect((await post(finance, '/bank/clearing/2026/reopen')).status).toBe(303);
    expect((await post(civil, '/bank/clearing/2026/confirm')).status).toBe(303);

    // Roles outside the parties: the treasury and the supervisor read the page and are offered nothing; their posts are refused.
    for (const username of ['treasury', 'supervisor']) {
      const outsider = await as(username);
      const seen = await outsider.get(PAGE);
      expect(seen.status, username).toBe(200);
      expect(stepForms(seen.text), username).toEqual([]);
      expect((await post(outsider, '/bank/clearing/2026/confirm')).status, username).toBe(403);
      expect((await post(outsider, '/bank/clearing/2026/dispute', { reason: '不符' })).status, username).toBe(403);
    }
    // The finance section does not dispute; a department does not open or re-open.
    expect((await post(finance, '/bank/clearing/2026/dispute', { reason: '不符' })).status).toBe(403);
    expect((await post(civil, '/bank/clearing/2026/reopen')).status).toBe(403);
    // A township neither reads nor acts.
    const station = await as('station1');
    expect((await station.get(PAGE)).status).toBe(403);
    const home = await station.get('/');
    expect((await station.post('/bank/clearing/2026/confirm').type('form').send({ _csrf: csrfFrom(home.text), version: '2' })).status).toBe(403);
  });
});
