import fs from 'node:fs';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../seeds/demo.ts';
import { TEST_DB, type TestDb, agentFor, createSeededDb, login } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const MAX_PAGE_BYTES = 30 * 1024;

function gzippedSize(text: string): number {
  return zlib.gzipSync(Buffer.from(text)).length;
}

function expectStrictPage(html: string, where: string) {
  // No inline script or style: the CSP forbids them and the page must not need them.
  expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g), where).toBeNull();
  expect(html.match(/\sstyle="/g), where).toBeNull();
  expect(html.match(/\son[a-z]+="/g), where).toBeNull();
  expect(html, where).toContain('<html lang="zh-CN">');
}

describe(`pages (${TEST_DB})`, () => {
  it('gives every demo role a home page in Chinese, with its navigation, small on the wire', async () => {
    t = await createSeededDb({ demo: true });
    const css = fs.readFileSync('static/app.css', 'utf8');
    for (const user of DEMO_USERS) {
      const agent = agentFor(t.core);
      await login(agent, user.username);
      const home = await agent.get('/').set('Accept-Encoding', 'gzip');
      expect(home.status, user.username).toBe(200);
      expect(home.text).toContain('工作台');
      expect(home.text).toContain(user.displayName);
      // The demo's pending policy adjustment waits for the finance section; the others have nothing yet.
      expect(home.text.includes('待发布的补贴项目'), user.username).toBe(user.role === 'finance_section');
      expect(home.text.includes('暂无待办事项'), user.username).toBe(user.role !== 'finance_section');
      expect(home.headers['cache-control']).toBe('no-store');
      expectStrictPage(home.text, user.username);
      expect(home.text.includes('href="/admin/users"'), user.username).toBe(user.role === 'admin');
      expect(home.text.includes('href="/audit"'), user.username).toBe(user.role === 'auditor');
      expect(gzippedSize(home.text) + gzippedSize(css), user.username).toBeLessThan(MAX_PAGE_BYTES);
    }
  });

  it('keeps the largest core pages under 30 KB of HTML and CSS on the wire, gzip on', async () => {
    t = await createSeededDb({ demo: true });
    const agent = agentFor(t.core);
    await login(agent, 'admin');
    const css = await agent.get('/static/app.css').set('Accept-Encoding', 'gzip');
    for (const path of ['/admin/users', '/admin/users/new', '/admin/regions', '/admin/calendar', '/admin/tasks', '/admin/settings', '/account']) {
      const res = await agent.get(path).set('Accept-Encoding', 'gzip');
      expect(res.status, path).toBe(200);
      expect(res.headers['content-encoding'], path).toBe('gzip');
      expectStrictPage(res.text, path);
      expect(gzippedSize(res.text) + gzippedSize(css.text), path).toBeLessThan(MAX_PAGE_BYTES);
    }
  });

  it('keeps the policy list, the largest list page, under 30 KB on the wire', async () => {
    t = await createSeededDb({ demo: true });
    const agent = agentFor(t.core);
    await login(agent, 'finance');
    const css = await agent.get('/static/app.css');
    for (const path of ['/policies', '/public/policies']) {
      const res = await agent.get(path).set('Accept-Encoding', 'gzip');
      expect(res.status, path).toBe(200);
      expectStrictPage(res.text, path);
      expect(gzippedSize(res.text) + gzippedSize(css.text), path).toBeLessThan(MAX_PAGE_BYTES);
    }
  });

  it('sends the security headers on every response', async () => {
    t = await createSeededDb();
    const res = await agentFor(t.core).get('/login');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('same-origin');
  });

  it('serves htmx 2 from static/, never from a CDN', async () => {
    t = await createSeededDb();
    const agent = agentFor(t.core);
    const page = await agent.get('/login');
    expect(page.text).toContain('<script src="/static/htmx.min.js" defer></script>');
    expect(page.text).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    const js = await agent.get('/static/htmx.min.js');
    expect(js.status).toBe(200);
    expect(js.text).toContain('version:"2.0.11"');
    const installed = JSON.parse(fs.readFileSync('node_modules/htmx.org/package.json', 'utf8')).version;
    expect(installed).toBe('2.0.11');
  });

  it('sends anonymous visitors to the login page and answers /healthz', async () => {
    t = await createSeededDb();
    const agent = agentFor(t.core);
    const res = await agent.get('/admin/users');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?next=%2Fadmin%2Fusers');
    // Only /public/… is public: a path that merely starts with the letters (a future /publicity page) is not.
    expect((await agent.get('/publicity')).status).toBe(303);
    expect((await agent.get('/public/policies')).status).toBe(200);
    const health = await agent.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
  });

  it('refuses any URL that carries an ID number, before a route or the request log sees it', async () => {
    t = await createSeededDb();
    const agent = agentFor(t.core);
    for (const url of ['/login?q=11010519491231002X', '/x/11010519491231002x', '/login?q=1101051949123100%32X']) {
      const res = await agent.get(url);
      expect(res.status, url).toBe(400);
      expect(res.text).toContain('网址中不能包含身份证号码');
    }
    expect((await agent.get('/login?q=12345')).status).toBe(200);
  });

  it('refuses an open redirect after login', async () => {
    t = await createSeededDb();
    const agent = agentFor(t.core);
    const page = await agent.get('/login?next=//evil.example/x');
    expect(page.text).toContain('name="next" value="/"');
  });

  it('shows a Chinese 500 page with a reference and no stack trace when something breaks', async () => {
    t = await createSeededDb();
    const agent = agentFor(t.core);
    await login(agent, 'station1');
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      await t.core.db.destroy(); // the database goes away under the running app
      const res = await agent.get('/');
      expect(res.status).toBe(500);
      expect(res.text).toContain('系统出现错误，请稍后重试');
      expect(res.text).toMatch(/错误编号 [0-9a-f]{8}/);
      expect(res.text).not.toMatch(/at .*\.ts:\d+|Error:|knex/i);
    } finally {
      process.stderr.write = write;
    }
    expect(errors.join('')).toContain('"message":"request failed"');
  });
});
