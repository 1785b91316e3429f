import type TestAgent from 'supertest/lib/agent.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { composeAuditLexicon } from '../../src/app.ts';
import { login, verifyLoginTotp } from '../../src/core/auth/service.ts';
import { LOGIN_THROTTLE, deleteStaleLoginThrottles, waitAfter } from '../../src/core/auth/throttle.ts';
import { currentTotpCode, newTotpSecret } from '../../src/core/auth/totp.ts';
import type { Core } from '../../src/core/context.ts';
import { TEST_DB, TEST_PASSWORD, type TestDb, actorFor, agentFor, auditRows, createSeededDb, csrfFrom } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await t?.cleanup();
  t = undefined;
});

const T0 = Date.parse('2026-11-24T01:00:00.000Z');
const WRONG = 'Wrong#Pass1';
const GUESSER = '203.0.113.7';
const OFFICE = '198.51.100.20';

/** The password step as the login form calls it, at a given address and time (the service's clock parameter). */
function attempt(core: Core, username: string, password: string, ip: string, now: number) {
  return login(core, { username, password, ip, userAgent: null }, now);
}

/** The login form posted from an address, as the trusted reverse proxy reports it (the last X-Forwarded-For entry). */
async function postLogin(agent: TestAgent, forwardedFor: string, username: string, password: string) {
  const page = await agent.get('/login').set('X-Forwarded-For', forwardedFor);
  return agent.post('/login').set('X-Forwarded-For', forwardedFor).type('form').send({ username, password, _csrf: csrfFrom(page.text) });
}

/** Freeze the clock of the whole process (the app's Date included), so that no wait passes unless a test moves it. */
function freezeClock(at = T0) {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at);
}

const reasons = async (core: Core, action = 'login.failure') => (await auditRows(core, action)).map((r) => JSON.parse(r.summary).reason);

