import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { recordAudit, verifyAuditChain } from '../../src/core/audit.ts';
import { inTransaction, migrate } from '../../src/core/db.ts';
import { ConflictError } from '../../src/core/errors.ts';
import { createRegion, listRegionsInScope, regionInScope } from '../../src/core/regions.ts';
import { getUser, updateUser } from '../../src/core/users.ts';
import { TEST_DB, type TestDb, createSeededDb, createTestDb, actorFor } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});


describe(`database foundation on ${TEST_DB}`, () => {
  it('builds the core schema, and migrating again changes nothing', async () => {
    t = await createTestDb();
    for (const table of ['core_region', 'core_org', 'core_user', 'core_user_role', 'core_session', 'core_audit']) {
      expect(await t.core.db.schema.hasTable(table), table).toBe(true);
    }
    expect(await migrate(t.core.db)).toEqual([]);
  });

  it.runIf(TEST_DB === 'sqlite')('runs SQLite in WAL mode with synchronous=FULL, foreign keys, a busy timeout and a 2 MB page cache', async () => {
    t = await createTestDb();
    const pragma = async (name: string) => Object.values((await t!.core.db.raw(`PRAGMA ${name}`))[0])[0];
    expect(await pragma('journal_mode')).toBe('wal');
    expect(await pragma('synchronous')).toBe(2); // FULL
    expect(await pragma('foreign_keys')).toBe(1);
    expect(await pragma('busy_timeout')).toBe(120_000);
    expect(await pragma('cache_size')).toBe(-2000);
  });

  it('reads while a write transaction is open; on SQLite, writers queue one after the other (nobody waits behind bulk work)', async () => {
    t = await createTestDb();
    const db = t.core.db;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const order: string[] = [];
    const first = inTransaction(db, async (trx) => {
      await trx('core_region').insert({ name: '写入中的县', level: 'county', code: null, parent_id: null, path: '/w/', created_at: new Date().toISOString() });
      order.push('first wrote');
      await held;
      order.push('first done');
    });
    try {
      while (order.length === 0) await new Promise((r) => setTimeout(r, 5));
      // SQLite: a second writer queues in this process behind the first (PostgreSQL lets it begin: row locks decide).
      const second = inTransaction(db, async (trx) => {
        order.push('second began');
        await trx('core_region').where({ path: '/x/' }).update({ name: '第二次写入' });
      });
      // A read outside any transaction answers at once, from the last committed state (the insert is not visible yet).
      const seen = await db('core_region').where({ path: '/w/' }).count({ n: '*' }).first();
      expect(Number(seen!.n)).toBe(0);
      if (TEST_DB === 'sqlite') expect(order).toEqual(['first wrote']);
      release();
      await Promise.all([first, second]);
      if (TEST_DB === 'sqlite') expect(order).toEqual(['first wrote', 'first done', 'second began']);
      expect(Number((await db('core_region').where({ path: '/w/' }).count({ n: '*' }).first())!.n)).toBe(1);
    } finally {
      release();
      await first.catch(() => undefined);
    }
  });

  it('tells a row a unique index refuses as a conflict (someone saved the same record meanwhile), saving nothing of its transaction', async () => {
    t = await createTestDb();
    const db = t.core.db;
    const key = (fingerprint: string) => ({ fingerprint, public_key: `04${'a'.repeat(128)}`, created_at: new Date().toISOString(), in_use: null });
    await inTransaction(db, (trx) => trx('core_signing_key').insert(key('k1')));
    const twice = inTransaction(db, async (trx) => {
      await trx('core_signing_key').insert(key('k2'));
      await trx('core_signing_key').insert(key('k1'));
    });
    await expect(twice).rejects.toBeInstanceOf(ConflictError);
    expect((await db('core_signing_key').orderBy('fingerprint').pluck('fingerprint'))).toEqual(['k1']);
  });

  it.runIf(TEST_DB === 'pg')('migrates once when two instances start at the same moment on PostgreSQL', async () => {
    t = await createTestDb({ migrate: false });
    const other = t.connectAgain();
    const [a, b] = await Promise.all([migrate(t.core.db), migrate(other.db)]);
    const files = fs.readdirSync('migrations').filter((f) => f.endsWith('.ts'));
    // One instance applied every migration, the other waited and found nothing left to do.
    expect([a.length, b.length].sort()).toEqual([0, files.length]);
    expect(await t.core.db('knex_migrations').count({ n: '*' })).toEqual([{ n: files.length }]);
  });

  it('enforces foreign keys', async () => {
    t = await createTestDb();
    await expect(t.core.db('core_org').insert({ kind: 'bank', region_id: 999, name: 'x', created_at: new Date().toISOString() })).rejects.toThrow();
  });

  it('chains audit rows by SM3 hash and detects an edited or removed row', async () => {
    t = await createSeededDb();
    const actor = await actorFor(t, 'admin');
    for (let i = 0; i < 5; i++) {
      await inTransaction(t.core.db, (trx) => recordAudit(trx, actor, { action: 'test.step', objectType: 'thing', objectId: i, summary: { i } }));
    }
    const ok = await verifyAuditChain(t.core.db);
    expect(ok.ok).toBe(true);
    expect(ok.checked).toBe(6); // the demo seed row and five more

    // The log is append-only in the database itself.
    await expect(t.core.db('core_audit').where({ action: 'test.step' }).update({ summary: '{}' })).rejects.toThrow(/append-only/);
    await expect(t.core.db('core_audit').where({ action: 'test.step' }).delete()).rejects.toThrow(/append-only/);

    // Someone with the database owner's rights goes around the triggers: the chain shows it.
    const rows = await t.core.db('core_audit').orderBy('id');
    await bypassTriggers(t, async () => {
      await t!.core.db('core_audit').where({ id: rows[3].id }).update({ summary: '{"i":99}' });
    });
    expect((await verifyAuditChain(t.core.db)).firstBad).toEqual({ id: Number(rows[3].id), reason: '记录内容与其哈希不符（该记录被修改）' });
    await bypassTriggers(t, async () => {
      await t!.core.db('core_audit').where({ id: rows[3].id }).delete();
    });
    expect((await verifyAuditChain(t.core.db)).firstBad).toEqual({ id: Number(rows[4].id), reason: '与前一条记录的链接断开（前面的记录被删除或修改）' });
  });

  it('keeps one chain when many transactions append at once', async () => {
    t = await createSeededDb();
    const actor = await actorFor(t, 'admin');
    const second = t.connectAgain();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => inTransaction(i % 2 ? t!.core.db : second.db, (trx) => recordAudit(trx, actor, { action: 'test.parallel', objectId: i }))),
    );
    const result = await verifyAuditChain(t.core.db);
    expect(result).toMatchObject({ ok: true, checked: 21 });
  });

  it('masks personal data written into an audit summary', async () => {
    t = await createSeededDb();
    const actor = await actorFor(t, 'admin');
    await inTransaction(t.core.db, (trx) => recordAudit(trx, actor, { action: 'test.pii', summary: { id: '11010519491231002X', account: '6228480402564890018' } }));
    const row = await t.core.db('core_audit').where({ action: 'test.pii' }).first();
    expect(row.summary).toBe('{"id":"110***********002X","account":"****0018"}');
  });

  it('limits a user to the subtree of their region, in one place', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const admin = await actorFor(t, 'admin');
    const visible = await listRegionsInScope(t.core.db, station);
    expect(visible.map((r) => r.name)).toEqual(['城关镇', '东关社区', '西街村', '南河村']);
    const other = await t.core.db('core_region').where({ name: '石桥镇' }).first();
    await expect(regionInScope(t.core.db, station, other.id)).rejects.toThrow('该地区不在您的管辖范围内');
    expect(await t.core.db('core_audit').where({ action: 'access.denied', user_id: station.userId }).count({ n: '*' })).toEqual([{ n: 1 }]);
    const created = await createRegion(t.core.db, admin, { parentId: other.id, name: '新建村' });
    expect(created.level).toBe('village');
    expect(created.path).toBe(`${other.path}${created.id}/`);
  });

  it('refuses the second of two concurrent edits made from the same version of a user', async () => {
    t = await createSeededDb();
    const admin = await actorFor(t, 'admin');
    const target = await t.core.db('core_user').where({ username: 'supervisor' }).first();
    const before = await getUser(t.core, admin, target.id);
    const edit = (name: string) => updateUser(t!.core, admin, target.id, { displayName: name, roles: before.roles, regionId: before.region_id, orgId: null, disabled: false, version: before.version });
    const results = await Promise.allSettled([edit('甲'), edit('乙')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason.status).toBe(409);
    const after = await getUser(t.core, admin, target.id);
    expect(after.version).toBe(before.version + 1);
  });
});

/** What a database owner could do: switch the append-only triggers off for one change. */
async function bypassTriggers(db: TestDb, change: () => Promise<void>): Promise<void> {
  const knex = db.core.db;
  if (TEST_DB === 'pg') {
    await knex.raw('ALTER TABLE core_audit DISABLE TRIGGER USER');
    await change();
    await knex.raw('ALTER TABLE core_audit ENABLE TRIGGER USER');
  } else {
    await knex.raw('DROP TRIGGER IF EXISTS core_audit_no_update');
    await knex.raw('DROP TRIGGER IF EXISTS core_audit_no_delete');
    await change();
  }
}
