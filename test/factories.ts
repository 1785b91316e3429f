import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent.js';
import { createApp } from '../src/app.ts';
import { type Config, loadConfig } from '../src/core/config.ts';
import type { Core } from '../src/core/context.ts';
import { createFieldCrypto, sha256 } from '../src/core/crypto.ts';
import { createDb, migrate } from '../src/core/db.ts';
import { loadActor } from '../src/core/auth/actor.ts';
import type { Actor } from '../src/core/auth/roles.ts';
import { currentTotpCode, newTotpSecret } from '../src/core/auth/totp.ts';
import { seedDemo } from '../seeds/demo.ts';
import { watchFormContract } from './form-contract.ts';
import { checkCharacter } from '../src/modules/beneficiary/id-number.ts';
import { luhnValid } from '../src/modules/beneficiary/account-number.ts';
import { decideAccount, decideImportAccounts } from '../src/modules/beneficiary/commands.ts';
import { pendingAccounts, pendingImports } from '../src/modules/beneficiary/queries.ts';
import { publishNotice } from '../src/modules/publicity/commands.ts';
import { writeTableXlsx } from '../src/core/spreadsheet.ts';
import { importRegistry } from '../src/modules/beneficiary/registry-import.ts';
import { createRound } from '../src/modules/batch/commands.ts';
import { REGISTRY_FILE_HEADER, fakeHouseholds, registryFileRows } from '../seeds/fake-people.ts';

/**
 * Test databases are real: an SQLite file per test file, or a PostgreSQL schema per test file on the server
 * named by YKT_TEST_PG_URL (the suite's PostgreSQL half, chosen by YKT_TEST_DB=pg).
 */
export const TEST_DB = process.env.YKT_TEST_DB === 'pg' ? 'pg' : 'sqlite';
export const PG_URL = process.env.YKT_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_PASSWORD = 'Test#Pass2026';
export const TEST_SECRET = 'test-secret-key-0123456789abcdef0123456789';

export interface TestDb {
  core: Core;
  url: string;
  schema?: string;
  /** Another connection to the same database (a second app instance). */
  connectAgain(): Core;
  cleanup(): Promise<void>;
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return loadConfig({ YKT_SECRET_KEY: TEST_SECRET, YKT_SCRYPT_LOG_N: '10', YKT_DATA_DIR: os.tmpdir() }, overrides);
}

export async function createTestDb(options: { migrate?: boolean; config?: Partial<Config>; dialect?: 'sqlite' | 'pg' } = {}): Promise<TestDb> {
  let url: string;
  let schema: string | undefined;
  let dropSchema = async () => {};
  if ((options.dialect ?? TEST_DB) === 'pg') {
    url = PG_URL;
    schema = `t_${crypto.randomBytes(6).toString('hex')}`;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.end();
    dropSchema = async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    };
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-test-'));
    url = path.join(dir, 'test.sqlite');
    dropSchema = async () => fs.rmSync(dir, { recursive: true, force: true });
  }
  const config = testConfig({ databaseUrl: url, ...options.config });
  const connect = (): Core => ({ db: createDb(url, { schema }), config, crypto: createFieldCrypto(config.secretKey) });
  const core = connect();
  if (options.migrate !== false) await migrate(core.db);
  const extra: Core[] = [];
  return {
    core,
    url,
    schema,
    connectAgain() {
      const c = connect();
      extra.push(c);
      return c;
    },
    async cleanup() {
      for (const c of extra) await c.db.destroy();
      await core.db.destroy();
      await dropSchema();
    },
  };
}

/** A migrated database with the demo county (regions, departments, bank, one user per role). */
export async function createSeededDb(config: Partial<Config> = {}, options: { people?: boolean; dialect?: 'sqlite' | 'pg' } = {}): Promise<TestDb> {
  const t = await createTestDb({ config, dialect: options.dialect });
  await seedDemo(t.core, TEST_PASSWORD, options);
  return t;
}

