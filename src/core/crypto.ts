import crypto from 'node:crypto';

/**
 * Field encryption for ID numbers, account numbers and other secrets at rest.
 *
 * SM4-CTR with HMAC-SM3 over version, IV and ciphertext (encrypt-then-MAC): Node's OpenSSL has SM4 and SM3
 * but not SM4-GCM. Keys are derived from YKT_SECRET_KEY with HKDF-SM3, one per purpose, so that the blind
 * index, the cipher and the CSRF tokens never share a key.
 *
 * Stored form: "v1:" + base64(iv[16] || ciphertext || tag[32]).
 */
const VERSION = 'v1';
const IV_BYTES = 16;
const TAG_BYTES = 32;

export class FieldCryptoError extends Error {}

export interface FieldCrypto {
  encrypt(plain: string): string;
  decrypt(stored: string): string;
  /** Keyed blind index for exact lookup (e.g. by ID number) without decrypting every row. */
  blindIndex(kind: string, value: string): string;
  /** A purpose-bound key for other core uses (session and CSRF tokens). */
  subkey(purpose: string): Buffer;
}

function derive(secret: string, purpose: string, bytes: number): Buffer {
  return Buffer.from(crypto.hkdfSync('sm3', Buffer.from(secret, 'utf8'), Buffer.from('ykt'), Buffer.from(purpose), bytes));
}

/**
 * IVs are drawn from a pool refilled 256 at a time: the same CSPRNG output, without one OpenSSL call per field
 * (a 50,000-row import encrypts 100,000 fields). A pool is replaced, never overwritten, so handed-out IVs stay.
 */
const IV_POOL_BYTES = 16 * 256;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

function nextIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = crypto.randomBytes(IV_POOL_BYTES);
    ivOffset = 0;
  }
  ivOffset += IV_BYTES;
  return ivPool.subarray(ivOffset - IV_BYTES, ivOffset);
}

export function createFieldCrypto(secretKey: string): FieldCrypto {
  const encKey = derive(secretKey, 'field-enc', 16);
  const macKey = derive(secretKey, 'field-mac', 32);
  const indexKey = derive(secretKey, 'blind-index', 32);

  function tag(iv: Buffer, ct: Buffer): Buffer {
    return crypto.createHmac('sm3', macKey).update(VERSION).update(iv).update(ct).digest();
  }

  return {
    encrypt(plain) {
      const iv = nextIv();
      const cipher = crypto.createCipheriv('sm4-ctr', encKey, iv);
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `${VERSION}:${Buffer.concat([iv, ct, tag(iv, ct)]).toString('base64')}`;
    },
    decrypt(stored) {
      const [version, body] = stored.split(':', 2);
      if (version !== VERSION || !body) throw new FieldCryptoError('加密字段格式无法识别');
      const raw = Buffer.from(body, 'base64');
      if (raw.length < IV_BYTES + TAG_BYTES) throw new FieldCryptoError('加密字段长度不正确');
      const iv = raw.subarray(0, IV_BYTES);
      const ct = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
      const given = raw.subarray(raw.length - TAG_BYTES);
      if (!crypto.timingSafeEqual(given, tag(iv, ct))) throw new FieldCryptoError('加密字段校验失败（可能被篡改或密钥不符）');
      const decipher = crypto.createDecipheriv('sm4-ctr', encKey, iv);
      return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
    },
    blindIndex(kind, value) {
      return crypto.createHmac('sm3', indexKey).update(kind).update('\0').update(value.trim().toUpperCase()).digest('hex');
    },
    subkey(purpose) {
      return derive(secretKey, `sub:${purpose}`, 32);
    },
  };
}

export function sm3Hex(data: string | Buffer): string {
  return typeof data === 'string' ? crypto.createHash('sm3').update(data, 'utf8').digest('hex') : crypto.createHash('sm3').update(data).digest('hex');
}

/** HMAC-SM3 of data (a string is read as UTF-8) under key. */
export function hmacSm3(key: Buffer, data: string | Buffer): Buffer {
  return crypto.createHmac('sm3', key).update(data).digest();
}

export function sha256(data: string | Buffer): Buffer {
  return crypto.createHash('sha256').update(data).digest();
}

export function randomToken(bytes = 32): string {
  return crypto.randomBytes(bytes).toString('base64url');
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
