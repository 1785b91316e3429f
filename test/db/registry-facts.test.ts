import { afterEach, describe, expect, it } from 'vitest';
import { nowIso } from '../../src/core/db.ts';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { importRosterFile } from '../../src/modules/batch/roster-import.ts';
import { type CompiledPerson, checkFactsOf, factsAsCompiled, registryDiffsOf, registryFactsById } from '../../src/modules/beneficiary/queries.ts';
import { TEST_DB, type TestDb, createSeededDb, farmlandRound, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe(`registry facts count the people holding each payout account (${TEST_DB})`, () => {
  it('counts only active accounts of the same number: 1 for an account of its own, 0 without one; pending and closed ones do not count', async () => {
    t = await createSeededDb({}, { people: true });
    const db = t.core.db;
    // Four people each with an active account of their own (the demo's fake people share some accounts, as counties' data does).
    const own = db('beneficiary_account').where('status', 'active').groupBy('account_index').havingRaw('count(*) = 1').select('account_index');
    const holders = (await db('beneficiary_account').where('status', 'active').whereIn('account_index', own).orderBy('id').limit(4).select('id', 'person_id', 'account_index')) as { id: number; person_id: number; account_index: string }[];
    expect(holders).toHaveLength(4);
    const [a, b, c, d] = holders as [(typeof holders)[0], (typeof holders)[0], (typeof holders)[0], (typeof holders)[0]];
    // Legacy data the import and the forms would refuse (一人一卡): b's active account has a's number.
    await db('beneficiary_account').where({ id: b.id }).update({ account_index: a.account_index });
    // c has a closed account and d a pending one with a's number too: not holders of it.
    const copy = async (personId: number, status: 'closed' | 'pending') => {
      const row = await db('beneficiary_account').where({ id: a.id }).first();
      const { id: _id, ...rest } = row as Record<string, unknown>;
      await db('beneficiary_account').insert({ ...rest, person_id: personId, status, active_person_id: null, opened_at: nowIso() });
    };
    await copy(c.person_id, 'closed');
    await copy(d.person_id, 'pending');
    const withoutAccount = (await db('beneficiary_person as p').leftJoin('beneficiary_account as x', 'x.active_person_id', 'p.id').whereNull('x.id').first('p.id')) as { id: number } | undefined;

    const ids = [a.person_id, b.person_id, c.person_id, d.person_id, ...(withoutAccount ? [withoutAccount.id] : [])];
    const facts = new Map((await registryFactsById(db, ids)).map((f) => [f.personId, f]));
    expect(facts.get(a.person_id)!.accountHolders).toBe(2);
    expect(facts.get(b.person_id)!.accountHolders).toBe(2);
    expect(facts.get(c.person_id)!.accountHolders).toBe(1);
    expect(facts.get(d.person_id)!.accountHolders).toBe(1);
    if (withoutAccount) expect(facts.get(withoutAccount.id)!.accountHolders).toBe(0);
  });
});

describe(`the checks compare a roster's lines with the registry in the database (${TEST_DB})`, () => {
  it('sends back exactly the people whose registry differs from their line in a fact the checks read; every other line\'s facts are its own (factsAsCompiled equals the registry)', async () => {
    t = await createSeededDb();
    const db = t.core.db;
    const { station, heads, rosterId } = await farmlandRound(t, 14, 31);
    const file = await writeTableXlsx('清册', ['村（社区）', '姓名', '身份证号码', '档次', '数量'], heads.map((h) => [h[0]!, h[1]!, h[2]!, '标准', '2']));
    const outcome = await importRosterFile(t.core, station, rosterId, { name: '清册.xlsx', buffer: file });
    if (!outcome.ok) throw new Error('roster import failed');
    const columns = ['person_id', 'person_name', 'account_index', 'account_last4'];
    const lines = (await db('batch_line').where({ roster_id: rosterId, state: 'active' }).orderBy('id').select(columns)) as CompiledPerson[];
    expect(lines.length).toBeGreaterThanOrEqual(11);
    const township = await regionId(t, '城关镇');
    const person = (i: number) => lines[i]!.person_id;
    const account = (i: number) => db('beneficiary_account').where({ active_person_id: person(i) });

    // One change of each fact the checks read, each to another person.
    await db('beneficiary_person').where({ id: person(0) }).update({ name: '改名后' });
    await db('beneficiary_person').where({ id: person(1) }).update({ status: 'deceased', status_date: '2026-02-01' });
    await db('beneficiary_person').where({ id: person(2) }).update({ status_date: '2026-03-01' }); // active again, dated
    await account(3).update({ account_index: 'changed-index', account_last4: '9999' });
    await account(4).update({ status: 'closed', active_person_id: null });
    await account(5).update({ account_last4: '0000' });
    await account(7).update({ account_index: lines[6]!.account_index }); // 6 and 7 now hold one number
    const elsewhere = (await db('core_region').where({ level: 'village' }).whereNot({ parent_id: township }).first('id')) as { id: number };
    await db('beneficiary_person').where({ id: person(8) }).update({ village_id: elsewhere.id });
    const household = (await db('beneficiary_person').where({ id: person(9) }).first('household_id')) as { household_id: number };
    await db('beneficiary_household').where({ id: household.household_id }).update({ head_person_id: person(10) });
    const changed = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(person);

    const { differing, missing } = await registryDiffsOf(db, db('batch_line').where({ roster_id: rosterId, state: 'active' }).select(columns), township);
    expect(missing).toEqual([]);
    expect(differing.map((f) => f.personId).sort((a, b) => a - b)).toEqual([...changed].sort((a, b) => a - b));
    const registry = new Map((await checkFactsOf(db, lines.map((l) => l.person_id))).map((f) => [f.personId, f]));
    for (const f of differing) expect(f).toEqual(registry.get(f.personId));
    for (const line of lines.filter((l) => !changed.includes(l.person_id))) expect(factsAsCompiled(line, township)).toEqual(registry.get(line.person_id));

    // A line whose person is gone from the registry comes back as missing.
    await db('batch_line').where({ roster_id: rosterId, person_id: person(10) }).update({ person_id: 999_999 });
    expect((await registryDiffsOf(db, db('batch_line').where({ roster_id: rosterId, state: 'active' }).select(columns), township)).missing).toEqual([999_999]);
  });
});
