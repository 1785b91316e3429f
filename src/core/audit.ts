import { type Actor, hasRole } from './auth/roles.ts';
import type { Knex } from 'knex';
import { auditKeyInUse } from './audit-key.ts';
import { type Conn, type Db, type Tx, inTransaction, isPostgres, nowIso } from './db.ts';
import { hmacSm3, sm3Hex } from './crypto.ts';
import { startOfBusinessDateIso } from './dates.ts';
import { ForbiddenError, NotFoundError } from './errors.ts';
import { scrubPersonalData } from './mask.ts';

/**
 * The audit log: one append-only row per state change and per login attempt, written in the same transaction
 * as the change. The rows form a chain: ids run 1, 2, 3 … without holes, and each row's hash is HMAC-SM3 under
 * the audit key (src/core/audit-key.ts) of its id, the previous row's hash and its own fields, so that editing,
 * removing or renumbering a row breaks the chain and nobody without the audit key, the database's administrator
 * included, can recompute it. docs/audit-chain.md states the exact bytes. Rows written before the chain was keyed
 * keep their plain SM3 hashes (alg 'sm3'); the first keyed row links to the last of them. What the chain alone
 * cannot show, rows cut from its end, the anchor shows (src/core/audit-anchor.ts).
 */
const GENESIS = '0'.repeat(64);
/** pg_advisory_xact_lock key that serializes appends, so that the chain has one order. */
const AUDIT_LOCK_KEY = 7_005_002;

export interface AuditEntry {
  action: string;
  objectType?: string;
  objectId?: string | number | null;
  /** Before/after summary or details; personal data is masked before it is stored. */
  summary?: Record<string, unknown>;
}

/** Who did it: a logged-in actor, or what is known of an anonymous attempt. */
export type AuditWho =
  | Actor
  | { userId: number | null; username: string | null; roles?: string[]; regionId?: number | null; ip: string | null };

/**
 * Who a `ykt` command that acts on the whole deployment is in the audit log (a key's rotation): the command, filed
 * under the root of the region tree, so that every auditor above it reads the row.
 */
export async function deploymentAuditor(trx: Tx): Promise<AuditWho> {
  const root = (await trx('core_region').whereNull('parent_id').orderBy('id').first('id')) as { id: number } | undefined;
  return { userId: null, username: 'ykt-cli', regionId: root?.id ?? null, ip: null };
}

interface AuditRowFields {
  at: string;
  user_id: number | null;
  username: string | null;
  roles: string | null;
  region_id: number | null;
  action: string;
  object_type: string | null;
  object_id: string | null;
  summary: string;
  ip: string | null;
}

export interface AuditRow extends AuditRowFields {
  id: number;
  /** How the hash was made: 'hmac-sm3' (keyed), or 'sm3' for the rows written before the chain was keyed. */
  alg: string;
  prev_hash: string;
  hash: string;
}

const fieldValues = (f: AuditRowFields) => [f.at, f.user_id, f.username, f.roles, f.region_id, f.action, f.object_type, f.object_id, f.summary, f.ip];

/** A row written before the chain was keyed: SM3 of the JSON array [prev_hash, fields …] in UTF-8. */
function plainHash(prevHash: string, f: AuditRowFields): string {
  return sm3Hex(JSON.stringify([prevHash, ...fieldValues(f)]));
}

/** HMAC-SM3 under the audit key of the JSON array [id, prev_hash, fields …] in UTF-8 (docs/audit-chain.md). */
function keyedHash(key: Buffer, id: number, prevHash: string, f: AuditRowFields): string {
  return hmacSm3(key, JSON.stringify([id, prevHash, ...fieldValues(f)])).toString('hex');
}

export async function recordAudit(trx: Tx, who: AuditWho, entry: AuditEntry): Promise<void> {
  const key = auditKeyInUse();
  if (isPostgres(trx)) await trx.raw('SELECT pg_advisory_xact_lock(?)', [AUDIT_LOCK_KEY]);
  // The id is the last one plus one, taken under the lock (on SQLite under the write lock every transaction takes
  // at its start), not from a sequence: PostgreSQL's would leave a hole for each rolled-back transaction.
  const last = (await trx('core_audit').select('id', 'hash').orderBy('id', 'desc').first()) as { id: number; hash: string } | undefined;
  const id = (last?.id ?? 0) + 1;
  const prevHash = last?.hash ?? GENESIS;
  const regionId = 'regionPath' in who ? who.regionId : (who.regionId ?? null);
  const fields: AuditRowFields = {
    at: nowIso(),
    user_id: who.userId,
    username: who.username,
    roles: who.roles?.join(',') || null,
    region_id: regionId,
    action: entry.action,
    object_type: entry.objectType ?? null,
    object_id: entry.objectId == null ? null : String(entry.objectId),
    summary: scrubPersonalData(JSON.stringify(entry.summary ?? {})),
    ip: who.ip,
  };
  await trx('core_audit').insert({ id, ...fields, alg: 'hmac-sm3', prev_hash: prevHash, hash: keyedHash(key, id, prevHash, fields) });
}

