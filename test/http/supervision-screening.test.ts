// Screening (大数据比对筛查, issue 17 item 3): the rules over a period's paid lines across rounds, each hit a finding
// assigned to the line's township and department with its clock; a re-run finds the same findings again instead of
// opening new ones and shows what is no longer found.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQueuedScreenings } from '../../src/modules/supervision/screenings.ts';
import { TEST_DB, type TestDb, auditRows, createSeededDb, csrfFrom, loggedInAgents, personalNumbers } from '../factories.ts';

interface Line {
  id: number;
  round_id: number;
  roster_id: number;
  person_id: number;
  household_id: number | null;
  village_id: number;
  amount_fen: number;
}

describe(`supervision: screening (${TEST_DB})`, () => {
  let t: TestDb;
  const { as, clear } = loggedInAgents(() => t);
  let paid: Line[];
  let township: { id: number; name: string };
  let department: number;

  beforeAll(async () => {
    clear();
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    // The demo's paid rounds: one policy, three months, one township's roster each.
    paid = (await db('batch_line as l').join('batch_round as r', 'r.id', 'l.round_id').whereIn('r.state', ['released', 'transferred']).where('l.state', 'active').orderBy('l.id').select('l.*')) as Line[];
    expect(new Set(paid.map((l) => l.round_id)).size).toBeGreaterThanOrEqual(3);
    const roster = await db('batch_roster as s').join('core_region as g', 'g.id', 's.township_id').where('s.id', paid[0]!.roster_id).first('g.id', 'g.name');
    township = { id: Number(roster.id), name: roster.name };
    department = Number((await db('batch_round').where({ id: paid[0]!.round_id }).first('department_org_id')).department_org_id);
  }, 240_000);

  afterAll(async () => {
    await t?.cleanup();
  });

  async function screen(fields: Record<string, string>) {
    const agent = await as('supervisor');
    const res = await agent.get('/supervision/screenings');
    return agent.post('/supervision/screenings').type('form').send({ ...fields, _csrf: csrfFrom(res.text) });
  }

  async function runScreening(): Promise<number> {
    const res = await screen({ from: '2026-01-01', to: '2026-12-31' });
    expect(res.status).toBe(303);
    const id = Number(/\/supervision\/screenings\/(\d+)/.exec(res.headers.location!)![1]);
    expect(await runQueuedScreenings(t.core)).toEqual({ built: 1, failed: 0 });
    return id;
  }

  const hitsOf = async (id: number) => (await t.core.db('supervision_screening_hit').where({ screening_id: id }).orderBy('id')) as { rule: string; source_ref: string; finding_id: number; status: string; amount_fen: number | string; line_count: number }[];

  it('finds nothing on clean data and says how many lines it screened', async () => {
    const id = await runScreening();
    const run = await t.core.db('supervision_screening').where({ id }).first();
    expect(run).toMatchObject({ state: 'done', rules_done: run.rules_total, hits: 0, opened: 0 });
    expect(Number(run.lines_screened)).toBe(paid.length);
    const page = await (await as('supervisor')).get(`/supervision/screenings/${id}`);
    expect(page.text).toContain(`${paid.length} 条`);
    expect(page.text).toContain('该期间的第一次筛查');
  }, 240_000);

  it('turns each kind of hit into a finding for the line’s township and department, with its clock and audit', async () => {
    const db = t.core.db;
    const byRound = new Map<number, Line[]>();
    for (const l of paid) byRound.set(l.round_id, [...(byRound.get(l.round_id) ?? []), l]);
    const [first, second, third] = [...byRound.keys()].sort((a, b) => a - b).map((id) => byRound.get(id)!);
    // Paid after death: the person of a September line died in January.
    const dead = second![0]!;
    await db('beneficiary_person').where({ id: dead.person_id }).update({ status: 'deceased', status_date: '2026-01-15' });
    // One account for three households: three August lines of different households get the same account.
    const households = [...new Map(first!.filter((l) => l.household_id !== null).map((l) => [l.household_id, l])).values()].slice(1, 4);
    expect(households).toHaveLength(3);
    await db('batch_line').whereIn('id', households.map((l) => l.id)).update({ account_index: 'screening-test-account', account_last4: '4321' });
    // Changed after publicity: an October line.
    await db('batch_line').where({ id: third![1]!.id }).update({ changed_after_publicity: true });
    // Paid in two townships: an August line copied into another township's roster of the same round (also a duplicate in the round).
    const copied = first![5]!;
    const other = await db('batch_roster').where({ round_id: copied.round_id }).whereNot('id', copied.roster_id).first('id', 'township_id');
    const village = await db('core_region').where({ parent_id: other.township_id, level: 'village' }).first('id');
    const { id: _id, ...row } = (await db('batch_line').where({ id: copied.id }).first()) as Record<string, unknown>;
    await db('batch_line').insert({ ...row, roster_id: other.id, village_id: village.id });
    // A village's total jumps: October's lines of one village paid five times as much.
    const jumpVillage = third![0]!.village_id;
    const jumpLines = third!.filter((l) => l.village_id === jumpVillage);
    const before = jumpLines.reduce((s, l) => s + Number(l.amount_fen), 0);
    const extra = Math.max(100_000, before * 4);
    await db('batch_line').where({ id: jumpLines[0]!.id }).update({ amount_fen: Number(jumpLines[0]!.amount_fen) + extra });

    const id = await runScreening();
    const hits = await hitsOf(id);
    const rules = new Set(hits.map((h) => h.rule));
    for (const rule of ['after-death', 'shared-account', 'several-townships', 'changed-after-publicity', 'village-jump', 'round-checks']) expect(rules, rule).toContain(rule);
    expect(hits.every((h) => h.status === 'new')).toBe(true);
    const death = hits.find((h) => h.rule === 'after-death')!;
    // Every payment after the death: September and October (the person is on every month's roster).
    const after = paid.filter((l) => l.person_id === dead.person_id);
    expect(death.line_count).toBe(after.length);
    const amounts = (await db('batch_line').whereIn('id', after.map((l) => l.id)).pluck('amount_fen')).map(Number);
    expect(Number(death.amount_fen)).toBe(amounts.reduce((s, a) => s + a, 0));
    expect(hits.find((h) => h.rule === 'round-checks')!.source_ref).toMatch(/^round-checks:duplicate-in-round:roster:\d+$/);

    const findings = await db('supervision_finding').where({ source: 'screening' }).orderBy('id');
    expect(findings).toHaveLength(hits.length);
    const deathFinding = findings.find((f: { id: number }) => f.id === death.finding_id);
    expect(deathFinding).toMatchObject({ state: 'open', region_id: township.id, department_org_id: department, source_ref: `after-death:person:${dead.person_id}` });
    expect(deathFinding.evidence).toContain('死亡');
    const clocks = await db('core_deadline').where({ object_type: 'supervision_finding' }).whereIn('object_id', findings.map((f: { id: number }) => f.id));
    expect(clocks).toHaveLength(findings.length);
    expect((await auditRows(t.core, 'supervision.finding.open')).filter((a: { summary: string }) => a.summary.includes('screening'))).toHaveLength(findings.length);
    expect(await auditRows(t.core, 'supervision.screening.run')).toHaveLength(2);

    // The supervisor's page lists them, masked; the township sees its findings to answer.
    const page = await (await as('supervisor')).get(`/supervision/screenings/${id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('死亡或迁出后继续发放');
    expect(page.text).toContain(`/supervision/findings/${death.finding_id}`);
    expect(personalNumbers(page.text)).toEqual([]);
    const station = await as('station1');
    const list = await station.get('/supervision/findings?source=screening');
    expect(list.status).toBe(200);
    expect(list.text).toContain(`/supervision/findings/${death.finding_id}`);
  }, 240_000);

  it('re-runs: the same hits find their findings again, a corrected one shows as no longer found', async () => {
    const db = t.core.db;
    const previous = Number((await db('supervision_screening').max({ id: 'id' }).first())!.id);
    const before = await hitsOf(previous);
    const findings = Number((await db('supervision_finding').count({ n: '*' }).first())!.n);
    const death = before.find((h) => h.rule === 'after-death')!;
    // The registry is corrected: the person was alive after all.
    const personId = Number(death.source_ref.split(':').at(-1));
    await db('beneficiary_person').where({ id: personId }).update({ status: 'active', status_date: null });

    const id = await runScreening();
    const hits = await hitsOf(id);
    expect(hits).toHaveLength(before.length - 1);
    expect(hits.every((h) => h.status === 'again')).toBe(true);
    expect(new Set(hits.map((h) => h.finding_id))).toEqual(new Set(before.filter((h) => h !== death).map((h) => h.finding_id)));
    expect(Number((await db('supervision_finding').count({ n: '*' }).first())!.n)).toBe(findings);
    expect(await db('supervision_screening').where({ id }).first()).toMatchObject({ previous_id: previous, opened: 0 });
    const page = await (await as('supervisor')).get(`/supervision/screenings/${id}`);
    expect(page.text).toContain('本次不再发现（1）');
    expect(page.text).toContain(`/supervision/findings/${death.finding_id}`);
    expect(page.text).toContain('再次发现');
  }, 240_000);

  it('finds people paid in one year under two policies of one exclusive group, in different rounds', async () => {
    const db = t.core.db;
    // The September round is recorded under another policy (高龄老人津贴) that shares an exclusive group with August's.
    const rounds = [...new Set(paid.map((l) => l.round_id))].sort((a, b) => a - b);
    const august = await db('batch_round').where({ id: rounds[0] }).first('policy_version_id');
    const other = await db('policy_version').where({ name: '青禾县高龄老人津贴', state: 'published' }).first('id', 'item_id');
    await db('batch_round').where({ id: rounds[1] }).update({ policy_item_id: other.item_id, policy_version_id: other.id });
    await db('policy_exclusion').insert([{ version_id: august.policy_version_id, group_name: '高龄津贴类' }, { version_id: other.id, group_name: '高龄津贴类' }]);

    const id = await runScreening();
    const exclusive = (await hitsOf(id)).filter((h) => h.rule === 'exclusive-policies');
    const people = new Set(paid.filter((l) => l.round_id === rounds[0]).map((l) => l.person_id));
    const both = new Set(paid.filter((l) => l.round_id === rounds[1] && people.has(l.person_id)).map((l) => l.person_id));
    expect(both.size).toBeGreaterThan(0);
    expect(exclusive).toHaveLength(both.size);
    expect(exclusive.every((h) => h.status === 'new' && h.line_count >= 2)).toBe(true);
    const finding = await db('supervision_finding').where({ id: exclusive[0]!.finding_id }).first('title', 'evidence');
    expect(finding.title).toContain('互斥组“高龄津贴类”');
    expect(finding.evidence).toContain('青禾县高龄老人津贴');
  }, 240_000);

  it('refuses a bad period with 422 (values kept) and other roles with an audited 403', async () => {
    const bad = await screen({ from: '2026-12-31', to: '2026-01-01' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('截止日期不能早于起始日期');
    expect(bad.text).toContain('href="#f-to"');
    expect(bad.text).toContain('value="2026-12-31"');
    const garbled = await screen({ from: '2026-13-01', to: '' });
    expect(garbled.status).toBe(422);
    expect(garbled.text).toContain('value="2026-13-01"');
    const queued = Number((await t.core.db('supervision_screening').count({ n: '*' }).first())!.n);

    const denied = (await auditRows(t.core, 'access.denied')).length;
    const station = await as('station1');
    expect((await station.get('/supervision/screenings')).status).toBe(403);
    const runId = Number((await t.core.db('supervision_screening').first('id')).id);
    expect((await station.get(`/supervision/screenings/${runId}`)).status).toBe(403);
    const res = await station.get('/');
    expect((await station.post('/supervision/screenings').type('form').send({ from: '2026-01-01', to: '2026-12-31', _csrf: csrfFrom(res.text) })).status).toBe(403);
    expect((await auditRows(t.core, 'access.denied')).length).toBeGreaterThanOrEqual(denied + 3);
    expect(Number((await t.core.db('supervision_screening').count({ n: '*' }).first())!.n)).toBe(queued);
  }, 240_000);
});
