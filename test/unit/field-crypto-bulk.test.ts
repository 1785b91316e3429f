import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FieldCryptoError, createFieldCrypto } from '../../src/core/crypto.ts';

/**
 * The bulk paths of field encryption (one SM4-ECB pass over many counter blocks, HMAC-SM3 from two one-shot
 * hashes) against the format as first written: per-field `sm4-ctr` and `createHmac('sm3')` under the same keys.
 */
const require = createRequire(import.meta.url);
const smCrypto = require('sm-crypto') as {
  sm3(input: number[], options?: { key: string }): string;
  sm4: { encrypt(input: number[], key: string, options: { padding: 'none'; output: 'array' }): number[] };
};

const secret = 'bulk-test-secret-key-0123456789abcdef';
const keyOf = (purpose: string, bytes: number) => Buffer.from(crypto.hkdfSync('sm3', Buffer.from(secret, 'utf8'), Buffer.from('ykt'), Buffer.from(purpose), bytes));
const encKey = keyOf('field-enc', 16);
const macKey = keyOf('field-mac', 32);
const indexKey = keyOf('blind-index', 32);

/** A field stored the way the first version of crypto.ts stored it, under the given IV. */
function storedTheOldWay(plain: string, iv: Buffer): string {
  const cipher = crypto.createCipheriv('sm4-ctr', encKey, iv);
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  const tag = crypto.createHmac('sm3', macKey).update('v1').update(iv).update(ct).digest();
  return `v1:${Buffer.concat([iv, ct, tag]).toString('base64')}`;
}

function blindIndexTheOldWay(kind: string, value: string): string {
  return crypto.createHmac('sm3', indexKey).update(kind).update('\0').update(value.trim().toUpperCase()).digest('hex');
}

/** SM4-CTR and HMAC-SM3 by sm-crypto, an independent implementation: counter blocks counted with BigInt. */
function storedBySmCrypto(plain: string, iv: Buffer): string {
  const data = Buffer.from(plain, 'utf8');
  const blocks = Math.ceil(data.length / 16);
  const counters: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const counter = (BigInt(`0x${iv.toString('hex')}`) + BigInt(b)) % 2n ** 128n;
    counters.push(...Buffer.from(counter.toString(16).padStart(32, '0'), 'hex'));
  }
  const keystream = blocks ? smCrypto.sm4.encrypt(counters, encKey.toString('hex'), { padding: 'none', output: 'array' }) : [];
  const ct = Buffer.from(data.map((byte, i) => byte ^ keystream[i]!));
  const tag = Buffer.from(smCrypto.sm3([...Buffer.from('v1'), ...iv, ...ct], { key: macKey.toString('hex') }), 'hex');
  return `v1:${Buffer.concat([iv, ct, tag]).toString('base64')}`;
}

const ivOf = (stored: string) => Buffer.from(stored.slice(3), 'base64').subarray(0, 16);

const VALUES = [
  '',
  '1',
  '11010519491231002X',
  '6228480402564890018',
  '0123456789abcdef',
  '0123456789abcdef0',
  '张三 · 6228480402564890018',
  '𠮷野家 · 生僻字',
  '{"kind":"account","account":{"kind":"bank_card","bankName":"中国农业银行","number":"6228480402564890018","holderName":"李四"}}',
  '长'.repeat(1000),
];

/** IVs whose low bytes are all 0xff, so that the counter carries into higher bytes (the last one wraps all 128 bits). */
const CARRYING_IVS = [
  Buffer.from('0102030405060708090a0b0c0d0e0fff', 'hex'),
  Buffer.from('0102030405060708ffffffffffffffff', 'hex'),
  Buffer.from('00ffffffffffffffffffffffffffffff', 'hex'),
  Buffer.from('fffffffffffffffffffffffffffffffe', 'hex'),
  Buffer.from('ffffffffffffffffffffffffffffffff', 'hex'),
];

