import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Knex } from 'knex';
import { auditKeyId, useAuditKey } from './audit-key.ts';
import { sealArchiveKey, verifyArchives } from './audit-archive.ts';
import { type AuditRow, recordAudit, verifyAuditChain } from './audit.ts';
import type { FieldCrypto } from './crypto.ts';
import { type Conn, type Db, type Tx, bulkInsert, inTransaction, isPostgres, nowIso } from './db.ts';
import { type IdRange, type Rekeyer, rekeyMovedRows } from './key-rotation.ts';
import { countyPurpose } from './wrapped-keys.ts';

/**
 * Moving a county from its own SQLite file onto a central PostgreSQL deployment (`ykt migrate-to-postgres`,
 * docs/operations.md section 6). Other counties may already be there, so the county's rows cannot keep their ids:
 *
 * - Every id the county's database holds, in an id column or inside text, becomes id + O, one offset O for all tables,
 *   above every id the deployment has handed out. Rows above the county that the deployment may already hold (the
 *   province and city, their departments, the provincial policy list) are looked up instead and, when found, their
 *   ids are mapped to the deployment's; what refers to them follows.
 * - Each table's owner declares how its rows move (AppModule.move, and CORE_MOVES below): the columns holding ids and
 *   whose ids they are, the region paths, the text with ids in it, the rows that may be shared, and the tables that
 *   stay behind. test/arch/county-move.test.ts fails when a migration adds a table or an id column nobody declared.
 * - The audit log cannot be renumbered (each row's keyed hash covers its id): its rows are archived unchanged
 *   (core_audit_archive) and verified there with the county's audit key (core/audit-archive.ts); the deployment's
 *   chain gets one `county.move` row naming the archive's last hash.
 * - Fields are re-encrypted under the deployment's key when it differs (the key rotation's rekeyers, limited to the
 *   moved ids), and the county's purpose keys (the complaint codes' HMAC key) travel with it under its county's name.
 * - It all happens in one PostgreSQL transaction: a failure leaves nothing behind, and the command can be run again.
 *   Before it commits it compares the rows of every table, the money of every round and both audit chains.
 */
export class CountyMoveError extends Error {}

export type Row = Record<string, unknown>;

/** Ids as they become in the deployment. */
export interface MovedIds {
  /** The id a row of `table` has in the deployment (null, 0 and negative sentinels stay as they are). */
  of(table: string, id: unknown): number | null;
  /** Whether that row is one the deployment already held (a shared row above the county). */
  isShared(table: string, id: unknown): boolean;
  /** A deadline's object id, as the module that opens such deadlines declared it moves (ModuleMove.objectIds). */
  object(type: string, value: string): string;
  /** A deadline's title, with the id in it moved where its module says it names one (ModuleMove.deadlineTitles). */
  deadlineTitle(type: string, title: string): string;
  offset: number;
}

/** Where a shared row is looked up: the deployment's transaction and the ids mapped so far. */
export interface SharedLookup {
  target: Tx;
  ids: MovedIds;
}

export interface TableMove {
  /** Left behind, with the reason (deployment-wide state, a cache, a throttle). */
  skip?: string;
  /** Columns holding another row's id (other than `id`), and the table that row is in. */
  refs?: Record<string, string>;
  /** Columns holding a region path ('/1/5/9/'). */
  paths?: readonly string[];
  /** Columns whose text holds ids or names: each gives the text the deployment keeps. */
  text?: Record<string, (value: string, row: Row, ids: MovedIds, options: MoveOptions) => string>;
  /**
   * A row the deployment may already hold (a province, a provincial policy): its id there, or null to copy it. It may
   * refuse the move (CountyMoveError) when the deployment holds a different row under the same name.
   */
  shared?: (row: Row, lookup: SharedLookup) => Promise<number | null>;
  /** Rows left behind (true keeps the row): a setting of a shared region belongs to the deployment. */
  keep?: (row: Row, ids: MovedIds) => boolean;
}

export type MoveDeclarations = Record<string, TableMove>;

