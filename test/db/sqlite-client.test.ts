import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, createDb, inTransaction } from '../../src/core/db.ts';
import { SqliteConnection, SqliteError } from '../../src/core/sqlite-client.ts';
import { ROWS_PER_MESSAGE } from '../../src/core/sqlite-thread.ts';
import { TEST_DB } from '../factories.ts';

// The SQLite driver layer (src/core/sqlite-client.ts): better-sqlite3, each connection in a worker thread.
let dir: string | undefined;
let db: Db | undefined;
afterEach(async () => {
  await db?.destroy();
  db = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function fresh(): Db {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-sqlite-'));
  db = createDb(path.join(dir, 'test.sqlite'));
  return db;
}

describe.runIf(TEST_DB === 'sqlite')('SQLite through better-sqlite3 in worker threads', () => {
  it('answers a page read and keeps the event loop turning while one long statement writes', async () => {
    const d = fresh();
    await d.raw('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await d.raw("INSERT INTO t (v) VALUES ('before')");
    let turns = 0;
    let writing = true;
    const spin = async () => {
      while (writing) {
        turns++;
        await new Promise((r) => setImmediate(r));
      }
    };
    // One statement that writes millions of rows: it runs in its connection's worker, seconds long on a busy machine.
    let began!: () => void;
    const writing0 = new Promise<void>((resolve) => {
      began = resolve;
    });
    const write = inTransaction(d, (trx) => {
      began();
      return trx.raw("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) INSERT INTO t (v) SELECT printf('row %d', i) FROM n");
    }).then(() => 'write');
    const spinning = spin();
    // Once the writer holds the database (BEGIN IMMEDIATE taken), a page's read on another connection.
    await writing0;
    const read = d('t')
      .count({ n: '*' })
      .first()
      .then((row) => ({ n: (row as { n: number }).n }));
    const first = await Promise.race([write, read]);
    const turnsWhileWriting = turns;
    writing = false;
    await Promise.all([write, spinning]);
    // The read finished first and saw the last committed state; the event loop kept turning meanwhile.
    expect(first).toEqual({ n: 1 });
    expect(turnsWhileWriting).toBeGreaterThan(10);
    expect(((await d('t').count({ n: '*' }).first()) as { n: number }).n).toBe(3_000_001);
  });

  it('returns results larger than one message whole and in order, blobs as Buffers, and binds as knex did', async () => {
    const d = fresh();
    await d.raw('CREATE TABLE t (id INTEGER PRIMARY KEY, flag INTEGER, at INTEGER, note TEXT, data BLOB)');
    const at = new Date('2026-12-07T00:00:00Z');
    await d('t').insert({ flag: true, at, note: undefined, data: Buffer.from([0, 1, 2, 255]) });
    const [row] = await d('t').select('*');
    expect(row).toEqual({ id: 1, flag: 1, at: at.valueOf(), note: null, data: Buffer.from([0, 1, 2, 255]) });
    expect(Buffer.isBuffer(row.data)).toBe(true);
    // Whole numbers bind as INTEGER: in a TEXT column and against one they read 12, not 12.0.
    await d.raw("CREATE TABLE k (object_id TEXT)");
    await d('k').insert({ object_id: 12 });
    expect(await d('k').pluck('object_id')).toEqual(['12']);
    expect(await d('k').whereIn('object_id', [12, 13]).pluck('object_id')).toEqual(['12']);
    expect((await d.raw("SELECT ? || '' AS s, ? AS half", [12, 0.5]))[0]).toEqual({ s: '12', half: 0.5 });
    const rows = 3 * ROWS_PER_MESSAGE + 7;
    await d.raw(`WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows + 1}) INSERT INTO t (id, flag, note) SELECT i, 0, 'n' || i FROM n`);
    const all = await d('t').where('id', '>', 1).orderBy('id').select('id', 'note');
    expect(all).toHaveLength(rows);
    expect(all.every((r, i) => r.id === i + 2 && r.note === `n${i + 2}`)).toBe(true);
    // knex reads an insert's id and an update's changes from the driver's context.
    expect(await d('t').insert({ flag: 0 })).toEqual([rows + 2]);
    expect(await d('t').where('id', '>', rows).update({ note: 'x' })).toBe(2);
  });

  it("reports SQLite's error with its code, and the connection goes on", async () => {
    const d = fresh();
    await d.raw('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)');
    await d('t').insert({ v: 'a' });
    const err = await d('t')
      .insert({ v: 'a' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqliteError);
    expect((err as SqliteError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect((err as Error).message).toMatch(/UNIQUE constraint failed: t\.v/);
    await expect(d.raw('SELEC 1')).rejects.toThrow(/syntax error/);
    expect(await d('t').pluck('v')).toEqual(['a']);
  });

  it('opens a file read-only without changing it, and refuses a file that is not there', async () => {
    const d = fresh();
    await d.raw('CREATE TABLE t (v TEXT)');
    await d('t').insert({ v: 'kept' });
    await d.destroy();
    db = undefined;
    const file = path.join(dir!, 'test.sqlite');
    const before = fs.readFileSync(file);
    const readonly = await SqliteConnection.open(file, { readonly: true });
    expect(await readonly.all('SELECT v FROM t')).toEqual([{ v: 'kept' }]);
    await expect(readonly.run("INSERT INTO t VALUES ('no')")).rejects.toThrow(/readonly/);
    await readonly.close();
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    await expect(SqliteConnection.open(path.join(dir!, 'missing.sqlite'), { readonly: true })).rejects.toThrow(/unable to open/);
  });

  it('keeps the process alive while a connection opens, answers and closes, and not after (a command ends when done)', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-sqlite-'));
    const client = new URL('../../src/core/sqlite-client.ts', import.meta.url).href;
    const script = `import { SqliteConnection } from ${JSON.stringify(client)};
      const db = await SqliteConnection.open(${JSON.stringify(path.join(dir, 'c.sqlite'))});
      console.log(JSON.stringify(await db.all('SELECT 1 AS one')));
      await db.close();
      console.log('closed');`;
    fs.writeFileSync(path.join(dir, 'command.mts'), script);
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, 'command.mts')], { encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('[{"one":1}]\nclosed\n');
    expect(run.status).toBe(0);
  });
});
