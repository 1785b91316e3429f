// Moving a county onto a central deployment (core/county-move.ts) renumbers every id: each table's owner declares how
// its rows move (AppModule.move, core's CORE_MOVES). A migration that adds a table, or a column that looks like an id
// (…_id, …_by, …_ref, …_key, …path), without saying how it moves fails here, before a move copies stale ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeMoves } from '../../src/app.ts';
import { CORE_MOVES, type MoveDeclarations, allDeclarations, sqliteTables, undeclared } from '../../src/core/county-move.ts';
import { type TestDb, createTestDb } from '../factories.ts';

describe('the county move declarations', () => {
  let t: TestDb;
  let tables: { name: string; columns: string[] }[];
  let declared: MoveDeclarations;

  beforeAll(async () => {
    t = await createTestDb({ dialect: 'sqlite' });
    tables = await sqliteTables(t.core.db);
    declared = allDeclarations([CORE_MOVES, ...composeMoves(t.core)]);
  });
  afterAll(async () => t?.cleanup());

  it('cover every table and every id-like column of the schema', () => {
    expect(undeclared(tables, declared)).toEqual([]);
  });

  it('name only tables and columns that exist, and ids of tables that exist', () => {
    const byName = new Map(tables.map((x) => [x.name, new Set(x.columns)]));
    const stale: string[] = [];
    for (const [table, move] of Object.entries(declared)) {
      const columns = byName.get(table);
      if (!columns) {
        stale.push(`${table}: no such table`);
        continue;
      }
      for (const [column, of] of Object.entries(move.refs ?? {})) {
        if (!columns.has(column)) stale.push(`${table}.${column}: no such column`);
        if (!byName.get(of)?.has('id')) stale.push(`${table}.${column}: ${of} has no id`);
      }
      for (const column of [...(move.paths ?? []), ...Object.keys(move.text ?? {})]) if (!columns.has(column)) stale.push(`${table}.${column}: no such column`);
    }
    expect(stale).toEqual([]);
  });

  it('fail on a new table, or a new id column, that nobody declared', () => {
    const withNew = [...tables, { name: 'batch_new_thing', columns: ['id', 'roster_id'] }].map((x) => (x.name === 'batch_line' ? { ...x, columns: [...x.columns, 'checked_by'] } : x));
    expect(undeclared(withNew, declared)).toEqual(['batch_line.checked_by：看似编号，但迁移声明中没有说明', 'batch_new_thing：没有迁移声明']);
  });
});