/** What a module adds besides its tables: checks before anything is written, and its purpose keys. */
export interface ModuleMove {
  tables: MoveDeclarations;
  /** Refusals found before the copy (a person already registered in another county), as Chinese sentences. */
  check?: (context: MoveCheckContext) => Promise<string[]>;
  /** Purpose keys (core/wrapped-keys.ts) that the county's rows were made with: kept under the county's name. */
  purposeKeys?: readonly string[];
  /** The deadlines it opens (core_deadline.object_id), by object type: a plain id of a table, or its own form. */
  objectIds?: Record<string, string | ((value: string, ids: MovedIds) => string)>;
  /** The titles of those deadlines that name their object by id, by object type: the title with the id moved. */
  deadlineTitles?: Record<string, (title: string, ids: MovedIds) => string>;
  /**
   * Figures that must be the same before and after (money per round), read from the rows in the range, each keyed by
   * ids relative to the range's start (id − above), so that the county's and the deployment's keys meet. The batch
   * module's carry `rounds` and `lines fen`, which the report shows.
   */
  totals?: (db: Conn, range: IdRange) => Promise<Record<string, number>>;
}

export interface MoveCheckContext {
  source: Db;
  target: Tx;
  sourceCrypto: FieldCrypto;
  targetCrypto: FieldCrypto;
}

export interface MoveOptions {
  /** Put before every moved username: a county's `admin` would meet the deployment's. */
  usernamePrefix: string;
}

const plainId = (value: unknown): number | null => {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new CountyMoveError(`无法识别的编号：${String(value)}`);
  return n;
};

/** Region paths '/1/5/9/' with each id mapped. */
const movePath = (path: string, ids: MovedIds) =>
  path
    .split('/')
    .map((part) => (part === '' ? part : String(ids.of('core_region', part))))
    .join('/');

/** A JSON text with the numbers under the named keys (or arrays of them) mapped as ids of the given tables. */
export function moveJsonIds(keys: Record<string, string>): (value: string, row: Row, ids: MovedIds) => string {
  const walk = (node: unknown, ids: MovedIds): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n, ids));
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      const table = keys[k];
      if (table && typeof v === 'number') out[k] = ids.of(table, v);
      else if (table && Array.isArray(v) && v.every((x) => typeof x === 'number')) out[k] = v.map((x) => ids.of(table, x));
      else out[k] = walk(v, ids);
    }
    return out;
  };
  return (value, _row, ids) => JSON.stringify(walk(JSON.parse(value), ids));
}

/** Core's own tables. Modules declare theirs in their index.ts (AppModule.move). */
export const CORE_MOVES: ModuleMove = {
  tables: {
    core_region: {
      refs: { parent_id: 'core_region' },
      paths: ['path'],
      // The province and city may be there already (by their 统计用区划代码, or by name under the same parent); the county
      // itself must not be.
      async shared(row, { target, ids }) {
        if (row.level !== 'province' && row.level !== 'city' && row.level !== 'county') return null;
        const parent = row.parent_id == null ? null : ids.of('core_region', row.parent_id);
        const parentShared = row.parent_id == null || ids.isShared('core_region', row.parent_id);
        const found = (await target('core_region')
          .where({ level: row.level })
          .where((q) => {
            if (row.code) q.where('code', row.code);
            if (parentShared) q.orWhere((p) => (parent === null ? p.whereNull('parent_id') : p.where('parent_id', parent)).where('name', row.name as string));
          })
          .first('id', 'name', 'code')) as { id: number; name: string; code: string | null } | undefined;
        if (!found) return null;
        if (row.level === 'county') throw new CountyMoveError(`中心部署中已有${found.name}（${found.code ?? '无区划代码'}）：该县已迁入过，或与另一个县重名。未做任何更改。`);
        return found.id;
      },
    },
    core_org: {
      refs: { region_id: 'core_region' },
      // A department of the province or city may be there already, by its kind and name.
      async shared(row, { target, ids }) {
        if (!ids.isShared('core_region', row.region_id)) return null;
        const found = (await target('core_org').where({ region_id: ids.of('core_region', row.region_id), kind: row.kind, name: row.name }).first('id')) as { id: number } | undefined;
        return found?.id ?? null;
      },
    },
    core_user: {
      refs: { region_id: 'core_region', org_id: 'core_org' },
      text: { username: (value, _row, _ids, options) => options.usernamePrefix + value },
    },
    core_user_role: { refs: { user_id: 'core_user' } },
    core_setting: { refs: { region_id: 'core_region', updated_by: 'core_user' }, keep: (row, ids) => !ids.isShared('core_region', row.region_id) },
    core_column_mapping: { refs: { region_id: 'core_region', saved_by: 'core_user' }, keep: (row, ids) => !ids.isShared('core_region', row.region_id) },
    core_api_token: { refs: { region_id: 'core_region', org_id: 'core_org', created_by: 'core_user', revoked_by: 'core_user', decided_by: 'core_user' } },
    core_deadline: {
      refs: { region_id: 'core_region', closed_by: 'core_user' },
      // object_id names the object by the module's own kind of id; open_key is '<rule>:<type>:<object_id>' while open.
      text: {
        object_id: (value, row, ids) => ids.object(String(row.object_type), value),
        open_key: (value, row, ids) => `${value.slice(0, value.length - String(row.object_id).length)}${ids.object(String(row.object_type), String(row.object_id))}`,
        title: (value, row, ids) => ids.deadlineTitle(String(row.object_type), value),
      },
    },
    core_audit: { skip: '审计日志不能重新编号：原样归档（core_audit_archive）' },
    core_session: { skip: '会话：迁移后重新登录' },
    core_login_throttle: { skip: '登录限流计数' },
    core_download: { skip: '临时下载' },
    core_task: { skip: '定时任务属于中心部署' },
    core_calendar_day: { skip: '工作日历属于中心部署' },
    core_calendar_year: { skip: '工作日历属于中心部署' },
    core_key_check: { skip: '密钥校验值属于中心部署' },
    core_signing_key: { skip: '签名密钥属于中心部署（银行登记的是中心部署的公钥）' },
    core_wrapped_key: { skip: '各用途密钥以县的名义另行带入' },
    core_event: { skip: '事件发件箱（有未处理的事件时拒绝迁移）' },
    core_county_move: { skip: '迁入记录属于中心部署' },
    core_audit_archive: { skip: '迁入记录属于中心部署' },
    knex_migrations: { skip: '迁移记录属于中心部署' },
    knex_migrations_lock: { skip: '迁移记录属于中心部署' },
  },
};

