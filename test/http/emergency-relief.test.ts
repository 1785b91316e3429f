import { afterEach, describe, expect, it } from 'vitest';
import { businessDate } from '../../src/core/dates.ts';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { importRegistry } from '../../src/modules/beneficiary/registry-import.ts';
import { importRosterFile } from '../../src/modules/batch/roster-import.ts';
import { can } from '../../src/modules/batch/policy.ts';
import type { RosterAction } from '../../src/modules/batch/model.ts';
import { recordPaymentPlan, recordTransfer, releaseRound, roundMoney, submitRound } from '../../src/modules/batch/round-workflow.ts';
import { actOnRoster } from '../../src/modules/batch/workflow.ts';
import type { Actor } from '../../src/core/auth/roles.ts';
import { REGISTRY_FILE_HEADER, fakeHouseholds, registryFileRows } from '../../seeds/fake-people.ts';
import { DEMO_SETTLEMENT_ACCOUNT } from '../../seeds/demo-batch.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, asAdmin, confirmNewAccounts, createSeededDb, csrfFrom, login, loginWithTotp, regionId, submit } from '../factories.ts';

/**
 * 突发灾害应急救助 (Qinghai 二(一)2): a round of such a policy may be opened as 应急救助（事后公示）— approved with four
 * eyes, released and paid without publicity, then publicised (≥ 7 days, 二(四)11) within the county's time limit,
 * the clock of which opens on release and closes when the station records the dates. Ordinary policies never.
 */

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

type Agent = ReturnType<typeof agentFor>;

/** Logged in through the real forms; the finance section and the treasury with their second factor (not demo mode). */
async function as(db: TestDb, username: string): Promise<Agent> {
  const agent = agentFor(db.core);
  if (username === 'finance' || username === 'treasury') await loginWithTotp(agent, db.core, username);
  else await login(agent, username);
  return agent;
}

/** 城关镇's households registered (heads with cards of their own, confirmed), as the batch tests set them up. */
async function registeredHeads(db: TestDb): Promise<string[][]> {
  const rows = registryFileRows(fakeHouseholds({ households: 4, villages: ['东关社区', '西街村'], seed: 11, sharedAccounts: 0, secondAccounts: 0, deceasedShare: 0, movedShare: 0 }));
  const imported = await importRegistry(db.core, await actorFor(db, 'station1'), { name: 'people.xlsx', buffer: await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, rows) });
  if (!imported.ok) throw new Error('registry import failed');
  await confirmNewAccounts(db);
  return rows.filter((r) => r[3] === '户主' && r[8] !== '');
}

const itemOf = async (db: TestDb, code: string) => Number((await db.core.db('policy_item').where({ code }).first('id')).id);
const rosterOf = async (db: TestDb, roundId: number) => Number((await db.core.db('batch_roster').where({ round_id: roundId, township_id: await regionId(db, '城关镇') }).first('id')).id);
const plusDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

