import { type Conn, type Tx, isPostgres } from '../db.ts';

/**
 * Login throttling (README, "Security, as built"): failures are counted in `core_login_throttle`, in the
 * database so that a restart does not reset them and several instances share them. Three counters:
 *
 * - the source address, whatever the usernames tried: 10 failures are free, then every further attempt from
 *   that address waits 1 s after the last failure, then 2 s, 4 s … at most 15 minutes;
 * - a username at one address: 5 free, then the same growing wait — so a guesser at another address never
 *   makes the administrator or the treasury wait at their own office;
 * - a username from all addresses: 20 free, then the same growing wait, but only for addresses that have
 *   themselves failed for that username. It slows guessing spread over many addresses to one try per address
 *   and never refuses a login from an address with no failure for it.
 *
 * The username is counted as typed, whether or not such a user exists, so the answers never reveal which
 * accounts exist. A counter with no failure for an hour starts again from zero. An attempt counts as a failure
 * from the moment it is let through, before its password is checked, so a burst of parallel requests cannot
 * slip past the counters; a login that succeeds gives its count back.
 */
export const LOGIN_THROTTLE = {
  addressFree: 10,
  usernameAtAddressFree: 5,
  usernameFree: 20,
  firstWaitMs: 1_000,
  maxWaitMs: 15 * 60_000,
  forgetMs: 60 * 60_000,
} as const;

type Scope = 'address' | 'username_address' | 'username';

/** The failures each counter lets through before it makes attempts wait. */
const FREE: Record<Scope, number> = {
  address: LOGIN_THROTTLE.addressFree,
  username_address: LOGIN_THROTTLE.usernameAtAddressFree,
  username: LOGIN_THROTTLE.usernameFree,
};

/** Who tries to log in, from where. */
export interface LoginSource {
  username: string;
  address: string | null;
}

/**
 * An attempt let through, with the username's failures at this address (this one included) and what
 * `releaseLoginAttempt` needs to give it back; or refused until a time.
 */
export type LoginClaim =
  | { kind: 'let_through'; failures: number; at: string; previous: [string, string, string] }
  | { kind: 'throttled'; until: number };

/** The wait after the last of `failures` failures of a counter that allows `free`: none, then 1 s, 2 s, 4 s … 15 min. */
export function waitAfter(failures: number, free: number): number {
  if (failures < free) return 0;
  return Math.min(LOGIN_THROTTLE.firstWaitMs * 2 ** Math.min(failures - free, 30), LOGIN_THROTTLE.maxWaitMs);
}

interface Counter {
  scope: Scope;
  key: string;
  /** The username a username counter counts (null for the address counter). */
  username: string | null;
  free: number;
}

/** The three counters of a source, always in this order (the order their rows are locked in). */
function counters(source: LoginSource): [Counter, Counter, Counter] {
  const address = source.address || '-';
  const username = source.username.slice(0, 100);
  return [
    { scope: 'address', key: address, username: null, free: FREE.address },
    { scope: 'username_address', key: `${address}|${username}`, username, free: FREE.username_address },
    { scope: 'username', key: username, username, free: FREE.username },
  ];
}

/**
 * Let an attempt through, counting it as a failure, or refuse it while one of its counters makes it wait. Each
 * counter's row is made if missing and then read locked (SELECT … FOR UPDATE on PostgreSQL; on SQLite the
 * transaction holds the write lock), always in the same order, so parallel attempts are counted one after another.
 */
export async function claimLoginAttempt(trx: Tx, source: LoginSource, now: number): Promise<LoginClaim> {
  const at = new Date(now).toISOString();
  const read = async (counter: Counter) => {
    await trx('core_login_throttle').insert({ scope: counter.scope, key: counter.key, username: counter.username, failures: 0, last_failure_at: at }).onConflict(['scope', 'key']).ignore();
    const query = trx('core_login_throttle').where({ scope: counter.scope, key: counter.key }).first('failures', 'last_failure_at');
    if (isPostgres(trx)) query.forUpdate();
    const row = (await query) as { failures: number; last_failure_at: string };
    const last = Date.parse(row.last_failure_at);
    const failures = now - last < LOGIN_THROTTLE.forgetMs ? row.failures : 0;
    return { ...counter, failures, last: row.last_failure_at, until: failures > 0 ? last + waitAfter(failures, counter.free) : 0 };
  };
  const [addressCounter, atAddressCounter, usernameCounter] = counters(source);
  const address = await read(addressCounter);
  const atAddress = await read(atAddressCounter);
  const username = await read(usernameCounter);
  const until = Math.max(address.until, atAddress.until, atAddress.failures > 0 ? username.until : 0);
  if (until > now) return { kind: 'throttled', until };
  for (const counter of [address, atAddress, username]) {
    await trx('core_login_throttle').where({ scope: counter.scope, key: counter.key }).update({ failures: counter.failures + 1, last_failure_at: at });
  }
  return { kind: 'let_through', failures: atAddress.failures + 1, at, previous: [address.last, atAddress.last, username.last] };
}

/**
 * A login step succeeded: give back the failure its claim counted, and the time of the last failure before it
 * unless another attempt was counted since. When the login is complete (no second factor still to come), the
 * username's failures at this address are forgotten.
 */
export async function releaseLoginAttempt(trx: Tx, source: LoginSource, claim: LoginClaim & { kind: 'let_through' }, complete: boolean): Promise<void> {
  const all = counters(source);
  for (const [i, counter] of all.entries()) {
    const row = () => trx('core_login_throttle').where({ scope: counter.scope, key: counter.key });
    if (complete && counter.scope === 'username_address') {
      await row().delete();
      continue;
    }
    await row().andWhere('failures', '>', 0).decrement('failures', 1);
    await row().andWhere({ last_failure_at: claim.at }).update({ last_failure_at: claim.previous[i]! });
  }
}

/** Delete the counters with no failure for the forget interval (the scheduler's cleanup task). */
export async function deleteStaleLoginThrottles(db: Conn, now = Date.now()): Promise<number> {
  return db('core_login_throttle').where('last_failure_at', '<', new Date(now - LOGIN_THROTTLE.forgetMs).toISOString()).delete();
}

/**
 * Until when each of these usernames' own counters (from all addresses, or at its most-failed address) make its
 * logins wait, for those that must wait now: what the administrator's user pages show as 登录受限.
 */
export async function usernamesWaiting(db: Conn, usernames: string[], now = Date.now()): Promise<Map<string, number>> {
  const waiting = new Map<string, number>();
  if (usernames.length === 0) return waiting;
  const rows = (await db('core_login_throttle').whereIn('username', usernames).select('username', 'scope', 'failures', 'last_failure_at')) as {
    username: string;
    scope: Scope;
    failures: number;
    last_failure_at: string;
  }[];
  for (const row of rows) {
    const last = Date.parse(row.last_failure_at);
    if (now - last >= LOGIN_THROTTLE.forgetMs) continue;
    const until = last + waitAfter(row.failures, FREE[row.scope]);
    if (until > now) waiting.set(row.username, Math.max(until, waiting.get(row.username) ?? 0));
  }
  return waiting;
}

/** The administrator's 解除锁定: the username's failures are forgotten everywhere (address counters stay). */
export async function forgetUsernameFailures(trx: Tx, username: string): Promise<void> {
  await trx('core_login_throttle').where({ username }).delete();
}