/** Every declared table, module by module; a table declared twice is a mistake. */
export function allDeclarations(modules: readonly ModuleMove[]): MoveDeclarations {
  const all: MoveDeclarations = {};
  for (const m of modules) {
    for (const [table, move] of Object.entries(m.tables)) {
      if (all[table]) throw new Error(`county move: ${table} is declared twice`);
      all[table] = move;
    }
  }
  return all;
}

export interface SourceTable {
  name: string;
  columns: string[];
  hasId: boolean;
  /** The tables its foreign keys point at (its own excluded). */
  parents: string[];
}

/** A SQLite database's tables with their columns and the tables their foreign keys point at. */
export async function sqliteTables(source: Db): Promise<SourceTable[]> {
  // SQLite's own tables (sqlite_sequence, sqlite_stat1 …) are its bookkeeping, not the county's data.
  const names = ((await source.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")) as { name: string }[]).map((r) => r.name);
  const tables: SourceTable[] = [];
  for (const name of names) {
    const columns = ((await source.raw(`PRAGMA table_info("${name}")`)) as { name: string }[]).map((c) => c.name);
    const fks = (await source.raw(`PRAGMA foreign_key_list("${name}")`)) as { table: string }[];
    tables.push({ name, columns, hasId: columns.includes('id'), parents: [...new Set(fks.map((f) => f.table))].filter((t) => t !== name) });
  }
  return tables;
}

/** Tables in an order where every table comes after those its foreign keys point at. */
function inForeignKeyOrder(tables: SourceTable[]): SourceTable[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const done = new Set<string>();
  const out: SourceTable[] = [];
  const visit = (t: SourceTable, path: string[]) => {
    if (done.has(t.name)) return;
    if (path.includes(t.name)) throw new Error(`county move: foreign keys form a cycle: ${[...path, t.name].join(' → ')}`);
    for (const p of t.parents) {
      const parent = byName.get(p);
      if (parent) visit(parent, [...path, t.name]);
    }
    done.add(t.name);
    out.push(t);
  };
  for (const t of tables) visit(t, []);
  return out;
}

/** Which tables and columns have no declaration: the arch test and the command both refuse them. */
export function undeclared(tables: readonly { name: string; columns: readonly string[] }[], declarations: MoveDeclarations): string[] {
  const problems: string[] = [];
  for (const t of tables) {
    const move = declarations[t.name];
    if (!move) {
      problems.push(`${t.name}：没有迁移声明`);
      continue;
    }
    if (move.skip) continue;
    for (const c of t.columns) {
      if (c === 'id' || !/(_id|_by|_ids|path|_key|_ref)$/.test(c)) continue;
      if (move.refs?.[c] || move.paths?.includes(c) || move.text?.[c]) continue;
      problems.push(`${t.name}.${c}：看似编号，但迁移声明中没有说明`);
    }
  }
  return problems;
}

/**
 * A table's rows in the range, counted and their amount_fen summed per round, for ModuleMove.totals: `round <n> <what>`
 * and `round <n> <what> fen`, n the round's id from the range's start (one offset moves every table's ids alike). The
 * range applies to the column `by`: the rows' own ids, or their rounds'.
 */
export async function totalsByRound(db: Conn, table: string, what: string, range: { above: number; upTo: number }, by: 'id' | 'round_id'): Promise<Record<string, number>> {
  const rows = (await db(table).where(by, '>', range.above).where(by, '<=', range.upTo).groupBy('round_id').select('round_id', db.raw('count(*) AS n'), db.raw('coalesce(sum(amount_fen), 0) AS fen'))) as { round_id: number; n: number | string; fen: number | string }[];
  const totals: Record<string, number> = {};
  for (const r of rows) {
    totals[`round ${Number(r.round_id) - range.above} ${what}`] = Number(r.n);
    totals[`round ${Number(r.round_id) - range.above} ${what} fen`] = Number(r.fen);
  }
  return totals;
}

/** A column whose id-like name holds no id (a tracking number, a file's path), declared as kept as it is. */
export const asIs = (value: string) => value;

export interface MoveReport {
  moveId: number;
  countyId: number;
  countyName: string;
  offset: number;
  tables: { table: string; rows: number }[];
  shared: { table: string; rows: number }[];
  leftBehind: { table: string; rows: number; reason: string }[];
  rounds: number;
  linesFen: number;
  /** How many figures (ModuleMove.totals) were compared. */
  figures: number;
  auditRows: number;
  reencrypted: boolean;
}

export interface MoveInput {
  source: Db;
  sourceFile: string;
  sourceCrypto: FieldCrypto;
  sourceAuditKey: Buffer;
  target: Db;
  targetCrypto: FieldCrypto;
  targetAuditKey: Buffer;
  modules: readonly ModuleMove[];
  rekeyers: readonly Rekeyer[];
  options: MoveOptions;
  /** Hears of each table as it is copied. */
  onTable?: (table: string, rows: number) => void;
}

const PAGE = 2_000;

/** Columns of the deployment's tables by type, to turn SQLite's values into PostgreSQL's. */
async function targetTypes(target: Conn): Promise<Map<string, Map<string, string>>> {
  const rows = (await target.raw('SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()')).rows as {
    table_name: string;
    column_name: string;
    data_type: string;
  }[];
  const out = new Map<string, Map<string, string>>();
  for (const r of rows) {
    if (!out.has(r.table_name)) out.set(r.table_name, new Map());
    out.get(r.table_name)!.set(r.column_name, r.data_type);
  }
  return out;
}

function pgValue(value: unknown, type: string | undefined): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'boolean') return Boolean(Number(value));
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (type?.startsWith('timestamp') && typeof value === 'number') return new Date(value).toISOString();
  return value;
}

