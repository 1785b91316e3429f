import { afterEach, describe, expect, it } from 'vitest';
import { isPostgres, nowIso } from '../../src/core/db.ts';
import { TEST_DB, type TestDb, createSeededDb } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** Every column of the schema holding fen, or a quantity in thousandths, with its table. */
async function moneyColumns(db: TestDb['core']['db']): Promise<{ table: string; column: string }[]> {
  if (isPostgres(db)) {
    const rows: { table_name: string; column_name: string }[] = await db('information_schema.columns').whereRaw('table_schema = current_schema()').where((q) => q.where('column_name', 'like', '%\\_fen').orWhere('column_name', 'like', '%\\_milli')).select('table_name', 'column_name');
    return rows.map((r) => ({ table: r.table_name, column: r.column_name }));
  }
  const tables: { name: string }[] = await db('sqlite_master').where({ type: 'table' }).whereNot('name', 'like', 'sqlite_%').select('name');
  const columns: { table: string; column: string }[] = [];
  for (const { name } of tables) {
    for (const c of (await db.raw('SELECT name FROM pragma_table_info(?)', [name])) as { name: string }[]) {
      if (/_(fen|milli)$/.test(c.name)) columns.push({ table: name, column: c.name });
    }
  }
  return columns;
}

describe(`amounts are never negative, in the database too (${TEST_DB})`, () => {
  it('guards every money and quantity column: a CHECK constraint on PostgreSQL, insert and update triggers on SQLite', async () => {
    t = await createSeededDb();
    const db = t.core.db;
    const columns = await moneyColumns(db);
    expect(columns.length).toBeGreaterThanOrEqual(17);
    for (const { table, column } of columns) {
      const guard = `${table}_${column}_not_negative`;
      if (isPostgres(db)) {
        expect(await db('pg_constraint').where({ conname: guard, contype: 'c' }).first('conname'), guard).toBeDefined();
      } else {
        expect((await db('sqlite_master').where({ type: 'trigger' }).whereIn('name', [`${guard}_insert`, `${guard}_update`]).select('name')).length, guard).toBe(2);
      }
    }
  });

  it('refuses a negative amount written directly, by insert or by update; zero and positive amounts pass', async () => {
    t = await createSeededDb();
    const db = t.core.db;
    const bank = await db('core_org').where({ kind: 'bank' }).first('id');
    const refund = (amountFen: number) => ({ round_id: 1, bank_org_id: bank.id, voucher_no: `退-${amountFen}`, refunded_on: '2026-11-20', lines: 1, amount_fen: amountFen, recorded_by: 1, recorded_at: nowIso() });
    await expect(db('bank_refund').insert(refund(-1))).rejects.toThrow(/bank_refund|check constraint/i);
    await db('bank_refund').insert(refund(0));
    await db('bank_refund').insert(refund(100));
    await expect(db('bank_refund').update({ amount_fen: -100 })).rejects.toThrow(/bank_refund|check constraint/i);
    expect((await db('bank_refund').orderBy('amount_fen').pluck('amount_fen')).map(Number)).toEqual([0, 100]);

    const tier: { id: number } = await db('policy_tier').first('id');
    await expect(db('policy_tier').where({ id: tier.id }).update({ standard_fen: -1 })).rejects.toThrow(/policy_tier|check constraint/i);
    await expect(db('policy_allocation').update({ amount_fen: -1 })).rejects.toThrow(/policy_allocation|check constraint/i);
  });
});