/** A client of the real app; every 422 page it receives is checked against the form contract (test/setup.ts). */
export function agentFor(core: Core): TestAgent {
  const handle = createApp(core).callback();
  return request.agent((req: http.IncomingMessage, res: http.ServerResponse) => {
    watchFormContract(req, res);
    return handle(req, res);
  });
}

/** A supertest parser that keeps a binary response (PDF, xlsx) as a Buffer in res.body. */
export function binaryParser(res: request.Response, done: (err: Error | null, body: Buffer) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}

/** The CSRF token of a page's form. */
export function csrfFrom(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('page has no CSRF token');
  return m[1]!;
}

/** Log in through the real form; returns the response of the POST. */
export async function login(agent: TestAgent, username: string, password = TEST_PASSWORD) {
  let page = await agent.get('/login');
  if (page.status === 303) page = await agent.get('/'); // already logged in: every page's layout has a form
  return agent.post('/login').type('form').send({ username, password, _csrf: csrfFrom(page.text) });
}

/**
 * Log in as a user who must use a second factor (admin, finance section, treasury outside demo mode):
 * enrols a known TOTP secret directly, then passes both steps through the real forms.
 */
export async function loginWithTotp(agent: TestAgent, core: Core, username: string, password = TEST_PASSWORD) {
  const secret = newTotpSecret();
  await core.db('core_user').where({ username }).update({ totp_secret_enc: core.crypto.encrypt(secret), totp_enabled: true, totp_last_step: null });
  const res = await login(agent, username, password);
  if (res.status !== 303) return res;
  return submit(agent, '/login/totp', '/login/totp', { code: currentTotpCode(secret) });
}

/** GET a page and POST its form with the page's CSRF token. */
export async function submit(agent: TestAgent, pagePath: string, action: string, fields: Record<string, string | string[]>) {
  const page = await agent.get(pagePath);
  return agent.post(action).type('form').send({ ...fields, _csrf: csrfFrom(page.text) });
}

/** An agent logged in as the seeded system administrator, second factor included. */
export async function asAdmin(db: TestDb): Promise<TestAgent> {
  const agent = agentFor(db.core);
  const res = await loginWithTotp(agent, db.core, 'admin');
  if (res.status !== 303) throw new Error(`admin login failed with ${res.status}`);
  return agent;
}

/**
 * The API token shown on the administrator's creation page, approved by the finance section through its page:
 * a token works only once approved.
 */
export async function approvedToken(db: TestDb, created: request.Response): Promise<string> {
  const token = /<code>(ykt_[^<]+)<\/code>/.exec(created.text)?.[1];
  if (!token) throw new Error(`no token on the page (status ${created.status})`);
  const { id } = await db.core.db('core_api_token').where({ token_hash: sha256(token).toString('hex') }).first('id');
  const finance = agentFor(db.core);
  await loginWithTotp(finance, db.core, 'finance');
  const approved = await submit(finance, '/api-tokens', `/api-tokens/${id}/approve`, {});
  if (approved.status !== 303) throw new Error(`token approval failed with ${approved.status}`);
  return token;
}

export async function regionId(db: TestDb, name: string): Promise<number> {
  return (await db.core.db('core_region').where({ name }).first()).id;
}

/** The Actor of a seeded user, as the session middleware would build it. */
export async function actorFor(db: TestDb, username: string): Promise<Actor> {
  const user = await loadActor(db.core.db, { username }, '127.0.0.1');
  if (!user) throw new Error(`no user ${username}`);
  return user.actor;
}

export async function auditRows(core: Core, action?: string) {
  const q = core.db('core_audit').orderBy('id');
  if (action) q.where({ action });
  return q;
}

/**
 * The township finance office (by default finance1, 城关镇) confirms, through its commands, every newly registered
 * account waiting in its township: a file's together, the form's one by one. Tests that pay people registered
 * through the registry call it after registering them.
 */