async function tableCount(conn: Conn, table: string, where?: (q: Knex.QueryBuilder) => void): Promise<number> {
  const row = (await conn(table).modify((q) => where?.(q)).count({ n: '*' }).first()) as { n: number | string };
  return Number(row.n);
}

/** The sequence behind a table's id on PostgreSQL, or null when it has none. */
async function sequenceOf(target: Conn, table: string): Promise<string | null> {
  const row = (await target.raw('SELECT pg_get_serial_sequence(?, ?) AS seq', [table, 'id'])).rows[0] as { seq: string | null };
  return row.seq;
}

export async function moveCounty(input: MoveInput): Promise<MoveReport> {
  const { source, target, options } = input;
  if (!isPostgres(target)) throw new CountyMoveError('目标须是 PostgreSQL 数据库（postgres://…）');
  const declarations = allDeclarations([CORE_MOVES, ...input.modules]);
  const tables = await sqliteTables(source);
  const problems = undeclared(tables, declarations);
  if (problems.length) throw new CountyMoveError(`本版本不知道如何迁移这些表或列：${problems.join('；')}。未做任何更改。`);

  const counties = (await source('core_region').where({ level: 'county' }).select('id', 'name', 'code')) as { id: number; name: string; code: string | null }[];
  if (counties.length !== 1) throw new CountyMoveError(`该 SQLite 数据库中有 ${counties.length} 个县：一次只能迁移恰好一个县的数据库。未做任何更改。`);
  const county = counties[0]!;
  const pendingEvents = await tableCount(source, 'core_event', (q) => q.whereNull('dispatched_at'));
  if (pendingEvents > 0) throw new CountyMoveError(`县数据库中还有 ${pendingEvents} 个事件未处理：请先启动一次县的服务，待事件处理完毕（约一分钟）后停止，再迁移。未做任何更改。`);

  const sourceDigest = await sha256OfFile(input.sourceFile);
  const types = await targetTypes(target);
  const ordered = inForeignKeyOrder(tables.filter((t) => !declarations[t.name]!.skip));

  return inTransaction(target, async (trx) => {
    // The deployment's chain first: the move's row is written with this key, which must be the chain's.
    const chain = await verifyAuditChain(trx, { key: input.targetAuditKey });
    if (!chain.ok) {
      throw new CountyMoveError(`中心部署的审计日志校验不通过（${chain.problem}）：若中心部署设置了 YKT_AUDIT_KEY，请用 --target-audit-key-file 给出它；否则请先查明原因。未做任何更改。`);
    }
    // One offset above every id the deployment has handed out (its sequences, which also count rolled-back inserts),
    // and each moved table's sequence moved past the county's ids at once (setval is not rolled back): an instance
    // serving other counties meanwhile takes ids above them.
    const sequences = new Map<string, string>();
    let offset = 0;
    for (const t of ordered.filter((t) => t.hasId)) {
      const seq = await sequenceOf(trx, t.name);
      if (!seq) continue;
      sequences.set(t.name, seq);
      // A sequence never used yet holds 1 with is_called false: it has handed out nothing.
      const row = (await trx.raw(`SELECT last_value, is_called FROM ${seq}`)).rows[0] as { last_value: string; is_called: boolean };
      const max = (await trx(t.name).max({ m: 'id' }).first()) as { m: number | string | null };
      offset = Math.max(offset, row.is_called ? Number(row.last_value) : 0, Number(max.m ?? 0));
    }
    const sourceMax = new Map<string, number>();
    for (const t of ordered.filter((t) => t.hasId)) {
      const row = (await source(t.name).max({ m: 'id' }).first()) as { m: number | null };
      sourceMax.set(t.name, Number(row.m ?? 0));
    }
    for (const [table, seq] of sequences) {
      if (sourceMax.get(table)! > 0) await trx.raw(`SELECT setval(?, GREATEST((SELECT last_value FROM ${seq}), ?))`, [seq, offset + sourceMax.get(table)!]);
    }

    const mapped = new Map<string, Map<number, number>>();
    const objectIds = new Map(input.modules.flatMap((m) => Object.entries(m.objectIds ?? {})));
    const deadlineTitles = new Map(input.modules.flatMap((m) => Object.entries(m.deadlineTitles ?? {})));
    const ids: MovedIds = {
      deadlineTitle(type, title) {
        return deadlineTitles.get(type)?.(title, ids) ?? title;
      },
      object(type, value) {
        const move = objectIds.get(type);
        if (move === undefined) throw new CountyMoveError(`不知道期限对象“${type}”（${value}）的编号如何迁移。未做任何更改。`);
        return typeof move === 'string' ? String(ids.of(move, value)) : move(value, ids);
      },
      offset,
      of(table, value) {
        const id = plainId(value);
        if (id === null || id <= 0) return id;
        return mapped.get(table)?.get(id) ?? id + offset;
      },
      isShared(table, value) {
        const id = plainId(value);
        return id !== null && (mapped.get(table)?.has(id) ?? false);
      },
    };

    // Shared rows first, in foreign-key order (a province before its departments, an item before its versions).
    const sharedCounts: { table: string; rows: number }[] = [];
    for (const t of ordered) {
      const shared = declarations[t.name]!.shared;
      if (!shared) continue;
      const map = new Map<number, number>();
      mapped.set(t.name, map);
      const rows = (await source(t.name).orderBy('id')) as Row[];
      for (const row of rows) {
        const found = await shared(row, { target: trx, ids });
        if (found !== null) map.set(Number(row.id), found);
      }
      if (map.size) sharedCounts.push({ table: t.name, rows: map.size });
    }

    const refusals: string[] = [];
    for (const m of input.modules) if (m.check) refusals.push(...(await m.check({ source, target: trx, sourceCrypto: input.sourceCrypto, targetCrypto: input.targetCrypto })));
    const usernames = ((await source('core_user').pluck('username')) as string[]).map((u) => options.usernamePrefix + u);
    const taken = (await trx('core_user').whereIn('username', usernames).pluck('username')) as string[];
    if (taken.length) refusals.push(`中心部署中已有这些用户名：${taken.join('、')}。请用 --username-prefix 给迁入的用户名加前缀（如 --username-prefix ${county.code ?? 'xian'}_）`);
    if (refusals.length) throw new CountyMoveError(`${refusals.join('；')}。未做任何更改。`);

    // The copy, a page of rows at a time, each row's ids, paths and text moved.
    const copied: { table: string; rows: number }[] = [];
    const leftBehind: { table: string; rows: number; reason: string }[] = [];
    for (const t of ordered) {
      const move = declarations[t.name]!;
      const columnTypes = types.get(t.name);
      if (!columnTypes) throw new CountyMoveError(`中心部署中没有表 ${t.name}：两边的版本不同。未做任何更改。`);
      const refs = Object.entries(move.refs ?? {});
      const texts = Object.entries(move.text ?? {});
      const sharedHere = mapped.get(t.name);
      let rows = 0;
      let kept = 0;
      let lastRowid = 0;
      for (;;) {
        const page = (await source.raw(`SELECT rowid AS "__rowid", * FROM "${t.name}" WHERE rowid > ? ORDER BY rowid LIMIT ${PAGE}`, [lastRowid])) as Row[];
        if (page.length === 0) break;
        lastRowid = Number(page.at(-1)!.__rowid);
        const out: Row[] = [];
        for (const row of page) {
          rows++;
          if (sharedHere?.has(Number(row.id))) continue;
          if (move.keep && !move.keep(row, ids)) continue;
          const moved: Row = {};
          for (const c of t.columns) moved[c] = row[c];
          if (t.hasId) moved.id = ids.of(t.name, row.id);
          for (const [c, table] of refs) moved[c] = ids.of(table, row[c]);
          for (const c of move.paths ?? []) if (typeof row[c] === 'string') moved[c] = movePath(row[c] as string, ids);
          for (const [c, fn] of texts) if (row[c] != null && row[c] !== '') moved[c] = fn(String(row[c]), row, ids, options);
          for (const c of t.columns) moved[c] = pgValue(moved[c], columnTypes.get(c));
          out.push(moved);
        }
        kept += out.length;
        await bulkInsert(trx, t.name, out, (r) => r);
      }
      copied.push({ table: t.name, rows: kept });
      const shared = sharedHere?.size ?? 0;
      if (rows - kept - shared > 0) leftBehind.push({ table: t.name, rows: rows - kept - shared, reason: '属于中心部署的上级地区（设置、列对应关系），未带入' });
      input.onTable?.(t.name, kept);
    }
    for (const t of tables.filter((t) => declarations[t.name]!.skip && !['knex_migrations', 'knex_migrations_lock', 'core_audit'].includes(t.name))) {
      const n = await tableCount(source, t.name);
      if (n > 0) leftBehind.push({ table: t.name, rows: n, reason: declarations[t.name]!.skip! });
    }

    const countyId = ids.of('core_region', county.id)!;
    const range = (table: string) => ({ above: offset, upTo: offset + (sourceMax.get(table) ?? 0) });

    // Fields under the deployment's key, when it is another.
    const reencrypted = !sameKey(input.sourceCrypto, input.targetCrypto);
    if (reencrypted) await rekeyMovedRows(trx, input.sourceCrypto, input.targetCrypto, input.rekeyers, range);

    // The county's purpose keys, under its new id and the deployment's key.
    for (const purpose of input.modules.flatMap((m) => m.purposeKeys ?? [])) {
      const stored = (await source('core_wrapped_key').where({ purpose }).first('key_enc')) as { key_enc: string } | undefined;
      const key = stored ? input.sourceCrypto.decrypt(stored.key_enc) : input.sourceCrypto.subkey(purpose).toString('hex');
      await trx('core_wrapped_key').insert({ purpose: countyPurpose(purpose, countyId), key_enc: input.targetCrypto.encrypt(key), created_at: nowIso() });
    }

    // The county's audit log, archived as it was and verified there with its own key.
    const auditRows = await tableCount(source, 'core_audit');
    const last = (await source('core_audit').orderBy('id', 'desc').first('id', 'hash')) as { id: number; hash: string } | undefined;
    const summary = { tables: copied.filter((c) => c.rows > 0), shared: sharedCounts, leftBehind };
    const [moveRow] = (await trx('core_county_move')
      .insert({
        county_id: countyId,
        county_name: county.name,
        source_name: input.sourceFile.split('/').at(-1)!.slice(0, 200),
        source_sha256: sourceDigest,
        id_offset: offset,
        audit_key_id: auditKeyId(input.sourceAuditKey),
        audit_key_enc: sealArchiveKey(input.targetAuditKey, input.sourceAuditKey),
        audit_rows: auditRows,
        audit_last_id: last?.id ?? null,
        audit_last_hash: last?.hash ?? null,
        summary: JSON.stringify(summary),
        moved_by: 'ykt-cli',
        moved_at: nowIso(),
      })
      .returning('id')) as { id: number }[];
    const moveId = moveRow!.id;
    let lastAudit = 0;
    for (;;) {
      const page = (await source('core_audit').where('id', '>', lastAudit).orderBy('id').limit(PAGE)) as AuditRow[];
      if (page.length === 0) break;
      lastAudit = page.at(-1)!.id;
      await bulkInsert(trx, 'core_audit_archive', page, (r) => ({ move_id: moveId, ...r, alg: r.alg ?? 'sm3' }));
    }
    const [archived] = await verifyArchives(trx, input.targetAuditKey, moveId);
    if (!archived!.ok) throw new CountyMoveError(`县的审计日志校验不通过（${archived!.problem}）：未做任何更改`);

    // Before it commits: every table's rows, and the modules' totals (every round's money).
    for (const c of copied) {
      const t = tables.find((x) => x.name === c.table)!;
      const there = t.hasId
        ? await tableCount(trx, c.table, (q) => q.where('id', '>', offset).where('id', '<=', offset + sourceMax.get(c.table)!))
        : c.rows;
      if (there !== c.rows) throw new CountyMoveError(`${c.table}：应迁入 ${c.rows} 行，中心部署中只有 ${there} 行。未做任何更改。`);
    }
    const everything = () => ({ above: 0, upTo: Number.MAX_SAFE_INTEGER });
    const totals: Record<string, number> = {};
    for (const m of input.modules.filter((m) => m.totals)) {
      const was = await m.totals!(source, everything);
      const now = await m.totals!(trx, range);
      for (const key of new Set([...Object.keys(was), ...Object.keys(now)])) {
        if (was[key] !== now[key]) throw new CountyMoveError(`迁入后的合计与县的数据库不一致：${key} 应为 ${was[key] ?? '无'}，实为 ${now[key] ?? '无'}。未做任何更改。`);
      }
      Object.assign(totals, was);
    }
    useAuditKey(input.targetAuditKey);
    const rounds = totals.rounds ?? 0;
    const linesFen = totals['lines fen'] ?? 0;
    await recordAudit(
      trx,
      { userId: null, username: 'ykt-cli', regionId: countyId, ip: null },
      {
        action: 'county.move',
        objectType: 'county_move',
        objectId: moveId,
        summary: { county: county.name, code: county.code, offset, file: sourceDigest, auditRows, auditLastHash: last?.hash ?? null, rows: copied.reduce((s, c) => s + c.rows, 0), rounds, linesFen, figures: Object.keys(totals).length, reencrypted },
      },
    );
    return { moveId, countyId, countyName: county.name, offset, tables: copied, shared: sharedCounts, leftBehind, rounds, linesFen, figures: Object.keys(totals).length, auditRows, reencrypted };
  });
}

/** Whether two field keys are the same key (one's ciphertext opens with the other). */
function sameKey(a: FieldCrypto, b: FieldCrypto): boolean {
  try {
    return b.decrypt(a.encrypt('ykt-key-probe')) === 'ykt-key-probe';
  } catch {
    return false;
  }
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
