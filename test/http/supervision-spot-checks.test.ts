// Spot checks (抽查, issue 17 item 4) and the findings' lifecycle (问题线索, item 3): the draw from a recorded seed (of
// lines or of people), its re-check, the phase the round's state allows, the visits, a failed visit's finding with its
// clock, the township's answer and the supervisor's close.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertReturningId } from '../../src/core/db.ts';
import { ROUND_STATES, type RoundState } from '../../src/modules/batch/index.ts';
import { drawIndices, drawSample, populationDigest } from '../../src/modules/supervision/draw.ts';
import { PHASE_OF_ROUND_STATE, type Phase } from '../../src/modules/supervision/spot-check-schemas.ts';
import { TEST_DB, type TestDb, auditRows, createSeededDb, csrfFrom, loggedInAgents, personalNumbers } from '../factories.ts';

describe('the draw (pure)', () => {
  it('gives fixed indices for a fixed seed (the algorithm of docs/supervision.md)', () => {
    expect(drawIndices('00112233445566778899aabbccddeeff', 10, 4)).toEqual([5, 2, 0, 4]);
    expect(drawIndices('0312152733', 100, 5)).toEqual([63, 81, 36, 88, 71]);
    expect(populationDigest([1, 2, 3])).toBe('9be8c9f8b6f8e60b2a3593dbf77f76c58c7e892af6b6f9baa02291c5672c6d5a');
    // The population is sorted by id first: the order it is handed in does not matter.
    const pop = [30, 10, 20, 50, 40].map((id) => ({ id }));
    expect(drawSample('abcdef0123', pop, 3)).toEqual(drawSample('abcdef0123', [...pop].reverse(), 3));
    expect(() => drawIndices('xyz', 10, 1)).toThrow();
  });
});

