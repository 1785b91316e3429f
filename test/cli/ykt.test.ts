import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDb } from '../../src/core/db.ts';
import { parsePublicKey, parseSignature, sealFor, verifySignature } from '../../src/core/signing.ts';
import { TEST_SECRET } from '../factories.ts';
import { ykt } from './ykt.ts';

/** The `ykt` command as county IT runs it, in a child process, on an SQLite file. */
let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the ykt command', () => {
  it('runs compiled JavaScript (dist/, built from the sources when they are newer), with no TypeScript loader', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-cli-'));
    const help = ykt(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('用法：ykt <命令>');
    // The build is up to date with every source file, and runs by itself under plain node.
    const { isFresh } = await import('../../scripts/build.mjs');
    expect(isFresh()).toBe(true);
    const plain = spawnSync(process.execPath, ['dist/ykt.mjs', 'nonsense'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(plain.status).toBe(2);
    expect(plain.stdout).toContain('用法：ykt <命令>');
    expect(fs.readFileSync('dist/ykt.mjs', 'utf8')).not.toMatch(/from ['"]tsx/);
  });

  it('refuses to start a production instance without YKT_SECRET_KEY', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-cli-'));
    const res = ykt(['serve'], { YKT_DATA_DIR: dir, PORT: '0' });
    expect(res.code).toBe(1);
    expect(res.err).toContain('缺少 YKT_SECRET_KEY');
  });

  it('creates the first administrator, who must change the password, and verifies the audit chain', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-cli-'));
    const env = { YKT_DATA_DIR: dir, YKT_SECRET_KEY: TEST_SECRET };
    const created = ykt(['create-admin', '--username', 'itadmin', '--name', '县信息中心', '--region', '江川省/临山市/青禾县'], env);
    expect(created.err).toBe('');
    expect(created.code).toBe(0);
    expect(created.out).toMatch(/初始密码（仅显示这一次.*）：\S{12}/);
    const again = ykt(['create-admin', '--username', 'itadmin', '--region', '江川省/临山市/青禾县'], env);
    expect(again.code).toBe(1);
    expect(again.err).toContain('用户名“itadmin”已被使用');

    const db = createDb(path.join(dir, 'ykt.sqlite'));
    const user = await db('core_user').where({ username: 'itadmin' }).first();
    expect(user.must_change_password).toBe(1);
    expect(await db('core_region').orderBy('id').pluck('name')).toEqual(['江川省', '临山市', '青禾县']);

    const ok = ykt(['verify-audit'], env);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('审计日志完整：已校验 1 条记录');

    // Tampering behind the application's back is found, and the command fails.
    await db.raw('DROP TRIGGER core_audit_no_update');
    await db('core_audit').update({ summary: '{}' });
    await db.destroy();
    const bad = ykt(['verify-audit'], env);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('审计日志异常：第 1 号记录：记录内容与其哈希不符');
  });

  it('changes the field key (rotate-key): only with the audit key pinned, after a backup; the old key is then refused', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-cli-'));
    const env = { YKT_DATA_DIR: dir, YKT_SECRET_KEY: TEST_SECRET };
    expect(ykt(['create-admin', '--username', 'itadmin', '--name', '县信息中心', '--region', '江川省/临山市/青禾县'], env).code).toBe(0);
    const newKey = 'a1'.repeat(32);
    const keyFile = path.join(dir, 'new.key');
    fs.writeFileSync(keyFile, `${newKey}\n`, { mode: 0o600 });

    const unpinned = ykt(['rotate-key', '--new-key-file', keyFile], env);
    expect(unpinned.code).toBe(2);
    expect(unpinned.err).toContain('更换密钥前须固定审计密钥');
    const pinned = { ...env, YKT_AUDIT_KEY: ykt(['audit-key'], env).out.trim() };
    const rotated = ykt(['rotate-key', '--new-key-file', keyFile], pinned);
    expect(rotated.err).toBe('');
    expect(rotated.code).toBe(0);
    expect(rotated.out).toMatch(/已先备份到 .*ykt-\d{8}-\d{6}\.sqlite（仍用旧密钥加密）/);
    expect(rotated.out).toContain('core_user.totp_secret_enc');
    expect(rotated.out).toContain('已改用新密钥');
    // The database is under the new key now: the old one is refused before anything is written.
    const again = ykt(['rotate-key', '--new-key-file', keyFile], pinned);
    expect(again.code).toBe(1);
    expect(again.err).toContain('YKT_SECRET_KEY 与该数据库不符');
    const verified = ykt(['verify-audit'], { ...pinned, YKT_SECRET_KEY: newKey });
    expect(verified.code).toBe(0);
    expect(verified.out).toContain('审计日志完整：已校验 2 条记录');
  });

  it('replaces the SM2 signing key pair (rotate-signing-key): the old pair retired and kept, audited', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-cli-'));
    const env = { YKT_DATA_DIR: dir, YKT_SECRET_KEY: TEST_SECRET };
    expect(ykt(['create-admin', '--username', 'itadmin', '--name', '县信息中心', '--region', '江川省/临山市/青禾县'], env).code).toBe(0);
    const rotated = ykt(['rotate-signing-key'], env);
    expect(rotated.err).toBe('');
    expect(rotated.code).toBe(0);
    const db = createDb(path.join(dir, 'ykt.sqlite'));
    const keys = await db('core_signing_key').orderBy('id').select('fingerprint', 'in_use', 'retired_at');
    await db.destroy();
    expect(keys.map((k) => k.in_use)).toEqual([null, 1]);
    expect(keys[0].retired_at).not.toBeNull();
    expect(rotated.out).toContain(`已停用指纹为 ${keys[0].fingerprint} 的签名密钥对`);
    expect(rotated.out).toContain(`公钥指纹：${keys[1].fingerprint}`);
    expect(ykt(['verify-audit'], env).out).toContain('审计日志完整：已校验 2 条记录');
  });

  it('simulates a bank: reads a payout file and writes its result file, failures at the chosen rate, the same for the same seed', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-cli-'));
    const out = path.join(dir, 'results.csv');
    const res = ykt(['bank-sim', '--in', 'docs/samples/payout-sample.csv', '--out', out, '--fail-rate', '0.5', '--seed', '3']);
    expect(res.code).toBe(0);
    const lines = fs.readFileSync(out, 'utf8').replace(/^\ufeff/, '').trim().split('\r\n');
    const failed = lines.filter((l) => l.includes(',失败,')).length;
    // The summary first (its own lines' count, total, successes, failures), then the lines.
    expect(lines.slice(0, 4)).toEqual(['总笔数,总金额（分）,成功笔数,失败笔数', `3,430968,${3 - failed},${failed}`, '', '流水号,金额（分）,结果,失败代码,失败原因']);
    expect(lines.slice(4).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['R12-3401,131875', 'R12-3402,84400', 'R12-3403,214693']);
    expect(res.out).toContain(`其中失败 ${failed} 笔`);
    const again = path.join(dir, 'again.csv');
    ykt(['bank-sim', '--in', 'docs/samples/payout-sample.csv', '--out', again, '--fail-rate', '0.5', '--seed', '3']);
    expect(fs.readFileSync(again).equals(fs.readFileSync(out))).toBe(true);
    expect(ykt(['bank-sim', '--in', 'docs/samples/payout-sample.csv']).code).toBe(2);
  });

  it('plays a bank with its own SM2 key (bank-sim --new-key, --key): opens a file encrypted for it and signs what it writes, as OpenSSL checks', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-cli-'));
    const keyFile = path.join(dir, 'bank.pem');
    const made = ykt(['bank-sim', '--new-key', keyFile]);
    expect(made.code).toBe(0);
    const publicPem = /-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----\n/.exec(made.out)![0];
    const parsed = parsePublicKey(publicPem);
    if (!parsed.ok) throw new Error(parsed.message);
    const payout = fs.readFileSync('docs/samples/payout-sample.csv');
    const encrypted = path.join(dir, 'payout.csv.enc');
    fs.writeFileSync(encrypted, sealFor(parsed.publicKey, payout));
    const out = path.join(dir, 'results.csv');
    expect(ykt(['bank-sim', '--in', encrypted, '--out', out]).code).toBe(2);
    const res = ykt(['bank-sim', '--in', encrypted, '--out', out, '--key', keyFile]);
    expect(res.code).toBe(0);
    expect(res.out).toContain('签名');
    const sig = parseSignature(fs.readFileSync(`${out}.sig`))!;
    expect(verifySignature(fs.readFileSync(out), sig.signature, parsed.publicKey)).toBe(true);
    if (spawnSync('openssl', ['version']).status === 0) {
      fs.writeFileSync(path.join(dir, 'pub.pem'), publicPem);
      fs.writeFileSync(path.join(dir, 'sig.der'), Buffer.from(sig.signature, 'hex'));
      const checked = spawnSync('openssl', ['dgst', '-sm3', '-verify', 'pub.pem', '-sigopt', 'distid:1234567812345678', '-signature', 'sig.der', out], { cwd: dir, encoding: 'utf8' });
      expect(checked.stdout).toContain('Verified OK');
    }
  });

  it('answers an account verification list with the bank\'s verdicts (bank-sim --accounts)', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-cli-'));
    const out = path.join(dir, 'verdicts.csv');
    const res = ykt(['bank-sim', '--accounts', 'docs/samples/account-check-sample.csv', '--out', out, '--fail-rate', '1', '--seed', '4']);
    expect(res.code).toBe(0);
    expect(res.out).toContain('3 笔，其中有误 3 笔');
    const rows = fs.readFileSync(out, 'utf8').replace(/^\ufeff/, '').trim().split('\r\n');
    expect(rows[0]).toBe('核验编号,户名,身份证号码,账号,核验结果,说明');
    expect(rows.slice(1).map((r) => r.split(',')[0])).toEqual(['V7-3401', 'V7-3402', 'V7-3404']);
    expect(rows.slice(1).every((r) => /,(已销户|已冻结|户名不符|账户不存在),.+（模拟）$/.test(r))).toBe(true);
  });

  it('answers a notice file with the bank\'s confirmation file (bank-sim --notices)', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-cli-'));
    const out = path.join(dir, 'confirm.csv');
    const res = ykt(['bank-sim', '--notices', 'docs/samples/notice-sample.csv', '--out', out, '--fail-rate', '1', '--seed', '2']);
    expect(res.code).toBe(0);
    expect(res.out).toContain('3 条，其中发送失败 3 条');
    const rows = fs.readFileSync(out, 'utf8').replace(/^\ufeff/, '').trim().split('\r\n');
    expect(rows[0]).toBe('告知编号,结果,失败原因');
    expect(rows.slice(1).map((r) => r.split(',').slice(0, 2).join(','))).toEqual(['1201,失败', '1202,失败', '1203,失败']);
  });
});
