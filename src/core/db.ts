import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import SqliteTransaction from 'knex/lib/dialects/sqlite3/execution/sqlite-transaction.js';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { appPath } from './app-root.ts';
import { isPostgresUrl } from './config.ts';
import { ConflictError } from './errors.ts';
import { type SqliteConnection, WorkerSqliteClient } from './sqlite-client.ts';

export type Db = Knex;
export type Tx = Knex.Transaction;
/** Either the database or a transaction: read helpers accept both. */
export type Conn = Knex | Knex.Transaction;

const MIGRATIONS_DIR = appPath('migrations');
/** Arbitrary constant for pg_advisory_lock: "ykt migrate". */
const MIGRATION_LOCK_KEY = 7_005_001;

// pg returns int8, numeric, and timestamps in forms SQLite does not. Make both databases answer alike:
// integers as numbers (fen amounts stay far below 2^53), timestamps as ISO-8601 UTC strings, dates as YYYY-MM-DD.
function toSafeInteger(value: string): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}
pg.types.setTypeParser(pg.types.builtins.INT8, toSafeInteger);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, toSafeInteger);
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, (v) => new Date(v).toISOString());
pg.types.setTypeParser(pg.types.builtins.TIMESTAMP, (v) => new Date(`${v}Z`).toISOString());
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

// knex opens SQLite transactions with a deferred BEGIN: a transaction that reads and then writes can fail at
// once with SQLITE_BUSY when another process (the `ykt` command beside the server) wrote in between, and the
// busy timeout cannot help. Every transaction here writes, so take the write lock up front: BEGIN IMMEDIATE.
//
// SQLite has one writer but, under WAL, readers that never wait for it. The pool holds several connections: plain
// queries (page reads) take any free one and read the last committed state while a release or an import writes;
// transactions queue in this process for the one write lock (a promise chain per database), so that a second writer
// waits its turn here instead of spinning on the busy timeout. A write outside a transaction (a session's last-seen
// time, a task's claim) waits for the lock in SQLite, up to the busy timeout.

/** The in-process queue of a database's writers: each transaction runs once the one before it has finished. */
const writerQueues = new WeakMap<object, Promise<unknown>>();

class ImmediateSqliteTransaction extends SqliteTransaction {
  begin(conn: unknown) {
    return this.query(conn, 'BEGIN IMMEDIATE;');
  }
  override async acquireConnection(config: { connection?: unknown } | undefined, cb: (conn: unknown) => Promise<unknown>): Promise<unknown> {
    const self = this as unknown as { client: object; outerTx?: unknown };
    // A nested transaction (a savepoint) runs on its outer transaction's connection, inside its turn.
    if (self.outerTx || config?.connection) return super.acquireConnection(config, cb);
    const previous = writerQueues.get(self.client) ?? Promise.resolve();
    let done!: () => void;
    const turn = new Promise<void>((resolve) => {
      done = resolve;
    });
    writerQueues.set(
      self.client,
      previous.then(() => turn),
    );
    await previous;
    try {
      return await super.acquireConnection(config, cb);
    } finally {
      done();
    }
  }
}
class ImmediateSqliteClient extends WorkerSqliteClient {
  transaction(...args: unknown[]) {
    return new ImmediateSqliteTransaction(this, ...args);
  }
}

/** SQLite connections per process (each a worker thread, sqlite-client.ts): one for the writer at a time, the rest for page reads meanwhile. */
const SQLITE_CONNECTIONS = 4;
/** How long a write outside a transaction waits for the write lock (a release of 500,000 lines takes half a minute). */
const SQLITE_BUSY_MS = 120_000;
/**
 * Each connection's settings: write-ahead log (readers beside the writer), durable commits, foreign keys, and SQLite's
 * own page cache of 2 MB (better-sqlite3 builds SQLite with 16 MB a connection, which took the registry import 15 MB
 * over its memory target; the operating system caches the file anyway).
 */
const SQLITE_PRAGMAS = `PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${SQLITE_BUSY_MS}; PRAGMA cache_size = -2000;`;

export interface DbOptions {
  /** PostgreSQL schema to use (tests give each file its own). */
  schema?: string;
}

