import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SM2_USER_ID, ensureSigningKey, fingerprintOf, publicKeyPem, rotateSigningKey, signFile, signingKeys, verifySignature } from '../../src/core/signing.ts';
import { TEST_DB, type TestDb, createTestDb, independentSm2 } from '../factories.ts';

// The deployment's SM2 signatures (src/core/signing.ts, docs/signature-format.md), checked with implementations that
// share no code with the platform's: sm-crypto (jsbn arithmetic; the platform's is sm-crypto-v2 on @noble/curves)
// and the OpenSSL command line.
let t: TestDb | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

describe(`SM2 signatures of the files given to banks (${TEST_DB})`, () => {
  it('makes one key pair, even when two instances start at once, keeps the private key encrypted, and signs with it', async () => {
    t = await createTestDb();
    const [a, b] = await Promise.all([ensureSigningKey(t.core), ensureSigningKey(t.core)]);
    expect(a).toEqual(b);
    expect(await signingKeys(t.core.db)).toEqual([a]);
    expect(a.fingerprint).toBe(fingerprintOf(a.publicKey));
    expect(a.publicKey).toMatch(/^04[0-9a-f]{128}$/);
    // The private key is nowhere in clear.
    const wrapped = await t.core.db('core_wrapped_key').where({ purpose: `sm2-signing:${a.id}` }).first('key_enc');
    expect(wrapped.key_enc).toMatch(/^v1:/);
    expect(JSON.stringify(await t.core.db('core_signing_key').select())).not.toContain(t.core.crypto.decrypt(wrapped.key_enc));

    const data = Buffer.from('\ufeff批次号,批次名称\r\n12,2026年耕地地力保护补贴\r\n', 'utf8');
    const sig = await signFile(t.core, data);
    expect(sig).toMatchObject({ algorithm: 'SM2-SM3', key: a.fingerprint });
    expect(verifySignature(data, sig.signature, a.publicKey)).toBe(true);
    // An independent implementation checks it with the standard's default user ID, over the file's bytes.
    expect(independentSm2.doVerifySignature([...data], sig.signature, a.publicKey, { der: true, hash: true, userId: SM2_USER_ID })).toBe(true);
    const tampered = Buffer.from(data);
    tampered[tampered.length - 3] ^= 1;
    expect(verifySignature(tampered, sig.signature, a.publicKey)).toBe(false);
    expect(independentSm2.doVerifySignature([...tampered], sig.signature, a.publicKey, { der: true, hash: true })).toBe(false);
    // A new pair signs from its rotation on; the old one stays listed, retired, and what it signed still checks out.
    const { retired, current } = await rotateSigningKey(t.core);
    expect(retired.fingerprint).toBe(a.fingerprint);
    expect((await signingKeys(t.core.db)).map((k) => [k.fingerprint, k.retiredAt === null])).toEqual([
      [current.fingerprint, true],
      [a.fingerprint, false],
    ]);
    expect((await signFile(t.core, data)).key).toBe(current.fingerprint);
    expect(verifySignature(data, sig.signature, a.publicKey)).toBe(true);
    // A signature made by the independent implementation is one the platform accepts.
    const theirs = independentSm2.generateKeyPairHex();
    expect(verifySignature(data, independentSm2.doSignature([...data], theirs.privateKey, { der: true, hash: true }), theirs.publicKey)).toBe(true);
  });

  it.runIf(openssl)('gives a public key and signatures that the OpenSSL command line checks', async () => {
    t = await createTestDb();
    const key = await ensureSigningKey(t.core);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-sign-'));
    const data = crypto.randomBytes(100_000);
    const sig = await signFile(t.core, data);
    fs.writeFileSync(path.join(dir, 'file.bin'), data);
    fs.writeFileSync(path.join(dir, 'file.sig'), Buffer.from(sig.signature, 'hex'));
    fs.writeFileSync(path.join(dir, 'key.pem'), publicKeyPem(key.publicKey));
    const verify = (file: string) => spawnSync('openssl', ['dgst', '-sm3', '-verify', 'key.pem', '-sigopt', `distid:${SM2_USER_ID}`, '-signature', 'file.sig', file], { cwd: dir, encoding: 'utf8' });
    expect(verify('file.bin').stdout).toContain('Verified OK');
    fs.writeFileSync(path.join(dir, 'other.bin'), Buffer.concat([data, Buffer.from([0])]));
    expect(verify('other.bin').stdout).not.toContain('Verified OK');
  });
});
