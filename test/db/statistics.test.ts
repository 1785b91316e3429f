import { afterEach, describe, expect, it } from 'vitest';
import { refreshStatistics } from '../../src/core/db.ts';
import { TEST_DB, type TestDb, createSeededDb, createTestDb } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** The rows PostgreSQL's planner believes a table holds (-1: never analyzed). */
async function plannedRows(db: TestDb, table: string): Promise<number> {
  const result = await db.core.db.raw('SELECT c.reltuples FROM pg_class c WHERE c.oid = to_regclass(?)', [table]);
  return Number((result.rows as { reltuples: number }[])[0]!.reltuples);
}

// SQLite plans without statistics: refreshStatistics does nothing there, and these hold on PostgreSQL alone.
describe.skipIf(TEST_DB !== 'pg')('PostgreSQL plans on statistics the platform keeps up (issue 18)', () => {
  it("the region tree has them from its first regions on, below autovacuum's threshold of 50 changed rows", async () => {
    t = await createSeededDb();
    const regions = Number(((await t.core.db('core_region').count({ n: '*' })) as { n: number }[])[0]!.n);
    expect(regions).toBeGreaterThan(5);
    expect(await plannedRows(t, 'core_region')).toBe(regions);
  });

  it('a write of a tenth or more of a table, or to a table never analyzed, refreshes them; a smaller one leaves them', async () => {
    t = await createTestDb({ migrate: false });
    const db = t.core.db;
    await db.schema.createTable('stats_probe', (table) => table.integer('x'));
    expect(await plannedRows(t, 'stats_probe')).toBe(-1);
    const write = (rows: number, from = 0) =>
      db.transaction(async (trx) => {
        await trx('stats_probe').insert(Array.from({ length: rows }, (_, x) => ({ x: from + x })));
        await refreshStatistics(trx, 'stats_probe', rows);
        // The smaller sample is the ANALYZE's alone: the transaction goes on with the server's setting.
        return ((await trx.raw('SHOW default_statistics_target')).rows as { default_statistics_target: string }[])[0]!.default_statistics_target;
      });
    expect(await write(100)).toBe('100');
    expect(await plannedRows(t, 'stats_probe')).toBe(100);
    await write(5);
    expect(await plannedRows(t, 'stats_probe')).toBe(100);
    await write(20);
    expect(await plannedRows(t, 'stats_probe')).toBe(125);
    // A bulk load far larger than the sample of 3,000 rows: the planner still knows the table's size and the column's spread.
    await db.raw('INSERT INTO stats_probe (x) SELECT g FROM generate_series(1, 60000) g');
    await db.transaction((trx) => refreshStatistics(trx, 'stats_probe', 60_000));
    expect(await plannedRows(t, 'stats_probe')).toBe(60_125);
    const stats = ((await db.raw("SELECT n_distinct FROM pg_stats WHERE tablename = 'stats_probe' AND attname = 'x'")).rows as { n_distinct: number }[])[0]!;
    expect(Number(stats.n_distinct)).toBeLessThan(-0.9); // nearly all distinct, as the column is
  });
});