/** The last row an earlier verification saw (its id and hash): the chain must still hold it, unchanged. */
export interface AuditAnchorPoint {
  lastId: number;
  lastHash: string;
}

export interface AuditVerification {
  ok: boolean;
  checked: number;
  /** The first row whose link, hash or number does not hold (or the anchored row), with the reason in Chinese. */
  firstBad: { id: number; reason: string } | null;
  /** What is wrong, one Chinese sentence naming the rows; null when the chain holds. */
  problem: string | null;
  lastId: number | null;
  lastHash: string | null;
}

export interface VerifyOptions {
  /** The audit key; by default the one this process writes with. */
  key?: Buffer;
  /** Rows earlier verifications saw last (src/core/audit-anchor.ts). */
  anchors?: AuditAnchorPoint[];
  pageSize?: number;
  /** The rows of the chain: core_audit by default, or a moved county's archived chain (core/county-move.ts). */
  rows?: (db: Conn) => Knex.QueryBuilder;
}

const idRange = (from: number, to: number) => (to > from ? `第 ${from}–${to} 号记录` : `第 ${from} 号记录`);

/**
 * Walk the whole chain in id order, in pages, recomputing every hash: each row links to the one before it, its
 * hash holds, a keyed row's id follows the previous row's without a hole (and no plain row follows a keyed one),
 * and every anchor's row is there with the hash it had.
 */
export async function verifyAuditChain(db: Conn, options: VerifyOptions = {}): Promise<AuditVerification> {
  const key = options.key ?? auditKeyInUse();
  const pending = [...(options.anchors ?? [])].sort((a, b) => a.lastId - b.lastId);
  let prevHash = GENESIS;
  let prevId = 0;
  let keyed = false;
  let checked = 0;
  const fail = (id: number, reason: string, problem = `第 ${id} 号记录：${reason}`): AuditVerification => ({
    ok: false,
    checked,
    firstBad: { id, reason },
    problem,
    lastId: prevId || null,
    lastHash: prevId ? prevHash : null,
  });
  const anchorGone = (anchor: AuditAnchorPoint, reason: string, detail: string) =>
    fail(anchor.lastId, reason, `上次校验时的最后一条记录（第 ${anchor.lastId} 号）已被删除或修改：${detail}`);
  for (;;) {
    const rows = (await (options.rows?.(db) ?? db('core_audit')).where('id', '>', prevId).orderBy('id').limit(options.pageSize ?? 5000)) as AuditRow[];
    if (rows.length === 0) break;
    for (const row of rows) {
      const { id } = row;
      // A database not migrated yet has no alg column: all its rows are plain.
      const alg = row.alg ?? 'sm3';
      const hole = alg === 'hmac-sm3' && id !== prevId + 1 ? idRange(prevId + 1, id - 1) : null;
      if (row.prev_hash !== prevHash) {
        const reason = '与前一条记录的链接断开（前面的记录被删除或修改）';
        return fail(id, reason, hole ? `${hole}缺失（被删除）：第 ${id} 号记录${reason}` : undefined);
      }
      if (alg === 'hmac-sm3') {
        if (keyedHash(key, id, row.prev_hash, row) !== row.hash) {
          // Once a keyed row has held, the key is right: a later mismatch is an edited row.
          return fail(id, keyed ? '记录内容与其哈希不符（该记录被修改）' : '记录内容与其哈希不符（该记录被修改，或所用的审计密钥不对）');
        }
        keyed = true;
      } else if (alg === 'sm3') {
        if (keyed) return fail(id, '带密钥的记录之后出现不带密钥的旧式记录（记录被改写）');
        if (plainHash(row.prev_hash, row) !== row.hash) return fail(id, '记录内容与其哈希不符（该记录被修改）');
      } else {
        return fail(id, `哈希算法标记“${alg}”无法识别（该记录被修改）`);
      }
      if (hole) return fail(prevId + 1, '该记录缺失（编号不连续，记录被删除）', `${hole}缺失（编号不连续，记录被删除）`);
      while (pending.length && pending[0]!.lastId <= id) {
        const anchor = pending.shift()!;
        if (anchor.lastId < id) return anchorGone(anchor, '该记录缺失（记录被删除）', '该记录缺失');
        if (anchor.lastHash !== row.hash) return anchorGone(anchor, '哈希与上次校验的锚点不符（该记录被修改，或链条被重新计算）', '其哈希与锚点不符');
      }
      prevHash = row.hash;
      prevId = id;
      checked++;
    }
  }
  if (pending.length) {
    const anchor = pending[0]!;
    return anchorGone(anchor, '该记录缺失（末尾的记录被删除）', prevId ? `日志现在只到第 ${prevId} 号（末尾的记录被删除）` : '日志现在是空的（记录被删除）');
  }
  return { ok: true, checked, firstBad: null, problem: null, lastId: prevId || null, lastHash: checked ? prevHash : null };
}