describe(`supervision: spot checks and findings (${TEST_DB})`, () => {
  let t: TestDb;
  const { as, clear } = loggedInAgents(() => t);
  let roundId: number;
  let villageId: number;
  let roundDept: number;
  let population: number;
  let roundState: RoundState;
  /** The phase the round's state allows (事前 / 事中 / 事后), and one it does not. */
  let phase: Phase;
  let wrongPhase: Phase;

  beforeAll(async () => {
    clear();
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    // A village of 城关镇 (where the demo's station and finance office work) with the most active lines in one round.
    const rows: { round_id: number; village_id: number; n: number | string }[] = await db('batch_line as l')
      .join('batch_roster as s', 's.id', 'l.roster_id')
      .join('core_region as g', 'g.id', 's.township_id')
      .where({ 'l.state': 'active', 'g.name': '城关镇' })
      .groupBy('l.round_id', 'l.village_id')
      .select('l.round_id', 'l.village_id')
      .count({ n: '*' }) as never;
    const best = rows.map((r) => ({ round: Number(r.round_id), village: Number(r.village_id), n: Number(r.n) })).sort((a, b) => b.n - a.n)[0]!;
    ({ round: roundId, village: villageId, n: population } = best);
    const round = await db('batch_round').where({ id: roundId }).first('department_org_id', 'state');
    roundDept = Number(round.department_org_id);
    roundState = round.state;
    phase = PHASE_OF_ROUND_STATE[roundState];
    wrongPhase = phase === 'after' ? 'before' : 'after';
    expect(population).toBeGreaterThanOrEqual(3);
  }, 240_000);

  afterAll(async () => {
    await t?.cleanup();
  });

  async function post(username: string, page: string, action: string, fields: Record<string, string>) {
    const agent = await as(username);
    const res = await agent.get(page);
    return agent.post(action).type('form').send({ ...fields, _csrf: csrfFrom(res.text) });
  }

  async function draw(seed: string) {
    const res = await post('supervisor', '/supervision/samples', '/supervision/samples', { roundId: String(roundId), scope: 'village', villageId: String(villageId), unit: 'line', phase, size: '3', seed });
    expect(res.status).toBe(303);
    const id = Number(/\/supervision\/samples\/(\d+)/.exec(res.headers.location!)![1]);
    return { id, lines: (await t.core.db('supervision_sample_item').where({ sample_id: id }).orderBy('position').pluck('line_id')).map(Number) };
  }

  it('draws the same sample from the same seed over the same population, and the re-check says it matches', async () => {
    const a = await draw('20261206ABCDEF');
    const b = await draw('20261206abcdef');
    expect(a.lines).toHaveLength(3);
    expect(b.lines).toEqual(a.lines);
    const sample = await t.core.db('supervision_sample').where({ id: a.id }).first();
    expect(sample).toMatchObject({ seed: '20261206abcdef', seed_source: 'typed', population, size: 3, method: 'SHA256-CTR-FY-v1', scope: 'village', unit: 'line', phase });
    // The recorded digest is that of the population's ids, and the draw is the documented one over them.
    const ids = (await t.core.db('batch_line').where({ round_id: roundId, village_id: villageId, state: 'active' }).orderBy('id').pluck('id')).map(Number);
    expect(sample.population_digest).toBe(populationDigest(ids));
    expect(drawIndices('20261206abcdef', ids.length, 3).map((i) => ids[i])).toEqual(a.lines);

    const agent = await as('supervisor');
    const page = await agent.get(`/supervision/samples/${a.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('20261206abcdef');
    expect(page.text).toContain(sample.population_digest);
    expect(personalNumbers(page.text)).toEqual([]);
    const recheck = await agent.get(`/supervision/samples/${a.id}/recheck`);
    expect(recheck.text).toContain('总体未变');
    expect(recheck.text).toContain('完全一致');

    // A seed left blank is made at random and recorded.
    const random = await post('supervisor', '/supervision/samples', '/supervision/samples', { roundId: String(roundId), scope: 'round', villageId: '', unit: 'line', phase, size: '2', seed: '' });
    expect(random.status).toBe(303);
    const last = await t.core.db('supervision_sample').orderBy('id', 'desc').first();
    expect(last).toMatchObject({ seed_source: 'random', scope: 'round', size: 2 });
    expect(last.seed).toMatch(/^[0-9a-f]{32}$/);
    // Policy + period: every round of the round's policy item and period (the round's lines among them).
    const policy = await post('supervisor', '/supervision/samples', '/supervision/samples', { roundId: String(roundId), scope: 'policy', villageId: '', unit: 'line', phase, size: '1', seed: 'cafe0123' });
    expect(policy.status).toBe(303);
    const round = await t.core.db('batch_round').where({ id: roundId }).first('policy_item_id', 'period');
    const bySamePolicy = await t.core.db('supervision_sample').orderBy('id', 'desc').first();
    expect(bySamePolicy).toMatchObject({ scope: 'policy', policy_item_id: round.policy_item_id, period: round.period });
    expect(bySamePolicy.population).toBeGreaterThanOrEqual(last.population);
    expect((await t.core.db('supervision_sample').where({ id: bySamePolicy.id }).first()).population).toBe(bySamePolicy.population);
    expect((await (await as('supervisor')).get(`/supervision/samples/${bySamePolicy.id}/recheck`)).text).toContain('完全一致');
    expect((await auditRows(t.core, 'supervision.sample.draw')).length).toBe(4);
  }, 240_000);

  it('refuses a bad draw with 422 (values kept) and other roles with an audited 403', async () => {
    const bad = await post('supervisor', '/supervision/samples', '/supervision/samples', { roundId: String(roundId), scope: 'village', villageId: String(villageId), unit: 'line', phase, size: '99999', seed: 'not-a-seed!' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('not-a-seed!');
    expect(bad.text).toContain('随机种子应为');
    const tooMany = await post('supervisor', '/supervision/samples', '/supervision/samples', { roundId: String(roundId), scope: 'village', villageId: String(villageId), unit: 'line', phase, size: String(population + 1), seed: '' });
    expect(tooMany.status).toBe(422);
    expect(tooMany.text).toContain('抽取数量不能超过总体数量');
    const noVillage = await post('supervisor', '/supervision/samples', '/supervision/samples', { roundId: String(roundId), scope: 'village', villageId: '', unit: 'line', phase, size: '1', seed: '' });
    expect(noVillage.status).toBe(422);
    expect(noVillage.text).toContain('请选择村（社区）');

    const before = (await auditRows(t.core, 'access.denied')).length;
    const station = await as('station1');
    expect((await station.get('/supervision/samples')).status).toBe(403);
    const sampleId = Number((await t.core.db('supervision_sample').first('id')).id);
    expect((await station.get(`/supervision/samples/${sampleId}`)).status).toBe(403);
    expect((await auditRows(t.core, 'access.denied')).length).toBeGreaterThan(before);
  }, 240_000);

  it('draws people: the distinct people of the lines in scope by person id, each by their first line; the same seed gives the same people and the re-check matches', async () => {
    const db = t.core.db;
    // A reissue round (补发) of the same policy item and period paying three people of the round again: in scope
    // 'policy' they have two lines each and count once, by their first line (the round's).
    const { id: _round, ...regular } = await db('batch_round').where({ id: roundId }).first();
    const reissueId = await insertReturningId(db, 'batch_round', { ...regular, kind: 'reissue', title: `${regular.title}（补发）` });
    const again = await db('batch_line').where({ round_id: roundId, state: 'active' }).orderBy('id', 'desc').limit(3);
    for (const rosterId of new Set(again.map((l: { roster_id: number }) => l.roster_id))) {
      const { id: _roster, ...roster } = await db('batch_roster').where({ id: rosterId }).first();
      const copy = await insertReturningId(db, 'batch_roster', { ...roster, round_id: reissueId });
      await db('batch_line').insert(again.filter((l: { roster_id: number }) => l.roster_id === rosterId).map(({ id: _line, ...l }: { id: number }) => ({ ...l, roster_id: copy, round_id: reissueId, reissue: true })));
    }
    const drawPeople = async (seed: string) => {
      const res = await post('supervisor', '/supervision/samples', '/supervision/samples', { roundId: String(roundId), scope: 'policy', villageId: '', unit: 'person', phase, size: '4', seed });
      expect(res.status).toBe(303);
      return Number(/\/supervision\/samples\/(\d+)/.exec(res.headers.location!)![1]);
    };
    const a = await drawPeople('5eed0f0e0a1e');
    const b = await drawPeople('5EED0F0E0A1E');
    const sample = await db('supervision_sample').where({ id: a }).first();
    expect(sample).toMatchObject({ unit: 'person', scope: 'policy', size: 4, phase });
    // The population: every active line of every round of the round's policy item and period, one member per person.
    const round = await db('batch_round').where({ id: roundId }).first('policy_item_id', 'period', 'county_id');
    const lines: { id: number; person_id: number }[] = (
      await db('batch_line as l')
        .join('batch_round as r', 'r.id', 'l.round_id')
        .where({ 'l.state': 'active', 'r.policy_item_id': round.policy_item_id, 'r.period': round.period, 'r.county_id': round.county_id })
        .orderBy('l.id')
        .select('l.id', 'l.person_id')
    ).map((l: { id: number; person_id: number }) => ({ id: Number(l.id), person_id: Number(l.person_id) }));
    const firstLine = new Map<number, number>();
    for (const l of lines) if (!firstLine.has(l.person_id)) firstLine.set(l.person_id, l.id);
    const people = [...firstLine.keys()].sort((x, y) => x - y);
    expect(lines.length).toBe(people.length + 3);
    expect(sample.population).toBe(people.length);
    expect(sample.population_digest).toBe(populationDigest(people));
    const items = await db('supervision_sample_item').where({ sample_id: a }).orderBy('position').select('line_id', 'person_id');
    const drawn = drawIndices('5eed0f0e0a1e', people.length, 4).map((i) => people[i]!);
    expect(items.map((i: { person_id: number }) => Number(i.person_id))).toEqual(drawn);
    expect(items.map((i: { line_id: number }) => Number(i.line_id))).toEqual(drawn.map((p) => firstLine.get(p)));
    expect((await db('supervision_sample_item').where({ sample_id: b }).orderBy('position').pluck('person_id')).map(Number)).toEqual(drawn);
    const summary = JSON.parse((await auditRows(t.core, 'supervision.sample.draw')).at(-1)!.summary);
    expect(summary).toMatchObject({ unit: 'person', population: people.length, digest: sample.population_digest });

    const agent = await as('supervisor');
    const page = await agent.get(`/supervision/samples/${a}`);
    expect(page.text).toContain('补贴对象（人）');
    expect(page.text).toContain(`${people.length} 人`);
    expect(personalNumbers(page.text)).toEqual([]);
    const recheck = await agent.get(`/supervision/samples/${a}/recheck`);
    expect(recheck.text).toContain('总体未变');
    expect(recheck.text).toContain('完全一致');
    expect((await agent.get('/supervision/samples')).text).toContain('补贴对象（人）');
  }, 240_000);

  it('refuses a phase that does not fit the state of the round with 422 on the phase, naming the state, the values kept and nothing drawn', async () => {
    const db = t.core.db;
    const samples = Number((await db('supervision_sample').count({ n: '*' }).first())!.n);
    const draws = (await auditRows(t.core, 'supervision.sample.draw')).length;
    const res = await post('supervisor', '/supervision/samples', '/supervision/samples', { roundId: String(roundId), scope: 'round', villageId: '', unit: 'person', phase: wrongPhase, size: '2', seed: 'feedface01' });
    expect(res.status).toBe(422);
    expect(res.text).toContain(`<p class="field-error" id="e-phase">所选批次的状态为“${ROUND_STATES[roundState]}”`);
    expect(res.text).toMatch(new RegExp(`<option value="${wrongPhase}" selected>`));
    expect(res.text).toMatch(/<option value="person" selected>/);
    expect(res.text).toContain('feedface01');
    expect(Number((await db('supervision_sample').count({ n: '*' }).first())!.n)).toBe(samples);
    expect((await auditRows(t.core, 'supervision.sample.draw')).length).toBe(draws);
  }, 240_000);

  it('records visits; 不属实 opens a finding with a clock; the township answers; the supervisor closes with an amount to recover', async () => {
    const db = t.core.db;
    const sample = await db('supervision_sample').orderBy('id').first('id');
    const items = await db('supervision_sample_item').where({ sample_id: sample.id }).orderBy('position');
    const itemPage = (i: number) => `/supervision/samples/${sample.id}/items/${items[i].id}`;

    const refused = await post('supervisor', itemPage(0), itemPage(0), { visitedOn: '2999-01-01', visitor: '', outcome: 'maybe', note: '核实情况甲' });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('核实情况甲');
    expect(refused.text).toContain('请填写走访人');

    const ok = await post('supervisor', itemPage(0), itemPage(0), { visitedOn: '2026-12-01', visitor: '王监督', outcome: 'confirmed', note: '本人在家，情况属实' });
    expect(ok.status).toBe(303);
    expect(await db('supervision_finding').count({ n: '*' }).first()).toMatchObject({ n: expect.anything() });
    expect(Number((await db('supervision_finding').count({ n: '*' }).first())!.n)).toBe(0);

    const failed = await post('supervisor', itemPage(1), itemPage(1), { visitedOn: '2026-12-01', visitor: '王监督', outcome: 'false', note: '该户已于去年迁出，实际不种植' });
    expect(failed.status).toBe(303);
    const finding = await db('supervision_finding').first();
    expect(finding).toMatchObject({ source: 'spot_check', state: 'open', department_org_id: roundDept });
    expect(failed.headers.location).toBe(`/supervision/findings/${finding.id}`);
    const township = await db('core_region').where({ id: finding.region_id }).first('name');
    expect(township.name).toBe('城关镇');
    const clock = await db('core_deadline').where({ rule: 'supervision_finding', object_id: String(finding.id) }).first();
    expect(clock).toMatchObject({ state: 'open', unit: 'working', days: 10 });
    const monitor = await (await as('supervisor')).get('/supervision/deadlines?rule=supervision_finding');
    expect(monitor.status).toBe(200);
    expect(monitor.text).toContain(`答复问题线索 ${finding.id}`);
    expect(monitor.text).toContain('监督检查 · 问题线索整改答复');

    // The township station sees it on its home page and answers; an unrelated department cannot even read it.
    const station = await as('station1');
    const home = await station.get('/');
    expect(home.text).toContain('问题线索：待核实整改并答复');
    const list = await station.get('/supervision/findings?state=open');
    expect(list.text).toContain(`/supervision/findings/${finding.id}`);
    const other = (await db('core_user as u').join('core_user_role as r', 'r.user_id', 'u.id').where('r.role', 'department').whereNot('u.org_id', roundDept).first('u.username'))?.username;
    expect(other).toBeTruthy();
    if (other) expect((await (await as(other)).get(`/supervision/findings/${finding.id}`)).status).toBe(403);
    // The supervisor cannot answer; the station's empty answer is a 422.
    expect((await post('supervisor', `/supervision/findings/${finding.id}`, `/supervision/findings/${finding.id}/answer`, { answer: '答复' })).status).toBe(403);
    const empty = await post('station1', `/supervision/findings/${finding.id}`, `/supervision/findings/${finding.id}/answer`, { answer: '' });
    expect(empty.status).toBe(422);
    const answered = await post('station1', `/supervision/findings/${finding.id}`, `/supervision/findings/${finding.id}/answer`, { answer: '经核实该户已迁出，已停发并责令退回' });
    expect(answered.status).toBe(303);
    expect(await db('supervision_finding').where({ id: finding.id }).first('state')).toEqual({ state: 'answered' });
    expect((await db('core_deadline').where({ id: clock.id }).first('state')).state).toBe('done');

    // The station cannot close; the supervisor's 追回资金 needs the amount (422), then closes with it in fen.
    expect((await post('station1', `/supervision/findings/${finding.id}`, `/supervision/findings/${finding.id}/close`, { conclusion: 'no_problem', note: '无' })).status).toBe(403);
    expect((await post('station1', `/supervision/findings/${finding.id}`, `/supervision/findings/${finding.id}/close`, { conclusion: 'bogus', note: '' })).status).toBe(403);
    // Answered once: a second answer is refused (409 on the finding's page).
    expect((await post('station1', `/supervision/findings/${finding.id}`, `/supervision/findings/${finding.id}/answer`, { answer: '再次答复' })).status).toBe(409);
    const noAmount = await post('supervisor', `/supervision/findings/${finding.id}`, `/supervision/findings/${finding.id}/close`, { conclusion: 'recover', amount: '', note: '责令退回' });
    expect(noAmount.status).toBe(422);
    expect(noAmount.text).toContain('应追回金额');
    expect(noAmount.text).toContain('责令退回');
    const closed = await post('supervisor', `/supervision/findings/${finding.id}`, `/supervision/findings/${finding.id}/close`, { conclusion: 'recover', amount: '1,234.50', note: '责令退回' });
    expect(closed.status).toBe(303);
    expect(await db('supervision_finding').where({ id: finding.id }).first('state', 'conclusion', 'recover_fen')).toMatchObject({ state: 'closed', conclusion: 'recover' });
    expect(Number((await db('supervision_finding').where({ id: finding.id }).first('recover_fen')).recover_fen)).toBe(123450);
    for (const action of ['supervision.visit.record', 'supervision.finding.open', 'supervision.finding.answer', 'supervision.finding.close']) expect((await auditRows(t.core, action)).length, action).toBeGreaterThan(0);

    const supervisor = await as('supervisor');
    for (const path of [`/supervision/findings/${finding.id}`, '/supervision/findings', `/supervision/samples/${sample.id}`, '/supervision/samples', '/supervision']) {
      const page = await supervisor.get(path);
      expect(page.status, path).toBe(200);
      expect(personalNumbers(page.text), path).toEqual([]);
    }
  }, 240_000);
});
