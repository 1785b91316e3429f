import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCalendarDays, businessDate } from '../../src/core/dates.ts';
import { removeLine, checkRoster } from '../../src/modules/batch/commands.ts';
import { actOnRoster } from '../../src/modules/batch/workflow.ts';
import { SUPERVISION_PHONE_KEY } from '../../src/modules/publicity/index.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, auditRows, createSeededDb, login, personalNumbers, submit } from '../factories.ts';

/**
 * Issue 16 item 4: the publicity gate rests on publication. Starting publicity is publishing the notice on the portal
 * (and producing the sheets); the period counts from that day; a roster returned for changes is published again with
 * a new notice; the station records where and when the paper was posted.
 */
describe(`publishing a roster's notice (发布公示) and recording its posting (${TEST_DB})`, () => {
  let t: TestDb;
  let rosterId: number;
  const version = async () => String((await t.core.db('batch_roster').where({ id: rosterId }).first('version')).version);
  const as = async (username: string) => {
    const agent = agentFor(t.core);
    expect((await login(agent, username)).status).toBe(303);
    return agent;
  };
  const step = async (username: string, action: Parameters<typeof actOnRoster>[3], reason?: string) =>
    actOnRoster(t.core, await actorFor(t, username), rosterId, action, { version: Number(await version()), ...(reason ? { reason } : {}) });

  beforeAll(async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    rosterId = ((await t.core.db('batch_roster').where({ state: 'publicity' }).first('id')) as { id: number }).id;
  });
  afterAll(async () => t?.cleanup());

  it('shows the demo publication as ended with its postings; a return withdraws it, and the roster is published again from the day of publication', async () => {
    const db = t.core.db;
    const anonymous = agentFor(t.core);
    const [first] = await db('publicity_notice').where({ roster_id: rosterId });
    expect(first.publicity_end < businessDate()).toBe(true);
    const county = first.county_id;
    // The ended notice is among the past ones on the portal, with the places its paper was posted.
    expect((await anonymous.get(`/public/notices?county=${county}`)).text).not.toContain(`/public/notices/${first.id}"`);
    expect((await anonymous.get(`/public/notices?county=${county}&past=1`)).text).toContain(`/public/notices/${first.id}"`);
    const shown = await anonymous.get(`/public/notices/${first.id}`);
    expect(shown.status).toBe(200);
    expect(shown.text).toContain('公示期满');
    expect(shown.text).toContain('村务公开栏');
    expect(personalNumbers(shown.text)).toEqual([]);

    // An objection found right: the finance office returns the roster, and the notice shows it withdrawn.
    await step('finance1', 'return_publicity', '公示异议核实，需删除一户');
    expect((await anonymous.get(`/public/notices/${first.id}`)).text).toContain('已撤回（清册退回修改）');

    // The station changes the lines; the roster goes through review again.
    const line = await db('batch_line').where({ roster_id: rosterId, state: 'active' }).orderBy('id').first('id', 'person_name');
    const station = await actorFor(t, 'station1');
    await removeLine(t.core, station, Number(line.id), '公示异议核实：该户不符合条件');
    await step('station1', 'send_check');
    await checkRoster(t.core, await actorFor(t, 'finance1'), rosterId);
    await step('finance1', 'confirm_check');
    await step('station1', 'submit');
    await step('dept_civil', 'approve');

    // The roster's page leads the station to the publication; the generic step form no longer starts publicity.
    const stationAgent = await as('station1');
    const rosterPage = await stationAgent.get(`/rosters/${rosterId}`);
    expect(rosterPage.text).toContain(`href="/publicity/rosters/${rosterId}">发布公示</a>`);
    expect(rosterPage.text).not.toContain('name="publicityStart"');
    const page = `/publicity/rosters/${rosterId}`;
    const office = await as('finance1');
    expect((await office.get(page)).text).not.toContain(`action="${page}/publish"`);

    // Refused: fewer than seven days (422, the summary links to the field, the typed value kept); nothing published.
    const short = await submit(stationAgent, page, `${page}/publish`, { version: await version(), days: '6' });
    expect(short.status).toBe(422);
    const refused = parse(short.text);
    expect(refused.querySelector('.error-summary a')?.getAttribute('href')).toBe('#f-pub-days');
    expect(refused.querySelector('#f-pub-days')?.getAttribute('value')).toBe('6');
    // Refused: the township's supervision telephone is missing, which the sheets must print.
    const phone = await db('core_setting').where({ region_id: first.township_id, key: SUPERVISION_PHONE_KEY }).first();
    await db('core_setting').where({ region_id: first.township_id, key: SUPERVISION_PHONE_KEY }).delete();
    const noPhone = await submit(stationAgent, page, `${page}/publish`, { version: await version(), days: '7' });
    expect(noPhone.status).toBe(409);
    expect(noPhone.text).toContain('公示表须印有县、乡两级监督电话');
    await db('core_setting').insert(phone);
    expect(await db('publicity_notice').where({ roster_id: rosterId }).count({ n: '*' })).toEqual([{ n: 1 }]);

    // Published: the period runs from today for the days chosen; the old notice is superseded; new sheets name the new notice.
    const published = await submit(stationAgent, page, `${page}/publish`, { version: await version(), days: '10' });
    expect(published.status).toBe(303);
    const today = businessDate();
    expect(await db('batch_roster').where({ id: rosterId }).first('state', 'publicity_start', 'publicity_end')).toEqual({ state: 'publicity', publicity_start: today, publicity_end: addCalendarDays(today, 9) });
    const second = await db('publicity_notice').where({ roster_id: rosterId }).orderBy('id', 'desc').first();
    expect(second).toMatchObject({ kind: 'before', publicity_start: today, publicity_end: addCalendarDays(today, 9) });
    const sheets = await db('publicity_sheet').where({ notice_id: second.id });
    const villages = sheets.filter((s) => s.kind === 'village');
    expect(sheets.length).toBe(villages.length + 1);
    expect(sheets.some((s) => s.content.includes(line.person_name))).toBe(false);
    expect((await anonymous.get(`/public/notices/${first.id}`)).text).toContain('已重新公示');

    // On the portal: in publicity now, each village's sheet to check (current), a way to object; no personal numbers.
    expect((await anonymous.get(`/public/notices?county=${county}`)).text).toContain(`/public/notices/${second.id}"`);
    const notice = await anonymous.get(`/public/notices/${second.id}`);
    expect(notice.text).toContain('公示中');
    expect(notice.text).toContain(`${today} 至 ${addCalendarDays(today, 9)}`);
    expect(notice.text).toContain(`/public/complaints?code=${villages[0].code}`);
    expect(personalNumbers(notice.text)).toEqual([]);
    expect((await anonymous.get(`/public/verify/${villages[0].code}`)).text).toContain('有效：与系统中现在的公示内容一致');
    // The confirmation waits for the new period to end.
    await expect(step('finance1', 'confirm_publicity')).rejects.toThrow(`公示期至 ${addCalendarDays(today, 9)} 结束`);

    expect((await auditRows(t.core, 'publicity.notice.publish')).map((a) => JSON.parse(a.summary).notice)).toContain(second.id);
  });

  it('records where and when the paper was posted: once per place, on or after the publication, by the station only', async () => {
    const db = t.core.db;
    const notice = await db('publicity_notice').where({ roster_id: rosterId }).orderBy('id', 'desc').first();
    const village = await db('publicity_sheet').where({ notice_id: notice.id, kind: 'village' }).orderBy('id').first('village_id');
    const page = `/publicity/rosters/${rosterId}`;
    const postings = `${page}/notices/${notice.id}/postings`;
    const station = await as('station1');
    const before = parse((await station.get(page)).text).querySelector('#postings')!.text;
    expect(before).toContain('尚未登记村务公开栏张贴的村（社区）');

    // Refusals, each on its field: a village board without its village; a date before the publication.
    const noVillage = await submit(station, page, postings, { place: 'village_board', villageId: '', location: '', postedOn: businessDate() });
    expect(noVillage.status).toBe(422);
    expect(noVillage.text).toContain('张贴在村务公开栏的，请选择村（社区）');
    const early = await submit(station, page, postings, { place: 'village_board', villageId: String(village.village_id), location: '', postedOn: addCalendarDays(notice.publicity_start, -1) });
    expect(early.status).toBe(422);
    expect(early.text).toContain(`张贴日期不能早于公示发布日期（${notice.publicity_start}）`);
    expect(parse(early.text).querySelector('#f-post-postedOn')?.getAttribute('value')).toBe(addCalendarDays(notice.publicity_start, -1));

    const fields = { place: 'village_board', villageId: String(village.village_id), location: '', postedOn: businessDate() };
    expect((await submit(station, page, postings, fields)).status).toBe(303);
    expect((await submit(station, page, postings, fields)).status).toBe(303);
    expect(await db('publicity_posting').where({ notice_id: notice.id }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await auditRows(t.core, 'publicity.posting.record')).toHaveLength(1);
    const township = await submit(station, page, postings, { place: 'township_board', villageId: '', location: '', postedOn: businessDate() });
    expect(township.status).toBe(303);
    expect((await agentFor(t.core).get(`/public/notices/${notice.id}`)).text).toContain('乡镇（街道）公示栏');

    // The finance office sees the postings but records none.
    const office = await as('finance1');
    expect((await office.get(page)).text).not.toContain(`action="${postings}"`);
    const refused = await submit(office, page, postings, fields);
    expect(refused.status).toBe(403);
  });
});
