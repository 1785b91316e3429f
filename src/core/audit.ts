import { type Actor, hasRole } from './auth/roles.ts';
import type { Knex } from 'knex';
import { type Conn, type Db, type Tx, inTransaction, isPostgres, nowIso } from './db.ts';
import { sm3Hex } from './crypto.ts';
import { startOfBusinessDateIso } from './dates.ts';
import { ForbiddenError } from './errors.ts';
import { scrubPersonalData } from './mask.ts';

/**
 * The audit log: one append-only row per state change and per login attempt, written in the same transaction
 * as the change. Each row's hash is SM3(previous hash + the row's fields), so removing or editing a row breaks
 * the chain, which `ykt verify-audit` detects.
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
  prev_hash: string;
  hash: string;
}

function rowHash(prevHash: string, f: AuditRowFields): string {
  return sm3Hex(
    JSON.stringify([prevHash, f.at, f.user_id, f.username, f.roles, f.region_id, f.action, f.object_type, f.object_id, f.summary, f.ip]),
  );
}

export async function recordAudit(trx: Tx, who: AuditWho, entry: AuditEntry): Promise<void> {
  if (isPostgres(trx)) await trx.raw('SELECT pg_advisory_xact_lock(?)', [AUDIT_LOCK_KEY]);
  const last = (await trx('core_audit').select('hash').orderBy('id', 'desc').first()) as { hash: string } | undefined;
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
  await trx('core_audit').insert({ ...fields, prev_hash: prevHash, hash: rowHash(prevHash, fields) });
}

export interface AuditVerification {
  ok: boolean;
  checked: number;
  /** The first row whose link or hash does not hold, with the reason in Chinese. */
  firstBad: { id: number; reason: string } | null;
  lastId: number | null;
  lastHash: string | null;
}

/** Walk the whole chain in id order, in pages, recomputing every hash. */
export async function verifyAuditChain(db: Conn, pageSize = 5000): Promise<AuditVerification> {
  let prevHash = GENESIS;
  let afterId = 0;
  let checked = 0;
  for (;;) {
    const rows = (await db('core_audit').where('id', '>', afterId).orderBy('id').limit(pageSize)) as AuditRow[];
    if (rows.length === 0) break;
    for (const row of rows) {
      if (row.prev_hash !== prevHash) {
        return { ok: false, checked, firstBad: { id: Number(row.id), reason: '与前一条记录的链接断开（前面的记录被删除或修改）' }, lastId: afterId || null, lastHash: prevHash };
      }
      const expected = rowHash(row.prev_hash, { ...row, user_id: row.user_id == null ? null : Number(row.user_id), region_id: row.region_id == null ? null : Number(row.region_id) });
      if (expected !== row.hash) {
        return { ok: false, checked, firstBad: { id: Number(row.id), reason: '记录内容与其哈希不符（该记录被修改）' }, lastId: afterId || null, lastHash: prevHash };
      }
      prevHash = row.hash;
      afterId = Number(row.id);
      checked++;
    }
  }
  return { ok: true, checked, firstBad: null, lastId: afterId || null, lastHash: checked ? prevHash : null };
}

export interface AuditFilter {
  /** Rows of these action codes only. */
  actions?: string[];
  /** Rows about this one object only. */
  object?: { type: string; id: string };
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
  if (filter.actions) q.whereIn('action', filter.actions);
  if (filter.object) q.where({ object_type: filter.object.type, object_id: filter.object.id });
  if (filter.username) q.where('username', filter.username);
  if (filter.from) q.where('at', '>=', startOfBusinessDateIso(filter.from));
  if (filter.to) q.where('at', '<', new Date(Date.parse(startOfBusinessDateIso(filter.to)) + 86_400_000).toISOString());
  return read(q);
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
