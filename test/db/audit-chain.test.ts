import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuditCheck, ANCHOR_FILE, checkAuditLog, databaseName } from '../../src/core/audit-anchor.ts';
import { recordAudit, verifyAuditChain } from '../../src/core/audit.ts';
import { auditKeyId, deriveAuditKey } from '../../src/core/audit-key.ts';
import { inTransaction } from '../../src/core/db.ts';
import { coreTasks } from '../../src/core/tasks.ts';
import {
  type ChainRow,
  GENESIS,
  asDatabaseOwner,
  chainRows,
  messageText,
  referenceAuditKey,
  referenceHash,
  referenceHmacSm3,
  referenceSm3,
  referenceVerify,
  rechain,
  storeRows,
  utf8,
} from '../audit-chain-reference.ts';
import { TEST_DB, TEST_SECRET, type TestDb, actorFor, createSeededDb, createTestDb } from '../factories.ts';

/** The audit chain against a database owner who goes around the triggers, on this database. */
let t: TestDb | undefined;
let dataDir: string;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function seeded(config: { auditAnchorCopy?: string } = {}): Promise<TestDb> {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-anchor-'));
  t = await createSeededDb({ dataDir, ...config });
  return t;
}

/** Append n rows through the platform, each in its own transaction. */
async function append(db: TestDb, n: number, action = 'test.step'): Promise<void> {
  const actor = await actorFor(db, 'admin');
  for (let i = 0; i < n; i++) await inTransaction(db.core.db, (trx) => recordAudit(trx, actor, { action, objectType: 'thing', objectId: i, summary: { i } }));
}

const check = (db: TestDb): Promise<AuditCheck> => checkAuditLog(db.core.db, db.core.config);
const keyHex = () => referenceAuditKey(TEST_SECRET);

/** The worked example of docs/audit-chain.md, read from the document itself. */
function workedExample() {
  const doc = fs.readFileSync(path.join(import.meta.dirname, '../../docs/audit-chain.md'), 'utf8');
  const section = (heading: string) => {
    const start = doc.indexOf(`\n${heading}\n`);
    if (start < 0) throw new Error(`docs/audit-chain.md has no “${heading}”`);
    const rest = doc.slice(start + heading.length + 2);
    const end = rest.search(/\n#{2,3} /);
    return end < 0 ? rest : rest.slice(0, end);
  };
  const blocks = (text: string, lang: string) => [...text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\\n\`\`\``, 'g'))].map((m) => m[1]!);
  const messageOf = (heading: string, kind: string) => {
    const text = section(heading);
    return { text: blocks(text, 'text')[0]!, bytes: Number(/共 (\d+) 字节/.exec(text)![1]), hash: new RegExp(`${kind} 结果：\`([0-9a-f]{64})\``).exec(text)![1]! };
  };
  const derivation = /`YKT_SECRET_KEY` 为 `([^`]+)` 时，审计密钥为\s*`([0-9a-f]{64})`/.exec(doc)!;
  const key = /示例审计密钥（仅用于本例）：`([0-9a-f]{64})`（密钥指纹 `([0-9a-f]{16})`）/.exec(doc)!;
  const rowsSection = section('### 示例记录');
  return {
    secret: derivation[1]!,
    derivedKey: derivation[2]!,
    keyHex: key[1]!,
    keyId: key[2]!,
    rows: JSON.parse(blocks(rowsSection, 'json')[0]!) as ChainRow[],
    summary2: blocks(rowsSection, 'text')[0]!,
    messages: [1, 2, 3].map((n) => messageOf(`### 第 ${n} 号记录的消息`, 'HMAC-SM3')),
    hexOf2: blocks(section('### 第 2 号记录的消息'), 'text')[1]!.replace(/\s+/g, ''),
    plain: messageOf('### 旧式记录的消息', 'SM3'),
  };
}

