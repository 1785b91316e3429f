import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/core/audit.ts';
import { backupBeforeMigrating, backupSqlite, restoreSqlite, sm3OfFile } from '../../src/core/backup.ts';
import { createDb, inTransaction, migrate, pendingMigrations } from '../../src/core/db.ts';
import { emitEvent, dispatchEvents } from '../../src/core/events.ts';
import { Scheduler, type TaskDefinition, nextRunAfter } from '../../src/core/scheduler.ts';
import { coreTasks } from '../../src/core/tasks.ts';
import { TEST_DB, type TestDb, createSeededDb, createTestDb } from '../factories.ts';

let t: TestDb | undefined;
const extraDirs: string[] = [];
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
  for (const d of extraDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function countingTask(name: string, counter: { n: number }, options: { fail?: boolean; slowMs?: number } = {}): TaskDefinition {
  return {
    name,
    label: name,
    schedule: '0 3 * * *',
    async run() {
      counter.n++;
      if (options.slowMs) await new Promise((r) => setTimeout(r, options.slowMs));
      if (options.fail) throw new Error('模拟失败');
      return `第 ${counter.n} 次`;
    },
  };
}

describe(`scheduler (${TEST_DB})`, () => {
  it('computes the next run in Beijing time', () => {
    // 03:00 in Shanghai is 19:00 UTC the day before.
    expect(nextRunAfter('0 3 * * *', new Date('2026-11-23T10:00:00Z')).toISOString()).toBe('2026-11-23T19:00:00.000Z');
  });

  it('catches up once after the machine was off, then waits for the next regular run', async () => {
    t = await createTestDb();
    const counter = { n: 0 };
    const scheduler = new Scheduler(t.core, [countingTask('nightly', counter)]);
    await scheduler.register(new Date('2026-11-20T00:00:00Z'));
    // Three nights pass with the machine off.
    const now = new Date('2026-11-23T10:00:00Z');
    expect(await scheduler.tick(now)).toEqual(['nightly']);
    expect(counter.n).toBe(1);
    expect(await scheduler.tick(now)).toEqual([]);
    const row = await t.core.db('core_task').where({ name: 'nightly' }).first();
    expect(row).toMatchObject({ last_status: 'ok', last_result: '第 1 次', failures: 0, lock_owner: null });
    expect(Date.parse(row.next_run_at)).toBeGreaterThan(Date.now());
  });

  it('runs a due task on exactly one of two instances', async () => {
    t = await createTestDb();
    const counter = { n: 0 };
    const other = t.connectAgain();
    const a = new Scheduler(t.core, [countingTask('once', counter, { slowMs: 50 })], { owner: 'a' });
    const b = new Scheduler(other, [countingTask('once', counter, { slowMs: 50 })], { owner: 'b' });
    await a.register(new Date('2026-01-01T00:00:00Z'));
    await b.register(new Date('2026-01-01T00:00:00Z'));
    for (let round = 0; round < 5; round++) {
      const now = new Date();
      const [ranA, ranB] = await Promise.all([a.tick(now), b.tick(now)]);
      expect(ranA.length + ranB.length).toBe(round === 0 ? 1 : 0);
    }
    expect(counter.n).toBe(1);
  });

  it('shows a failing task, counts its failures and retries it with backoff', async () => {
    t = await createTestDb();
    const counter = { n: 0 };
    const scheduler = new Scheduler(t.core, [countingTask('flaky', counter, { fail: true })]);
    await scheduler.register(new Date('2026-01-01T00:00:00Z'));
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      await scheduler.tick();
      let row = await t.core.db('core_task').where({ name: 'flaky' }).first();
      expect(row).toMatchObject({ last_status: 'error', last_result: '模拟失败', failures: 1 });
      const firstRetry = Date.parse(row.next_run_at) - Date.parse(row.last_run_at);
      expect(firstRetry).toBe(60_000);
      await scheduler.tick(new Date(Date.parse(row.next_run_at) + 1));
      row = await t.core.db('core_task').where({ name: 'flaky' }).first();
      expect(row.failures).toBe(2);
      expect(Date.parse(row.next_run_at) - Date.parse(row.last_run_at)).toBe(120_000);
    } finally {
      process.stderr.write = write;
    }
    expect(errors.join('')).toContain('"message":"task failed"');
  });

  it('dispatches outbox events to their handlers once, and retries a failing handler later', async () => {
    t = await createTestDb();
    const seen: unknown[] = [];
    let fail = true;
    const handlers = {
      'test.paid': [async (_trx: unknown, payload: Record<string, unknown>) => void seen.push(payload)],
      'test.flaky': [
        async () => {
          if (fail) throw new Error('暂时不可用');
        },
      ],
    };
    await inTransaction(t.core.db, async (trx) => {
      await emitEvent(trx, 'test.paid', { line: 1 });
      await emitEvent(trx, 'test.flaky', { line: 2 });
      await emitEvent(trx, 'test.nobody', { line: 3 });
    });
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await dispatchEvents(t.core.db, handlers)).toEqual({ delivered: 1, failed: 1, unhandled: 1 });
    } finally {
      process.stderr.write = write;
    }
    expect(await dispatchEvents(t.core.db, handlers)).toEqual({ delivered: 0, failed: 0, unhandled: 0 }); // the failed one waits for its backoff
    expect(seen).toEqual([{ line: 1 }]);
    fail = false;
    await t.core.db('core_event').whereNull('dispatched_at').update({ next_attempt_at: new Date(Date.now() - 1000).toISOString() });
    expect(await dispatchEvents(t.core.db, handlers)).toEqual({ delivered: 1, failed: 0, unhandled: 0 });
    const flaky = await t.core.db('core_event').where({ type: 'test.flaky' }).first();
    expect(flaky.attempts).toBe(2);
  });

  it('verifies the audit chain nightly and notices when rows are cut from its end', async () => {
    t = await createSeededDb();
    const task = coreTasks(t.core, {}).find((x) => x.name === 'audit-verify')!;
    let state: unknown = null;
    const ctx = { core: t.core, get state() { return state; }, setState: (s: unknown) => (state = s) };
    expect(await task.run(ctx)).toBe('完整：已校验 1 条记录');
    const anchor = state as { lastId: number };
    // The last row (the anchor) is removed behind the application's back: the chain alone still verifies.
    if (TEST_DB === 'pg') await t.core.db.raw('ALTER TABLE core_audit DISABLE TRIGGER USER');
    else await t.core.db.raw('DROP TRIGGER core_audit_no_delete');
    await t.core.db('core_audit').where({ id: anchor.lastId }).delete();
    if (TEST_DB === 'pg') await t.core.db.raw('ALTER TABLE core_audit ENABLE TRIGGER USER');
    expect((await verifyAuditChain(t.core.db)).ok).toBe(true);
    await expect(task.run(ctx)).rejects.toThrow(`上次校验时的最后一条记录（第 ${anchor.lastId} 号）已被删除或修改`);
    expect(await t.core.db('core_audit').where({ action: 'audit.verify.failed' }).first()).toBeDefined();
  });

  it.runIf(TEST_DB === 'sqlite')('takes a restorable SQLite backup while the server writes, and keeps only the newest copies', async () => {
    t = await createSeededDb();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-backup-'));
    extraDirs.push(dir);
    const writer = t.connectAgain(); // another connection keeps writing during the backup
    let writing = true;
    const writes = (async () => {
      let i = 0;
      while (writing) await writer.db('core_setting').insert({ region_id: 1, key: `k${i++}`, value: 'v', updated_at: new Date().toISOString() });
      return i;
    })();
    const first = await backupSqlite(t.core.db, dir, 2, new Date('2026-11-21T19:00:00Z'));
    writing = false;
    const written = await writes;
    expect(written).toBeGreaterThan(0);
    await backupSqlite(t.core.db, dir, 2, new Date('2026-11-22T19:00:00Z'));
    const third = await backupSqlite(t.core.db, dir, 2, new Date('2026-11-23T19:00:00Z'));
    expect(third.removed).toEqual([path.basename(first.file)]);
    // Each copy with its manifest: SM3, last migration, the audit chain's last row.
    expect(fs.readdirSync(dir).sort()).toEqual(['ykt-20261122-190000.sqlite', 'ykt-20261122-190000.sqlite.json', 'ykt-20261123-190000.sqlite', 'ykt-20261123-190000.sqlite.json']);
    const manifest = JSON.parse(fs.readFileSync(`${third.file}.json`, 'utf8'));
    expect(manifest).toEqual(third.manifest);
    expect(manifest.sm3).toBe(await sm3OfFile(third.file));
    expect(manifest.reason).toBe('scheduled');

    // Restore: the copy opens as a database of its own, passes SQLite's integrity check and the audit chain.
    const restored = createDb(third.file);
    try {
      expect(await restored.raw('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      expect(await restored('core_user').where({ username: 'admin' }).first()).toBeDefined();
      expect((await verifyAuditChain(restored)).ok).toBe(true);
    } finally {
      await restored.destroy();
    }
  });

  it.runIf(TEST_DB === 'sqlite')('puts the replaced database back when the restored audit chain does not verify', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-restore-'));
    extraDirs.push(dir);
    t = await createSeededDb({ dataDir: dir });
    const { file } = await backupSqlite(t.core.db, path.join(dir, 'backups'), 3);
    // A copy whose log was altered before its digest was taken (a backup of an already tampered database).
    const copy = createDb(file);
    await copy.raw('DROP TRIGGER core_audit_no_update');
    await copy('core_audit').where({ id: 1 }).update({ summary: '{}' });
    await copy.destroy();
    const manifest = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8'));
    fs.writeFileSync(`${file}.json`, JSON.stringify({ ...manifest, sm3: await sm3OfFile(file) }));
    const users = Number(((await t.core.db('core_user').count({ n: '*' }).first()) as { n: number }).n);
    await t.core.db('core_user').where({ username: 'admin' }).update({ display_name: '备份之后改的' });
    await t.core.db.destroy();

    await expect(restoreSqlite(t.core.config, file)).rejects.toThrow('恢复后的审计日志校验未通过');
    const back = t.connectAgain().db;
    expect(Number(((await back('core_user').count({ n: '*' }).first()) as { n: number }).n)).toBe(users);
    expect((await back('core_user').where({ username: 'admin' }).first()).display_name).toBe('备份之后改的');
    expect(fs.readdirSync(path.dirname(t.url)).filter((f) => f.includes('before-restore'))).toEqual([]);
  });

  it.runIf(TEST_DB === 'sqlite')('backs a database up before a newer version migrates it forward, and only then', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-upgrade-'));
    extraDirs.push(dir);
    t = await createTestDb({ migrate: false });
    expect(await backupBeforeMigrating(t.core.db, dir, 3)).toBeNull(); // a fresh database: nothing to keep
    await migrate(t.core.db);
    expect(await backupBeforeMigrating(t.core.db, dir, 3)).toBeNull(); // up to date: nothing will change
    // As if the newest migration came with a newer version.
    const newest = (await t.core.db('knex_migrations').orderBy('id', 'desc').first()) as { id: number; name: string };
    await t.core.db('knex_migrations').where({ id: newest.id }).del();
    const { pending } = await pendingMigrations(t.core.db);
    expect(pending).toEqual([newest.name]);
    const file = await backupBeforeMigrating(t.core.db, dir, 3);
    const manifest = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8'));
    expect(manifest.reason).toBe('before-migration');
    expect(manifest.migration).not.toBe(newest.name);
    expect(manifest.migration < newest.name).toBe(true);
  });
});
