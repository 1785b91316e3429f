import { afterEach, describe, expect, it } from 'vitest';
import { currentTotpCode } from '../../src/core/auth/totp.ts';
import { loadConfig } from '../../src/core/config.ts';
import { TEST_DB, TEST_PASSWORD, TEST_SECRET, type TestDb, agentFor, auditRows, createSeededDb, csrfFrom, login, loginWithTotp, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

function sessionCookie(res: { headers: Record<string, unknown> }): string | undefined {
  const cookies = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  return cookies.find((c) => c.startsWith('ykt_session='));
}

describe(`logins and sessions (${TEST_DB})`, () => {
  it('logs in through the form, with a new HttpOnly SameSite session each time, and audits it', async () => {
    t = await createSeededDb();
    const agent = agentFor(t.core);
    const first = await login(agent, 'station1');
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const cookie = sessionCookie(first)!;
    expect(cookie).toMatch(/httponly/i);
    expect(cookie).toMatch(/samesite=lax/i);
    expect(cookie).not.toMatch(/secure/i); // plain HTTP in tests; Secure behind TLS (see next test)
    const home = await agent.get('/');
    expect(home.status).toBe(200);
    expect(home.text).toContain('李春梅');
    expect(home.text).toContain('城关镇');

    const second = await login(agent, 'station1');
    expect(sessionCookie(second)!.split(';')[0]).not.toBe(cookie.split(';')[0]);
    expect(await t.core.db('core_session').count({ n: '*' })).toEqual([{ n: 1 }]); // the old session is gone
    const rows = await auditRows(t.core, 'login.success');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ username: 'station1', roles: 'township_station', ip: expect.any(String) });
  });

  it('marks the session cookie Secure behind a TLS-terminating proxy', async () => {
    t = await createSeededDb({ trustProxy: true });
    const agent = agentFor(t.core);
    const page = await agent.get('/login').set('X-Forwarded-Proto', 'https');
    const csrfCookie = (page.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('ykt_csrf='))!;
    expect(csrfCookie).toMatch(/secure/i);
    // The test client will not replay a Secure cookie over plain HTTP: send it as the browser would over TLS.
    const res = await agent
      .post('/login')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', csrfCookie.split(';')[0]!)
      .type('form')
      .send({ username: 'station1', password: TEST_PASSWORD, _csrf: csrfFrom(page.text) });
    expect(sessionCookie(res)).toMatch(/secure/i);
    expect(res.headers['strict-transport-security']).toBeDefined();
  });

  it('answers a wrong password in Chinese with 422 and an audit row, without telling which part was wrong', async () => {
    t = await createSeededDb();
    const agent = agentFor(t.core);
    const wrong = await login(agent, 'station1', 'Wrong#Pass1');
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain('用户名或密码错误');
    expect(wrong.text).toContain('请修改以下问题后重新提交');
    const unknown = await login(agent, 'nobody', 'Wrong#Pass1');
    expect(unknown.text).toContain('用户名或密码错误');
    const rows = await auditRows(t.core, 'login.failure');
    expect(rows.map((r) => JSON.parse(r.summary).reason)).toEqual(['wrong_password', 'unknown_user']);
  });

  it('sends a form posted after the session ended to login, then back to the page the form was on', async () => {
    t = await createSeededDb();
    const agent = agentFor(t.core);
    await login(agent, 'supervisor');
    await t.core.db('core_session').update({ last_seen_at: new Date(Date.now() - 31 * 60_000).toISOString() });
    const posted = await agent.post('/beneficiaries/find').set('Host', 'ykt.test').set('Referer', 'http://ykt.test/beneficiaries?name=x').type('form').send({ idNumber: '1' });
    expect(posted.status).toBe(303);
    expect(posted.headers.location).toBe('/login?next=%2Fbeneficiaries%3Fname%3Dx&expired=1');
    const page = await agent.get(posted.headers.location);
    expect(page.text).toContain('登录已超时');
    const back = await agent.post('/login').type('form').send({ username: 'supervisor', password: TEST_PASSWORD, next: '/beneficiaries?name=x', _csrf: csrfFrom(page.text) });
    expect(back.headers.location).toBe('/beneficiaries?name=x');
  });

  it('ends a session after 30 idle minutes', async () => {
    t = await createSeededDb();
    const agent = agentFor(t.core);
    await login(agent, 'supervisor');
    expect((await agent.get('/')).status).toBe(200);
    await t.core.db('core_session').update({ last_seen_at: new Date(Date.now() - 31 * 60_000).toISOString() });
    const after = await agent.get('/');
    expect(after.status).toBe(303);
    // Back to the same page after login, and the login page says why.
    expect(after.headers.location).toBe('/login?next=%2F&expired=1');
    expect((await agent.get(after.headers.location)).text).toContain('登录已超时');
    expect(await t.core.db('core_session').count({ n: '*' })).toEqual([{ n: 0 }]);
  });

  it('refuses a form without the right CSRF token, or from another site, and audits it', async () => {
    t = await createSeededDb();
    const agent = agentFor(t.core);
    await agent.get('/login');
    const forged = await agent.post('/login').type('form').send({ username: 'station1', password: TEST_PASSWORD, _csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('表单已过期或来源不明');
    await login(agent, 'station1');
    const page = await agent.get('/account/password');
    const crossSite = await agent.post('/logout').set('Sec-Fetch-Site', 'cross-site').type('form').send({ _csrf: csrfFrom(page.text) });
    expect(crossSite.status).toBe(403);
    const otherOrigin = await agent.post('/logout').set('Origin', 'http://evil.example').type('form').send({ _csrf: csrfFrom(page.text) });
    expect(otherOrigin.status).toBe(403);
    const sameSiteNoToken = await agent.post('/logout').set('Sec-Fetch-Site', 'same-origin').type('form').send({ _csrf: 'forged' });
    expect(sameSiteNoToken.status).toBe(403);
    const browserLike = await agent.post('/logout').set('Sec-Fetch-Site', 'same-origin').set('Origin', 'null').type('form').send({ _csrf: csrfFrom(page.text) });
    expect(browserLike.status).toBe(303); // a real browser's own form post goes through
    const rows = await auditRows(t.core, 'csrf.rejected');
    expect(rows.map((r) => JSON.parse(r.summary).reason)).toEqual(['token', 'sec-fetch-site:cross-site', 'origin', 'token']);
    expect(rows[1]!.username).toBe('station1');
  });

  it('makes a user created by an administrator change the password before anything else', async () => {
    t = await createSeededDb();
    const admin = agentFor(t.core);
    await loginWithTotp(admin, t.core, 'admin');
    const county = await t.core.db('core_region').where({ name: '石桥镇' }).first();
    const created = await submit(admin, '/admin/users/new', '/admin/users', { username: 'station2', displayName: '钱小燕', roles: ['township_station'], regionId: String(county.id), orgId: '' });
    expect(created.status).toBe(200);
    const temp = /<code>([^<]+)<\/code>/.exec(created.text)![1]!.replace(/&amp;/g, '&').replace(/&#39;/g, "'");

    const user = agentFor(t.core);
    expect((await login(user, 'station2', temp)).status).toBe(303);
    const home = await user.get('/');
    expect(home.status).toBe(303);
    expect(home.headers.location).toBe('/account/password');
    const weak = await submit(user, '/account/password', '/account/password', { current: temp, next: 'password', confirm: 'password' });
    expect(weak.status).toBe(422);
    expect(weak.text).toContain('密码须包含大写字母、小写字母、数字、符号中的至少三类');
    const ok = await submit(user, '/account/password', '/account/password', { current: temp, next: 'Shiqiao#2026', confirm: 'Shiqiao#2026' });
    expect(ok.status).toBe(303);
    expect((await user.get('/')).status).toBe(200);
    expect((await auditRows(t.core, 'password.change'))).toHaveLength(1);
  });

  it('requires the finance section to enrol and use TOTP outside demo mode, and refuses a replayed code', async () => {
    t = await createSeededDb();
    const agent = agentFor(t.core);
    await login(agent, 'finance');
    const home = await agent.get('/');
    expect(home.headers.location).toBe('/account/totp');
    const enrol = await agent.get('/account/totp');
    expect(enrol.text).toContain('绑定动态口令');
    expect(enrol.text).toContain('data:image/svg+xml;base64,');
    const secret = /<code class="secret">([^<]+)<\/code>/.exec(enrol.text)![1]!.replace(/\s+/g, '');
    const sealed = /name="sealed" value="([^"]+)"/.exec(enrol.text)![1]!;
    expect(sealed).not.toContain(secret);
    expect((await t.core.db('core_user').where({ username: 'finance' }).first()).totp_secret_enc).toBeNull(); // nothing stored yet
    const confirm = (code: string, s = sealed) => agent.post('/account/totp').type('form').send({ code, sealed: s, _csrf: csrfFrom(enrol.text) });
    const bad = await confirm(currentTotpCode(secret) === '000000' ? '111111' : '000000');
    expect(bad.status).toBe(422);
    expect(bad.text).toContain(secret.slice(0, 4)); // the same secret again: no rescan after a typo
    const forged = await confirm(currentTotpCode(secret), sealed.slice(0, -4) + 'AAAA');
    expect(forged.status).toBe(409);
    const code = currentTotpCode(secret);
    expect((await confirm(code)).status).toBe(303);
    expect((await agent.get('/')).status).toBe(200);
    const stored = await t.core.db('core_user').where({ username: 'finance' }).first();
    expect(stored.totp_secret_enc).toMatch(/^v1:/); // encrypted at rest
    expect(stored.totp_secret_enc).not.toContain(secret);

    // Next login: password, then the second factor; the code already used is refused.
    const next = agentFor(t.core);
    await login(next, 'finance');
    expect((await next.get('/')).headers.location).toBe('/login/totp');
    const replay = await submit(next, '/login/totp', '/login/totp', { code });
    expect(replay.status).toBe(422);
    expect(replay.text).toContain('动态口令不正确或已使用过');
    const later = currentTotpCode(secret, Date.now() + 30_000);
    expect((await submit(next, '/login/totp', '/login/totp', { code: later })).status).toBe(303);
    expect((await next.get('/')).status).toBe(200);
    expect(await auditRows(t.core, 'login.totp.success')).toHaveLength(1);
    expect(await auditRows(t.core, 'login.totp.failure')).toHaveLength(1);
  });

  it('requires the auditor to enrol and use a second factor outside demo mode, which no environment variable turns on', async () => {
    // Demo mode comes from `ykt demo` only: YKT_DEMO in the environment of `ykt serve` changes nothing.
    expect(loadConfig({ YKT_SECRET_KEY: TEST_SECRET, YKT_SCRYPT_LOG_N: '10', YKT_DEMO: '1' }).demo).toBe(false);
    t = await createSeededDb();
    const agent = agentFor(t.core);
    expect((await login(agent, 'auditor')).status).toBe(303);
    for (const path of ['/', '/audit', '/audit/verify']) expect((await agent.get(path)).headers.location, path).toBe('/account/totp');
    const enrolled = agentFor(t.core);
    await loginWithTotp(enrolled, t.core, 'auditor');
    expect((await enrolled.get('/audit')).status).toBe(200);
    expect((await auditRows(t.core, 'login.success')).at(-1).summary).toContain('"second_factor":"pending"');
  });

  it('asks no second factor in demo mode', async () => {
    t = await createSeededDb({ demo: true });
    for (const username of ['treasury', 'auditor']) {
      const agent = agentFor(t.core);
      await login(agent, username);
      const home = await agent.get('/');
      expect(home.status, username).toBe(200);
      expect(home.text).toContain('演示模式');
    }
  });

  it('logs out with an audit row and ends the session', async () => {
    t = await createSeededDb();
    const agent = agentFor(t.core);
    await login(agent, 'bank');
    const page = await agent.get('/');
    const out = await agent.post('/logout').type('form').send({ _csrf: csrfFrom(page.text) });
    expect(out.status).toBe(303);
    expect((await agent.get('/')).headers.location).toBe('/login?next=%2F');
    expect(await auditRows(t.core, 'logout')).toHaveLength(1);
  });
});
