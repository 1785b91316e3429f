import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type HTMLElement, parse } from 'node-html-parser';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeTasks } from '../../src/app.ts';
import { verifyAuditChain } from '../../src/core/audit.ts';
import { type Running, start } from '../../src/server.ts';
import { seedDemo } from '../../seeds/demo.ts';
import { TEST_DB, TEST_PASSWORD, type TestDb, createTestDb, csrfFrom, testConfig } from '../factories.ts';

/**
 * The central deployment (docs/operations.md): two or more instances of the platform behind one proxy, on one
 * PostgreSQL. Nothing a user's requests depend on may live in one instance's memory: the session, the form's CSRF
 * token, an error report waiting to be downloaded, the audit chain's order. Two real instances (each its own pool,
 * scheduler and HTTP server) start at once on an empty database, and one browser's requests alternate between them.
 */

/** One browser whose requests go to instance A or B by turns: both agents share one cookie jar (cookies ignore ports). */
function browser(a: Running, b: Running): { next(): TestAgent; agents: [TestAgent, TestAgent] } {
  const agents: [TestAgent, TestAgent] = [request.agent(a.url), request.agent(b.url)];
  (agents[1] as unknown as { jar: unknown }).jar = (agents[0] as unknown as { jar: unknown }).jar;
  let turn = 0;
  return { next: () => agents[turn++ % 2]!, agents };
}

const stepForms = (html: HTMLElement) => html.querySelectorAll('form[method="post"]').filter((f) => f.getAttribute('action') !== '/logout');

type Browser = ReturnType<typeof browser>;

/** Log in through the form: the page from one instance, the form posted to the other. */
async function logIn(user: Browser, username: string): Promise<number> {
  const page = await user.next().get('/login');
  return (await user.next().post('/login').type('form').send({ username, password: TEST_PASSWORD, _csrf: csrfFrom(page.text) })).status;
}

/** Take a roster step the roster's page offers: the page from one instance, the step posted to the other. */
async function rosterStep(user: Browser, rosterId: number, action: string): Promise<number> {
  const page = await user.next().get(`/rosters/${rosterId}`);
  const form = stepForms(parse(page.text)).find((f) => f.querySelector('input[name="action"]')?.getAttribute('value') === action);
  if (!form) return 0;
  const version = form.querySelector('input[name="version"]')!.getAttribute('value')!;
  return (await user.next().post(`/rosters/${rosterId}/act`).type('form').send({ _csrf: csrfFrom(page.text), action, version })).status;
}

describe.skipIf(TEST_DB !== 'pg')(`two instances on one PostgreSQL (${TEST_DB})`, () => {
  let t: TestDb;
  let a: Running;
  let b: Running;
  let dataDir: string;

  beforeAll(async () => {
    t = await createTestDb({ migrate: false, config: { demo: true } });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-two-'));
    // As a deployment names its schema: in the URL's options (libpq's `options=-c search_path=…`).
    const databaseUrl = `${t.url}?options=${encodeURIComponent(`-c search_path=${t.schema}`)}`;
    const config = (name: string) => testConfig({ databaseUrl, port: 0, host: '127.0.0.1', demo: true, dataDir: path.join(dataDir, name) });
    // Both start at once on the empty schema: the migrations run once, under their advisory lock.
    [a, b] = await Promise.all([start(config('a'), { logRequests: false }), start(config('b'), { logRequests: false })]);
    await seedDemo(t.core, TEST_PASSWORD, { people: true });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await t?.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrates once when both start together', async () => {
    const applied = await t.core.db('knex_migrations').select('name');
    expect(new Set(applied.map((m) => m.name)).size).toBe(applied.length);
    expect(applied.length).toBeGreaterThan(20);
  });

  it('keeps a session, its form tokens and the roster steps whichever instance answers', async () => {
    const finance = browser(a, b);
    expect(await logIn(finance, 'finance1')).toBe(303);
    const roster = (await t.core.db('batch_roster').where({ state: 'publicity' }).first('id')) as { id: number };
    expect(await rosterStep(finance, roster.id, 'confirm_publicity'), 'finance1 confirms the publicity: page on A, step on B').toBe(303);
    const station = browser(b, a);
    expect(await logIn(station, 'station1')).toBe(303);
    expect(await rosterStep(station, roster.id, 'report'), 'the station reports it again: the confirmation made through A is seen on B').toBe(303);
    expect((await t.core.db('batch_roster').where({ id: roster.id }).first('state')).state).toBe('reported');

    // Logging out on one instance ends the session on both.
    const home = await station.next().get('/');
    await station.next().post('/logout').type('form').send({ _csrf: csrfFrom(home.text) });
    for (const agent of station.agents) expect((await agent.get('/')).status).toBe(303);
  });

  it('serves an import\'s error report from the other instance, and refuses it to another user', async () => {
    const dept = browser(a, b);
    expect(await logIn(dept, 'dept_civil')).toBe(303);
    const list = await dept.next().get('/policies');
    const bad = '\ufeff编码,补贴项目名称,主管部门\nQH-99,某补贴,别的部门\n';
    const refused = await dept.next().post('/policies/import').field('_csrf', csrfFrom(list.text)).attach('file', Buffer.from(bad), '清单.csv');
    expect(refused.status).toBe(422);
    const reportUrl = /href="(\/downloads\/[^"]+)"/.exec(refused.text)![1]!;
    const report = await dept.next().get(reportUrl);
    expect(report.status).toBe(200);
    expect(report.headers['content-disposition']).toContain('attachment');
    const other = browser(b, a);
    expect(await logIn(other, 'dept_agri')).toBe(303);
    expect((await other.next().get(reportUrl)).status).toBe(404);
  });

  it('keeps one audit chain that both instances append to, and runs each due task on one instance only', async () => {
    const verification = await verifyAuditChain(t.core.db);
    expect(verification.ok).toBe(true);

    await Promise.all([a.scheduler.stop(), b.scheduler.stop()]);
    await t.core.db('core_task').update({ next_run_at: new Date(Date.now() - 60_000).toISOString(), lock_owner: null, lock_until: null });
    const due = composeTasks(a.core).map((task) => task.name);
    const [ranOnA, ranOnB] = await Promise.all([a.scheduler.tick(), b.scheduler.tick()]);
    expect(ranOnA.filter((name) => ranOnB.includes(name))).toEqual([]);
    expect([...ranOnA, ...ranOnB].sort()).toEqual(due.sort());
  });
});
