import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type TestAgent from 'supertest/lib/agent.js';
import { sweepDeadlines } from '../../src/core/deadlines.ts';
import { businessDate } from '../../src/core/dates.ts';
import { TEST_DB, type TestDb, agentFor, auditRows, createSeededDb, csrfFrom, login } from '../factories.ts';

const PHONE = '13812345670';

/** The portal's status page for a tracking number and code: the facts' text. */
async function publicStatus(t: TestDb, trackingNo: string, code: string): Promise<string> {
  const pub = agentFor(t.core);
  const page = await pub.get('/public/complaints/status');
  const res = await pub.post('/public/complaints/status').type('form').send({ trackingNo, code, _csrf: csrfFrom(page.text) });
  expect(res.status).toBe(200);
  return parse(res.text).querySelector('dl.facts')!.text;
}

/** The form of a row's step on the staff queue (by tracking number and action). */
async function rowForm(agent: TestAgent, trackingNo: string, step: string) {
  const page = await agent.get('/publicity/complaints');
  expect(page.status).toBe(200);
  const row = parse(page.text).querySelectorAll('tr').find((tr) => tr.text.includes(trackingNo));
  return { row, form: row?.querySelector(`form[action$="/${step}"]`) ?? null, csrf: csrfFrom(page.text) };
}

