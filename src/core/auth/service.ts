import type { Core } from '../context.ts';
import { recordAudit } from '../audit.ts';
import { inTransaction, nowIso } from '../db.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import { dummyPasswordHash, hashPassword, passwordPolicyError, verifyPassword } from './password.ts';
import { type Actor, type Role, requiresTotp } from './roles.ts';
import { createSession, invalidateUserSessions, markSessionMfaVerified } from './session.ts';
import { acceptedTotpStep, newTotpSecret } from './totp.ts';

export const MAX_FAILED_LOGINS = 5;
export const LOCK_MINUTES = 15;

interface UserAuthRow {
  id: number;
  username: string;
  password_hash: string;
  region_id: number;
  must_change_password: boolean;
  totp_secret_enc: string | null;
  totp_enabled: boolean;
  totp_last_step: number | null;
  failed_logins: number;
  locked_until: string | null;
  disabled: boolean;
}

export type LoginResult =
  | { kind: 'ok'; token: string; sessionId: string; userId: number }
  | { kind: 'invalid' }
  | { kind: 'locked'; until: string }
  | { kind: 'disabled' };

async function rolesOf(core: Core, userId: number): Promise<Role[]> {
  const rows: { role: Role }[] = await core.db('core_user_role').where({ user_id: userId }).select('role');
  return rows.map((r) => r.role);
}

/**
 * Password step of a login. Five wrong passwords in a row lock the account for 15 minutes. Every attempt,
 * successful or not, writes an audit row. A success always creates a new session (a new id), whose second
 * factor is still pending if the user has one enrolled (and this is not demo mode).
 */
export async function login(
  core: Core,
  input: { username: string; password: string; ip: string | null; userAgent: string | null },
): Promise<LoginResult> {
  const username = input.username.trim();
  const user = (await core.db('core_user').where({ username }).first()) as UserAuthRow | undefined;
  const anonymous = { userId: user?.id ?? null, username: username.slice(0, 40) || null, regionId: user?.region_id ?? null, ip: input.ip };

  if (!user) {
    await verifyPassword(input.password, await dummyPasswordHash(core.config.scryptLogN));
    await inTransaction(core.db, (trx) => recordAudit(trx, anonymous, { action: 'login.failure', summary: { reason: 'unknown_user' } }));
    return { kind: 'invalid' };
  }
  const roles = await rolesOf(core, user.id);
  const who = { ...anonymous, roles };
  if (user.disabled) {
    await inTransaction(core.db, (trx) => recordAudit(trx, who, { action: 'login.failure', objectType: 'user', objectId: user.id, summary: { reason: 'disabled' } }));
    return { kind: 'disabled' };
  }
  if (user.locked_until && Date.parse(user.locked_until) > Date.now()) {
    await inTransaction(core.db, (trx) => recordAudit(trx, who, { action: 'login.failure', objectType: 'user', objectId: user.id, summary: { reason: 'locked' } }));
    return { kind: 'locked', until: user.locked_until };
  }

  const passwordOk = await verifyPassword(input.password, user.password_hash);
  if (!passwordOk) {
    return inTransaction(core.db, async (trx) => {
      await trx('core_user').where({ id: user.id }).increment('failed_logins', 1);
      const { failed_logins } = await trx('core_user').where({ id: user.id }).select('failed_logins').first();
      let result: LoginResult = { kind: 'invalid' };
      if (failed_logins >= MAX_FAILED_LOGINS) {
        const until = new Date(Date.now() + LOCK_MINUTES * 60_000).toISOString();
        await trx('core_user').where({ id: user.id }).update({ locked_until: until, failed_logins: 0 });
        result = { kind: 'locked', until };
      }
      await recordAudit(trx, who, {
        action: 'login.failure',
        objectType: 'user',
        objectId: user.id,
        summary: { reason: 'wrong_password', failed: Number(failed_logins), locked: result.kind === 'locked' },
      });
      return result;
    });
  }

  return inTransaction(core.db, async (trx) => {
    const now = nowIso();
    await trx('core_user').where({ id: user.id }).update({ failed_logins: 0, locked_until: null, last_login_at: now });
    const mfaPending = Boolean(user.totp_enabled) && !core.config.demo;
    const session = await createSession(trx, user.id, { mfaVerified: !mfaPending, ip: input.ip, userAgent: input.userAgent });
    await recordAudit(trx, who, { action: 'login.success', objectType: 'user', objectId: user.id, summary: { second_factor: mfaPending ? 'pending' : 'not_required' } });
    return { kind: 'ok', token: session.token, sessionId: session.id, userId: user.id };
  });
}