describe(`the audit chain (${TEST_DB})`, () => {
  it('is recomputed byte for byte from docs/audit-chain.md by an independent SM3/HMAC implementation, and the platform accepts the worked example', async () => {
    const ex = workedExample();
    // The key derivation and the key's fingerprint.
    expect(referenceAuditKey(ex.secret)).toBe(ex.derivedKey);
    expect(deriveAuditKey(ex.secret).toString('hex')).toBe(ex.derivedKey);
    expect(referenceSm3(Buffer.from(ex.keyHex, 'hex')).slice(0, 16)).toBe(ex.keyId);
    expect(auditKeyId(Buffer.from(ex.keyHex, 'hex'))).toBe(ex.keyId);
    // Each row: the message built by the written rules, its length in bytes, its HMAC, the link to the row before.
    expect(ex.rows.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(ex.rows[1]!.summary).toBe(ex.summary2);
    ex.rows.forEach((row, i) => {
      const message = ex.messages[i]!;
      expect(messageText(row)).toBe(message.text);
      expect(utf8(message.text).length).toBe(message.bytes);
      expect(referenceHmacSm3(ex.keyHex, utf8(message.text))).toBe(message.hash);
      expect(row.hash).toBe(message.hash);
      expect(row.prev_hash).toBe(i === 0 ? GENESIS : ex.rows[i - 1]!.hash);
    });
    expect(Buffer.from(utf8(ex.messages[1]!.text)).toString('hex')).toBe(ex.hexOf2);
    // The plain (pre-key) form of row 1.
    const plainRow = { ...ex.rows[0]!, alg: 'sm3' };
    expect(messageText(plainRow)).toBe(ex.plain.text);
    expect(utf8(ex.plain.text).length).toBe(ex.plain.bytes);
    expect(referenceHash(plainRow, '')).toBe(ex.plain.hash);
    expect(referenceVerify(ex.rows, ex.keyHex)).toBeNull();

    // The platform verifies the same three rows under the same key.
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-anchor-'));
    t = await createTestDb({ config: { dataDir } });
    await t.core.db('core_audit').insert(ex.rows);
    expect(await verifyAuditChain(t.core.db, { key: Buffer.from(ex.keyHex, 'hex') })).toMatchObject({ ok: true, checked: 3, lastId: 3, lastHash: ex.rows[2]!.hash });
  });

  it('writes rows that an independent implementation recomputes with the audit key derived as documented: quotes, backslashes, control characters, Chinese, nulls', async () => {
    const db = await seeded();
    const actor = await actorFor(db, 'finance');
    await inTransaction(db.core.db, (trx) =>
      recordAudit(trx, actor, { action: 'test.text', objectType: 'roster', objectId: 12, summary: { note: '引号"、反斜杠\\、换行\n、制表\t、转义\u001b、斜杠/、分隔\u2028、𠀀' } }),
    );
    await inTransaction(db.core.db, (trx) => recordAudit(trx, { userId: null, username: null, ip: null }, { action: 'test.anonymous' }));
    const rows = await chainRows(db.core);
    expect(rows.length).toBeGreaterThan(2);
    expect(rows.map((r) => r.id)).toEqual(rows.map((_, i) => i + 1));
    expect(rows.every((r) => r.alg === 'hmac-sm3')).toBe(true);
    for (const row of rows) expect(referenceHash(row, keyHex()), `row ${row.id}`).toBe(row.hash);
    expect(referenceVerify(rows, keyHex())).toBeNull();
  });

  it('catches a row edited and the chain recomputed without the audit key: under a key of the editor\'s own, or as plain SM3', async () => {
    const db = await seeded();
    await append(db, 5);
    const rows = await chainRows(db.core);
    const edited = rows.map((r) => (r.id === 3 ? { ...r, summary: '{"i":99}' } : r));
    const ownKey = 'ab'.repeat(32);

    await asDatabaseOwner(db.core, () => storeRows(db.core, rechain(edited, 2, { keyHex: ownKey })));
    expect((await verifyAuditChain(db.core.db)).firstBad).toEqual({ id: 3, reason: '记录内容与其哈希不符（该记录被修改）' });

    await asDatabaseOwner(db.core, () => storeRows(db.core, rechain(edited, 2, 'plain')));
    expect((await verifyAuditChain(db.core.db)).firstBad).toEqual({ id: 3, reason: '带密钥的记录之后出现不带密钥的旧式记录（记录被改写）' });

    // The first row, recomputed under another key: the verifier cannot tell an edit from a wrong key, and says so.
    await asDatabaseOwner(db.core, () => storeRows(db.core, rechain(edited, 0, { keyHex: ownKey })));
    expect((await verifyAuditChain(db.core.db)).problem).toBe('第 1 号记录：记录内容与其哈希不符（该记录被修改，或所用的审计密钥不对）');
    // Under the editor's key the rewritten chain holds: only the audit key tells it apart.
    expect((await verifyAuditChain(db.core.db, { key: Buffer.from(ownKey, 'hex') })).ok).toBe(true);
  });

  it('catches the whole log rewritten as plain SM3 rows through the anchor the last verification left', async () => {
    const db = await seeded();
    await append(db, 3);
    const before = await check(db);
    expect(before.ok).toBe(true);
    const rows = await chainRows(db.core);
    await asDatabaseOwner(db.core, () => storeRows(db.core, rechain(rows.map((r) => (r.id === 2 ? { ...r, username: 'someone' } : r)), 0, 'plain')));
    // A log of plain rows only is what a database from before the keyed chain holds: the chain alone accepts it …
    expect((await verifyAuditChain(db.core.db)).ok).toBe(true);
    // … the anchor does not.
    const after = await check(db);
    expect(after.ok).toBe(false);
    expect(after.problem).toBe(`上次校验时的最后一条记录（第 ${before.anchor!.lastId} 号）已被删除或修改：其哈希与锚点不符`);
  });

  it('writes the anchor outside the database after each good verification, and catches rows cut from the end, also after new rows took their ids', async () => {
    const db = await seeded();
    await append(db, 4);
    const first = await check(db);
    expect(first).toMatchObject({ ok: true, previous: null, anchorError: null });
    expect(first.notes).toEqual([expect.stringContaining('还没有锚点文件')]);
    const file = path.join(dataDir, ANCHOR_FILE);
    const anchor = JSON.parse(fs.readFileSync(file, 'utf8'));
    const rows = await chainRows(db.core);
    const last = rows.at(-1)!;
    expect(anchor).toEqual({
      format: 'ykt-audit-anchor/1',
      database: databaseName(db.core.db),
      lastId: last.id,
      lastHash: last.hash,
      count: rows.length,
      verifiedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      keyId: auditKeyId(db.core.config.auditKey),
    });
    expect(first.anchor).toEqual(anchor);
    expect(fs.readdirSync(dataDir)).toEqual([ANCHOR_FILE]); // no temporary file left behind
    expect(await check(db)).toMatchObject({ ok: true, previous: anchor, notes: [] });
    const renewed = fs.readFileSync(file, 'utf8');

    // The last two rows go: what is left is a whole chain, one the anchor shows to be short.
    await asDatabaseOwner(db.core, async () => {
      await db.core.db('core_audit').where('id', '>', last.id - 2).delete();
    });
    expect((await verifyAuditChain(db.core.db)).ok).toBe(true);
    const cut = await check(db);
    expect(cut.ok).toBe(false);
    expect(cut.problem).toBe(`上次校验时的最后一条记录（第 ${last.id} 号）已被删除或修改：日志现在只到第 ${last.id - 2} 号（末尾的记录被删除）`);
    expect(fs.readFileSync(file, 'utf8')).toBe(renewed); // a failed verification leaves the anchor as it was

    // The platform writes on and fills the ids again: the anchored id is back, with another hash.
    await append(db, 2);
    expect((await check(db)).problem).toBe(`上次校验时的最后一条记录（第 ${last.id} 号）已被删除或修改：其哈希与锚点不符`);
  });

  it('catches a middle row deleted and the rows after it renumbered, relinked or not', async () => {
    const db = await seeded();
    await append(db, 5);
    const rows = await chainRows(db.core);
    const renumbered = rows.filter((r) => r.id !== 3).map((r) => (r.id > 3 ? { ...r, id: r.id - 1 } : r));
    await asDatabaseOwner(db.core, async () => {
      await db.core.db('core_audit').where({ id: 3 }).delete();
      for (const r of rows.filter((x) => x.id > 3)) await db.core.db('core_audit').where({ id: r.id }).update({ id: r.id - 1 });
    });
    expect((await verifyAuditChain(db.core.db)).firstBad).toEqual({ id: 3, reason: '与前一条记录的链接断开（前面的记录被删除或修改）' });
    // Relinked too: the id is in the keyed hash, so the renumbered row no longer matches it.
    renumbered[2]!.prev_hash = renumbered[1]!.hash;
    await asDatabaseOwner(db.core, () => storeRows(db.core, [renumbered[2]!]));
    expect((await verifyAuditChain(db.core.db)).firstBad).toEqual({ id: 3, reason: '记录内容与其哈希不符（该记录被修改）' });
  });

  it('names the missing id of a hole, whether the rows after it were relinked or not', async () => {
    const db = await seeded();
    await append(db, 5);
    const rows = await chainRows(db.core);
    await asDatabaseOwner(db.core, async () => {
      await db.core.db('core_audit').where({ id: 3 }).delete();
    });
    expect((await verifyAuditChain(db.core.db)).problem).toBe('第 3 号记录缺失（被删除）：第 4 号记录与前一条记录的链接断开（前面的记录被删除或修改）');
    // Someone who has the audit key relinks the rest: the hole itself is still found.
    const relinked = rechain(rows.filter((r) => r.id !== 3), 2, { keyHex: keyHex() });
    await asDatabaseOwner(db.core, () => storeRows(db.core, relinked));
    const result = await verifyAuditChain(db.core.db);
    expect(result.firstBad).toEqual({ id: 3, reason: '该记录缺失（编号不连续，记录被删除）' });
    expect(result.problem).toBe('第 3 号记录缺失（编号不连续，记录被删除）');
    await asDatabaseOwner(db.core, async () => {
      await db.core.db('core_audit').whereIn('id', [4, 5]).delete();
    });
    const left = await chainRows(db.core);
    await asDatabaseOwner(db.core, () => storeRows(db.core, rechain(left, 2, { keyHex: keyHex() })));
    expect((await verifyAuditChain(db.core.db)).problem).toBe('第 3–5 号记录缺失（编号不连续，记录被删除）');
  });

  it('leaves no hole when a transaction that wrote an audit row is rolled back', async () => {
    const db = await seeded();
    const actor = await actorFor(db, 'admin');
    await expect(
      inTransaction(db.core.db, async (trx) => {
        await recordAudit(trx, actor, { action: 'test.undone' });
        throw new Error('回滚');
      }),
    ).rejects.toThrow('回滚');
    await append(db, 2);
    const rows = await chainRows(db.core);
    expect(rows.map((r) => r.id)).toEqual(rows.map((_, i) => i + 1));
    expect(rows.some((r) => r.action === 'test.undone')).toBe(false);
    expect(await verifyAuditChain(db.core.db)).toMatchObject({ ok: true, checked: rows.length });
  });

  it('keeps the rows written before the chain was keyed, protected by the first keyed row, and refuses a keyed row turned plain', async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-anchor-'));
    t = await createTestDb({ config: { dataDir } });
    const db = t;
    // Three plain rows as the platform wrote them before, with a hole a PostgreSQL sequence may have left (no 3).
    const plain: ChainRow[] = [];
    for (const id of [1, 2, 4]) {
      const row = { id, at: `2026-11-0${id}T08:00:00.000Z`, user_id: 1, username: 'itadmin', roles: 'admin', region_id: 1, action: 'user.create', object_type: 'user', object_id: String(id + 1), summary: `{"n":${id}}`, ip: '10.0.0.1', alg: 'sm3', prev_hash: plain.at(-1)?.hash ?? GENESIS, hash: '' };
      row.hash = referenceHash(row, '');
      plain.push(row);
    }
    await db.core.db('core_audit').insert(plain.map(({ alg: _alg, ...r }) => r)); // alg as the migration set it
    expect((await chainRows(db.core)).map((r) => r.alg)).toEqual(['sm3', 'sm3', 'sm3']);
    await inTransaction(db.core.db, (trx) => recordAudit(trx, { userId: null, username: 'ykt-scheduler', ip: null }, { action: 'test.keyed' }));
    await inTransaction(db.core.db, (trx) => recordAudit(trx, { userId: null, username: 'ykt-scheduler', ip: null }, { action: 'test.keyed' }));
    const rows = await chainRows(db.core);
    expect(rows.map((r) => [r.id, r.alg])).toEqual([[1, 'sm3'], [2, 'sm3'], [4, 'sm3'], [5, 'hmac-sm3'], [6, 'hmac-sm3']]);
    expect(rows[3]!.prev_hash).toBe(plain[2]!.hash);
    expect(await verifyAuditChain(db.core.db)).toMatchObject({ ok: true, checked: 5 });
    expect(referenceVerify(rows, keyHex())).toBeNull();

    // A plain row edited and the plain part recomputed: the first keyed row's link breaks …
    const edited = rechain(rows.slice(0, 3).map((r) => (r.id === 2 ? { ...r, summary: '{"n":99}' } : r)), 1, 'plain');
    await asDatabaseOwner(db.core, () => storeRows(db.core, edited));
    expect((await verifyAuditChain(db.core.db)).firstBad).toEqual({ id: 5, reason: '与前一条记录的链接断开（前面的记录被删除或修改）' });
    // … and relinking it breaks its keyed hash.
    await asDatabaseOwner(db.core, () => storeRows(db.core, [{ ...rows[3]!, prev_hash: edited[2]!.hash }]));
    expect((await verifyAuditChain(db.core.db)).firstBad?.id).toBe(5);
    expect((await verifyAuditChain(db.core.db)).firstBad?.reason).toMatch(/^记录内容与其哈希不符/);

    // Back as it was; then the last keyed row is turned into a plain one.
    await asDatabaseOwner(db.core, () => storeRows(db.core, rows));
    expect((await verifyAuditChain(db.core.db)).ok).toBe(true);
    await asDatabaseOwner(db.core, () => storeRows(db.core, rechain(rows, 4, 'plain')));
    expect((await verifyAuditChain(db.core.db)).firstBad).toEqual({ id: 6, reason: '带密钥的记录之后出现不带密钥的旧式记录（记录被改写）' });
  });

  it('copies the anchor to the second place, replaces another database\'s anchor without comparing it, and fails on an anchor file it cannot read', async () => {
    const copyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-anchor-copy-'));
    try {
      const copy = path.join(copyDir, 'kept', 'ykt-anchor.json');
      const db = await seeded({ auditAnchorCopy: copy });
      const file = path.join(dataDir, ANCHOR_FILE);
      fs.writeFileSync(file, JSON.stringify({ format: 'ykt-audit-anchor/1', database: 'postgres://elsewhere:5432/other', lastId: 999, lastHash: 'f'.repeat(64), count: 999, verifiedAt: '2026-01-01T00:00:00.000Z', keyId: '0'.repeat(16) }));
      const result = await check(db);
      expect(result.ok).toBe(true);
      expect(result.notes).toEqual(['锚点文件原记录的是另一个数据库（postgres://elsewhere:5432/other）的校验结果，本次未与之比对，已改为本库的锚点']);
      expect(fs.readFileSync(copy, 'utf8')).toBe(fs.readFileSync(file, 'utf8'));
      expect(JSON.parse(fs.readFileSync(file, 'utf8')).database).toBe(databaseName(db.core.db));

      fs.writeFileSync(file, '{"lastId": 1');
      expect((await check(db)).problem).toBe(`锚点文件 ${file} 的内容无法识别：请与另行保存的锚点核对后恢复或删除它`);

      // The second place cannot be written (its folder is a file): the first still is, and the failure is told.
      fs.rmSync(file);
      fs.rmSync(path.join(copyDir, 'kept'), { recursive: true });
      fs.writeFileSync(path.join(copyDir, 'kept'), '');
      const blocked = await check(db);
      expect(blocked.ok).toBe(true);
      expect(blocked.anchorError).toMatch(new RegExp(`^锚点已写入 .+，但无法写入审计锚点文件 ${copy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}：`));
      expect(fs.existsSync(file)).toBe(true);
    } finally {
      fs.rmSync(copyDir, { recursive: true, force: true });
    }
  });

  it('makes the nightly task fail on rows cut from the end even when its own state was lost, and record the failure', async () => {
    const db = await seeded();
    await append(db, 2);
    const task = coreTasks(db.core, {}).find((x) => x.name === 'audit-verify')!;
    const run = () => {
      let state: unknown = null;
      return task.run({ core: db.core, get state() { return state; }, setState: (s: unknown) => (state = s) });
    };
    const rows = await chainRows(db.core);
    expect(await run()).toBe(`完整：已校验 ${rows.length} 条记录`);
    await asDatabaseOwner(db.core, async () => {
      await db.core.db('core_audit').where({ id: rows.at(-1)!.id }).delete();
    });
    await expect(run()).rejects.toThrow(`审计日志异常：上次校验时的最后一条记录（第 ${rows.at(-1)!.id} 号）已被删除或修改`);
    const failed = await db.core.db('core_audit').where({ action: 'audit.verify.failed' }).first();
    expect(JSON.parse(failed.summary).problem).toContain(`第 ${rows.at(-1)!.id} 号`);
  });
});