export function createDb(url: string, options: DbOptions = {}): Db {
  if (isPostgresUrl(url)) {
    return knexFactory({
      client: 'pg',
      connection: url,
      searchPath: options.schema ? [options.schema] : undefined,
      pool: {
        min: 0,
        max: 10,
        // No JIT compilation: it costs a third of a second on each larger query (a roster's checks, a release) and
        // pays off only on long analytical scans, which the application does not run.
        afterCreate(conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) {
          conn.query('SET jit = off', (err: Error | null) => done(err, conn));
        },
      },
    });
  }
  fs.mkdirSync(path.dirname(path.resolve(url)), { recursive: true });
  return knexFactory({
    client: ImmediateSqliteClient as unknown as typeof Knex.Client,
    connection: { filename: url, pragmas: SQLITE_PRAGMAS } as Knex.Sqlite3ConnectionConfig,
    useNullAsDefault: true,
    pool: { min: 1, max: SQLITE_CONNECTIONS },
  });
}

export function isPostgres(db: Conn): boolean {
  return db.client.config.client === 'pg';
}

/** The name of a migration file: <timestamp>_<module>_<change>.ts. */
export const MIGRATION_FILE = /^\d{14}_[a-z]+_[a-z0-9_]+\.ts$/;

/** The migrations compiled into the bundle (scripts/build.mjs), by file name; null when the sources run. */
let bundledMigrations: Map<string, Knex.Migration> | null = null;

/** Called first by the compiled bundle: its migrations are modules of its own, not files to import. */
export function useBundledMigrations(list: [string, Knex.Migration][]): void {
  bundledMigrations = new Map(list);
}

/**
 * Migrations are read from migrations/<timestamp>_<module>_<change>.ts, in name order, or taken from the bundle under
 * the same names (the database records each by its file name).
 */
class DirectoryMigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    const names = bundledMigrations ? [...bundledMigrations.keys()] : fs.readdirSync(MIGRATIONS_DIR);
    return names.filter((f) => MIGRATION_FILE.test(f)).sort();
  }
  getMigrationName(name: string): string {
    return name;
  }
  async getMigration(name: string): Promise<Knex.Migration> {
    return bundledMigrations?.get(name) ?? import(pathToFileURL(path.join(MIGRATIONS_DIR, name)).href);
  }
}

/** How many migrations the database holds, and the names of those it lacks (a database never migrated holds none). */
export async function pendingMigrations(db: Db): Promise<{ applied: number; pending: string[] }> {
  const source = new DirectoryMigrationSource();
  const files = await source.getMigrations();
  if (!(await db.schema.hasTable('knex_migrations'))) return { applied: 0, pending: files };
  const done = new Set(((await db('knex_migrations').select('name')) as { name: string }[]).map((m) => m.name));
  return { applied: done.size, pending: files.filter((f) => !done.has(f)) };
}

/**
 * Bring the schema up to date. On PostgreSQL a session-level advisory lock is held around the migration,
 * so that two processes starting together migrate once and the second waits instead of failing.
 */
export async function migrate(db: Db): Promise<string[]> {
  const config = { migrationSource: new DirectoryMigrationSource() };
  if (!isPostgres(db)) {
    const [, applied] = await db.migrate.latest(config);
    return applied;
  }
  const conn = await db.client.acquireConnection();
  try {
    await conn.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const [, applied] = await db.migrate.latest(config);
    return applied;
  } finally {
    await conn.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await db.client.releaseConnection(conn);
  }
}

const RETRYABLE_PG_CODES = new Set(['40001', '40P01']);

