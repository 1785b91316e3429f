import { afterEach, describe, expect, it } from 'vitest';
import { nowIso } from '../../src/core/db.ts';
import { registryFactsById } from '../../src/modules/beneficiary/queries.ts';
import { TEST_DB, type TestDb, createSeededDb } from '../factories.ts';

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