export interface AuditFilter {
  /** Rows of these action codes only. */
  actions?: string[];
  /** Rows about this one object only. */
  object?: { type: string; id: string };
  /** Rows about objects of this kind only (any id). */
  objectType?: string;
  username?: string | null;
  /** Business dates (Shanghai), inclusive. */
  from?: string | null;
  to?: string | null;
}

/**
 * The audit log as the audit administrator reads it: only that role (三权分立; the system administrator is
 * refused and the refusal is itself logged), only rows of their region subtree, plus the rows that belong to
 * no region (login attempts with unknown user names, refused forged requests): those name no person and are
 * what every auditor needs to see attacks on the platform. `read` takes the filtered query (a page of it, or all
 * of it for an export: core/lists.ts).
 */
export async function listAudit<T>(db: Db, actor: Actor, filter: AuditFilter, read: (query: Knex.QueryBuilder) => Promise<T>): Promise<T> {
  await requireAuditor(db, actor);
  const q = db('core_audit').where((w) =>
    w.whereIn('region_id', db('core_region').select('id').where('path', 'like', `${actor.regionPath}%`)).orWhereNull('region_id'),
  );
  return read(filtered(q, filter));
}

/** A county moved onto this deployment, whose audit log from before is archived (core/audit-archive.ts). */
export interface ArchivedLog {
  id: number;
  countyName: string;
  movedAt: string;
  offset: number;
  rows: number;
}

/** The moved counties whose archived logs the auditor may read: those in the auditor's region subtree. */
export async function archivedLogs(db: Db, actor: Actor): Promise<ArchivedLog[]> {
  if (!hasRole(actor, 'auditor')) return [];
  const rows = (await db('core_county_move as m')
    .join('core_region as c', 'c.id', 'm.county_id')
    .where('c.path', 'like', `${actor.regionPath}%`)
    .orderBy('m.id')
    .select('m.id', 'm.county_name', 'm.moved_at', 'm.id_offset', 'm.audit_rows')) as { id: number; county_name: string; moved_at: string; id_offset: number; audit_rows: number }[];
  return rows.map((r) => ({ id: r.id, countyName: r.county_name, movedAt: r.moved_at, offset: Number(r.id_offset), rows: Number(r.audit_rows) }));
}

/**
 * A moved county's archived log, as listAudit reads the deployment's: the auditor only, the county in the auditor's
 * subtree (another county's archive is not found), the same filters. Its rows keep the county's own ids.
 */
export async function listArchivedAudit<T>(db: Db, actor: Actor, moveId: number, filter: AuditFilter, read: (query: Knex.QueryBuilder) => Promise<T>): Promise<{ log: ArchivedLog; result: T }> {
  await requireAuditor(db, actor);
  const log = (await archivedLogs(db, actor)).find((l) => l.id === moveId);
  if (!log) throw new NotFoundError('没有这份迁入前的审计日志，或它不在您的管辖范围内');
  return { log, result: await read(filtered(db('core_audit_archive').where('move_id', moveId), filter)) };
}

function filtered(q: Knex.QueryBuilder, filter: AuditFilter): Knex.QueryBuilder {
  if (filter.actions) q.whereIn('action', filter.actions);
  if (filter.object) q.where({ object_type: filter.object.type, object_id: filter.object.id });
  else if (filter.objectType) q.where('object_type', filter.objectType);
  if (filter.username) q.where('username', filter.username);
  if (filter.from) q.where('at', '>=', startOfBusinessDateIso(filter.from));
  if (filter.to) q.where('at', '<', new Date(Date.parse(startOfBusinessDateIso(filter.to)) + 86_400_000).toISOString());
  return q;
}

export async function requireAuditor(db: Db, actor: Actor): Promise<void> {
  if (hasRole(actor, 'auditor')) return;
  await refuse(db, actor, { objectType: 'audit_log', summary: { reason: 'not_auditor' } }, '审计日志仅审计管理员可以查看（三权分立）');
}

/**
 * Refuse a request for something outside the actor's role or scope: the `access.denied` audit row is written in
 * a transaction of its own (the refusal changes nothing else), then the 403 with the Chinese message is thrown.
 */
export async function refuse(db: Db, actor: Actor, entry: Omit<AuditEntry, 'action'>, message: string): Promise<never> {
  await recordRefusal(db, actor, entry);
  throw new ForbiddenError(message);
}

/** The `access.denied` row of a refusal, in a transaction of its own; the caller says how it answers. */
export async function recordRefusal(db: Db, actor: Actor, entry: Omit<AuditEntry, 'action'>): Promise<void> {
  await inTransaction(db, (trx) => recordAudit(trx, actor, { action: 'access.denied', ...entry }));
}