describe(`login throttling (${TEST_DB})`, () => {
  it('waits 1 s after the last free failure, doubling with each further one, at most 15 minutes', () => {
    const free = LOGIN_THROTTLE.usernameAtAddressFree;
    expect([free - 1, free, free + 1, free + 2, free + 3].map((n) => waitAfter(n, free))).toEqual([0, 1_000, 2_000, 4_000, 8_000]);
    expect(waitAfter(free + 9, free)).toBe(512_000);
    expect(waitAfter(free + 10, free)).toBe(15 * 60_000);
    expect(waitAfter(free + 500, free)).toBe(15 * 60_000);
  });

  it('makes an address that failed 10 times wait, whatever usernames it tries, refusing even the right password unchecked while the wait lasts', async () => {
    t = await createSeededDb();
    const core = t.core;
    for (let i = 0; i < 10; i++) expect((await attempt(core, `guess${i}`, WRONG, GUESSER, T0)).kind).toBe('invalid');
    expect(await attempt(core, 'station1', TEST_PASSWORD, GUESSER, T0 + 999)).toEqual({ kind: 'throttled', until: new Date(T0 + 1_000).toISOString() });
    // The address is throttled, not the account: station1 logs in from its office at the same moment.
    expect((await attempt(core, 'station1', TEST_PASSWORD, OFFICE, T0 + 999)).kind).toBe('ok');

    // Each further failure doubles the wait: the 11th failure (at 1 s) makes the next attempt wait until 3 s.
    expect((await attempt(core, 'guess10', WRONG, GUESSER, T0 + 1_000)).kind).toBe('invalid');
    expect((await attempt(core, 'guess11', WRONG, GUESSER, T0 + 2_999)).kind).toBe('throttled');
    expect((await attempt(core, 'guess11', WRONG, GUESSER, T0 + 3_000)).kind).toBe('invalid');
    expect(await attempt(core, 'station1', TEST_PASSWORD, GUESSER, T0 + 3_000)).toEqual({ kind: 'throttled', until: new Date(T0 + 7_000).toISOString() });

    // Refusals while waiting do not count, and an hour without a failure forgets the address.
    expect((await attempt(core, 'station1', TEST_PASSWORD, GUESSER, T0 + 7_000)).kind).toBe('ok');
    const hourLater = T0 + 3_000 + LOGIN_THROTTLE.forgetMs;
    for (let i = 0; i < 10; i++) expect((await attempt(core, `again${i}`, WRONG, GUESSER, hourLater)).kind).toBe('invalid');
    expect((await attempt(core, 'again10', WRONG, GUESSER, hourLater)).kind).toBe('throttled');

    const throttled = (await auditRows(core, 'login.failure')).filter((r) => JSON.parse(r.summary).reason === 'throttled');
    expect(throttled.map((r) => [r.username, r.ip, JSON.parse(r.summary).wait_seconds])).toEqual([
      ['station1', GUESSER, 1],
      ['guess11', GUESSER, 1],
      ['station1', GUESSER, 4],
      ['again10', GUESSER, 1],
    ]);
    expect(throttled[0]).toMatchObject({ object_type: 'user', object_id: String((await core.db('core_user').where({ username: 'station1' }).first()).id) });
  });

  it('answers 429 to the guessing address, even for the right password, while the treasury logs in from its office; a forged X-Forwarded-For entry changes nothing', async () => {
    t = await createSeededDb({ trustProxy: true });
    freezeClock();
    const guesser = agentFor(t.core);
    // The client writes what it likes before the entry the proxy appends: only the last entry is the address.
    for (let i = 0; i < 5; i++) expect((await postLogin(guesser, `10.0.0.${i}, ${GUESSER}`, 'treasury', WRONG)).status).toBe(422);
    const refused = await postLogin(guesser, `10.0.0.99, ${GUESSER}`, 'treasury', TEST_PASSWORD);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.text).toContain('登录尝试过于频繁，请 1 秒后再试');
    expect(refused.text).toContain('<title>错误：登录');
    expect(refused.headers['set-cookie']?.toString() ?? '').not.toContain('ykt_session=');

    const office = agentFor(t.core);
    const mine = await postLogin(office, OFFICE, 'treasury', TEST_PASSWORD);
    expect(mine.status).toBe(303);

    // Once the wait has passed, the guesser's next try is checked again.
    vi.setSystemTime(T0 + 1_000);
    expect((await postLogin(guesser, GUESSER, 'treasury', WRONG)).status).toBe(422);
    const longer = await postLogin(guesser, GUESSER, 'treasury', TEST_PASSWORD);
    expect(longer.status).toBe(429);
    expect(longer.text).toContain('请 2 秒后再试');
    expect(await reasons(t.core)).toEqual(['wrong_password', 'wrong_password', 'wrong_password', 'wrong_password', 'wrong_password', 'throttled', 'wrong_password', 'throttled']);
    expect((await auditRows(t.core, 'login.success')).map((r) => r.ip)).toEqual([OFFICE]);
  });

  it('gives an unknown username and a wrong password the same status and page, and throttles them alike', async () => {
    t = await createSeededDb({ trustProxy: true });
    freezeClock();
    const agent = agentFor(t.core);
    for (let i = 0; i < 6; i++) {
      const wrong = await postLogin(agent, GUESSER, 'finance1', WRONG);
      const unknown = await postLogin(agent, OFFICE, 'nobody99', WRONG);
      expect([unknown.status, unknown.headers['retry-after']]).toEqual([wrong.status, wrong.headers['retry-after']]);
      expect(unknown.text.replaceAll('nobody99', 'USER')).toBe(wrong.text.replaceAll('finance1', 'USER'));
      expect(wrong.status).toBe(i < 5 ? 422 : 429);
    }
    // The audit log, for the auditor only, tells them apart.
    expect(new Set(await reasons(t.core))).toEqual(new Set(['wrong_password', 'unknown_user', 'throttled']));
  });

  it('slows a username guessed from many addresses only at the addresses that failed for it, never a login from an address with no failure', async () => {
    t = await createSeededDb();
    const core = t.core;
    const addresses = Array.from({ length: LOGIN_THROTTLE.usernameFree }, (_, i) => `192.0.2.${i + 1}`);
    for (const ip of addresses) expect((await attempt(core, 'admin', WRONG, ip, T0)).kind).toBe('invalid');
    expect((await attempt(core, 'admin', WRONG, addresses[0]!, T0)).kind).toBe('throttled');
    expect((await attempt(core, 'admin', TEST_PASSWORD, OFFICE, T0)).kind).toBe('ok');
    // A new address gets its one try, and is then slowed like the others.
    expect((await attempt(core, 'admin', WRONG, '192.0.2.200', T0)).kind).toBe('invalid');
    expect((await attempt(core, 'admin', WRONG, '192.0.2.200', T0)).kind).toBe('throttled');
    // Other usernames from those addresses are not slowed.
    expect((await attempt(core, 'station1', TEST_PASSWORD, addresses[1]!, T0)).kind).toBe('ok');
  });

  it('counts an attempt before its password is checked, so a burst of parallel attempts gets no more than the free ones', async () => {
    t = await createSeededDb();
    const core = t.core;
    const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => attempt(core, `burst${i}`, WRONG, GUESSER, T0)));
    const kinds = answers.map((a) => a.kind);
    expect(kinds.filter((k) => k === 'invalid')).toHaveLength(LOGIN_THROTTLE.addressFree);
    expect(kinds.filter((k) => k === 'throttled')).toHaveLength(15 - LOGIN_THROTTLE.addressFree);
  });

  it('throttles the second factor on the same counters: after 5 wrong codes even the right one waits, and a new password login does not reset them', async () => {
    t = await createSeededDb();
    freezeClock();
    const secret = newTotpSecret();
    await t.core.db('core_user').where({ username: 'finance' }).update({ totp_secret_enc: t.core.crypto.encrypt(secret), totp_enabled: true });
    const actor = await actorFor(t, 'finance');
    const first = await login(t.core, { username: 'finance', password: TEST_PASSWORD, ip: actor.ip, userAgent: null });
    if (first.kind !== 'ok') throw new Error(first.kind);
    const code = currentTotpCode(secret);
    const wrongCode = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) expect((await verifyLoginTotp(t.core, actor, first.sessionId, wrongCode)).kind).toBe('invalid');
    expect((await verifyLoginTotp(t.core, actor, first.sessionId, code)).kind).toBe('throttled');
    expect((await login(t.core, { username: 'finance', password: TEST_PASSWORD, ip: actor.ip, userAgent: null })).kind).toBe('throttled');

    vi.setSystemTime(T0 + 1_000);
    expect((await verifyLoginTotp(t.core, actor, first.sessionId, code)).kind).toBe('ok');
    // The completed login cleared this username's failures here: the next wrong password is the first again.
    expect((await login(t.core, { username: 'finance', password: WRONG, ip: actor.ip, userAgent: null })).kind).toBe('invalid');
    expect(JSON.parse((await auditRows(t.core, 'login.failure')).at(-1)!.summary)).toEqual({ reason: 'wrong_password', failed: 1 });
    expect(await reasons(t.core, 'login.totp.failure')).toEqual(['wrong_code', 'wrong_code', 'wrong_code', 'wrong_code', 'wrong_code', 'throttled']);
  });

  it('answers a throttled second factor with 429 on its own page', async () => {
    t = await createSeededDb();
    freezeClock();
    const secret = newTotpSecret();
    await t.core.db('core_user').where({ username: 'treasury' }).update({ totp_secret_enc: t.core.crypto.encrypt(secret), totp_enabled: true });
    const agent = agentFor(t.core);
    expect((await postLogin(agent, '127.0.0.1', 'treasury', TEST_PASSWORD)).status).toBe(303);
    const page = await agent.get('/login/totp');
    const code = currentTotpCode(secret);
    const send = (c: string) => agent.post('/login/totp').type('form').send({ code: c, _csrf: csrfFrom(page.text) });
    for (let i = 0; i < 5; i++) expect((await send(code === '000000' ? '111111' : '000000')).status).toBe(422);
    const refused = await send(code);
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('登录尝试过于频繁，请 1 秒后再试');
    expect(refused.text).toContain('动态口令验证');
  });

  it('keeps the counters in the database, where the hourly cleanup deletes those idle for an hour', async () => {
    t = await createSeededDb();
    expect((await attempt(t.core, 'station1', WRONG, GUESSER, T0)).kind).toBe('invalid');
    // Another instance (a restart, or a second server on PostgreSQL) sees the same counters.
    const other = t.connectAgain();
    expect(await other.db('core_login_throttle').where({ scope: 'address', key: GUESSER }).first('failures')).toEqual({ failures: 1 });
    expect(await deleteStaleLoginThrottles(other.db, T0 + LOGIN_THROTTLE.forgetMs - 1)).toBe(0);
    expect(await deleteStaleLoginThrottles(other.db, T0 + LOGIN_THROTTLE.forgetMs + 1)).toBe(3);
  });

  it('reads throttled attempts in the audit log, and rows written before the throttle as they were', async () => {
    t = await createSeededDb();
    const lexicon = composeAuditLexicon(t.core);
    expect(lexicon.sentence('login.failure', JSON.stringify({ reason: 'throttled', wait_seconds: 4 }))).toBe('尝试过于频繁，未经核对即拒绝，须再等待 4 秒');
    expect(lexicon.sentence('login.failure', JSON.stringify({ reason: 'wrong_password', failed: 2 }))).toBe('密码错误，该用户名从此地址一小时内第 2 次失败');
    expect(lexicon.sentence('login.failure', JSON.stringify({ reason: 'wrong_password', failed: 5, locked: true }))).toBe('密码错误，连续第 5 次，账户已锁定');
    expect(lexicon.sentence('login.totp.failure', JSON.stringify({ reason: 'throttled', wait_seconds: 1 }))).toBe('尝试过于频繁，未经核对即拒绝，须再等待 1 秒');
    expect(lexicon.sentence('login.totp.failure', JSON.stringify({ failed: 3, locked: false }))).toBe('动态口令错误，连续第 3 次');
  });
});
