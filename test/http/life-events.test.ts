import { afterEach, describe, expect, it } from 'vitest';
import { insertReturningId, nowIso } from '../../src/core/db.ts';
import { TEST_DB, type TestDb, agentFor, auditRows, createSeededDb, idNumberFrom, login, regionId, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** A user in another township (the demo has staff in 城关镇 only), with the test password. */
async function addUser(db: TestDb, username: string, role: string, regionName: string): Promise<void> {
  const { password_hash } = await db.core.db('core_user').where({ username: 'station1' }).first('password_hash');
  const now = nowIso();
  const id = await insertReturningId(db.core.db, 'core_user', { username, display_name: `${regionName}经办员`, password_hash, region_id: await regionId(db, regionName), must_change_password: false, password_changed_at: now, created_at: now, updated_at: now });
  await db.core.db('core_user_role').insert({ user_id: id, role });
}

async function agentAs(db: TestDb, username: string) {
  const agent = agentFor(db.core);
  expect((await login(agent, username)).status).toBe(303);
  return agent;
}

/** A head registered through the station's form; the person's page address. */
async function registerHead(station: ReturnType<typeof agentFor>, name: string, idNumber: string, villageId: number): Promise<string> {
  const res = await submit(station, '/beneficiaries/new', '/beneficiaries', { name, idNumber, villageId: String(villageId), relation: 'head' });
  expect(res.status).toBe(303);
  return res.headers.location as string;
}

const eventAction = (html: string) => /action="(\/beneficiaries\/life-events\/\d+\/decide)"/.exec(html)?.[1];

describe(`life events on the registry's pages (${TEST_DB})`, () => {
  it('records a death on the person page (a refused form keeps what was typed), the finance office refuses without a reason (422), then confirms it; the history shows who did what', async () => {
    t = await createSeededDb({ demo: true });
    const station = await agentAs(t, 'station1');
    const personPath = await registerHead(station, '何登记', idNumberFrom('99010219500101011'), await regionId(t, '东关社区'));
    const page = await station.get(personPath);
    expect(page.text).toContain('登记死亡');
    expect(page.text).toContain('登记迁出');
    expect(page.text).not.toContain('/head-change"'); // a head does not become head

    const refused = await submit(station, personPath, `${personPath}/death`, { eventDate: '2099-01-01', evidence: '死亡医学证明 A-1', reason: '' });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('死亡日期不能晚于今天');
    expect(refused.text).toContain('value="死亡医学证明 A-1"');
    const missing = await submit(station, personPath, `${personPath}/death`, { eventDate: '2026-09-01', evidence: '', reason: '' });
    expect(missing.status).toBe(422);
    expect(missing.text).toContain('href="#f-death-evidence"');

    expect((await submit(station, personPath, `${personPath}/death`, { eventDate: '2026-09-01', evidence: '死亡医学证明 A-1', reason: '' })).status).toBe(303);
    const waiting = await station.get(personPath);
    expect(waiting.text).toContain('死亡已登记，待乡镇财政所确认后生效');
    expect(waiting.text).not.toContain(`${personPath}/death"`); // one event at a time
    expect(eventAction((await station.get(/href="(\/beneficiaries\/life-events\/\d+)"/.exec(waiting.text)![1]!)).text)).toBeUndefined();

    const office = await agentAs(t, 'finance1');
    expect((await office.get('/')).text).toContain('待确认的迁移、户主变更和死亡登记');
    const list = await office.get('/beneficiaries/changes');
    expect(list.text).toContain('户籍变动');
    const eventPath = /href="(\/beneficiaries\/life-events\/\d+)">核对并确认/.exec(list.text)![1]!;
    const eventPage = await office.get(eventPath);
    const action = eventAction(eventPage.text)!;
    const version = /name="version" value="(\d+)"/.exec(eventPage.text)![1]!;
    expect((await submit(station, personPath, action, { decision: 'confirm', note: '', version })).status).toBe(403);
    const noReason = await submit(office, eventPath, action, { decision: 'refuse', note: '', version });
    expect(noReason.status).toBe(422);
    expect(noReason.text).toContain('退回时请写明原因');
    const confirmed = await submit(office, eventPath, action, { decision: 'confirm', note: '已核对', version });
    expect(confirmed.status).toBe(303);
    const after = await office.get(personPath);
    expect(after.text).toMatch(/<dt>状态<\/dt><dd>死亡 2026-09-01/);
    expect(after.text).toContain('已确认');
    expect(after.text).toContain('赵立新'); // who confirmed, in the history
    expect(await auditRows(t.core, 'beneficiary.life_event.confirm')).toHaveLength(1);
  });

  it('lets the receiving station find a person by ID number (POST, never in a URL) and register the move in; refusals are 422 with what was typed; the leaving office confirms', async () => {
    t = await createSeededDb({ demo: true });
    await addUser(t, 'station2', 'township_station', '石桥镇');
    const leaving = await agentAs(t, 'station1');
    const idNumber = idNumberFrom('99010219680201012');
    const personPath = await registerHead(leaving, '钱迁入', idNumber, await regionId(t, '西街村'));

    const receiving = await agentAs(t, 'station2');
    expect((await receiving.get(personPath)).status).toBe(403);
    const badNumber = await submit(receiving, '/beneficiaries/move-in', '/beneficiaries/move-in/find', { idNumber: '99010219680201013' });
    expect(badNumber.status).toBe(422);
    expect(badNumber.text).toContain('value="99010219680201013"');
    const found = await submit(receiving, '/beneficiaries/move-in', '/beneficiaries/move-in/find', { idNumber });
    expect(found.status).toBe(200);
    expect(found.text).toContain('钱迁入');
    expect(found.text).toContain('青禾县城关镇西街村');
    expect(await auditRows(t.core, 'beneficiary.life_event.lookup')).toHaveLength(1);

    const noVillage = await submit(receiving, '/beneficiaries/move-in', '/beneficiaries/move-in', { idNumber, toVillageId: '', relation: 'head', eventDate: '2026-10-10', evidence: '准予迁入证明 88 号' });
    expect(noVillage.status).toBe(422);
    expect(noVillage.text).toContain('value="准予迁入证明 88 号"');
    expect(noVillage.text).toContain('钱迁入'); // the person found stays on the page
    const registered = await submit(receiving, '/beneficiaries/move-in', '/beneficiaries/move-in', { idNumber, toVillageId: String(await regionId(t, '上坪村')), relation: 'head', eventDate: '2026-10-10', evidence: '准予迁入证明 88 号' });
    expect(registered.status).toBe(303);
    const eventPath = registered.headers.location as string;
    expect(eventPath).toMatch(/^\/beneficiaries\/life-events\/\d+$/);
    const eventPage = await receiving.get(eventPath);
    expect(eventPage.text).toContain('由此人现登记地乡镇财政所确认');
    expect(eventPage.text).not.toContain(idNumber);
    expect((await receiving.get('/beneficiaries/move-in')).text).toContain('待财政所确认');

    const office = await agentAs(t, 'finance1');
    const page = await office.get(eventPath);
    const version = /name="version" value="(\d+)"/.exec(page.text)![1]!;
    expect((await submit(office, eventPath, eventAction(page.text)!, { decision: 'confirm', note: '', version })).status).toBe(303);
    // The same person, now 石桥镇's: their page opens for the receiving station, with the move in the history.
    const moved = await receiving.get(personPath);
    expect(moved.status).toBe(200);
    expect(moved.text).toContain('<dt>村（社区）</dt><dd>上坪村</dd>');
    expect(moved.text).toContain('青禾县城关镇西街村');
  });

  it('refuses a move and a change of head typed wrong on the person page (422 with the summary)', async () => {
    t = await createSeededDb({ demo: true });
    const station = await agentAs(t, 'station1');
    const headPath = await registerHead(station, '孙户主', idNumberFrom('99010219580301013'), await regionId(t, '南河村'));
    const member = await submit(station, `/beneficiaries/new?head=${headPath.split('/').pop()}`, '/beneficiaries', { name: '孙成员', idNumber: idNumberFrom('99010219880301013'), villageId: String(await regionId(t, '南河村')), relation: 'child', headPersonId: headPath.split('/').pop()! });
    expect(member.status).toBe(303);
    const memberPath = member.headers.location as string;

    const move = await submit(station, memberPath, `${memberPath}/move`, { toVillageId: '', relation: 'head', eventDate: '2026-10-01', evidence: '村委会证明' });
    expect(move.status).toBe(422);
    expect(move.text).toContain('href="#f-move-toVillageId"');
    const headless = await submit(station, memberPath, `${memberPath}/move`, { toVillageId: String(await regionId(t, '西街村')), relation: 'child', headIdNumber: '', eventDate: '2026-10-01', evidence: '村委会证明' });
    expect(headless.status).toBe(422);
    expect(headless.text).toContain('href="#f-move-headIdNumber"');
    const head = await submit(station, headPath, `${headPath}/move`, { toVillageId: String(await regionId(t, '西街村')), relation: 'head', eventDate: '2026-10-01', evidence: '村委会证明' });
    expect(head.status).toBe(422);
    expect(head.text).toContain('户内还有 1 名在册成员');

    const change = await submit(station, memberPath, `${memberPath}/head-change`, { formerHeadRelation: '', eventDate: '2026-10-01', evidence: '户口簿' });
    expect(change.status).toBe(422);
    expect(change.text).toContain('href="#f-head-formerHeadRelation"');
    expect(change.text).toContain('value="户口簿"');
    expect((await submit(station, memberPath, `${memberPath}/head-change`, { formerHeadRelation: 'parent', eventDate: '2026-10-01', evidence: '户口簿' })).status).toBe(303);
  });
});
