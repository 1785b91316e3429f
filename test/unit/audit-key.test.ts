import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditKeyInUse } from '../../src/core/audit-key.ts';
import { ConfigError, loadAuditVerifierConfig, loadConfig } from '../../src/core/config.ts';
import { referenceAuditKey } from '../audit-chain-reference.ts';

const SECRET = 'unit-secret-key-0123456789abcdef0123';
const KEY = '0f'.repeat(32);

describe('the audit key setting', () => {
  it('is YKT_AUDIT_KEY when set, else derived from YKT_SECRET_KEY, and is the key this process writes audit rows with', () => {
    const derived = loadConfig({ YKT_SECRET_KEY: SECRET });
    expect(derived.auditKey.toString('hex')).toBe(referenceAuditKey(SECRET));
    expect(auditKeyInUse()).toBe(derived.auditKey);
    const given = loadConfig({ YKT_SECRET_KEY: SECRET, YKT_AUDIT_KEY: KEY.toUpperCase(), YKT_AUDIT_ANCHOR_COPY: 'kept/anchor.json' });
    expect(given.auditKey.toString('hex')).toBe(KEY);
    expect(auditKeyInUse()).toBe(given.auditKey);
    expect(given.auditAnchorCopy).toBe(path.resolve('kept/anchor.json'));
    expect(() => loadConfig({ YKT_SECRET_KEY: SECRET, YKT_AUDIT_KEY: 'not-hex' })).toThrow(new ConfigError('YKT_AUDIT_KEY 应为 64 位十六进制数字的审计密钥（ykt audit-key 打印的那种）'));
  });

  it('reaches the verifier from a key file first, then YKT_AUDIT_KEY, then YKT_SECRET_KEY, and never needs the secret', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-key-'));
    try {
      const file = path.join(dir, 'audit.key');
      fs.writeFileSync(file, `${'ab'.repeat(16)}\n${'ab'.repeat(16)}\n`);
      expect(loadAuditVerifierConfig({ YKT_AUDIT_KEY: KEY, YKT_SECRET_KEY: SECRET }, file).auditKey.toString('hex')).toBe('ab'.repeat(32));
      expect(loadAuditVerifierConfig({ YKT_AUDIT_KEY: KEY, YKT_SECRET_KEY: SECRET }).auditKey.toString('hex')).toBe(KEY);
      expect(loadAuditVerifierConfig({ YKT_SECRET_KEY: SECRET }).auditKey.toString('hex')).toBe(referenceAuditKey(SECRET));
      expect(loadAuditVerifierConfig({ YKT_AUDIT_KEY: KEY, YKT_DATA_DIR: dir })).toMatchObject({ dataDir: dir, databaseUrl: path.join(dir, 'ykt.sqlite') });
      expect(() => loadAuditVerifierConfig({}, path.join(dir, 'missing.key'))).toThrow(`无法读取审计密钥文件 ${path.join(dir, 'missing.key')}`);
      expect(() => loadAuditVerifierConfig({ YKT_SECRET_KEY: 'short' })).toThrow(/^缺少审计密钥/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