/** A row that a unique index refuses: PostgreSQL's unique_violation, SQLite's UNIQUE or PRIMARY KEY constraint. */
const UNIQUE_VIOLATIONS = new Set(['23505', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

/**
 * Run fn in a transaction. PostgreSQL serialization failures and deadlocks are retried (up to 3 tries);
 * SQLite serializes this process's writers in its queue (ImmediateSqliteTransaction). A row a unique index refuses
 * is the same record saved by someone else meanwhile (each command checks first, but two at once on PostgreSQL both
 * find none): nothing is saved, and the user is told so as a conflict, not a server error.
 */
export async function inTransaction<T>(db: Db, fn: (trx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code && UNIQUE_VIOLATIONS.has(code)) throw new ConflictError('刚才有人同时提交了相同的记录，本次没有保存：请刷新页面查看');
      if (attempt >= 3 || !code || !RETRYABLE_PG_CODES.has(code)) throw err;
    }
  }
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** Count rows of a query as a number on both databases. */
export async function countRows(query: Knex.QueryBuilder): Promise<number> {
  const row = (await query.clone().clearSelect().clearOrder().count({ n: '*' }).first()) as { n: number } | undefined;
  return row?.n ?? 0;
}

/** Insert one row and return its new id, on both databases. */
export async function insertReturningId(conn: Conn, table: string, row: Record<string, unknown>): Promise<number> {
  const [inserted]: { id: number }[] = await conn(table).insert(row).returning('id');
  return inserted!.id;
}

/**
 * Reserve `count` new ids of a table (an `increments` column) inside the caller's transaction, so that bulk
 * inserts can link rows (households to heads, accounts to people) without a round trip per row. PostgreSQL
 * draws them from the table's sequence; SQLite's writer holds the database (BEGIN IMMEDIATE), so the ids
 * after the largest one are free until it commits.
 */
export async function reserveIds(trx: Tx, table: string, count: number): Promise<number[]> {
  if (count === 0) return [];
  if (isPostgres(trx)) {
    // The sequence looked up once and passed as a value: nextval of pg_get_serial_sequence, or of a subquery's column,
    // cost 0.27 s for 66,000 ids, of a value 0.05 s. The ids come back as one row of text.
    const sequence = await trx.raw(`SELECT pg_get_serial_sequence(?, 'id') AS seq`, [table]);
    const result = await trx.raw(`SELECT string_agg(nextval(?::regclass)::text, ',') AS ids FROM generate_series(1, ?)`, [(sequence.rows as { seq: string }[])[0]!.seq, count]);
    return String((result.rows as { ids: string }[])[0]!.ids).split(',').map(Number);
  }
  const row = (await trx(table).max({ max: 'id' }).first()) as { max: number | null };
  const sequence = (await trx('sqlite_sequence').where({ name: table }).first('seq')) as { seq: number } | undefined;
  const last = Math.max(row.max ?? 0, sequence?.seq ?? 0);
  return Array.from({ length: count }, (_, i) => last + i + 1);
}

/**
 * A text column's index of pieces, for searching by any part of its values (docs/architecture.md): on PostgreSQL a
 * GIN index on `pgFunction(column)`, the value's characters and pairs of characters; on SQLite `sqliteTable`
 * (gram, name) kept by triggers, each distinct value's pairs with its last character followed by U+001F.
 */
export interface PiecesIndex {
  /** The table holding the column, with an integer `id`. */
  table: string;
  column: string;
  pgFunction: string;
  sqliteTable: string;
}

/** The largest code point: a piece starting with c sorts below c + it. */
const AFTER_ANY = '\u{10FFFF}';

/**
 * Narrow `q` to the rows of `index.table` (their id in `idColumn`) whose column holds `part` (trimmed, not empty),
 * through its index of pieces: one character is looked up alone; more, all their pairs of characters, LIKE then
 * checking the order among those few rows. The rows are found first, by the index alone, and `q` keeps those ids
 * (both databases would otherwise start from the query's other conditions, such as the villages of a county, and
 * test each of its million people). `part` is taken as typed (`%`, `_` and `\` are characters, not patterns) and
 * matched exactly, on both databases. Characters are code points, as the databases count them (a name may hold one
 * outside the BMP).
 */
export function whereTextHolds<Q extends Knex.QueryBuilder>(q: Q, idColumn: string, part: string, index: PiecesIndex): Q {
  const chars = [...part];
  const pairs = [...new Set(chars.slice(1).map((c, i) => chars[i] + c))];
  const like = `%${part.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = q.client.queryBuilder().from(index.table).select('id');
  if (q.client.config.client === 'pg') {
    rows.whereRaw(`${index.pgFunction}(??) @> ?::text[]`, [index.column, chars.length === 1 ? chars : pairs]);
    if (chars.length > 2) rows.whereRaw(`?? LIKE ? ESCAPE '\\'`, [index.column, like]);
  } else {
    const holders = q.client.queryBuilder().from(index.sqliteTable).select('name');
    if (chars.length === 1) holders.where('gram', '>=', part).where('gram', '<', part + AFTER_ANY);
    else holders.whereIn('gram', pairs).whereRaw(`name LIKE ? ESCAPE '\\'`, [like]).groupBy('name').havingRaw('count(*) = ?', [pairs.length]);
    rows.whereIn(index.column, holders);
  }
  return q.whereIn(idColumn, rows) as Q;
}

/** Parameters per statement, below SQLite's 32,766 and PostgreSQL's 65,535. */
const MAX_BOUND_PARAMETERS = 10_000;

/**
 * Insert many rows (all with the same columns) in the caller's transaction. Rows are built a statement (or a COPY
 * chunk) at a time, so that a large insert never holds all of them at once. PostgreSQL: COPY FROM STDIN in CSV
 * (pg-copy-streams), several times faster than INSERT. SQLite: one prepared multi-row INSERT run for every full
 * chunk on the transaction's own connection (knex would format and prepare each statement anew, and compiles a
 * multi-row insert to a UNION ALL chain capped at 500 rows).
 */
export async function bulkInsert<T>(trx: Tx, table: string, items: readonly T[], toRow: (item: T) => Record<string, unknown>): Promise<void> {
  if (items.length === 0) return;
  const columns = Object.keys(toRow(items[0]!));
  if (isPostgres(trx)) return copyInto(trx, table, columns, items, toRow);
  const perStatement = Math.max(1, Math.floor(MAX_BOUND_PARAMETERS / columns.length));
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const sql = (rows: number) => `INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) VALUES ${Array(rows).fill(tuple).join(', ')}`;
  // Inside a transaction knex hands out the transaction's own connection; its worker keeps the statements prepared.
  const connection = (await trx.client.acquireConnection()) as SqliteConnection;
  for (let i = 0; i < items.length; i += perStatement) {
    const end = Math.min(items.length, i + perStatement);
    // Plain loops into one array: flatMap over per-row arrays took six times as long (0.27 s against 0.04 s for
    // 200,000 rows of nine columns).
    const values: unknown[] = new Array((end - i) * columns.length);
    let k = 0;
    for (let j = i; j < end; j++) {
      const row = toRow(items[j]!);
      for (const c of columns) values[k++] = row[c];
    }
    await connection.run(sql(end - i), values);
  }
}

/** A value as a COPY … (FORMAT csv) field: unquoted empty is NULL, strings quoted, booleans t/f. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return String(value);
  return `"${String(value).replace(/"/g, '""')}"`;
}