describe(`emergency relief, paid first and publicised after payment (${TEST_DB})`, () => {
  it('takes an emergency round to release without publicity but with four eyes at every step; the release opens the post-payment publicity clock, which the recorded dates close', async () => {
    t = await createSeededDb();
    const db = t.core.db;
    const heads = await registeredHeads(t);
    const dept = await as(t, 'dept_agri');

    // The round form offers 应急救助（事后公示）with the emergency policies it is for.
    const form = await dept.get('/rounds');
    expect(form.text).toContain('name="expedited"');
    expect(form.text).toMatch(/JC-16 自然灾害生活补助资金[^<]*突发灾害应急救助/);
    const created = await submit(dept, '/rounds', '/rounds', { policyItemId: String(await itemOf(t, 'JC-16')), period: '2026', expedited: 'on' });
    expect(created.status).toBe(303);
    const roundId = Number((created.headers.location as string).split('/').pop());
    expect(Boolean((await db('batch_round').where({ id: roundId }).first('expedited')).expedited)).toBe(true);
    expect((await dept.get(`/rounds/${roundId}`)).text).toContain('<strong>应急救助（事后公示）</strong>');
    expect((await dept.get('/rounds')).text).toMatch(/2026年自然灾害生活补助资金<\/a> <span class="tag">应急救助·事后公示<\/span>/);

    const rosterId = await rosterOf(t, roundId);
    const rosterPage = `/rosters/${rosterId}`;
    const imported = await importRosterFile(t.core, await actorFor(t, 'station1'), rosterId, { name: 'r.xlsx', buffer: await writeTableXlsx('清册', ['村（社区）', '姓名', '身份证号码', '档次', '数量'], heads.map((h) => [h[0]!, h[1]!, h[2]!, '过渡期生活救助', '1'])) });
    expect(imported.ok).toBe(true);
    const version = async () => String((await db('batch_roster').where({ id: rosterId }).first('version')).version);
    const act = async (agent: Agent, action: string, extra: Record<string, string> = {}) => submit(agent, rosterPage, `${rosterPage}/act`, { action, version: await version(), ...extra });

    // The township's steps as before (their pages are tested with the batch pages).
    const stationActor = await actorFor(t, 'station1');
    const officeActor = await actorFor(t, 'finance1');
    const step = async (who: Actor, action: RosterAction) => actOnRoster(t!.core, who, rosterId, action, { version: Number(await version()) });
    await step(stationActor, 'send_check');
    await step(officeActor, 'confirm_check');
    expect(await step(stationActor, 'submit')).toBe('submitted');

    // The department's review offers the expedited approval only; the ordinary one (to publicity) is refused.
    const review = await dept.get(rosterPage);
    expect(review.text).toContain('审核通过（应急救助，先发放后公示）');
    expect(review.text).not.toContain('审核通过，交乡镇公示');
    const ordinary = await act(dept, 'approve');
    expect(ordinary.status).toBe(409);
    expect(ordinary.text).toContain('本批次为应急救助（事后公示），发放后再公示');
    expect((await act(dept, 'approve_expedited')).status).toBe(303);
    const approved = await db('batch_roster').where({ id: rosterId }).first('state', 'approved_by', 'publicity_start');
    expect(approved).toMatchObject({ state: 'expedited', publicity_start: null });
    expect(approved.approved_by).toBe((await actorFor(t, 'dept_agri')).userId);

    // Four eyes: the approver, holding the finance office's role as well, may not confirm what they approved.
    await db('core_user_role').insert({ user_id: (await actorFor(t, 'dept_agri')).userId, role: 'township_finance' });
    const both = await as(t, 'dept_agri');
    expect((await both.get(rosterPage)).text).toContain('您审核通过了此清册，须由财政所另一位同事确认（四眼原则）');
    const own = await act(both, 'confirm_expedited');
    expect(own.status).toBe(403);
    expect(own.text).toContain('四眼原则');
    const office = await as(t, 'finance1');
    expect((await act(office, 'confirm_expedited')).status).toBe(303);
    const station = await as(t, 'station1');
    expect((await station.get(rosterPage)).text).toContain('财政所已确认（应急救助，发放后公示）');
    expect(await step(stationActor, 'report')).toBe('reported');

    // The department's payment plan and submission; the finance section (not the round's author) releases it with no publicity on record.
    const { linesFen } = await roundMoney(db, roundId);
    const roundVersion = async () => Number((await db('batch_round').where({ id: roundId }).first('version')).version);
    const deptActor = await actorFor(t, 'dept_agri');
    await recordPaymentPlan(t.core, deptActor, roundId, { version: await roundVersion(), planNo: '应急用款〔2026〕1号', planFen: linesFen, planDate: businessDate() });
    await submitRound(t.core, deptActor, roundId, await roundVersion());
    const bank = Number((await db('core_org').where({ kind: 'bank' }).first('id')).id);
    await releaseRound(t.core, await actorFor(t, 'finance'), roundId, { version: await roundVersion(), bankOrgId: bank });
    expect((await db('batch_round').where({ id: roundId }).first('state')).state).toBe('released');
    expect((await db('batch_roster').where({ id: rosterId }).first('publicity_start')).publicity_start).toBeNull();

    // The release opened the post-payment publicity clock of the roster: on the deadline list and the station's home.
    const clock = () => db('core_deadline').where({ rule: 'post_payment_publicity', object_type: 'roster', object_id: String(rosterId) }).first('state', 'started_on', 'days');
    expect(await clock()).toMatchObject({ state: 'open', started_on: businessDate(), days: 10 });
    expect((await station.get('/deadlines')).text).toContain('应急救助已发放，待发放后公示（事后公示）');
    expect((await station.get('/')).text).toContain('应急救助已发放、待发放后公示的清册');

    // The treasury pays; the roster stays marked 事后公示 and leads the station to the publication of its notice.
    await recordTransfer(t.core, await actorFor(t, 'treasury'), roundId, { version: await roundVersion(), amountFen: linesFen, voucherNo: '国库拨〔2026〕9号', bankOrgId: bank, destinationAccount: DEMO_SETTLEMENT_ACCOUNT });
    expect((await roundMoney(db, roundId)).transferredFen).toBe(linesFen);
    const due = await station.get(rosterPage);
    expect(due.text).toContain('<strong>事后公示</strong>');
    expect(due.text).toContain(`href="/publicity/rosters/${rosterId}">发布公示</a>`);
    const publicityPage = `/publicity/rosters/${rosterId}`;
    expect((await station.get(publicityPage)).text).toContain('发布公示（事后公示）');

    // The form's refusal: fewer than 7 days, on its field, what was typed kept; nothing published.
    const today = businessDate();
    const publish = async (days: string) => submit(station, publicityPage, `${publicityPage}/publish`, { version: await version(), days });
    const short = await publish('5');
    expect(short.status).toBe(422);
    expect(short.text).toContain('公示期不得少于 7 天（含首尾两天）');
    expect(short.text).toContain('value="5"');
    expect((await clock())!.state).toBe('open');
    expect(await db('publicity_notice').count({ n: '*' })).toEqual([{ n: 0 }]);

    // Published: the period counts from today, the clock stops, the notice is on the portal as 事后公示.
    const held = await publish('7');
    expect(held.status).toBe(303);
    expect((await clock())!.state).not.toBe('open');
    const after = await station.get(rosterPage);
    expect(after.text).toContain(`${today} 至 ${plusDays(today, 6)}（事后公示）`);
    expect((await station.get('/deadlines')).text).not.toContain('应急救助已发放，待发放后公示（事后公示）');
    const notice = await db('publicity_notice').where({ roster_id: rosterId }).first();
    expect(notice).toMatchObject({ kind: 'after', publicity_start: today, publicity_end: plusDays(today, 6) });
    expect((await agentFor(t.core).get(`/public/notices/${notice.id}`)).text).toContain('事后公示（应急救助，先发放后公示）');
    // Published once: a second time is refused.
    const again = await publish('7');
    expect(again.status).toBe(409);
    expect(await db('publicity_notice').count({ n: '*' })).toEqual([{ n: 1 }]);

    // Objections raised after payment are recorded and resolved as in any publicity.
    const objection = await submit(station, rosterPage, `${rosterPage}/objections`, { raisedOn: today, lineId: '', content: '村民反映其中一户受灾情况需核实' });
    expect(objection.status).toBe(303);
    expect((await office.get(rosterPage)).text).toContain('村民反映其中一户受灾情况需核实');

    const history = await db('batch_history').where({ roster_id: rosterId }).orderBy('id').pluck('action');
    expect(history).toEqual(expect.arrayContaining(['approve_expedited', 'confirm_expedited', 'report', 'post_publicity', 'objection.record']));
    expect(history).not.toContain('start_publicity');
    expect(await db('core_audit').where({ action: 'batch.roster.post_publicity' }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await db('core_audit').where({ action: 'publicity.notice.publish' }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  it('never gives an ordinary policy the expedited path: no option, the form refused with 422, its rosters’ steps refused', async () => {
    t = await createSeededDb();
    const db = t.core.db;
    const dept = await as(t, 'dept_agri');
    const ordinaryItem = String(await itemOf(t, 'JC-01'));

    // With an emergency policy in the list the option is there, but for an ordinary policy it is refused on the form.
    const refused = await submit(dept, '/rounds', '/rounds', { policyItemId: ordinaryItem, period: '2026', expedited: 'on' });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('只有突发灾害应急救助类补贴项目可以按“应急救助（事后公示）”建立批次');
    expect(refused.text).toMatch(/name="expedited" value="on" checked/);
    expect(await db('batch_round').count({ n: '*' })).toEqual([{ n: 0 }]);

    // Without one, the form does not offer it at all; a crafted post is refused the same way.
    await db('policy_version').update({ emergency_relief: false });
    const page = await dept.get('/rounds');
    expect(page.text).not.toContain('name="expedited"');
    const crafted = await submit(dept, '/rounds', '/rounds', { policyItemId: ordinaryItem, period: '2026', expedited: 'on' });
    expect(crafted.status).toBe(422);
    expect(crafted.text).toContain('只有突发灾害应急救助类补贴项目');
    const dept1 = await actorFor(t, 'dept_agri');
    expect(can(dept1, 'create_expedited_round', { emergencyRelief: false })).toMatchObject({ ok: false });
    expect(can(dept1, 'create_expedited_round', { emergencyRelief: true })).toMatchObject({ ok: true });

    // An ordinary round: its rosters are never approved past publicity nor publicised after payment.
    const created = await submit(dept, '/rounds', '/rounds', { policyItemId: ordinaryItem, period: '2026' });
    expect(created.status).toBe(303);
    const roundId = Number((created.headers.location as string).split('/').pop());
    expect(Boolean((await db('batch_round').where({ id: roundId }).first('expedited')).expedited)).toBe(false);
    const rosterId = await rosterOf(t, roundId);
    await db('batch_roster').where({ id: rosterId }).update({ state: 'submitted', last_changed_by: (await actorFor(t, 'station1')).userId });
    const review = await dept.get(`/rosters/${rosterId}`);
    expect(review.text).toContain('审核通过，交乡镇公示');
    expect(review.text).not.toContain('先发放后公示');
    const version = String((await db('batch_roster').where({ id: rosterId }).first('version')).version);
    const expedite = await submit(dept, `/rosters/${rosterId}`, `/rosters/${rosterId}/act`, { action: 'approve_expedited', version });
    expect(expedite.status).toBe(409);
    expect(expedite.text).toContain('本批次不是应急救助（事后公示）批次，须先公示后发放');
    const station = await as(t, 'station1');
    const page2 = await station.get(`/rosters/${rosterId}`);
    expect(page2.text).not.toContain(`/publicity/rosters/${rosterId}`);
    const post = await station.post(`/publicity/rosters/${rosterId}/publish`).type('form').send({ version, days: '7', _csrf: csrfFrom(page2.text) });
    expect(post.status).toBe(409);

    // The post-payment publicity clock is a county setting like the others, with its default.
    const settings = await (await asAdmin(t)).get('/admin/settings');
    expect(settings.text).toContain('应急救助发放后公示（事后公示）');
  });

  it('records 突发灾害应急救助 on the policy: its form (kept on a refused form), its page and the public list', async () => {
    t = await createSeededDb();
    const dept = await as(t, 'dept_civil');
    expect((await dept.get('/policies/new')).text).toContain('name="emergencyRelief"');
    const fields = { code: 'QH-31', name: '青禾县雪灾应急生活救助', legalBasisTitle: '青禾县自然灾害应急救助办法', legalBasisNumber: '青民发〔2026〕31号', payee: 'person', frequency: 'once', unit: '人', tiers: '标准:500', fromYear: '2026', toYear: '', effectiveYear: '2026', exclusiveGroups: '', changeNote: '', emergencyRelief: 'on' };
    const bad = await submit(dept, '/policies/new', '/policies', { ...fields, name: '' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('请填写补贴项目名称');
    expect(bad.text).toMatch(/name="emergencyRelief" value="on" checked/);
    const ok = await submit(dept, '/policies/new', '/policies', fields);
    expect(ok.status).toBe(303);
    const itemPath = ok.headers.location as string;
    expect((await dept.get(itemPath)).text).toContain('<dt>突发灾害应急救助</dt><dd>是（发放批次可先发放、发放后限期公示）</dd>');
    expect((await dept.get(`${itemPath}/edit`)).text).toMatch(/name="emergencyRelief" value="on" checked/);

    const finance = await as(t, 'finance');
    const detail = await finance.get(itemPath);
    const revision = /name="revision" value="(\d+)"/.exec(detail.text)![1]!;
    const versionId = /\/policies\/versions\/(\d+)\/publish/.exec(detail.text)![1]!;
    expect((await finance.post(`/policies/versions/${versionId}/publish`).type('form').send({ revision, _csrf: csrfFrom(detail.text) })).status).toBe(303);
    const county = (await t.core.db('core_region').where({ level: 'county' }).first('id')).id;
    const publicList = await agentFor(t.core).get(`/public/policies?county=${county}&year=2026`);
    expect(publicList.text).toMatch(/青禾县雪灾应急生活救助 <span class="tag">突发灾害应急救助·发放后公示<\/span>/);
    // The audit log reads the flag in Chinese.
    const audit = await t.core.db('core_audit').where({ action: 'policy.create' }).orderBy('id', 'desc').first('summary');
    expect(JSON.stringify(audit.summary)).toContain('emergencyRelief');
  });
});
