import { describe, expect, it } from 'vitest';
import { FieldCryptoError, createFieldCrypto, sm3Hex } from '../../src/core/crypto.ts';

const key = 'unit-test-secret-key-0123456789abcdef';

describe('field encryption (SM4-CTR + HMAC-SM3) and blind index', () => {
  const c = createFieldCrypto(key);

  it('round-trips, and the same value encrypts differently each time', () => {
    const a = c.encrypt('11010519491231002X');
    const b = c.encrypt('11010519491231002X');
    expect(a).not.toBe(b);
    expect(a.startsWith('v1:')).toBe(true);
    expect(a).not.toContain('1101051949');
    expect(c.decrypt(a)).toBe('11010519491231002X');
    expect(c.decrypt(c.encrypt('张三 · 6228480402564890018'))).toBe('张三 · 6228480402564890018');
  });

  it('detects tampering and a wrong key', () => {
    const stored = c.encrypt('6228480402564890018');
    const raw = Buffer.from(stored.slice(3), 'base64');
    raw[20] = raw[20]! ^ 1;
    expect(() => c.decrypt(`v1:${raw.toString('base64')}`)).toThrow(FieldCryptoError);
    expect(() => createFieldCrypto('another-secret-key-0123456789abcdef!').decrypt(stored)).toThrow(FieldCryptoError);
    expect(() => c.decrypt('garbage')).toThrow(FieldCryptoError);
  });

  it('gives a stable, keyed blind index that ignores case and spaces at the ends', () => {
    expect(c.blindIndex('id', '11010519491231002x ')).toBe(c.blindIndex('id', '11010519491231002X'));
    expect(c.blindIndex('id', '11010519491231002X')).not.toBe(c.blindIndex('account', '11010519491231002X'));
    expect(createFieldCrypto('another-secret-key-0123456789abcdef!').blindIndex('id', '11010519491231002X')).not.toBe(c.blindIndex('id', '11010519491231002X'));
  });

  it('computes SM3 (GB/T 32905 test vector "abc")', () => {
    expect(sm3Hex('abc')).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
  });
});
