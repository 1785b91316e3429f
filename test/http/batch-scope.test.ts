import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roundInScope } from '../../src/modules/batch/index.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, binaryParser, createSeededDb, csrfFrom, login } from '../factories.ts';

/**
 * A department sees and acts on its own rounds only (those of its policies): 民政局's user neither sees nor opens nor
 * acts on 农业农村局's rounds, rosters and roster files; another region's are refused the same way (403, audited).
 */
describe(`a department's rounds are its own (${TEST_DB})`, () => {
  let t: TestDb;
  let agri: { orgId: number; roundId: number; roundTitle: string; rosterId: number };
  let civilOrgId: number;
  const agents = new Map<string, ReturnType<typeof agentFor>>();

  async function as(username: string) {
    if (!agents.has(username)) {
      const agent = agentFor(t.core);
      expect((await login(agent, username)).status).toBe(303);
      agents.set(username, agent);
    }
    return agents.get(username)!;
  }

  /** The refusals audited for this user since the id given. */
  const refusals = async (username: string, sinceId: number) =>
    (await t.core.db('core_audit').where({ action: 'access.denied', username }).where('id', '>', sinceId).orderBy('id').select('object_type', 'object_id', 'summary')).map((r) => ({
      object: `${r.object_type}:${r.object_id}`,
      reason: JSON.parse(r.summary).reason,
    }));
  const lastAuditId = async () => Number((await t.core.db('core_audit').max({ id: 'id' }).first())!.id);
  /** A CSRF token of the user's session (every page's layout has a form). */
  const csrfOf = async (username: string) => csrfFrom((await (await as(username)).get('/rounds')).text);

  beforeAll(async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const org = async (name: string) => Number((await db('core_org').where({ name }).first('id')).id);
    civilOrgId = await org('青禾县民政局');
    const agriOrgId = await org('青禾县农业农村局');
    // The demo's 耕地地力保护 round: 城关镇's roster waits for 农业农村局's review.
    const roster = await db('batch_roster as s')
      .join('batch_round as r', 'r.id', 's.round_id')
      .join('core_region as t', 't.id', 's.township_id')
      .where({ 'r.department_org_id': agriOrgId, 's.state': 'submitted', 't.name': '城关镇' })
      .first('s.id', 'r.id as round_id', 'r.title');
    agri = { orgId: agriOrgId, roundId: Number(roster.round_id), roundTitle: roster.title, rosterId: Number(roster.id) };
  });
  afterAll(async () => t?.cleanup());

  it('lists to a department only its own rounds: the rounds list and its filter, the export, the to-dos and a person’s payments', async () => {
    const db = t.core.db;
    const civilRounds = (await db('batch_round').where({ department_org_id: civilOrgId }).pluck('title')) as string[];
    expect(civilRounds.length).toBeGreaterThan(0);
    const civil = await as('dept_civil');

    const list = await civil.get('/rounds');
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(agri.roundTitle);
    expect(list.text).not.toContain('青禾县农业农村局');
    expect(Number(/共 (\d+) 条/.exec(list.text)?.[1])).toBe(civilRounds.length);
    // Asked for by the filter, another department's rounds are not there either.
    expect((await civil.get(`/rounds?department=${agri.orgId}`)).text).toContain('没有符合条件的发放批次');

    const file = await civil.get('/rounds/export.xlsx').buffer(true).parse(binaryParser);
    expect(file.status).toBe(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(file.body as never);
    const titles: string[] = [];
    workbook.worksheets[0]!.eachRow((row) => titles.push(String(row.getCell(1).value ?? '')));
    expect(titles.filter((title) => civilRounds.includes(title)).sort()).toEqual([...civilRounds].sort());
    expect(titles).not.toContain(agri.roundTitle);

    // The waiting rosters and the home page's to-dos: none of 农业农村局's.
    const waiting = await civil.get('/rosters?states=draft,checked,approved,confirmed,checking,publicity,submitted,reported');
    expect(waiting.status).toBe(200);
    expect(waiting.text).not.toContain(agri.roundTitle);
    const home = await civil.get('/');
    expect(home.text).not.toContain(`/rosters/${agri.rosterId}"`);
    expect(home.text).not.toContain('待审核的乡镇清册');

    // A person paid in 农业农村局's round: their one-card view leaves that round out for 民政局.
    const line = await db('batch_line').where({ round_id: agri.roundId, state: 'active' }).first('person_id');
    const person = await civil.get(`/beneficiaries/${line.person_id}`);
    expect(person.status).toBe(200);
    expect(person.text).not.toContain(agri.roundTitle);

    // 农业农村局 itself sees its round everywhere.
    const own = await as('dept_agri');
    expect((await own.get('/rounds')).text).toContain(agri.roundTitle);
    expect((await own.get(`/beneficiaries/${line.person_id}`)).text).toContain(agri.roundTitle);
    expect((await own.get('/')).text).toContain('待审核的乡镇清册');
    // Whoever reads the county's rounds (the finance section, a supervisor) still sees both departments'.
    const supervisor = (await (await as('supervisor')).get('/rounds')).text;
    expect(supervisor).toContain(agri.roundTitle);
    expect(supervisor).toContain(civilRounds[0]);
  });

  it('refuses a department another department’s round, roster and roster files as out of its scope (403, audited), and opens them to their own', async () => {
    const civil = await as('dept_civil');
    const since = await lastAuditId();
    const paths = [`/rounds/${agri.roundId}`, `/rosters/${agri.rosterId}`, `/rosters/${agri.rosterId}?page=1&finding=any`];
    // The bank module's page of a round reads it through batch's scope too.
    for (const path of [...paths, `/bank/rounds/${agri.roundId}`]) {
      const res = await civil.get(path);
      expect(res.status, path).toBe(403);
      expect(res.text, path).not.toContain(agri.roundTitle);
    }
    for (const format of ['pdf', 'xlsx']) {
      const res = await civil.get(`/rosters/${agri.rosterId}/roster.${format}`);
      expect(res.status, format).toBe(403);
    }
    expect(await refusals('dept_civil', since)).toEqual([
      { object: `round:${agri.roundId}`, reason: 'out_of_scope' },
      { object: `roster:${agri.rosterId}`, reason: 'out_of_scope' },
      { object: `roster:${agri.rosterId}`, reason: 'out_of_scope' },
      { object: `round:${agri.roundId}`, reason: 'out_of_scope' },
      { object: `roster:${agri.rosterId}`, reason: 'out_of_scope' },
      { object: `roster:${agri.rosterId}`, reason: 'out_of_scope' },
    ]);
    expect(await t.core.db('core_audit').where({ action: 'batch.roster.print', username: 'dept_civil' }).first('id')).toBeUndefined();

    const own = await as('dept_agri');
    for (const path of paths) expect((await own.get(path)).status, path).toBe(200);
    expect((await own.get(`/rosters/${agri.rosterId}`)).text).toContain(agri.roundTitle);
    const pdf = await own.get(`/rosters/${agri.rosterId}/roster.pdf`).buffer(true).parse(binaryParser);
    expect(pdf.status).toBe(200);
    // Holding a role that reads the county's rounds too (the finance section's), a department user reads them all.
    const civilActor = await actorFor(t, 'dept_civil');
    expect((await roundInScope(t.core.db, { ...civilActor, roles: ['department', 'finance_section'] }, agri.roundId)).id).toBe(agri.roundId);
  });

  it('refuses a department the checks, review and round steps of another department’s roster and round, changing nothing; its own department takes them', async () => {
    const db = t.core.db;
    const rosterNow = () => db('batch_roster').where({ id: agri.rosterId }).first('state', 'version', 'checked_at');
    const roundNow = () => db('batch_round').where({ id: agri.roundId }).first('state', 'version');
    const activeLines = async () => (await db('batch_line').where({ roster_id: agri.rosterId, state: 'active' }).count({ n: '*' }).first())!.n;
    const before = { roster: await rosterNow(), round: await roundNow(), lines: await activeLines(), history: await db('batch_history').where({ round_id: agri.roundId }).count({ n: '*' }).first() };
    const lineId = Number((await db('batch_line').where({ roster_id: agri.rosterId, state: 'active' }).first('id')).id);

    const civil = await as('dept_civil');
    const csrf = await csrfOf('dept_civil');
    const since = await lastAuditId();
    const posts: [string, Record<string, string | string[]>][] = [
      [`/rosters/${agri.rosterId}/check`, {}],
      [`/rosters/${agri.rosterId}/act`, { action: 'approve', version: String(before.roster.version) }],
      [`/rosters/${agri.rosterId}/act`, { action: 'return_review', version: String(before.roster.version), reason: '请核实' }],
      [`/rosters/${agri.rosterId}/return-lines`, { lineIds: [String(lineId)], reason: '请核实' }],
      [`/rounds/${agri.roundId}/submit`, { version: String(before.round.version) }],
    ];
    for (const [action, fields] of posts) {
      const res = await civil.post(action).type('form').send({ ...fields, _csrf: csrf });
      expect(res.status, `${action} ${fields.action ?? ''}`).toBe(403);
    }
    expect(await rosterNow()).toEqual(before.roster);
    expect(await roundNow()).toEqual(before.round);
    expect(await activeLines()).toEqual(before.lines);
    expect(await db('batch_history').where({ round_id: agri.roundId }).count({ n: '*' }).first()).toEqual(before.history);
    const refused = await refusals('dept_civil', since);
    expect(refused).toHaveLength(posts.length);
    expect(refused.every((r) => r.reason === 'out_of_scope')).toBe(true);
    expect(await db('core_audit').where({ username: 'dept_civil' }).where('id', '>', since).whereNot('action', 'access.denied').first('action')).toBeUndefined();

    // 农业农村局 runs the checks and approves its own roster.
    const own = await as('dept_agri');
    const ownCsrf = await csrfOf('dept_agri');
    expect((await own.post(`/rosters/${agri.rosterId}/check`).type('form').send({ _csrf: ownCsrf })).status).toBe(303);
    const version = String((await rosterNow()).version);
    expect((await own.post(`/rosters/${agri.rosterId}/act`).type('form').send({ action: 'approve', version, _csrf: ownCsrf })).status).toBe(303);
    expect((await rosterNow()).state).toBe('approved');
  });
});