describe(`complaints handled by staff (${TEST_DB})`, () => {
  let t: TestDb;
  let supervisor: TestAgent;
  let station: TestAgent;
  let countyId: number;
  let townshipId: number;
  beforeAll(async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    supervisor = agentFor(t.core);
    await login(supervisor, 'supervisor');
    station = agentFor(t.core);
    await login(station, 'station1');
    const user = (await t.core.db('core_user').where({ username: 'station1' }).first('region_id')) as { region_id: number };
    townshipId = user.region_id;
    const township = (await t.core.db('core_region').where({ id: townshipId }).first('path', 'level')) as { path: string; level: string };
    expect(township.level).toBe('township');
    countyId = ((await t.core.db('core_region').where({ level: 'county' }).select('id', 'path')) as { id: number; path: string }[]).find((c) => township.path.startsWith(c.path))!.id;
  });
  afterAll(async () => t?.cleanup());

  /** Enter a complaint by phone as the supervisor; the receipt's number and code. */
  async function enter(content: string): Promise<{ trackingNo: string; code: string }> {
    const page = await supervisor.get('/publicity/complaints');
    const res = await supervisor.post('/publicity/complaints/new').type('form').send({ channel: 'phone', receivedOn: businessDate(), countyId: String(countyId), subject: '耕地地力保护补贴', content, contactName: '李四', phone: PHONE, _csrf: csrfFrom(page.text) });
    expect(res.status).toBe(200);
    const dds = parse(res.text).querySelectorAll('dl.facts dd').map((d) => d.text.trim());
    return { trackingNo: dds[0]!, code: dds[1]! };
  }

  it('registers a phone complaint (422 with values kept first; the township station may not): number and code once, phone encrypted', async () => {
    const page = await supervisor.get('/publicity/complaints');
    const bad = await supervisor.post('/publicity/complaints/new').type('form').send({ channel: 'phone', receivedOn: '2099-01-01', countyId: String(countyId), subject: '低保', content: '', phone: '12ab', _csrf: csrfFrom(page.text) });
    expect(bad.status).toBe(422);
    const html = parse(bad.text);
    expect(html.querySelector('.error-summary a[href="#f-content"]')).not.toBeNull();
    expect(html.querySelector('.error-summary a[href="#f-receivedOn"]')).not.toBeNull();
    expect(html.querySelector('.error-summary a[href="#f-phone"]')).not.toBeNull();
    expect(html.querySelector('#f-subject')!.getAttribute('value')).toBe('低保');
    expect(html.querySelector('#f-phone')!.getAttribute('value')).toBe('12ab');

    const stationPage = await station.get('/publicity/complaints');
    expect(stationPage.status).toBe(200);
    const denied = await station.post('/publicity/complaints/new').type('form').send({ channel: 'letter', receivedOn: businessDate(), countyId: String(countyId), subject: '低保', content: '来信反映', _csrf: csrfFrom(stationPage.text) });
    expect(denied.status).toBe(403);
    expect((await auditRows(t.core, 'access.denied')).some((r) => r.object_id === '/publicity/complaints/new' && r.username === 'station1')).toBe(true);

    const { trackingNo, code } = await enter('电话反映村干部亲属冒领补贴');
    expect(trackingNo).toMatch(/^TS\d{14}$/);
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    const stored = await t.core.db('publicity_complaint').where({ tracking_no: trackingNo }).first();
    expect(stored.channel).toBe('phone');
    expect(stored.phone_masked).not.toBe(PHONE);
    expect(t.core.crypto.decrypt(stored.phone_enc)).toBe(PHONE);
    expect((await auditRows(t.core, 'publicity.complaint.enter')).at(-1)!.object_id).toBe(String(stored.id));
    expect((await supervisor.get('/publicity/complaints')).text).not.toContain(PHONE);
    expect(await publicStatus(t, trackingNo, code)).toContain('已受理');
  });

  it('assigns to a township (clock opens), the station answers (clock closes), the handler sends back, then closes; the portal shows each state', async () => {
    const { trackingNo, code } = await enter('来电反映某村重复领取补贴');
    const id = ((await t.core.db('publicity_complaint').where({ tracking_no: trackingNo }).first('id')) as { id: number }).id;

    // Assign: 422 without a township, then to station1's township.
    let step = await rowForm(supervisor, trackingNo, 'assign');
    const noTownship = await supervisor.post(step.form!.getAttribute('action')!).type('form').send({ townshipId: '', _csrf: step.csrf });
    expect(noTownship.status).toBe(422);
    expect(parse(noTownship.text).querySelector(`.error-summary a[href="#f-townshipId_${id}"]`)).not.toBeNull();
    expect((await supervisor.post(step.form!.getAttribute('action')!).type('form').send({ townshipId: String(townshipId), _csrf: step.csrf })).status).toBe(303);
    const clock = await t.core.db('core_deadline').where({ rule: 'complaint_answer', object_type: 'complaint', object_id: String(id) }).first();
    expect(clock.state).toBe('open');
    expect(clock.region_id).toBe(townshipId);
    expect(clock.responsible_roles).toBe('township_station,township_finance');
    expect(await publicStatus(t, trackingNo, code)).toContain('已交承办单位办理');

    // The supervisor may no longer answer it; the station sees it on its home page and answers.
    const supAnswer = await rowForm(supervisor, trackingNo, 'answer');
    expect(supAnswer.form).toBeNull();
    expect((await supervisor.post(`/publicity/complaints/${id}/answer`).type('form').send({ answer: '越权答复', _csrf: supAnswer.csrf })).status).toBe(403);
    expect((await station.get('/')).text).toContain('交办待答复的投诉举报');
    step = await rowForm(station, trackingNo, 'answer');
    expect(step.row!.text).not.toContain(PHONE);
    expect((await station.post(step.form!.getAttribute('action')!).type('form').send({ answer: '经核实未发现重复领取', _csrf: step.csrf })).status).toBe(303);
    expect((await t.core.db('core_deadline').where({ id: clock.id }).first()).state).toBe('done');
    // Not yet shown to the public: the handler reviews it first.
    const waiting = await publicStatus(t, trackingNo, code);
    expect(waiting).toContain('已交承办单位办理');
    expect(waiting).not.toContain('经核实未发现重复领取');

    // Sent back (422 without a reason), the clock reopens; answered again; closed.
    step = await rowForm(supervisor, trackingNo, 'return');
    const noReason = await supervisor.post(step.form!.getAttribute('action')!).type('form').send({ note: '', _csrf: step.csrf });
    expect(noReason.status).toBe(422);
    expect(parse(noReason.text).querySelector(`#f-note_${id}`)).not.toBeNull();
    expect((await supervisor.post(step.form!.getAttribute('action')!).type('form').send({ note: '请附核查记录', _csrf: step.csrf })).status).toBe(303);
    expect(await t.core.db('core_deadline').where({ rule: 'complaint_answer', object_id: String(id), state: 'open' }).first()).toBeTruthy();
    step = await rowForm(station, trackingNo, 'answer');
    expect((await station.post(step.form!.getAttribute('action')!).type('form').send({ answer: '经入户核查（附记录），未发现重复领取', _csrf: step.csrf })).status).toBe(303);
    step = await rowForm(supervisor, trackingNo, 'close');
    expect((await station.post(step.form!.getAttribute('action')!).type('form').send({ _csrf: (await station.get('/publicity/complaints')).text.match(/name="_csrf" value="([^"]+)"/)![1] })).status).toBe(403);
    expect((await supervisor.post(step.form!.getAttribute('action')!).type('form').send({ _csrf: step.csrf })).status).toBe(303);
    const closed = await publicStatus(t, trackingNo, code);
    expect(closed).toContain('已办结');
    expect(closed).toContain('经入户核查（附记录），未发现重复领取');
    expect(closed).not.toContain(PHONE);
    for (const action of ['assign', 'answer', 'return', 'close']) expect((await auditRows(t.core, `publicity.complaint.${action}`)).some((r) => String(r.object_id) === String(id)), action).toBe(true);
  });

  it('the assign form refuses neither a township nor a department, both, and a department of another region (422, the choices kept)', async () => {
    const { trackingNo } = await enter('来电反映补贴标准执行不一');
    const id = ((await t.core.db('publicity_complaint').where({ tracking_no: trackingNo }).first('id')) as { id: number }).id;
    const agri = (await t.core.db('core_org').where({ kind: 'department', region_id: countyId, name: '青禾县农业农村局' }).first('id')) as { id: number };
    const step = await rowForm(supervisor, trackingNo, 'assign');
    // The form offers the county's townships and its departments (not the province's).
    const options = step.form!.querySelectorAll(`#f-departmentId_${id} option`).map((o) => o.text);
    expect(options).toContain('青禾县农业农村局');
    expect(options).toContain('青禾县民政局');
    const provincial = (await t.core.db('core_org').where({ kind: 'department' }).whereNot({ region_id: countyId }).first('id', 'name')) as { id: number; name: string };
    expect(options).not.toContain(provincial.name);
    const action = step.form!.getAttribute('action')!;

    const neither = await supervisor.post(action).type('form').send({ townshipId: '', departmentId: '', _csrf: step.csrf });
    expect(neither.status).toBe(422);
    expect(parse(neither.text).querySelector(`.error-summary a[href="#f-townshipId_${id}"]`)!.text).toContain('请选择承办乡镇或承办主管部门');

    const both = await supervisor.post(action).type('form').send({ townshipId: String(townshipId), departmentId: String(agri.id), _csrf: step.csrf });
    expect(both.status).toBe(422);
    const kept = parse(both.text);
    expect(kept.querySelector(`.error-summary a[href="#f-departmentId_${id}"]`)!.text).toContain('只能选一个');
    expect(kept.querySelector(`#f-townshipId_${id} option[selected]`)!.getAttribute('value')).toBe(String(townshipId));
    expect(kept.querySelector(`#f-departmentId_${id} option[selected]`)!.getAttribute('value')).toBe(String(agri.id));

    const elsewhere = await supervisor.post(action).type('form').send({ departmentId: String(provincial.id), _csrf: step.csrf });
    expect(elsewhere.status).toBe(422);
    expect(parse(elsewhere.text).querySelector(`.error-summary a[href="#f-departmentId_${id}"]`)!.text).toContain('请选择该县（区）的主管部门');

    const stored = await t.core.db('publicity_complaint').where({ id }).first();
    expect(stored).toMatchObject({ status: 'received', assignee_region_id: null, assignee_org_id: null });
    expect(await t.core.db('core_deadline').where({ rule: 'complaint_answer', object_id: String(id) }).first()).toBeUndefined();
  });

  it('assigns to a department (clock opens in the county), whose user sees it on the home page and answers it; a township or another department may not (403, audited); the handler sends it back, then closes it and the portal shows the answer', async () => {
    const { trackingNo, code } = await enter('来电反映耕地地力保护补贴面积核定有误');
    const id = ((await t.core.db('publicity_complaint').where({ tracking_no: trackingNo }).first('id')) as { id: number }).id;
    const agri = (await t.core.db('core_org').where({ kind: 'department', region_id: countyId, name: '青禾县农业农村局' }).first('id')) as { id: number };
    const department = agentFor(t.core);
    await login(department, 'dept_agri');
    const other = agentFor(t.core);
    await login(other, 'dept_civil');
    // Before it is assigned, the department's queue does not hold it.
    expect((await rowForm(department, trackingNo, 'answer')).row).toBeUndefined();

    let step = await rowForm(supervisor, trackingNo, 'assign');
    expect((await supervisor.post(step.form!.getAttribute('action')!).type('form').send({ townshipId: '', departmentId: String(agri.id), _csrf: step.csrf })).status).toBe(303);
    expect(await t.core.db('publicity_complaint').where({ id }).first()).toMatchObject({ status: 'assigned', assignee_org_id: agri.id, assignee_region_id: null });
    const clock = await t.core.db('core_deadline').where({ rule: 'complaint_answer', object_type: 'complaint', object_id: String(id) }).first();
    expect(clock).toMatchObject({ state: 'open', region_id: countyId, responsible_roles: 'department' });
    // Never a township and a department at once (a CHECK on PostgreSQL, triggers on SQLite).
    await expect(t.core.db('publicity_complaint').where({ id }).update({ assignee_region_id: townshipId })).rejects.toThrow();
    const assigned = (await auditRows(t.core, 'publicity.complaint.assign')).find((r) => String(r.object_id) === String(id))!;
    expect(JSON.parse(assigned.summary)).toMatchObject({ department: agri.id, assignee: '青禾县农业农村局' });
    const auditor = agentFor(t.core);
    await login(auditor, 'auditor');
    expect((await auditor.get(`/audit?objectType=complaint&objectId=${id}`)).text).toContain('交办主管部门 青禾县农业农村局');
    expect(await publicStatus(t, trackingNo, code)).toContain('已交承办单位办理');
    expect((await rowForm(supervisor, trackingNo, 'assign')).row!.text).toContain('承办：青禾县农业农村局');

    // The township's station and the other department do not see it; they and the handler may not answer it.
    expect((await rowForm(supervisor, trackingNo, 'answer')).form).toBeNull();
    for (const [agent, username] of [[station, 'station1'], [other, 'dept_civil'], [supervisor, 'supervisor']] as const) {
      const page = await agent.get('/publicity/complaints');
      expect(page.status, username).toBe(200);
      if (username !== 'supervisor') expect(page.text, username).not.toContain(trackingNo);
      const before = (await auditRows(t.core, 'access.denied')).length;
      const res = await agent.post(`/publicity/complaints/${id}/answer`).type('form').send({ answer: '越权答复', _csrf: csrfFrom(page.text) });
      expect(res.status, username).toBe(403);
      const denied = await auditRows(t.core, 'access.denied');
      expect(denied.length, username).toBe(before + 1);
      expect(denied.at(-1), username).toMatchObject({ username, object_type: 'complaint', object_id: String(id) });
    }

    // The department's user: the home page's queue, the row in the queue (phone masked), the answer; the clock closes.
    expect((await department.get('/')).text).toContain('交办待答复的投诉举报');
    step = await rowForm(department, trackingNo, 'answer');
    expect(step.row!.text).not.toContain(PHONE);
    expect(step.form).not.toBeNull();
    expect((await department.post(step.form!.getAttribute('action')!).type('form').send({ answer: '经县农业农村局复核，面积已更正', _csrf: step.csrf })).status).toBe(303);
    expect((await t.core.db('core_deadline').where({ id: clock.id }).first()).state).toBe('done');
    const answered = (await auditRows(t.core, 'publicity.complaint.answer')).find((r) => String(r.object_id) === String(id))!;
    expect(answered.username).toBe('dept_agri');
    expect(JSON.parse(answered.summary)).toMatchObject({ assignee: '青禾县农业农村局' });
    // Not shown to the public until the handler closes it.
    expect(await publicStatus(t, trackingNo, code)).not.toContain('面积已更正');

    // Sent back, the clock reopens for the department in the county; answered again.
    step = await rowForm(supervisor, trackingNo, 'return');
    expect((await supervisor.post(step.form!.getAttribute('action')!).type('form').send({ note: '请写明更正后的面积', _csrf: step.csrf })).status).toBe(303);
    expect(await t.core.db('core_deadline').where({ rule: 'complaint_answer', object_id: String(id), state: 'open' }).first()).toMatchObject({ region_id: countyId, responsible_roles: 'department' });
    step = await rowForm(department, trackingNo, 'answer');
    expect((await department.post(step.form!.getAttribute('action')!).type('form').send({ answer: '经县农业农村局复核，面积已更正为 12.5 亩', _csrf: step.csrf })).status).toBe(303);

    step = await rowForm(supervisor, trackingNo, 'close');
    expect((await supervisor.post(step.form!.getAttribute('action')!).type('form').send({ _csrf: step.csrf })).status).toBe(303);
    const closed = await publicStatus(t, trackingNo, code);
    expect(closed).toContain('已办结');
    expect(closed).toContain('经县农业农村局复核，面积已更正为 12.5 亩');
    expect((await department.get('/')).text).not.toContain('交办待答复的投诉举报');
  });

  it('an assigned complaint not answered in time is overdue on the supervisors’ deadlines list', async () => {
    const { trackingNo } = await enter('来访反映补贴发放不及时');
    const id = ((await t.core.db('publicity_complaint').where({ tracking_no: trackingNo }).first('id')) as { id: number }).id;
    const step = await rowForm(supervisor, trackingNo, 'assign');
    expect((await supervisor.post(step.form!.getAttribute('action')!).type('form').send({ townshipId: String(townshipId), _csrf: step.csrf })).status).toBe(303);
    await t.core.db('core_deadline').where({ rule: 'complaint_answer', object_id: String(id) }).update({ due_on: '2020-01-02' });
    const swept = await sweepDeadlines(t.core.db);
    expect(swept.newlyOverdue).toBeGreaterThanOrEqual(1);
    const list = await supervisor.get('/supervision/deadlines?overdue=1&rule=complaint_answer');
    expect(list.status).toBe(200);
    expect(list.text).toContain(`投诉举报 ${trackingNo} 答复`);
  });
});