describe('bulk field encryption (encryptMany, decryptMany, blindIndexMany)', () => {
  const c = createFieldCrypto(secret);

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('encryptMany and encrypt store, byte for byte, what per-field sm4-ctr and createHmac store under the same IV', () => {
    const everyLength = Array.from({ length: 50 }, (_, n) => 'a'.repeat(n));
    const plains = [...VALUES, ...everyLength, ...VALUES];
    const stored = [...c.encryptMany([...VALUES, ...everyLength]), ...VALUES.map((v) => c.encrypt(v))];
    stored.forEach((s, i) => expect(s).toBe(storedTheOldWay(plains[i]!, ivOf(s))));
    expect(new Set(stored.map((s) => ivOf(s).toString('hex'))).size).toBe(stored.length);
  });

  it('encryptMany counts the counter across a carry of the whole 128-bit block, as sm4-ctr does', () => {
    const pool = Buffer.concat(Array.from({ length: 256 }, (_, i) => CARRYING_IVS[i % CARRYING_IVS.length]!));
    vi.spyOn(crypto, 'randomBytes').mockImplementation(((size: number) => Buffer.from(pool.subarray(0, size))) as typeof crypto.randomBytes);
    // More fields than the IV pool holds twice: the pool is refilled (with the IVs above) within the call.
    const plains = Array.from({ length: 600 }, (_, i) => VALUES[i % VALUES.length]!);
    const stored = c.encryptMany(plains);
    const carrying = stored.filter((s) => CARRYING_IVS.some((iv) => iv.equals(ivOf(s))));
    expect(carrying.length).toBeGreaterThan(256);
    stored.forEach((s, i) => expect(s).toBe(storedTheOldWay(plains[i]!, ivOf(s))));
  });

  it('decryptMany and decrypt read fields stored the old way, including IVs whose counter carries', () => {
    const plains = VALUES.flatMap((v) => [v, v]);
    const stored = plains.map((v, i) => storedTheOldWay(v, i < CARRYING_IVS.length * 2 ? CARRYING_IVS[i % CARRYING_IVS.length]! : crypto.randomBytes(16)));
    expect(c.decryptMany(stored)).toEqual(plains);
    stored.forEach((s, i) => expect(c.decrypt(s)).toBe(plains[i]));
    expect(c.decryptMany([])).toEqual([]);
    expect(c.encryptMany([])).toEqual([]);
  });

  it('a value stored before the bulk paths existed still decrypts (fixed IV, literal stored form)', () => {
    // Written by the first crypto.ts (per-field sm4-ctr and createHmac) under this test's key.
    const stored = 'v1:ABEiM0RVZneImaq7zN3u/2HSNoa/bPbY6obcFA9NoAvkFiYGuqBYRKRADrmYXcrvMdEiAhKBw7g2FVj1waD12vKiWQ==';
    expect(storedTheOldWay('6228480402564890018', Buffer.from('00112233445566778899aabbccddeeff', 'hex'))).toBe(stored);
    expect(c.decrypt(stored)).toBe('6228480402564890018');
    expect(c.decryptMany([stored, c.encrypt('李四')])).toEqual(['6228480402564890018', '李四']);
  });

  it('decryptMany refuses the whole call when any field is tampered with, malformed or under another key', () => {
    const good = c.encryptMany(['11010519491231002X', '6228480402564890018', '张三']);
    const raw = Buffer.from(good[1]!.slice(3), 'base64');
    raw[20] = raw[20]! ^ 1;
    const tampered = `v1:${raw.toString('base64')}`;
    const failure = (values: string[]) => {
      try {
        c.decryptMany(values);
      } catch (err) {
        return err;
      }
      return null;
    };
    const tamperedError = failure([good[0]!, tampered, good[2]!]);
    expect(tamperedError).toBeInstanceOf(FieldCryptoError);
    expect((tamperedError as Error).message).toBe('加密字段校验失败（可能被篡改或密钥不符）');
    expect((failure([good[0]!, createFieldCrypto(`${secret}!`).encrypt('x')]) as Error).message).toBe('加密字段校验失败（可能被篡改或密钥不符）');
    expect((failure([good[0]!, 'garbage']) as Error).message).toBe('加密字段格式无法识别');
    expect((failure([good[0]!, 'v1:AAAA']) as Error).message).toBe('加密字段长度不正确');
    for (const bad of [tampered, 'garbage', 'v1:AAAA']) expect(() => c.decrypt(bad)).toThrow(FieldCryptoError);
    // The tag covers the IV too.
    const movedIv = Buffer.from(good[0]!.slice(3), 'base64');
    movedIv[15] = movedIv[15]! ^ 1;
    expect(() => c.decryptMany([`v1:${movedIv.toString('base64')}`])).toThrow(FieldCryptoError);
  });

  it('blindIndexMany and blindIndex equal createHmac over kind, NUL and the trimmed upper-cased value', () => {
    const values = ['11010519491231002x ', ' 11010519491231002X', '', '张三', 'a'.repeat(500), ...VALUES];
    expect(c.blindIndexMany('id', values)).toEqual(values.map((v) => blindIndexTheOldWay('id', v)));
    expect(c.blindIndexMany('account', values)).toEqual(values.map((v) => c.blindIndex('account', v)));
    expect(c.blindIndex('id', '11010519491231002x ')).toBe(c.blindIndex('id', '11010519491231002X'));
    expect(c.blindIndexMany('id', [])).toEqual([]);
  });

  it('agrees with sm-crypto, an independent SM4 and HMAC-SM3, including counters that carry', () => {
    const stored = c.encryptMany(VALUES);
    stored.forEach((s, i) => expect(s).toBe(storedBySmCrypto(VALUES[i]!, ivOf(s))));
    for (const iv of CARRYING_IVS) expect(c.decrypt(storedBySmCrypto('0123456789abcdef0123456789abcdef0', iv))).toBe('0123456789abcdef0123456789abcdef0');
    expect(c.blindIndex('id', '11010519491231002X')).toBe(smCrypto.sm3([...Buffer.from('id\u000011010519491231002X')], { key: indexKey.toString('hex') }));
  });
});
