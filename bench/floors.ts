import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { signFile } from '../src/core/signing.ts';
import { SqliteConnection } from '../src/core/sqlite-client.ts';
import type { Core } from '../src/core/context.ts';
import { type FieldCrypto, sm3Hex } from '../src/core/crypto.ts';
import { copyLine, isPostgres } from '../src/core/db.ts';
import { csvLine, readTable } from '../src/core/spreadsheet.ts';
import type { TableSpec } from '../src/core/table-reader.ts';

/**
 * Floors (issue 18): for a bulk figure, what the same work costs done the plainest correct way, on the same data in the
 * same run — the same file read by the same reader (the worker's table reader), the same fields encrypted and indexed
 * in bulk (FieldCrypto's *Many), and the rows written straight through the driver (prepared multi-row INSERTs in one
 * transaction on SQLite, COPY on PostgreSQL) into tables of their own. The figure's ratio to its floor says how much
 * the platform adds (checks, audit, scope, transactions); it does not depend on the machine.
 */

const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

type Cell = string | number | null;

/**
 * The shape of a platform table a floor writes into a copy of: its name and, on SQLite, its CREATE TABLE and
 * CREATE INDEX statements. Writing the rows of a table correctly includes its indexes and unique constraints (a
 * floor into bare text columns left out the index upkeep every real insert pays for), and on PostgreSQL its foreign
 * keys, checked against the platform's tables: PostgreSQL checks each row's reference in a trigger, 0.7 s of the
 * 200,000 rows of a result file here, which any write of those rows pays. On SQLite they are left out (the floor's
 * file does not hold the tables referred to; SQLite checks a reference with one index probe inside the statement).
 * Triggers are left out everywhere, so the floor stays a lower bound.
 */
export interface TableShape {
  source: string;
  ddl: string[];
}

/** Write rows with the raw driver, in one transaction, into a fresh table: a copy of `like`, or else of text columns. */
export interface RawWriter {
  write(table: string, columns: string[], rows: Cell[][], like?: TableShape): Promise<void>;
  close(): Promise<void>;
}