/** A row's values as one line of COPY … FROM STDIN (FORMAT csv). */
export const copyLine = (values: readonly unknown[]): string => `${values.map(csvField).join(',')}\n`;

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function copyInto<T>(trx: Tx, table: string, columns: string[], items: readonly T[], toRow: (item: T) => Record<string, unknown>): Promise<void> {
  // Inside a transaction knex hands out the transaction's own connection.
  const connection = (await trx.client.acquireConnection()) as pg.PoolClient;
  const copy = connection.query(copyFrom(`COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FROM STDIN (FORMAT csv)`));
  function* lines() {
    const CHUNK = 1000;
    for (let i = 0; i < items.length; i += CHUNK) {
      yield items
        .slice(i, i + CHUNK)
        .map((item) => {
          const row = toRow(item);
          return copyLine(columns.map((c) => row[c]));
        })
        .join('');
    }
  }
  await pipeline(Readable.from(lines()), copy);
  if (items.length >= ANALYZE_AFTER_ROWS) await refreshStatistics(trx, table, items.length);
}

/** Rows below which a bulk load leaves the table's statistics to autovacuum. */
const ANALYZE_AFTER_ROWS = 10_000;

/**
 * On PostgreSQL, after `rows` rows were written to a table: refresh its statistics at once, in the writing transaction
 * (ANALYZE samples the rows it inserted), where they are missing (a table never analyzed) or the rows changed since
 * they were taken, these included, are a large part of it (autovacuum's own rule: more than a tenth of the rows the
 * planner knows of). The statements that follow (a roster's checks, its page, a home page) would otherwise be planned
 * for a table of a few rows: until autovacuum came by, never where it is turned off, and never at all for a small
 * table such as the region tree, which stays below autovacuum's threshold of 50 changed rows (core/regions analyzes
 * that one at each new region). SQLite plans without statistics: nothing to do there.
 */
export async function refreshStatistics(conn: Tx, table: string, rows: number): Promise<void> {
  if (!isPostgres(conn)) return;
  const known = await conn.raw(
    `SELECT c.reltuples, pg_stat_get_mod_since_analyze(c.oid) AS changed,
       (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attname NOT LIKE '%\\_enc') AS columns
     FROM pg_class c WHERE c.oid = to_regclass(?)`,
    [quoteIdent(table)],
  );
  const stats = (known.rows as { reltuples: number; changed: number; columns: string }[])[0];
  const reltuples = Number(stats?.reltuples ?? -1);
  if (reltuples >= 0 && rows + Number(stats?.changed ?? 0) <= reltuples / 10) return;
  // The columns queries compare, not the ciphertexts (*_enc, never compared: a third of the time on the people), nor an
  // index's expressions (the people's name pieces), which autovacuum samples later: a column list leaves both out.
  // A sample of 3,000 rows (statistics target 10, against 30,000 by default): what the plans that follow need is the
  // table's size and the rough spread of its columns, which that sample gives in a twentieth of the time (20 ms against
  // 300 ms for 50,000 people here); autovacuum's own ANALYZE takes the full sample when the table has changed enough.
  await conn.raw('SET LOCAL default_statistics_target = 10');
  await conn.raw(`ANALYZE ${quoteIdent(table)} (${stats!.columns})`);
  await conn.raw('SET LOCAL default_statistics_target TO DEFAULT');
}

