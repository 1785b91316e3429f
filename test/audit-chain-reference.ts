import { createRequire } from 'node:module';
import type { Core } from '../src/core/context.ts';
import { isPostgres } from '../src/core/db.ts';

/**
 * The audit chain as docs/audit-chain.md states it, computed the way an audit office would with its own tools:
 * the message bytes built by the rules written there (not with JSON.stringify), SM3 and HMAC-SM3 from sm-crypto
 * (not the platform's OpenSSL calls). Tests use it to check the document, to check what the platform writes,
 * and to play a database owner who recomputes the chain without the audit key.
 */
const require = createRequire(import.meta.url);
const { sm3 } = require('sm-crypto') as { sm3(input: string | number[] | Uint8Array, options?: { key: string }): string };

export const GENESIS = '0'.repeat(64);

/** A row of core_audit as the database returns it. */
export interface ChainRow {
  id: number;
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
  alg: string;
  prev_hash: string;
  hash: string;
}

const SHORT_ESCAPES: Record<number, string> = { 0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r' };

function jsonValue(v: string | number | null): string {
  if (v === null) return 'null';
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error(`not an integer: ${v}`);
    return String(v);
  }
  let out = '"';
  for (const ch of v) {
    const c = ch.codePointAt(0)!;
    out += SHORT_ESCAPES[c] ?? (c < 0x20 ? `\\u00${c.toString(16).padStart(2, '0')}` : ch);
  }
  return `${out}"`;
}

/** The message text of a row: 12 values for a keyed row, 11 (no id) for a plain one. */
export function messageText(row: Omit<ChainRow, 'hash'>): string {
  const fields = [row.at, row.user_id, row.username, row.roles, row.region_id, row.action, row.object_type, row.object_id, row.summary, row.ip];
  const values = row.alg === 'hmac-sm3' ? [row.id, row.prev_hash, ...fields] : [row.prev_hash, ...fields];
  return `[${values.map(jsonValue).join(',')}]`;
}

export const utf8 = (text: string) => new TextEncoder().encode(text);

export function referenceSm3(data: Uint8Array): string {
  return sm3(data);
}

export function referenceHmacSm3(keyHex: string, data: Uint8Array): string {
  return sm3(data, { key: keyHex });
}

/** The audit key derived from YKT_SECRET_KEY as documented, in hex. */
export function referenceAuditKey(secret: string): string {
  return referenceHmacSm3(Buffer.from(utf8(secret)).toString('hex'), utf8('ykt audit chain v1'));
}

/** A row's hash by its alg: HMAC-SM3 under keyHex, or plain SM3. */
export function referenceHash(row: Omit<ChainRow, 'hash'>, keyHex: string): string {
  const bytes = utf8(messageText(row));
  return row.alg === 'hmac-sm3' ? referenceHmacSm3(keyHex, bytes) : referenceSm3(bytes);
}

/** What an auditor's own check finds: null when every link, hash and keyed id holds, else the first bad id. */
export function referenceVerify(rows: ChainRow[], keyHex: string): number | null {
  let prev: ChainRow | null = null;
  let keyed = false;
  for (const row of rows) {
    if (row.prev_hash !== (prev?.hash ?? GENESIS)) return row.id;
    if (row.alg === 'hmac-sm3') {
      if (row.id !== (prev?.id ?? 0) + 1) return (prev?.id ?? 0) + 1;
      keyed = true;
    } else if (row.alg !== 'sm3' || keyed) return row.id;
    if (referenceHash(row, keyHex) !== row.hash) return row.id;
    prev = row;
  }
  return null;
}

/**
 * Recompute the links and hashes of rows from index `from` on, as a database owner would after an edit: with a
 * key of their own (alg 'hmac-sm3'), or as plain SM3 ('sm3'). Returns the rewritten rows.
 */
export function rechain(rows: ChainRow[], from: number, how: { keyHex: string } | 'plain'): ChainRow[] {
  const out = rows.map((r) => ({ ...r }));
  for (let i = from; i < out.length; i++) {
    const row = out[i]!;
    row.prev_hash = i === 0 ? GENESIS : out[i - 1]!.hash;
    row.alg = how === 'plain' ? 'sm3' : 'hmac-sm3';
    row.hash = referenceHash(row, how === 'plain' ? '' : how.keyHex);
  }
  return out;
}

/** The audit rows in id order, ids and numbers as numbers on both databases. */
export async function chainRows(core: Core): Promise<ChainRow[]> {
  return (await core.db('core_audit').orderBy('id')) as ChainRow[];
}

/** What a database owner can do: switch the append-only triggers off for one change. */
export async function asDatabaseOwner(core: Core, change: () => Promise<void>): Promise<void> {
  const db = core.db;
  if (isPostgres(db)) {
    await db.raw('ALTER TABLE core_audit DISABLE TRIGGER USER');
    try {
      await change();
    } finally {
      await db.raw('ALTER TABLE core_audit ENABLE TRIGGER USER');
    }
  } else {
    await db.raw('DROP TRIGGER IF EXISTS core_audit_no_update');
    await db.raw('DROP TRIGGER IF EXISTS core_audit_no_delete');
    await change();
  }
}

/** Write rewritten rows back over the stored ones (same ids). */
export async function storeRows(core: Core, rows: ChainRow[]): Promise<void> {
  for (const { id, ...rest } of rows) await core.db('core_audit').where({ id }).update(rest);
}
