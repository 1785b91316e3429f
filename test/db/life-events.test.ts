import { afterEach, describe, expect, it } from 'vitest';
import { FourEyesError } from '../../src/core/authz.ts';
import { inTransaction, insertReturningId, nowIso } from '../../src/core/db.ts';
import { ConflictError, ForbiddenError, ValidationError } from '../../src/core/errors.ts';
import { insertRegion } from '../../src/core/regions.ts';
import { registerPerson } from '../../src/modules/beneficiary/commands.ts';
import { decideLifeEvent, registerDeath, registerHeadChange, registerMove } from '../../src/modules/beneficiary/life-events.ts';
import { lifeEventsOf, pendingLifeEvents } from '../../src/modules/beneficiary/life-event-queries.ts';
import { personInScope, referenceHitsOf, registryFactsById } from '../../src/modules/beneficiary/queries.ts';
import { loadReferenceSnapshot } from '../../src/modules/beneficiary/reference.ts';
import { addLine, checkRoster, createRound, removeLine } from '../../src/modules/batch/commands.ts';
import type { Actor } from '../../src/core/auth/roles.ts';
import { TEST_DB, type TestDb, actorFor, auditRows, confirmNewAccounts, createSeededDb, idNumberFrom, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** A user of the demo county's shape in another township (the demo has staff in 城关镇 only), with the test password. */
async function addUser(db: TestDb, username: string, role: 'township_station' | 'township_finance', regionName: string): Promise<Actor> {
  const { password_hash } = await db.core.db('core_user').where({ username: 'station1' }).first('password_hash');
  const now = nowIso();
  const id = await insertReturningId(db.core.db, 'core_user', { username, display_name: username, password_hash, region_id: await regionId(db, regionName), must_change_password: false, password_changed_at: now, created_at: now, updated_at: now });
  await db.core.db('core_user_role').insert({ user_id: id, role });
  return actorFor(db, username);
}

const move = (toVillageId: number, extra: Partial<Parameters<typeof registerMove>[3]> = {}) => ({
  toVillageId,
  relation: 'head' as const,
  headIdNumber: null,
  wholeHousehold: false,
  eventDate: '2026-10-08',
  evidence: '准予迁入证明 第 2026-118 号',
  reason: null,
  ...extra,
});

async function register(db: TestDb, station: Actor, name: string, first17: string, village: string, head: number | null = null, account = false) {
  const idNumber = idNumberFrom(first17);
  const id = await registerPerson(db.core, station, {
    name,
    idNumber,
    villageId: await regionId(db, village),
    relation: head ? 'spouse' : 'head',
    headPersonId: head,
    phone: null,
    account: account ? { kind: 'sscard', bankName: '青禾县农村信用合作联社', number: '6239990000000000018', holderName: name } : null,
  });
  return { id, idNumber };
}

const pendingVersion = async (db: TestDb, eventId: number) => (await db.core.db('beneficiary_person_event').where({ id: eventId }).first('version')).version as number;

/** A round of 耕地地力保护补贴 (到户: the head's card) for 2026 and the roster of a township in it. */
async function householdRound(db: TestDb) {
  const item = await db.core.db('policy_item').where({ code: 'JC-01' }).first('id');
  const roundId = await createRound(db.core, await actorFor(db, 'dept_agri'), { policyItemId: item.id, period: '2026' });
  return async (township: string) => (await db.core.db('batch_roster').where({ round_id: roundId, township_id: await regionId(db, township) }).first('id')).id as number;
}

describe(`life events of the registry: moves, changes of head, deaths (${TEST_DB})`, () => {
  it('moves a person between villages of a township: registered by its station, confirmed by its finance office, the same record in a new household, with its history', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const office = await actorFor(t, 'finance1');
    const head = await register(t, station, '王南河', '99010219600101001', '南河村');
    const family = await register(t, station, '吴西街', '99010219600101002', '西街村');
    const daughter = await register(t, station, '吴小红', '99010220000101002', '西街村', family.id);

    // Refused: a village not given as a head and no head named; a head that is not one of the destination's.
    await expect(registerMove(t.core, station, { personId: daughter.id }, move(await regionId(t, '南河村'), { relation: 'spouse', headIdNumber: family.idNumber }))).rejects.toThrow(ValidationError);
    const eventId = await registerMove(t.core, station, { personId: daughter.id }, move(await regionId(t, '南河村'), { relation: 'spouse', headIdNumber: head.idNumber }));
    // Nothing changes until confirmed; a second event meanwhile is refused.
    expect((await personInScope(t.core.db, station, daughter.id)).village_name).toBe('西街村');
    await expect(registerDeath(t.core, station, daughter.id, { eventDate: '2026-10-09', evidence: '死亡医学证明', reason: null })).rejects.toThrow(ConflictError);
    expect((await pendingLifeEvents(t.core.db, office)).map((e) => e.id)).toEqual([eventId]);

    await decideLifeEvent(t.core, office, eventId, { approve: true, note: '核对迁移证明无误', version: await pendingVersion(t, eventId) });
    const after = await personInScope(t.core.db, station, daughter.id);
    const headRow = await personInScope(t.core.db, station, head.id);
    expect(after).toMatchObject({ id: daughter.id, village_name: '南河村', household_id: headRow.household_id, relation: 'spouse', status: 'active' });
    // The family left behind keeps its head.
    expect((await registryFactsById(t.core.db, [family.id]))[0]).toMatchObject({ headPersonId: family.id, villageId: await regionId(t, '西街村') });
    const [history] = await lifeEventsOf(t.core.db, daughter.id);
    expect(history).toMatchObject({ kind: 'move', state: 'confirmed', from_text: '青禾县城关镇西街村', registered_by: station.userId, decided_by: office.userId, evidence: '准予迁入证明 第 2026-118 号', decision_note: '核对迁移证明无误' });
    expect(history!.to_text).toContain('青禾县城关镇南河村');
    const audit = await auditRows(t.core, 'beneficiary.life_event.confirm');
    expect(audit).toHaveLength(1);
    expect(audit[0].summary).not.toContain('吴小红');
  });

  it('moves a person to another township: the receiving station registers by ID number, the leaving finance office confirms, and a round compiled afterwards lists them in the new village', async () => {
    t = await createSeededDb();
    const leavingStation = await actorFor(t, 'station1');
    const leavingOffice = await actorFor(t, 'finance1');
    const receiving = await addUser(t, 'station2', 'township_station', '石桥镇');
    const receivingOffice = await addUser(t, 'finance2', 'township_finance', '石桥镇');
    const person = await register(t, leavingStation, '郑迁移', '99010219650301003', '西街村', null, true);
    await confirmNewAccounts(t);
    // A round under way: the person's line in 城关镇's draft roster, compiled before the move.
    const roster = await householdRound(t);
    const oldLine = await addLine(t.core, leavingStation, await roster('城关镇'), { idNumber: person.idNumber, tierName: null, quantity: '3' });
    // The police list of people who moved their 户籍 away marks them (a mark for the township to act on).
    const policeList = `姓名,身份证号码,迁出日期,迁往地\n郑迁移,${person.idNumber},2026-10-08,石桥镇上坪村\n`;
    await loadReferenceSnapshot(t.core, await actorFor(t, 'finance'), { source: 'police_move', takenOn: '2026-11-01', file: { name: 'move.csv', buffer: Buffer.from(policeList) } });
    expect(await referenceHitsOf(t.core.db, [person.id])).toMatchObject([{ kind: 'moved', current: true, settled: false }]);

    // The receiving station cannot open the person's page, but registers the move by the ID number.
    await expect(personInScope(t.core.db, receiving, person.id)).rejects.toThrow(ForbiddenError);
    await expect(registerMove(t.core, receiving, { idNumber: idNumberFrom('99010219650301999') }, move(await regionId(t, '上坪村')))).rejects.toThrow(ValidationError);
    const eventId = await registerMove(t.core, receiving, { idNumber: person.idNumber }, move(await regionId(t, '上坪村')));

    // Only the leaving township's finance office decides: not the receiving one, not the registering user.
    expect(await pendingLifeEvents(t.core.db, receivingOffice)).toEqual([]);
    await expect(decideLifeEvent(t.core, receivingOffice, eventId, { approve: true, note: null, version: 1 })).rejects.toThrow(ForbiddenError);
    await expect(decideLifeEvent(t.core, { ...leavingOffice, userId: receiving.userId }, eventId, { approve: true, note: null, version: 1 })).rejects.toThrow(FourEyesError);
    await expect(decideLifeEvent(t.core, leavingStation, eventId, { approve: true, note: null, version: 1 })).rejects.toThrow(ForbiddenError);
    await decideLifeEvent(t.core, leavingOffice, eventId, { approve: true, note: null, version: 1 });
    await expect(decideLifeEvent(t.core, leavingOffice, eventId, { approve: false, note: '再次', version: 1 })).rejects.toThrow();

    // The same record (id, account), now in 石桥镇上坪村, head of a new household.
    const [facts] = await registryFactsById(t.core.db, [person.id]);
    expect(facts).toMatchObject({ personId: person.id, villageId: await regionId(t, '上坪村'), townshipId: await regionId(t, '石桥镇'), headPersonId: person.id, status: 'active', account: { last4: '0018' } });
    expect(await t.core.db('beneficiary_person').where({ id_index: t.core.crypto.blindIndex('id', person.idNumber) }).count({ n: '*' }).first()).toMatchObject({ n: 1 });
    await expect(personInScope(t.core.db, leavingStation, person.id)).rejects.toThrow(ForbiddenError);
    const [history] = await lifeEventsOf(t.core.db, person.id);
    expect(history).toMatchObject({ from_text: '青禾县城关镇西街村', registered_region_name: '石桥镇', registered_by: receiving.userId, decided_by: leavingOffice.userId, state: 'confirmed' });

    // The line compiled before the move is blocked; compiled after it, the person belongs to 石桥镇's roster, in
    // 上坪村, and 城关镇's refuses them.
    await checkRoster(t.core, leavingOffice, await roster('城关镇'));
    expect(await t.core.db('batch_finding').where({ line_id: oldLine, state: 'open' }).pluck('rule')).toEqual(['unknown-person']);
    await removeLine(t.core, leavingStation, oldLine, '已迁往石桥镇');
    const lineId = await addLine(t.core, receiving, await roster('石桥镇'), { idNumber: person.idNumber, tierName: null, quantity: '3' });
    expect(await t.core.db('batch_line').where({ id: lineId }).first('village_id')).toEqual({ village_id: await regionId(t, '上坪村') });
    // The police mark is settled by the confirmed move: the new township's line is payable.
    expect(await referenceHitsOf(t.core.db, [person.id])).toMatchObject([{ kind: 'moved', current: false, settled: true }]);
    expect(await checkRoster(t.core, receivingOffice, await roster('石桥镇'))).toEqual({ blocking: 0, warnings: 0, resolved: 0 });
    await expect(addLine(t.core, leavingStation, await roster('城关镇'), { idNumber: person.idNumber, tierName: null, quantity: '3' })).rejects.toThrow(ValidationError);
  });

  it('moves in from another county of the same deployment: the receiving county station registers, the leaving county township finance office confirms', async () => {
    t = await createSeededDb();
    const db = t.core.db;
    const city = await db('core_region').where({ level: 'city' }).first();
    await inTransaction(db, async (trx) => {
      const county = await insertRegion(trx, city, 'county', '白石县', '990103');
      const township = await insertRegion(trx, county, 'township', '白石镇', '990103100');
      await insertRegion(trx, township, 'village', '白石村', '990103100001');
    });
    const receiving = await addUser(t, 'station_bs', 'township_station', '白石镇');
    const person = await register(t, await actorFor(t, 'station1'), '冯跨县', '99010219700401004', '东关社区');
    const eventId = await registerMove(t.core, receiving, { idNumber: person.idNumber }, move(await regionId(t, '白石村')));
    await decideLifeEvent(t.core, await actorFor(t, 'finance1'), eventId, { approve: true, note: null, version: 1 });
    expect((await registryFactsById(db, [person.id]))[0]).toMatchObject({ villageId: await regionId(t, '白石村'), townshipId: await regionId(t, '白石镇') });
    expect((await lifeEventsOf(db, person.id))[0]!.to_text).toContain('白石县白石镇白石村');
  });

  it('keeps a household headed: a head with members moves only with the whole household (each member with a history row) or after a change of head', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const office = await actorFor(t, 'finance1');
    const head = await register(t, station, '陈户主', '99010219550501005', '西街村');
    const spouse = await register(t, station, '林配偶', '99010219560501006', '西街村', head.id);
    await expect(registerMove(t.core, station, { personId: head.id }, move(await regionId(t, '东关社区')))).rejects.toMatchObject({ fieldErrors: { wholeHousehold: expect.stringMatching(/户内还有 1 名在册成员（林配偶）.*户主变更/) } });
    await expect(registerMove(t.core, station, { personId: spouse.id }, move(await regionId(t, '东关社区'), { wholeHousehold: true }))).rejects.toThrow(ValidationError);

    const eventId = await registerMove(t.core, station, { personId: head.id }, move(await regionId(t, '东关社区'), { wholeHousehold: true }));
    await decideLifeEvent(t.core, office, eventId, { approve: true, note: null, version: 1 });
    const facts = await registryFactsById(t.core.db, [head.id, spouse.id]);
    expect(facts.map((f) => [f.villageId, f.headPersonId, f.householdId])).toEqual([
      [await regionId(t, '东关社区'), head.id, facts[0]!.householdId],
      [await regionId(t, '东关社区'), head.id, facts[0]!.householdId],
    ]);
    expect(await lifeEventsOf(t.core.db, spouse.id)).toMatchObject([{ kind: 'move', state: 'confirmed', parent_event_id: eventId, whole_household: true }]);
  });

  it('changes the household head: the station records it, the finance office confirms, and 到户 subsidies then pay the new head', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const office = await actorFor(t, 'finance1');
    const head = await register(t, station, '黄老汉', '99010219450601007', '南河村');
    const son = await register(t, station, '黄大军', '99010219700601007', '南河村', head.id);
    // A 到户 line compiled for the head before the change.
    const roster = await householdRound(t);
    const rosterId = await roster('城关镇');
    const oldLine = await addLine(t.core, station, rosterId, { idNumber: head.idNumber, tierName: null, quantity: '2' });
    await expect(registerHeadChange(t.core, station, head.id, { formerHeadRelation: 'parent', eventDate: '2026-11-01', evidence: '户口簿', reason: null })).rejects.toThrow(ConflictError);
    const eventId = await registerHeadChange(t.core, station, son.id, { formerHeadRelation: 'parent', eventDate: '2026-11-01', evidence: '户口簿户主页', reason: '原户主年老，由儿子担任户主' });
    await expect(decideLifeEvent(t.core, { ...office, userId: station.userId }, eventId, { approve: true, note: null, version: 1 })).rejects.toThrow(FourEyesError);
    await decideLifeEvent(t.core, office, eventId, { approve: true, note: null, version: 1 });

    // In no particular order (PostgreSQL's plan decides it).
    const facts = new Map((await registryFactsById(t.core.db, [head.id, son.id])).map((f) => [f.personId, f]));
    expect(facts.get(head.id)).toMatchObject({ relation: 'parent', headPersonId: son.id });
    expect(facts.get(son.id)).toMatchObject({ relation: 'head', headPersonId: son.id });
    expect((await lifeEventsOf(t.core.db, son.id))[0]).toMatchObject({ kind: 'head_change', from_text: '户主 黄老汉', state: 'confirmed' });
    // The audit log names them masked.
    const audit = [...(await auditRows(t.core, 'beneficiary.life_event.register')), ...(await auditRows(t.core, 'beneficiary.life_event.confirm'))].map((r) => String(r.summary));
    expect(audit).toHaveLength(2);
    for (const summary of audit) expect(summary).not.toMatch(/黄老汉|黄大军/);
    expect(audit[0]).toContain('户主 黄*汉');

    // The line compiled for the former head is blocked by the check; compiled again, it is the new head's.
    await checkRoster(t.core, office, rosterId);
    expect(await t.core.db('batch_finding').where({ roster_id: rosterId, line_id: oldLine, state: 'open' }).pluck('rule')).toContain('household-head');
    await removeLine(t.core, station, oldLine, '户主已变更，为新户主重新编制');
    await expect(addLine(t.core, station, rosterId, { idNumber: head.idNumber, tierName: null, quantity: '2' })).rejects.toMatchObject({ fieldErrors: { idNumber: expect.stringMatching(/到户补贴发给户主/) } });
    const newLine = await addLine(t.core, station, rosterId, { idNumber: son.idNumber, tierName: null, quantity: '2' });
    await checkRoster(t.core, office, rosterId);
    expect(await t.core.db('batch_finding').where({ roster_id: rosterId, line_id: newLine, rule: 'household-head' }).count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('records a death: dated and evidenced by the station, confirmed by the finance office; the person is then 死亡 and the roster check blocks their payment', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const office = await actorFor(t, 'finance1');
    const person = await register(t, station, '何已故', '99010219400701008', '东关社区', null, true);
    await confirmNewAccounts(t);
    const roster = await householdRound(t);
    const rosterId = await roster('城关镇');
    await addLine(t.core, station, rosterId, { idNumber: person.idNumber, tierName: null, quantity: '4' });
    expect(await checkRoster(t.core, office, rosterId)).toEqual({ blocking: 0, warnings: 0, resolved: 0 });

    await expect(registerDeath(t.core, station, person.id, { eventDate: '1930-01-01', evidence: '死亡医学证明', reason: null })).rejects.toThrow(ValidationError);
    const eventId = await registerDeath(t.core, station, person.id, { eventDate: '2026-09-15', evidence: '死亡医学证明 No.A2026091501', reason: null });
    await expect(decideLifeEvent(t.core, station, eventId, { approve: true, note: null, version: 1 })).rejects.toThrow(ForbiddenError);
    await decideLifeEvent(t.core, office, eventId, { approve: true, note: '已核对死亡医学证明', version: 1 });

    expect((await registryFactsById(t.core.db, [person.id]))[0]).toMatchObject({ status: 'deceased', statusDate: '2026-09-15' });
    expect(await checkRoster(t.core, office, rosterId)).toMatchObject({ blocking: 1 });
    expect(await t.core.db('batch_finding').where({ roster_id: rosterId, state: 'open' }).select('rule', 'severity')).toEqual([{ rule: 'deceased-or-moved', severity: 'blocking' }]);
    // No further events for someone deceased.
    await expect(registerMove(t.core, station, { personId: person.id }, move(await regionId(t, '西街村')))).rejects.toThrow(ConflictError);
  });

  it('refused, changes nothing, keeps the refusal in the history and lets the station register again; a stale page is refused', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const office = await actorFor(t, 'finance1');
    const person = await register(t, station, '孔退回', '99010219800801009', '东关社区');
    const eventId = await registerDeath(t.core, station, person.id, { eventDate: '2026-08-01', evidence: '村委会口头报告', reason: null });
    await expect(decideLifeEvent(t.core, office, eventId, { approve: false, note: '无死亡证明', version: 2 })).rejects.toThrow(ConflictError);
    await decideLifeEvent(t.core, office, eventId, { approve: false, note: '无死亡证明，请补充死亡医学证明或户籍注销证明', version: 1 });
    expect((await registryFactsById(t.core.db, [person.id]))[0]).toMatchObject({ status: 'active', statusDate: null });
    expect((await lifeEventsOf(t.core.db, person.id))[0]).toMatchObject({ state: 'refused', decision_note: '无死亡证明，请补充死亡医学证明或户籍注销证明' });
    expect(await auditRows(t.core, 'beneficiary.life_event.refuse')).toHaveLength(1);
    await registerDeath(t.core, station, person.id, { eventDate: '2026-08-01', evidence: '户籍注销证明 2026-77', reason: null });
  });
});
