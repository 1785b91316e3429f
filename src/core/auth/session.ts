import crypto from 'node:crypto';
import { type Conn, nowIso } from '../db.ts';
import { constantTimeEqual, sha256 } from '../crypto.ts';

/**
 * Sessions after lucia's published design (the npm package is deprecated; its authors publish the design to be
 * written into one's own code): the token is "<id>.<secret>", only SHA-256 of the secret is stored, the
 * comparison is constant-time, expiry slides with use, and a login always makes a new session.
 */
export const SESSION_COOKIE = 'ykt_session';
/** Absolute limit whatever the activity: a working day. */
const ABSOLUTE_HOURS = 12;
/** Write last_seen_at at most this often, so that every page view is not a write. */
const TOUCH_INTERVAL_MS = 60_000;

export interface SessionRow {
  id: string;
  user_id: number;
  secret_hash: string;
  mfa_verified: boolean;
  created_at: string;
  last_seen_at: string;
  flash: string | null;
}

function randomId(): string {
  // 120 bits in lower-case base32-like alphabet: readable in logs, nothing in it is secret.
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const bytes = crypto.randomBytes(24);
  return Array.from(bytes, (b) => alphabet[b % 32]).join('');
}

export async function createSession(
  db: Conn,
  userId: number,
  meta: { mfaVerified: boolean; ip: string | null; userAgent: string | null },
): Promise<{ token: string; id: string }> {
  const id = randomId();
  const secret = crypto.randomBytes(32).toString('base64url');
  const now = nowIso();
  await db('core_session').insert({
    id,
    user_id: userId,
    secret_hash: sha256(secret).toString('hex'),
    mfa_verified: meta.mfaVerified,
    created_at: now,
    last_seen_at: now,
    ip: meta.ip,
    user_agent: meta.userAgent?.slice(0, 200) ?? null,
  });
  return { token: `${id}.${secret}`, id };
}

/** The session of a token if it is genuine and alive; slides its expiry. Expired sessions are deleted. */
export async function validateSessionToken(db: Conn, token: string, idleMinutes: number): Promise<SessionRow | null> {
  const [id, secret] = token.split('.');
  if (!id || !secret || id.length > 32 || secret.length > 64) return null;
  const row = (await db('core_session').where({ id }).first()) as SessionRow | undefined;
  if (!row) return null;
  if (!constantTimeEqual(sha256(secret), Buffer.from(row.secret_hash, 'hex'))) return null;
  const now = Date.now();
  const lastSeen = Date.parse(row.last_seen_at);
  if (now - lastSeen > idleMinutes * 60_000 || now - Date.parse(row.created_at) > ABSOLUTE_HOURS * 3_600_000) {
    await db('core_session').where({ id }).delete();
    return null;
  }
  if (now - lastSeen > TOUCH_INTERVAL_MS) {
    row.last_seen_at = new Date(now).toISOString();
    await db('core_session').where({ id }).update({ last_seen_at: row.last_seen_at });
  }
  return { ...row, mfa_verified: Boolean(row.mfa_verified) };
}

export async function invalidateSession(db: Conn, id: string): Promise<void> {
  await db('core_session').where({ id }).delete();
}

export async function invalidateUserSessions(db: Conn, userId: number, exceptId?: string): Promise<void> {
  const q = db('core_session').where({ user_id: userId });
  if (exceptId) q.whereNot({ id: exceptId });
  await q.delete();
}

/** Delete sessions idle past the limit or past the absolute limit (the scheduler's cleanup task). */
export async function deleteExpiredSessions(db: Conn, idleMinutes: number, now = Date.now()): Promise<number> {
  const idleCutoff = new Date(now - idleMinutes * 60_000).toISOString();
  const absoluteCutoff = new Date(now - ABSOLUTE_HOURS * 3_600_000).toISOString();
  return db('core_session').where('last_seen_at', '<', idleCutoff).orWhere('created_at', '<', absoluteCutoff).delete();
}

export async function markSessionMfaVerified(db: Conn, id: string): Promise<void> {
  await db('core_session').where({ id }).update({ mfa_verified: true });
}

export interface Flash {
  kind: 'success' | 'error' | 'info';
  message: string;
}

export async function setFlash(db: Conn, sessionId: string, flash: Flash): Promise<void> {
  await db('core_session').where({ id: sessionId }).update({ flash: JSON.stringify(flash) });
}

export async function takeFlash(db: Conn, session: SessionRow): Promise<Flash | null> {
  if (!session.flash) return null;
  await db('core_session').where({ id: session.id }).update({ flash: null });
  return JSON.parse(session.flash) as Flash;
}
