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
    await db('stats_probe').insert(Array.from({ length: 100 }, (_, x) => ({ x })));
    await refreshStatistics(db, 'stats_probe', 100);
    expect(await plannedRows(t, 'stats_probe')).toBe(100);
    await db('stats_probe').insert(Array.from({ length: 5 }, (_, x) => ({ x })));
    await refreshStatistics(db, 'stats_probe', 5);
    expect(await plannedRows(t, 'stats_probe')).toBe(100);
    await db('stats_probe').insert(Array.from({ length: 20 }, (_, x) => ({ x })));
    await refreshStatistics(db, 'stats_probe', 20);
    expect(await plannedRows(t, 'stats_probe')).toBe(125);
  });
});