/** On PostgreSQL, take a table's statistics now, in the transaction (a few ms for a small table such as the region tree). */
export async function analyzeTable(conn: Conn, table: string): Promise<void> {
  if (isPostgres(conn)) await conn.raw(`ANALYZE ${quoteIdent(table)}`);
}

/** Distinct ids, sorted, in chunks of `size`: for reading rows by id a chunk at a time with whereIds. */
export function idChunks(ids: Iterable<number>, size = 5_000): Float64Array[] {
  const sorted = Float64Array.from(new Set(ids)).sort();
  const chunks: Float64Array[] = [];
  for (let i = 0; i < sorted.length; i += size) chunks.push(sorted.subarray(i, i + size));
  return chunks;
}

/** Whether a chunk of sorted ids lies close enough together to be read as one range (whereIds). */
const asRange = (chunk: Float64Array) => chunk[chunk.length - 1]! - chunk[0]! < 2 * chunk.length;

/**
 * Narrow a query to a chunk of sorted ids (idChunks). Ids close together, rows written together such as a round's
 * lines or their people's accounts, are asked for as one range: one index range scan and two bound parameters
 * instead of 5,000 (on PostgreSQL half the time). The range may hold rows not asked for: the query's own conditions
 * must exclude them, or rowsWithIds drops them. Ids far apart are bound one by one.
 */
export function whereIds<Q extends Knex.QueryBuilder>(q: Q, column: string, chunk: Float64Array): Q {
  return (asRange(chunk) ? q.whereBetween(column, [chunk[0]!, chunk[chunk.length - 1]!]) : q.whereIn(column, [...chunk])) as Q;
}

/** The rows of a query (selecting `id`) whose id is one of a chunk's (idChunks): whereIds, the rows of its range not asked for dropped. */
export async function rowsWithIds<T extends { id: number }>(q: Knex.QueryBuilder, column: string, chunk: Float64Array): Promise<T[]> {
  const rows = (await whereIds(q, column, chunk)) as T[];
  if (!asRange(chunk)) return rows;
  const wanted = new Set(chunk);
  return rows.filter((r) => wanted.has(r.id));
}

/**
 * Rows of a query run once per chunk of the distinct `values` (a whereIn of 50,000 keys would pass the parameter
 * limit; a key repeated in two chunks would return its rows twice).
 */
export async function selectInChunks<T>(values: readonly (string | number)[], query: (chunk: (string | number)[]) => Promise<T[]>, chunkSize = 5_000): Promise<T[]> {
  const keys = [...new Set(values)];
  const rows: T[] = [];
  for (let i = 0; i < keys.length; i += chunkSize) rows.push(...(await query(keys.slice(i, i + chunkSize))));
  return rows;
}

/**
 * Set columns of many rows, each found by its id, a few hundred rows a statement: UPDATE … FROM (VALUES …), which both
 * databases have (SQLite names the VALUES columns column1, column2, …; PostgreSQL takes them from the alias).
 */
export async function updateByIds(trx: Tx, table: string, columns: readonly string[], rows: readonly (readonly [number, ...(string | number | null)[]])[]): Promise<void> {
  const perStatement = Math.max(1, Math.floor(900 / (columns.length + 1)));
  const pg = isPostgres(trx);
  for (let at = 0; at < rows.length; at += perStatement) {
    const chunk = rows.slice(at, at + perStatement);
    const tuple = `(${pg ? '?::integer' : '?'}${', ?'.repeat(columns.length)})`;
    const values = chunk.map(() => tuple).join(', ');
    const set = columns.map((_, i) => `?? = v.${pg ? `c${i}` : `column${i + 2}`}`).join(', ');
    const alias = pg ? `v(id, ${columns.map((_, i) => `c${i}`).join(', ')})` : 'v';
    const sql = `UPDATE ?? SET ${set} FROM (VALUES ${values}) AS ${alias} WHERE ??.id = v.${pg ? 'id' : 'column1'}`;
    await trx.raw(sql, [table, ...columns, ...chunk.flat(), table]);
  }
}
