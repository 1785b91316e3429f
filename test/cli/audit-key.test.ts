import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/core/db.ts';
import { referenceAuditKey } from '../audit-chain-reference.ts';
import { TEST_SECRET } from '../factories.ts';
import { ykt } from './ykt.ts';

/** `ykt audit-key` and `ykt verify-audit` as county IT and an audit office run them, on an SQLite file. */
let dir: string;
let serverEnv: Record<string, string>;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-cli-'));
  serverEnv = { YKT_DATA_DIR: path.join(dir, 'server'), YKT_SECRET_KEY: TEST_SECRET };
  const created = ykt(['create-admin', '--username', 'itadmin', '--region', '江川省/临山市/青禾县'], serverEnv);
  expect(created.code).toBe(0);
  fs.writeFileSync(path.join(dir, 'audit.key'), `${referenceAuditKey(TEST_SECRET)}\n`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the audit key and the verifier that needs only it', () => {
  it('prints the audit key derived from YKT_SECRET_KEY as documented, alone on standard output, and says whom it is for', () => {
    const res = ykt(['audit-key'], serverEnv);
    expect(res.code).toBe(0);
    expect(res.out).toBe(`${referenceAuditKey(TEST_SECRET)}\n`);
    expect(res.err).toContain('供审计机关或审计管理员核验审计日志');
    expect(res.err).toContain('不要交给数据库管理员');
  });

  it('verifies the chain with the audit key alone, keeps its anchor in its own data directory, and catches the last row cut away', async () => {
    // The audit office's machine: the database (read access), the key file, no YKT_SECRET_KEY.
    const office = { DATABASE_URL: path.join(dir, 'server', 'ykt.sqlite'), YKT_DATA_DIR: path.join(dir, 'office') };
    const first = ykt(['verify-audit', '--key-file', path.join(dir, 'audit.key')], office);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toContain('审计日志完整：已校验 1 条记录，哈希链无断裂，编号连续');
    expect(first.out).toMatch(/新锚点：第 1 号，哈希 [0-9a-f]{64}（请另行保存）/);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'office', 'audit-anchor.json'), 'utf8')).lastId).toBe(1);

    const byEnv = ykt(['verify-audit'], { ...office, YKT_AUDIT_KEY: fs.readFileSync(path.join(dir, 'audit.key'), 'utf8').trim() });
    expect(byEnv.code).toBe(0);
    expect(byEnv.out).toContain('上次校验的锚点（第 1 号）仍在且未变');

    fs.writeFileSync(path.join(dir, 'wrong.key'), 'ab'.repeat(32));
    const wrong = ykt(['verify-audit', '--key-file', path.join(dir, 'wrong.key')], office);
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain('审计日志异常：第 1 号记录：记录内容与其哈希不符（该记录被修改，或所用的审计密钥不对）');

    const db = createDb(office.DATABASE_URL);
    await db.raw('DROP TRIGGER core_audit_no_delete');
    await db('core_audit').where({ id: 1 }).delete();
    await db.destroy();
    const cut = ykt(['verify-audit', '--key-file', path.join(dir, 'audit.key')], office);
    expect(cut.code).toBe(1);
    expect(cut.out).toContain('审计日志异常：上次校验时的最后一条记录（第 1 号）已被删除或修改：日志现在是空的（记录被删除）');
  });

  it('refuses to verify without an audit key, with a malformed one, or with an unknown option', () => {
    const office = { DATABASE_URL: path.join(dir, 'server', 'ykt.sqlite'), YKT_DATA_DIR: path.join(dir, 'office') };
    const none = ykt(['verify-audit'], office);
    expect(none.code).toBe(1);
    expect(none.err).toContain('缺少审计密钥：请用 --key-file 指定审计密钥文件');
    const malformed = ykt(['verify-audit'], { ...office, YKT_AUDIT_KEY: 'abc' });
    expect(malformed.code).toBe(1);
    expect(malformed.err).toContain('YKT_AUDIT_KEY 应为 64 位十六进制数字的审计密钥');
    const unknown = ykt(['verify-audit', '--key', 'x'], office);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('用法：ykt verify-audit [--key-file 审计密钥文件]');
  });
});