export async function confirmNewAccounts(db: TestDb, username = 'finance1'): Promise<void> {
  const office = await actorFor(db, username);
  for (const i of await pendingImports(db.core.db, office)) await decideImportAccounts(db.core, office, i.id, { approve: true, note: null, version: i.version });
  for (const a of await pendingAccounts(db.core.db, office)) await decideAccount(db.core, office, a.id, { approve: true, note: null });
}

/** A made-up ID number: the 17 digits given (use the fictional region 990102) and their check character. */
export function idNumberFrom(first17: string): string {
  return first17 + checkCharacter(first17);
}

/**
 * Every full valid ID number and Luhn-valid card number in a text: what must never leave the platform unmasked.
 * Checksums make this exact, so a file digest or a timestamp that happens to hold 18 digits is not mistaken for one.
 */
export function personalNumbers(text: string): string[] {
  const ids = (text.match(/(?<![0-9])\d{17}[\dX](?![0-9])/g) ?? []).filter((id) => checkCharacter(id.slice(0, 17)) === id[17]);
  const cards = (text.match(/(?<![0-9])\d{16,19}(?![0-9])/g) ?? []).filter((n) => luhnValid(n));
  return [...ids, ...cards];
}

/** Publish a roster's notice (the start of its publicity) as this actor, for the days given, over its current version. */
export async function publishRoster(db: TestDb, actor: Actor, rosterId: number, days = 7) {
  const { version } = await db.core.db('batch_roster').where({ id: rosterId }).first('version');
  return publishNotice(db.core, actor, rosterId, { version: Number(version), days });
}

/**
 * Agents logged in as demo users, one per username, made on first use: `as(username)` for a file that acts as several
 * users; `clear()` when the database under them is replaced.
 */
export function loggedInAgents(db: () => TestDb) {
  const agents = new Map<string, TestAgent>();
  return {
    async as(username: string): Promise<TestAgent> {
      if (!agents.has(username)) {
        const agent = agentFor(db().core);
        const res = await login(agent, username);
        if (res.status !== 303) throw new Error(`login ${username}: ${res.status}`);
        agents.set(username, agent);
      }
      return agents.get(username)!;
    },
    clear: () => agents.clear(),
  };
}

/**
 * 城关镇's households registered from a file (no anomalies: heads with their own cards, accounts confirmed) and a 2026
 * 耕地地力保护 round opened by the department: the station, the file's rows, the heads with a card, the round and 城关镇's roster.
 */
export async function farmlandRound(db: TestDb, households: number, seed: number) {
  const station = await actorFor(db, 'station1');
  const rows = registryFileRows(fakeHouseholds({ households, villages: ['东关社区', '西街村'], seed, sharedAccounts: 0, secondAccounts: 0, deceasedShare: 0, movedShare: 0 }));
  const imported = await importRegistry(db.core, station, { name: 'people.xlsx', buffer: await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, rows) });
  if (!imported.ok) throw new Error('registry import failed');
  await confirmNewAccounts(db);
  const heads = rows.filter((r) => r[3] === '户主' && r[8] !== '');
  const item = await db.core.db('policy_item').where({ code: 'JC-01' }).first('id');
  const roundId = await createRound(db.core, await actorFor(db, 'dept_agri'), { policyItemId: Number(item.id), period: '2026' });
  const roster = await db.core.db('batch_roster').where({ round_id: roundId, township_id: await regionId(db, '城关镇') }).first('id');
  return { station, rows, heads, roundId, rosterId: Number(roster.id) };
}

/**
 * SM2 of sm-crypto (a registry package sharing no code with the platform's sm-crypto-v2): the bank's side of the
 * signatures, as a bank's own library would check them. Messages as byte arrays, keys and signatures as hex.
 */
export const independentSm2 = createRequire(import.meta.url)('sm-crypto').sm2 as {
  doVerifySignature(msg: number[], signature: string, publicKey: string, options: { der: boolean; hash: boolean; userId?: string }): boolean;
  doSignature(msg: number[], privateKey: string, options: { der: boolean; hash: boolean }): string;
  generateKeyPairHex(): { privateKey: string; publicKey: string };
};