/** Second step of a login: a TOTP code from the user's authenticator. Wrong codes count toward the lock. */
export async function verifyLoginTotp(core: Core, actor: Actor, sessionId: string, code: string): Promise<boolean> {
  const user = (await core.db('core_user').where({ id: actor.userId }).first()) as UserAuthRow;
  const step = user.totp_secret_enc && user.totp_enabled ? acceptedTotpStep(core.crypto.decrypt(user.totp_secret_enc), code) : null;
  return inTransaction(core.db, async (trx) => {
    if (step !== null) {
      // Accept a step once: the conditional update fails if this code (or a later one) was already used.
      const updated = await trx('core_user')
        .where({ id: user.id })
        .andWhere((q) => q.whereNull('totp_last_step').orWhere('totp_last_step', '<', step))
        .update({ totp_last_step: step, failed_logins: 0 });
      if (updated === 1) {
        await markSessionMfaVerified(trx, sessionId);
        await recordAudit(trx, actor, { action: 'login.totp.success', objectType: 'user', objectId: user.id });
        return true;
      }
    }
    await trx('core_user').where({ id: user.id }).increment('failed_logins', 1);
    const { failed_logins } = await trx('core_user').where({ id: user.id }).select('failed_logins').first();
    const locked = failed_logins >= MAX_FAILED_LOGINS;
    if (locked) {
      await trx('core_user').where({ id: user.id }).update({ locked_until: new Date(Date.now() + LOCK_MINUTES * 60_000).toISOString(), failed_logins: 0 });
      await invalidateUserSessions(trx, user.id);
    }
    await recordAudit(trx, actor, { action: 'login.totp.failure', objectType: 'user', objectId: user.id, summary: { failed: Number(failed_logins), locked } });
    return false;
  });
}

/** The step a logged-in user must take before anything else, or null. */
export type PendingStep = 'totp' | 'password' | 'enrol_totp' | null;

export function pendingStep(
  core: Core,
  user: { must_change_password: boolean; totp_enabled: boolean },
  roles: readonly Role[],
  session: { mfa_verified: boolean },
): PendingStep {
  if (!session.mfa_verified) return 'totp';
  if (user.must_change_password && !core.config.demo) return 'password';
  if (!user.totp_enabled && requiresTotp(roles) && !core.config.demo) return 'enrol_totp';
  return null;
}

export async function changeOwnPassword(
  core: Core,
  actor: Actor,
  sessionId: string,
  input: { current: string; next: string; confirm: string },
): Promise<void> {
  const user = (await core.db('core_user').where({ id: actor.userId }).first()) as UserAuthRow;
  const errors: Record<string, string> = {};
  if (!(await verifyPassword(input.current, user.password_hash))) errors.current = '当前密码不正确';
  const policy = passwordPolicyError(input.next, actor.username);
  if (policy) errors.next = policy;
  else if (input.next === input.current) errors.next = '新密码不能与当前密码相同';
  if (input.confirm !== input.next) errors.confirm = '两次输入的新密码不一致';
  if (Object.keys(errors).length) {
    if (errors.current) {
      await inTransaction(core.db, (trx) => recordAudit(trx, actor, { action: 'password.change.failure', objectType: 'user', objectId: actor.userId, summary: { reason: 'wrong_current' } }));
    }
    throw new ValidationError(errors);
  }
  const hash = await hashPassword(input.next, core.config.scryptLogN);
  await inTransaction(core.db, async (trx) => {
    await trx('core_user').where({ id: actor.userId }).update({ password_hash: hash, must_change_password: false, password_changed_at: nowIso(), updated_at: nowIso() });
    await invalidateUserSessions(trx, actor.userId, sessionId);
    await recordAudit(trx, actor, { action: 'password.change', objectType: 'user', objectId: actor.userId });
  });
}

/**
 * A new TOTP secret for enrolment, and the same secret sealed (field-encrypted with the user's id) for the
 * confirmation form to carry back: nothing is stored until the user proves the authenticator works.
 */
export async function newTotpEnrolment(core: Core, actor: Actor): Promise<{ secret: string; sealed: string }> {
  const user = (await core.db('core_user').where({ id: actor.userId }).first()) as UserAuthRow;
  if (user.totp_enabled) throw new ConflictError('您已启用动态口令；如需更换手机，请联系系统管理员重置');
  const secret = newTotpSecret();
  return { secret, sealed: core.crypto.encrypt(`${actor.userId}:${secret}`) };
}

/** The secret inside a sealed enrolment, if it was sealed for this user. */
export function unsealTotpEnrolment(core: Core, actor: Actor, sealed: string): string | null {
  try {
    const [userId, secret] = core.crypto.decrypt(sealed).split(':');
    return Number(userId) === actor.userId && secret ? secret : null;
  } catch {
    return null;
  }
}

/** Confirm enrolment with a code from the authenticator: the secret is stored encrypted and enabled. */
export async function confirmTotpEnrolment(core: Core, actor: Actor, sessionId: string, input: { sealed: string; code: string }): Promise<void> {
  const secret = unsealTotpEnrolment(core, actor, input.sealed);
  if (!secret) throw new ConflictError('绑定二维码已失效，请刷新页面后重新扫描');
  const step = acceptedTotpStep(secret, input.code);
  if (step === null) throw new ValidationError({ code: '动态口令不正确，请核对手机上显示的 6 位数字' });
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('core_user')
      .where({ id: actor.userId, totp_enabled: false })
      .update({ totp_enabled: true, totp_secret_enc: core.crypto.encrypt(secret), totp_last_step: step, updated_at: nowIso() });
    if (updated !== 1) throw new ConflictError('您已启用动态口令');
    await markSessionMfaVerified(trx, sessionId);
    await recordAudit(trx, actor, { action: 'totp.enrol', objectType: 'user', objectId: actor.userId });
  });
}
