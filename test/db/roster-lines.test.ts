import { afterEach, describe, expect, it } from 'vitest';
import { bulkInsert, inTransaction, isPostgres, nowIso } from '../../src/core/db.ts';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { rosterLines, villageTotals } from '../../src/modules/batch/queries.ts';
import { importRosterFile } from '../../src/modules/batch/roster-import.ts';
import { TEST_DB, type TestDb, createSeededDb, createTestDb, farmlandRound } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** A 城关镇 roster of a 2026 耕地地力保护 round with a line for each household head of two villages. */
async function rosterWithLines(db: TestDb) {
  const { station, heads, rosterId } = await farmlandRound(db, 12, 18);
  const file = await writeTableXlsx('清册', ['村（社区）', '姓名', '身份证号码', '档次', '数量'], heads.map((h) => [h[0]!, h[1]!, h[2]!, '标准', '2']));
  const outcome = await importRosterFile(db.core, station, rosterId, { name: '清册.xlsx', buffer: file });
  if (!outcome.ok) throw new Error('roster import failed');
  const lines = (await db.core.db('batch_line').where({ roster_id: rosterId, state: 'active' }).orderBy('id').select('id', 'village_id')) as { id: number; village_id: number }[];
  return { rosterId, lines };
}

describe(`a roster's lines page by page (${TEST_DB})`, () => {
  it('lists lines with an open blocking finding first, then those with an open warning, then the rest, in line order, on every page and filter', async () => {
    t = await createSeededDb();
    const { rosterId, lines } = await rosterWithLines(t);
    expect(lines.length).toBeGreaterThanOrEqual(8);
    const ids = lines.map((l) => l.id);
    const finding = (lineId: number | null, severity: 'blocking' | 'warning', state: string, rule = 'test-rule') => ({ roster_id: rosterId, line_id: lineId, rule, severity, message: `${rule} ${severity} ${state}`, state, found_at: nowIso() });
    await t.core.db('batch_finding').insert([
      finding(ids[5]!, 'blocking', 'open'),
      finding(ids[5]!, 'warning', 'open', 'other-rule'),
      finding(ids[2]!, 'warning', 'open'),
      finding(ids[7]!, 'warning', 'open'),
      finding(ids[7]!, 'blocking', 'resolved', 'other-rule'),
      finding(ids[3]!, 'blocking', 'cleared'),
      finding(null, 'warning', 'open', 'budget'),
    ]);
    const expected = [ids[5]!, ids[2]!, ids[7]!, ...ids.filter((id) => ![ids[5], ids[2], ids[7]].includes(id))];

    // Whatever the page size, the pages read one after another give the whole order, each with the roster's count,
    // whether the count is read or given (the page gives the sum of its village totals).
    const villages = await villageTotals(t.core.db, rosterId);
    expect(villages.reduce((n, v) => n + Number(v.lines), 0)).toBe(ids.length);
    for (const pageSize of [1, 2, 3, 50]) {
      for (const total of [undefined, ids.length, Promise.resolve(ids.length)]) {
        const seen: number[] = [];
        for (let page = 1; page <= Math.ceil(ids.length / pageSize); page++) {
          const got = await rosterLines(t.core.db, rosterId, { page, pageSize, total });
          expect(got.total).toBe(ids.length);
          expect(got.rows.length).toBe(Math.min(pageSize, ids.length - (page - 1) * pageSize));
          seen.push(...got.rows.map((r) => r.id));
        }
        expect(seen).toEqual(expected);
      }
    }
    expect(await rosterLines(t.core.db, rosterId, { page: 100, pageSize: 3 })).toEqual({ rows: [], total: ids.length });

    // Each line comes with its open and resolved findings, and its village.
    const first = await rosterLines(t.core.db, rosterId, { page: 1, pageSize: 3 });
    expect(first.rows.map((r) => r.findings.map((f) => `${f.rule}|${f.severity}|${f.state}`))).toEqual([
      ['test-rule|blocking|open', 'other-rule|warning|open'],
      ['test-rule|warning|open'],
      ['test-rule|warning|open', 'other-rule|blocking|resolved'],
    ]);
    expect(first.rows.every((r) => typeof r.village_name === 'string' && r.village_name.length > 0)).toBe(true);
    expect(first.rows[0]!.reissue).toBe(false);

    // Filtered by finding: counted, in the same order; a filter given a total counts anyway.
    const any = await rosterLines(t.core.db, rosterId, { finding: 'any', page: 1, pageSize: 50, total: ids.length });
    expect({ ids: any.rows.map((r) => r.id), total: any.total }).toEqual({ ids: [ids[5], ids[2], ids[7]], total: 3 });
    const blocking = await rosterLines(t.core.db, rosterId, { finding: 'blocking', page: 1, pageSize: 50 });
    expect({ ids: blocking.rows.map((r) => r.id), total: blocking.total }).toEqual({ ids: [ids[5]], total: 1 });
    const warning = await rosterLines(t.core.db, rosterId, { finding: 'warning', page: 2, pageSize: 1 });
    expect({ ids: warning.rows.map((r) => r.id), total: warning.total }).toEqual({ ids: [ids[2]], total: 3 });

    // Filtered by village: that village's lines only, ranked the same way, page by page.
    const village = lines.find((l) => l.id === ids[7])!.village_id;
    const mine = expected.filter((id) => lines.find((l) => l.id === id)!.village_id === village);
    const pages: number[] = [];
    for (let page = 1; page <= Math.ceil(mine.length / 2); page++) {
      const got = await rosterLines(t.core.db, rosterId, { villageId: village, page, pageSize: 2, total: ids.length });
      expect(got.total).toBe(mine.length);
      pages.push(...got.rows.map((r) => r.id));
    }
    expect(pages).toEqual(mine);
  });
});

describe(`statistics after a bulk load (${TEST_DB})`, () => {
  it('gives PostgreSQL the statistics of a table loaded in bulk, in the loading transaction, and loads every row on both databases', async () => {
    t = await createTestDb();
    const db = t.core.db;
    await db.schema.createTable('bulk_probe', (table) => {
      table.increments('id');
      table.integer('group_id').notNullable();
      table.string('label', 40).notNullable();
    });
    const rows = Array.from({ length: 12_000 }, (_, i) => i);
    await inTransaction(db, (trx) => bulkInsert(trx, 'bulk_probe', rows, (i) => ({ group_id: i % 3, label: `第${i}行` })));
    expect(await db('bulk_probe').count({ n: '*' })).toEqual([{ n: rows.length }]);
    expect(await db('bulk_probe').where({ group_id: 2 }).count({ n: '*' })).toEqual([{ n: rows.length / 3 }]);
    if (isPostgres(db)) {
      // Without it the planner takes a freshly loaded table for an empty one (reltuples -1: never analysed).
      const stats = await db.raw("SELECT c.reltuples, (SELECT count(*) FROM pg_stats s WHERE s.tablename = 'bulk_probe' AND s.schemaname = current_schema()) AS columns FROM pg_class c WHERE c.oid = to_regclass('bulk_probe')");
      expect(Number(stats.rows[0].reltuples)).toBe(rows.length);
      expect(Number(stats.rows[0].columns)).toBe(3);
    }
    // A small load leaves the statistics to autovacuum.
    await inTransaction(db, (trx) => bulkInsert(trx, 'bulk_probe', [1, 2, 3], (i) => ({ group_id: i, label: `小${i}` })));
    expect(await db('bulk_probe').count({ n: '*' })).toEqual([{ n: rows.length + 3 }]);
  });
});