/** A platform table's CREATE statements for a copy named `table` (SQLite): the same columns, types and indexes. */
function sqliteCopyOf(like: TableShape, table: string): string[] {
  const quoted = new RegExp('[`"]' + like.source + '[`"]', 'g');
  return like.ddl.map((sql) =>
    sql
      .replace(/,\s*foreign key\s*\([^)]*\)\s*references\s*[`"]?\w+[`"]?\s*\([^)]*\)(\s*on (delete|update) (cascade|set null|restrict|no action))*/gi, '')
      .replace(/^(CREATE (UNIQUE )?INDEX )[`"]?(\w+)[`"]?/i, `$1"${table}_$3"`)
      .replace(quoted, `"${table}"`),
  );
}

/**
 * SQLite: a file of its own beside the database (WAL, synchronous FULL, as the platform's), prepared INSERTs of 500
 * rows, through better-sqlite3 in a worker thread as the platform runs it (a write on the event loop would stop the
 * pages).
 */
function sqliteWriter(file: string): RawWriter {
  const opened = SqliteConnection.open(file, { pragmas: 'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;' });
  return {
    async write(table, columns, rows, like) {
      const db = await opened;
      for (const sql of like ? sqliteCopyOf(like, table) : [`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, ${columns.map((c) => `${c} TEXT`).join(', ')})`]) await db.exec(sql);
      await db.exec('BEGIN');
      const BATCH = Math.max(1, Math.floor(500 / Math.max(1, columns.length / 5)));
      const insert = (n: number) => `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array(n).fill(`(${columns.map(() => '?').join(', ')})`).join(', ')}`;
      for (let start = 0; start < rows.length; start += BATCH) {
        const chunk = rows.slice(start, start + BATCH);
        await db.run(insert(chunk.length), chunk.flat());
      }
      await db.exec('COMMIT');
    },
    async close() {
      await (await opened).close();
    },
  };
}

/** PostgreSQL: COPY in one transaction into tables of the bench's schema. */
export function pgWriter(url: string, schema: string): RawWriter {
  const client = new pg.Client({ connectionString: url });
  const ready = client.connect().then(() => client.query(`SET search_path TO ${schema}`));
  return {
    async write(table, columns, rows, like) {
      await ready;
      // LIKE copies columns, types, defaults, checks and indexes; the foreign keys are added as the table has them,
      // referring to the platform's own tables (which hold the rows referred to).
      await client.query(like ? `CREATE TABLE ${table} (LIKE ${like.source} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)` : `CREATE TABLE ${table} (id serial PRIMARY KEY, ${columns.map((c) => `${c} text`).join(', ')})`);
      if (like) {
        const keys = await client.query<{ def: string }>(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'`, [like.source]);
        for (const { def } of keys.rows) await client.query(`ALTER TABLE ${table} ADD ${def}`);
      }
      await client.query('BEGIN');
      function* lines() {
        for (let start = 0; start < rows.length; start += 1000) yield rows.slice(start, start + 1000).map(copyLine).join('');
      }
      await pipeline(Readable.from(lines()), client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN (FORMAT csv)`)));
      await client.query('COMMIT');
    },
    async close() {
      await ready;
      await client.end();
    },
  };
}

export function rawWriter(dir: string, pgUrl: string | undefined, schema: string | undefined): RawWriter {
  return pgUrl ? pgWriter(pgUrl, schema!) : sqliteWriter(path.join(dir, `floors-${process.pid}.sqlite`));
}

/** Each table's highest id before a step (tables with an integer id column). */
export type TableMarks = Map<string, number>;

async function tableNames(db: Core['db']): Promise<string[]> {
  if (isPostgres(db)) {
    return ((await db('information_schema.columns').whereRaw('table_schema = current_schema()').where('column_name', 'id').select('table_name')) as { table_name: string }[]).map((t) => t.table_name);
  }
  const tables = ((await db('sqlite_master').where('type', 'table').whereNot('name', 'like', 'sqlite_%').select('name')) as { name: string }[]).map((t) => t.name);
  const withId: string[] = [];
  for (const t of tables) if (((await db.raw(`PRAGMA table_info(${t})`)) as { name: string }[]).some((c) => c.name === 'id')) withId.push(t);
  return withId;
}

export async function tableMarks(db: Core['db']): Promise<TableMarks> {
  const marks: TableMarks = new Map();
  for (const t of await tableNames(db)) marks.set(t, Number(((await db(t).max({ id: 'id' }).first()) as { id: number | null }).id ?? 0));
  return marks;
}

/** A cell as the raw drivers take it: times as ISO text, JSON as text, booleans as 0/1. */
function cell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'object') return JSON.stringify(value);
  return value as string | number;
}

/** A platform table's shape (its CREATE statements on SQLite; PostgreSQL copies it with LIKE). */
export async function shapeOf(db: Core['db'], table: string): Promise<TableShape> {
  const ddl = isPostgres(db) ? [] : ((await db('sqlite_master').where({ tbl_name: table }).whereIn('type', ['table', 'index']).whereNotNull('sql').orderByRaw("type = 'index'").select('sql')) as { sql: string }[]).map((r) => r.sql);
  return { source: table, ddl };
}

/** The rows a step inserted (ids above the marks, ids included), table by table, with each table's shape, as the floor writes them again. */
export async function insertedSince(db: Core['db'], marks: TableMarks): Promise<{ table: string; columns: string[]; rows: Cell[][]; shape: TableShape }[]> {
  const out: { table: string; columns: string[]; rows: Cell[][]; shape: TableShape }[] = [];
  for (const [table, mark] of marks) {
    const rows = (await db(table).where('id', '>', mark).orderBy('id')) as Record<string, unknown>[];
    if (rows.length === 0) continue;
    const columns = Object.keys(rows[0]!);
    out.push({ table, columns, rows: rows.map((r) => columns.map((c) => cell(r[c]))), shape: await shapeOf(db, table) });
  }
  return out;
}

/** Write every inserted table's rows with the raw driver, each into a copy of its table (named by the step and the table). */
async function writeAll(writer: RawWriter, step: string, inserted: Awaited<ReturnType<typeof insertedSince>>): Promise<void> {
  for (const t of inserted) await writer.write(`floor_${step}_${t.table}`, t.columns, t.rows, t.shape);
}

/** Read a file with the platform's reader (in its worker) and keep every row's cells. */
async function readAll(file: Buffer, spec: TableSpec): Promise<{ columns: Map<string, number>; rows: string[][] }> {
  const table = await readTable(file, spec);
  if (typeof table === 'string') throw new Error(`floor: the file was refused: ${table}`);
  return { columns: table.columns, rows: table.rows.map((r) => r.cells.map((c) => (c === null || c === undefined ? '' : String(c)))) };
}

/**
 * The pieces of the new people's names in SQLite's index of them (beneficiary_name_gram, migration 20261210000100):
 * each distinct name's characters two by two, its last one followed by U+001F. The platform's triggers write them
 * beside each insert; the floor, whose copies have no triggers, writes them as rows of their own. (PostgreSQL's index
 * of the pieces is a GIN index on the people's table, which its copy carries.)
 */
function namePieces(inserted: Awaited<ReturnType<typeof insertedSince>>): Cell[][] {
  const people = inserted.find((t) => t.table === 'beneficiary_person');
  if (!people) return [];
  const at = people.columns.indexOf('name');
  const pieces: Cell[][] = [];
  for (const name of new Set(people.rows.map((r) => String(r[at])))) {
    const chars = [...name, '\u001f'];
    for (const gram of new Set(chars.slice(1).map((c, i) => chars[i] + c))) pieces.push([gram, name]);
  }
  return pieces;
}

/**
 * registry_import_50k_s's floor: the registry file read, every ID number and account number encrypted and
 * blind-indexed (and phone numbers encrypted), the rows the import inserted written again, and on SQLite its new
 * names' pieces written into a copy of the name index (`nameIndex`, the shape of beneficiary_name_gram; null on PostgreSQL).
 */
export async function registryFloor(writer: RawWriter, crypto: FieldCrypto, filePath: string, inserted: Awaited<ReturnType<typeof insertedSince>>, nameIndex: TableShape | null): Promise<number> {
  const file = fs.readFileSync(filePath);
  const started = process.hrtime.bigint();
  const { columns, rows } = await readAll(file, { headerHas: ['姓名', '身份证号码'], required: ['村（社区）', '姓名', '身份证号码'], rowNoun: '受益对象', formatHint: '' });
  const cells = (name: string) => rows.map((r) => r[columns.get(name)!] ?? '');
  const ids = cells('身份证号码');
  const accounts = cells('账号').filter(Boolean);
  crypto.encryptMany(ids);
  crypto.blindIndexMany('id', ids);
  crypto.encryptMany(accounts);
  crypto.blindIndexMany('account', accounts);
  crypto.encryptMany(cells('手机号码').filter(Boolean));
  await writeAll(writer, 'registry', inserted);
  if (nameIndex) await writer.write('floor_registry_beneficiary_name_gram', ['gram', 'name'], namePieces(inserted), nameIndex);
  return seconds(started);
}

/** payout_file_200k_s's floor: the round's lines and accounts read in one query, the accounts decrypted in bulk, the CSV built as bytes with its SM3 and its SM2 signature. */
export async function payoutFloor(core: Core, roundId: number): Promise<number> {
  const started = process.hrtime.bigint();
  const rows = (await core.db('batch_line as l')
    .join('beneficiary_account as a', 'a.id', 'l.account_id')
    .where({ 'l.round_id': roundId, 'l.state': 'active' })
    .orderBy('l.id')
    .select('l.id', 'l.person_name', 'l.id_masked', 'l.amount_fen', 'l.holder_name', 'a.account_enc')) as { id: number; person_name: string; id_masked: string; amount_fen: number; holder_name: string; account_enc: string }[];
  const numbers = core.crypto.decryptMany(rows.map((r) => r.account_enc));
  const body = Buffer.from(`\ufeff${rows.map((r, i) => csvLine([String(r.id), r.person_name, r.id_masked, numbers[i]!, r.holder_name, String(r.amount_fen)])).join('')}`, 'utf8');
  // The file's SM3 and SM2 signature are part of it: the bank checks the download against them.
  if (sm3Hex(body).length === 0 || rows.length === 0) throw new Error('floor: the payout round has no lines');
  await signFile(core, body);
  return seconds(started);
}

/** result_import_200k_s's floor: the result file read and the rows the import inserted written again. */
export async function resultFloor(writer: RawWriter, filePath: string, inserted: Awaited<ReturnType<typeof insertedSince>>): Promise<number> {
  const file = fs.readFileSync(filePath);
  const started = process.hrtime.bigint();
  await readAll(file, { headerHas: ['流水号', '结果'], required: ['流水号', '金额（分）', '结果'], rowNoun: '回盘结果', formatHint: '' });
  await writeAll(writer, 'result', inserted);
  return seconds(started);
}
