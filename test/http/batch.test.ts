import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_DB, type TestDb, agentFor, asAdmin, createSeededDb, csrfFrom, login, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** A head of household in 城关镇 with an active card of their own, from the demo registry (ID number decrypted for entry). */
async function headWithCard(db: TestDb) {
  const row = await db.core
    .db('beneficiary_person as p')
    .join('core_region as v', 'v.id', 'p.village_id')
    .join('core_region as t', 't.id', 'v.parent_id')
    .join('beneficiary_account as a', 'a.active_person_id', 'p.id')
    .where({ 't.name': '城关镇', 'p.relation': 'head', 'p.status': 'active' })
    .whereRaw('a.holder_name = p.name')
    // Not one of the demo's shared cards (the checks would rightly raise it).
    .whereNotExists((q) => q.select(db.core.db.raw('1')).from('beneficiary_account as b').whereRaw('b.account_index = a.account_index').whereRaw('b.id <> a.id'))
    .orderBy('p.id')
    .first('p.id_enc', 'p.name');
  return { idNumber: db.core.crypto.decrypt(row.id_enc), name: row.name as string };
}

describe(`batch pages (${TEST_DB})`, () => {
  it('takes a round from the department’s form to a township roster checked by the finance office, each role on its own page', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const dept = agentFor(t.core);
    await login(dept, 'dept_agri');
    const item = await t.core.db('policy_item').where({ code: 'JC-06' }).first('id'); // the demo already has 耕地地力保护 2026
    const bad = await submit(dept, '/rounds', '/rounds', { policyItemId: String(item.id), period: '2026-11' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('按年或一次性发放的补贴，期间应为年度');
    const created = await submit(dept, '/rounds', '/rounds', { policyItemId: String(item.id), period: '2026' });
    expect(created.status).toBe(303);
    const roundPage = await dept.get(created.headers.location as string);
    expect(roundPage.text).toContain('2026年集体和个人所有森林生态效益补偿资金');
    for (const township of ['城关镇', '石桥镇', '柳河乡']) expect(roundPage.text).toContain(township);

    const roundId = Number((created.headers.location as string).split('/').pop());
    const roster = await t.core.db('batch_roster as s').join('core_region as t', 't.id', 's.township_id').where({ 't.name': '城关镇', 's.round_id': roundId }).first('s.id');
    const station = agentFor(t.core);
    await login(station, 'station1');
    const head = await headWithCard(t);
    const added = await submit(station, `/rosters/${roster.id}`, `/rosters/${roster.id}/lines`, { idNumber: head.idNumber, tierName: '标准', quantity: '8.5' });
    expect(added.status).toBe(303);
    let page = await station.get(`/rosters/${roster.id}`);
    expect(page.text).toContain(head.name);
    expect(page.text).toContain('133.88'); // 8.5 亩 × 15.75 元 = 133.875, half up
    expect(page.text).not.toContain(head.idNumber);
    // The one-card view: the person's page lists the line under its round.
    const personId = (await t.core.db('batch_line').where({ roster_id: roster.id }).first('person_id')).person_id;
    const onePage = await station.get(`/beneficiaries/${personId}`);
    expect(onePage.text).toContain('补贴发放记录（一卡通）');
    expect(onePage.text).toMatch(/2026年集体和个人所有森林生态效益补偿资金<\/a><\/td><td>2026<\/td><td>标准<\/td><td class="num">8.5<\/td><td class="num">133.88<\/td>/);
    const refusedEntry = await submit(station, `/rosters/${roster.id}`, `/rosters/${roster.id}/lines`, { idNumber: head.idNumber, tierName: '标准', quantity: '1' });
    expect(refusedEntry.status).toBe(422);
    expect(refusedEntry.text).toContain('此人已在本清册中');
    // What was typed stays in the form on this staff screen, the ID number too; the address answers a refresh.
    expect(refusedEntry.text).toContain(`value="${head.idNumber}"`);
    expect((await station.get(`/rosters/${roster.id}/lines`)).headers.location).toBe(`/rosters/${roster.id}`);

    const version = () => t!.core.db('batch_roster').where({ id: roster.id }).first('version').then((r) => String(r.version));
    const sent = await submit(station, `/rosters/${roster.id}`, `/rosters/${roster.id}/act`, { action: 'send_check', version: await version() });
    expect(sent.status).toBe(303);

    const office = agentFor(t.core);
    await login(office, 'finance1');
    expect((await office.get('/')).text).toContain('待复核比对或待确认公示的清册');
    page = await office.get(`/rosters/${roster.id}`);
    expect(page.text).toContain('复核比对通过');
    const confirmed = await submit(office, `/rosters/${roster.id}`, `/rosters/${roster.id}/act`, { action: 'confirm_check', version: await version() });
    expect(confirmed.status).toBe(303);
    expect((await office.get(`/rosters/${roster.id}`)).text).toContain('复核比对完成，待上报');
    // A stale page's step is refused on the roster itself, not as a bare error.
    const stale = await office.post(`/rosters/${roster.id}/act`).type('form').send({ action: 'return_check', version: '1', reason: '再看看', _csrf: csrfFrom(page.text) });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('不能“退回经办站所修改”');

    // The roster page stays small on the wire.
    const css = await office.get('/static/app.css');
    expect(zlib.gzipSync(Buffer.from(page.text)).length + zlib.gzipSync(Buffer.from(css.text)).length).toBeLessThan(30 * 1024);
  });

  it('gives every role of the payment flow work on its home page in the demo county', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const expected: Record<string, string> = {
      station1: '编制中或被退回的清册',
      finance1: '待复核比对或待确认公示的清册',
      dept_agri: '待审核的乡镇清册',
      dept_civil: '各乡镇已公示上报、待汇总报财政的批次',
      finance: '待程序性复核的发放批次',
      treasury: '已下达、待拨付资金的发放批次',
    };
    for (const [username, queue] of Object.entries(expected)) {
      const agent = agentFor(t.core);
      await login(agent, username);
      const home = await agent.get('/');
      expect(home.text, username).toContain(queue);
      // The line opens what waits for this user: the roster or round itself, or the list of exactly those.
      const href = new RegExp(`<a href="([^"]+)">${queue}</a>`).exec(home.text)?.[1] ?? '';
      expect(href, username).toMatch(/^\/(rosters\/\d+|rounds\/\d+|rosters\?states=[a-z,]+|rounds\?state=[a-z]+)$/);
      const opened = await agent.get(href.replace(/&amp;/g, '&'));
      expect(opened.status, `${username} ${href}`).toBe(200);
      if (href.startsWith('/rosters?')) {
        expect(opened.text).toContain('待您办理的清册');
        expect(opened.text).toContain('your-turn');
      }
    }
    const station = agentFor(t.core);
    await login(station, 'station1');
    const waiting = await station.get('/rosters?states=draft');
    expect(waiting.text).toMatch(/href="\/rosters\/\d+"/);
    expect((await station.get('/rosters?states=nonsense')).status).toBe(422);
  });

  it('lets a county set the time limit of each step of the flow on the settings page', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const page = await admin.get('/admin/settings');
    for (const step of ['清册复核比对', '主管部门审核清册', '公示结束后确认', '财政程序性复核', '国库拨付资金']) expect(page.text).toContain(step);
  });

  it('takes the payment plan on the round page from the round’s department before it submits: 422 naming each field with the values kept; the finance section’s release refuses a plan below the round’s total, naming both', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const item = await t.core.db('policy_item').where({ code: 'JC-13' }).first('id');
    const round = await t.core.db('batch_round').where({ policy_item_id: item.id, period: '2026-10', state: 'compiling' }).first('id');
    const page = `/rounds/${round.id}`;
    const dept = agentFor(t.core);
    await login(dept, 'dept_civil');
    const version = async () => String((await t!.core.db('batch_round').where({ id: round.id }).first('version')).version);
    expect((await dept.get(page)).text).toContain('主管部门尚未录入（下达前必须录入）');

    const bad = await submit(dept, page, `${page}/payment-plan`, { version: await version(), planNo: '', planAmount: '12元3', planDate: '2026-13-01' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('请填写用款计划编号');
    expect(bad.text).toContain('用款计划金额：');
    expect(bad.text).toContain('请填写用款计划日期（YYYY-MM-DD 格式的有效日期）');
    expect(bad.text).toContain('value="12元3"');
    expect(bad.text).toContain('value="2026-13-01"');
    expect((await t.core.db('batch_round').where({ id: round.id }).first('payment_plan_no')).payment_plan_no).toBeNull();
    // Another department's user may not enter it.
    const agri = agentFor(t.core);
    await login(agri, 'dept_agri');
    expect((await agri.post(`${page}/payment-plan`).type('form').send({ version: await version(), planNo: 'X', planAmount: '1', planDate: '2026-10-20', _csrf: csrfFrom((await agri.get('/rounds')).text) })).status).toBe(403);

    const saved = await submit(dept, page, `${page}/payment-plan`, { version: await version(), planNo: '青民用款〔2026〕1003号', planAmount: '1.00', planDate: '2026-10-20' });
    expect(saved.status).toBe(303);
    expect((await dept.get(page)).text).toContain('青民用款〔2026〕1003号，1.00 元，2026-10-20');
    expect((await submit(dept, page, `${page}/submit`, { version: await version() })).status).toBe(303);

    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const bank = await t.core.db('core_org').where({ kind: 'bank' }).first('id');
    const refused = await submit(finance, page, `${page}/release`, { version: await version(), bankOrgId: String(bank.id) });
    expect(refused.status).toBe(409);
    expect(refused.text).toMatch(/用款计划 青民用款〔2026〕1003号 的金额 1\.00 元小于本批次合计 [\d,]+\.\d\d 元，不能下达/);
    expect((await t.core.db('batch_round').where({ id: round.id }).first('state')).state).toBe('submitted');
  });
});
