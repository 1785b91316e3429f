import type { Core } from '../context.ts';
import { recordAudit } from '../audit.ts';
import { inTransaction, nowIso } from '../db.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import { dummyPasswordHash, hashPassword, passwordPolicyError, verifyPassword } from './password.ts';
import { type Actor, type Role, requiresTotp } from './roles.ts';
import { createSession, invalidateUserSessions, markSessionMfaVerified } from './session.ts';
import { claimLoginAttempt, releaseLoginAttempt } from './throttle.ts';
import { acceptedTotpStep, newTotpSecret } from './totp.ts';

interface UserAuthRow {
  id: number;
  username: string;
  password_hash: string;
  region_id: number;
  must_change_password: boolean;
  totp_secret_enc: string | null;
  totp_enabled: boolean;
  totp_last_step: number | null;
  disabled: boolean;
}

export type LoginResult =
  | { kind: 'ok'; token: string; sessionId: string; userId: number }
  | { kind: 'invalid' }
  | { kind: 'throttled'; until: string }
  | { kind: 'disabled' };

async function rolesOf(core: Core, userId: number): Promise<Role[]> {
  const rows: { role: Role }[] = await core.db('core_user_role').where({ user_id: userId }).select('role');
  return rows.map((r) => r.role);
}

const waitSeconds = (until: number, now: number) => Math.ceil((until - now) / 1000);

/**
 * Password step of a login, throttled by source (`throttle.ts`): while the address or this username at this
 * address must wait, the attempt is refused without the password being checked. An unknown username gets the
 * same answer after the same work (a password check against a dummy hash) as a wrong password, and is throttled
 * alike; a disabled account says so only to the right password. Every attempt, successful or not, writes an
 * audit row. A success always creates a new session (a new id), whose second factor is still pending if the
 * user has one enrolled (and this is not demo mode). `now` is the clock (tests pass their own).
 */
export async function login(
  core: Core,
  input: { username: string; password: string; ip: string | null; userAgent: string | null },
  now = Date.now(),
): Promise<LoginResult> {
  const username = input.username.trim();
  const source = { username, address: input.ip };
  const user = (await core.db('core_user').where({ username }).first()) as UserAuthRow | undefined;
  const roles = await rolesOf(core, user?.id ?? 0);
  const who = { userId: user?.id ?? null, username: username.slice(0, 40) || null, regionId: user?.region_id ?? null, ip: input.ip, roles };
  const userObject = user ? ({ objectType: 'user', objectId: user.id } as const) : {};

  const claim = await inTransaction(core.db, async (trx) => {
    const answer = await claimLoginAttempt(trx, source, now);
    if (answer.kind === 'throttled') {
      await recordAudit(trx, who, { action: 'login.failure', ...userObject, summary: { reason: 'throttled', wait_seconds: waitSeconds(answer.until, now) } });
    }
    return answer;
  });
  if (claim.kind === 'throttled') return { kind: 'throttled', until: new Date(claim.until).toISOString() };

  const passwordOk = await verifyPassword(input.password, user?.password_hash ?? (await dummyPasswordHash(core.config.scryptLogN)));
  if (!user || !passwordOk) {
    await inTransaction(core.db, (trx) =>
      recordAudit(trx, who, { action: 'login.failure', ...userObject, summary: { reason: user ? 'wrong_password' : 'unknown_user', failed: claim.failures } }),
    );
    return { kind: 'invalid' };
  }
  if (user.disabled) {
    await inTransaction(core.db, async (trx) => {
      await releaseLoginAttempt(trx, source, claim, false);
      await recordAudit(trx, who, { action: 'login.failure', ...userObject, summary: { reason: 'disabled' } });
    });
    return { kind: 'disabled' };
  }

  return inTransaction(core.db, async (trx) => {
    const mfaPending = Boolean(user.totp_enabled) && !core.config.demo;
    await releaseLoginAttempt(trx, source, claim, !mfaPending);
    await trx('core_user').where({ id: user.id }).update({ last_login_at: nowIso() });
    const session = await createSession(trx, user.id, { mfaVerified: !mfaPending, ip: input.ip, userAgent: input.userAgent });
    await recordAudit(trx, who, { action: 'login.success', ...userObject, summary: { second_factor: mfaPending ? 'pending' : 'not_required' } });
    return { kind: 'ok', token: session.token, sessionId: session.id, userId: user.id };
  });
}

export type TotpLoginResult = { kind: 'ok' } | { kind: 'invalid' } | { kind: 'throttled'; until: string };

/**
 * Second step of a login: a TOTP code from the user's authenticator. Throttled like the password step, on the
 * same counters (the actor's address, the username there, the username everywhere); a wrong code counts as a
 * failure, and a right one completes the login and clears the username's failures at this address.
 */
export async function verifyLoginTotp(core: Core, actor: Actor, sessionId: string, code: string, now = Date.now()): Promise<TotpLoginResult> {
  const source = { username: actor.username, address: actor.ip };
  const claim = await inTransaction(core.db, async (trx) => {
    const answer = await claimLoginAttempt(trx, source, now);
    if (answer.kind === 'throttled') {
      await recordAudit(trx, actor, { action: 'login.totp.failure', objectType: 'user', objectId: actor.userId, summary: { reason: 'throttled', wait_seconds: waitSeconds(answer.until, now) } });
    }
    return answer;
  });
  if (claim.kind === 'throttled') return { kind: 'throttled', until: new Date(claim.until).toISOString() };

  const user = (await core.db('core_user').where({ id: actor.userId }).first()) as UserAuthRow;
  const step = user.totp_secret_enc && user.totp_enabled ? acceptedTotpStep(core.crypto.decrypt(user.totp_secret_enc), code, now) : null;
  return inTransaction(core.db, async (trx) => {
    if (step !== null) {
      // Accept a step once: the conditional update fails if this code (or a later one) was already used.
      const updated = await trx('core_user')
        .where({ id: user.id })
        .andWhere((q) => q.whereNull('totp_last_step').orWhere('totp_last_step', '<', step))
        .update({ totp_last_step: step });
      if (updated === 1) {
        await releaseLoginAttempt(trx, source, claim, true);
        await markSessionMfaVerified(trx, sessionId);
        await recordAudit(trx, actor, { action: 'login.totp.success', objectType: 'user', objectId: user.id });
        return { kind: 'ok' };
      }
    }
    await recordAudit(trx, actor, { action: 'login.totp.failure', objectType: 'user', objectId: user.id, summary: { reason: 'wrong_code', failed: claim.failures } });
    return { kind: 'invalid' };
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
