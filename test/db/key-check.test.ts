import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/config.ts';
import { createFieldCrypto } from '../../src/core/crypto.ts';
import { checkFieldKey } from '../../src/core/key-check.ts';
import { rotateFieldKey } from '../../src/core/key-rotation.ts';
import { composeRekeyers } from '../../src/app.ts';
import { start } from '../../src/server.ts';
import { TEST_DB, type TestDb, createSeededDb, createTestDb, testConfig } from '../factories.ts';

/** An instance refuses to start with a field key other than the database's (core/key-check.ts). */
let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const OTHER_KEY = 'another-secret-key-0123456789abcdef0123';
/** The database as a deployment names it: on PostgreSQL, the test's schema in the URL's options. */
const serverUrl = (db: TestDb) => (db.schema ? `${db.url}?options=${encodeURIComponent(`-c search_path=${db.schema}`)}` : db.url);

describe(`the field key check (${TEST_DB})`, () => {
  it('writes the check on a new database, finds it matching after, and refuses another key', async () => {
    t = await createTestDb();
    expect(await checkFieldKey(t.core)).toBe('written');
    expect(await checkFieldKey(t.core)).toBe('matches');
    const other = { ...t.core, crypto: createFieldCrypto(OTHER_KEY) };
    await expect(checkFieldKey(other)).rejects.toThrow(ConfigError);
    await expect(checkFieldKey(other)).rejects.toThrow('YKT_SECRET_KEY 与该数据库不符');
  });

  it('on a database from before the check, refuses a key that cannot read its second factors, and writes nothing', async () => {
    t = await createSeededDb();
    await t.core.db('core_user').where({ username: 'finance' }).update({ totp_secret_enc: t.core.crypto.encrypt('JBSWY3DPEHPK3PXP') });
    const other = { ...t.core, crypto: createFieldCrypto(OTHER_KEY) };
    await expect(checkFieldKey(other)).rejects.toThrow('YKT_SECRET_KEY 与该数据库不符');
    expect(await t.core.db('core_key_check').count({ n: '*' }).first()).toMatchObject({ n: 0 });
    expect(await checkFieldKey(t.core)).toBe('written');
  });

  it('writes one check when two instances start at once, each finding it matching', async () => {
    t = await createTestDb();
    const second = t.connectAgain();
    const outcomes = await Promise.all([checkFieldKey(t.core), checkFieldKey(second)]);
    expect(outcomes.filter((o) => o === 'written').length).toBeLessThanOrEqual(1);
    expect(await t.core.db('core_key_check').count({ n: '*' }).first()).toMatchObject({ n: 1 });
  });

  it('keeps a server started with another key from listening', async () => {
    t = await createTestDb();
    await checkFieldKey(t.core);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-key-'));
    try {
      await expect(start(testConfig({ databaseUrl: serverUrl(t), secretKey: OTHER_KEY, port: 0, host: '127.0.0.1', dataDir }), { logRequests: false })).rejects.toThrow('YKT_SECRET_KEY 与该数据库不符');
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a running instance whose key was changed underneath it (ykt rotate-key) stops instead of writing under the old key', async () => {
    t = await createTestDb();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-key-'));
    let told = 0;
    const running = await start(testConfig({ databaseUrl: serverUrl(t), port: 0, host: '127.0.0.1', dataDir }), { logRequests: false, onFieldKeyChanged: () => told++ });
    try {
      expect(await running.watchFieldKey()).toBe(true);
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
      await rotateFieldKey(t.core, createFieldCrypto(OTHER_KEY), composeRekeyers(t.core));
      expect(await running.watchFieldKey()).toBe(false);
      expect(told).toBe(1);
      expect(running.server.listening).toBe(false);
      // Asked again (the next minute's timer), it stays stopped and says nothing more.
      expect(await running.watchFieldKey()).toBe(false);
      expect(told).toBe(1);
    } finally {
      await running.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
