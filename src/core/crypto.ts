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
  /** encrypt for many fields at once (an import's column): one SM4 pass over all their counter blocks. */
  encryptMany(plains: readonly string[]): string[];
  /** decrypt for many fields at once; throws as decrypt does if any of them fails, before returning any. */
  decryptMany(stored: readonly string[]): string[];
  blindIndexMany(kind: string, values: readonly string[]): string[];
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

const SM4_BLOCK = 16;
const SM3_BLOCK = 64;
const SM3_BYTES = 32;
/** Where a field's bytes start in its frame: SM3_BLOCK bytes for the HMAC key block, then the version and the IV. */
const FRAME_IV = SM3_BLOCK + VERSION.length;
const FRAME_DATA = FRAME_IV + IV_BYTES;

/**
 * HMAC-SM3 (RFC 2104) from two one-shot hashes over precomputed key blocks, H((K ^ opad) || H((K ^ ipad) || m)):
 * the same bytes as createHmac('sm3', key), without the HMAC object whose set-up is most of createHmac's cost.
 * The message is read from frame[SM3_BLOCK..]; the key block is written into the first SM3_BLOCK bytes of the frame
 * and zeroed after use, so that no copy of the key is left in memory that Buffer.allocUnsafe may hand out again.
 */
function sm3HmacOf(key: Buffer): (frame: Buffer, encoding: 'hex' | 'binary') => string {
  if (key.length > SM3_BLOCK) throw new Error('HMAC key longer than the SM3 block');
  const inner = Buffer.alloc(SM3_BLOCK, 0x36);
  const outer = Buffer.alloc(SM3_BLOCK + SM3_BYTES, 0x5c);
  for (let i = 0; i < key.length; i++) {
    inner[i]! ^= key[i]!;
    outer[i]! ^= key[i]!;
  }
  return (frame, encoding) => {
    frame.set(inner, 0);
    const digest = crypto.hash('sm3', frame, 'binary');
    frame.fill(0, 0, SM3_BLOCK);
    outer.write(digest, SM3_BLOCK, 'binary');
    return crypto.hash('sm3', outer, encoding);
  };
}

export function createFieldCrypto(secretKey: string): FieldCrypto {
  const encKey = derive(secretKey, 'field-enc', 16);
  const macKey = derive(secretKey, 'field-mac', 32);
  const indexKey = derive(secretKey, 'blind-index', 32);
  const mac = sm3HmacOf(macKey);
  const indexMac = sm3HmacOf(indexKey);
  // SM4-CTR keystream is SM4-ECB over the counter blocks, and ECB keeps no state between whole blocks: one cipher
  // object serves every call, each pass covering all the fields it is given.
  const ecb = crypto.createCipheriv('sm4-ecb', encKey, null).setAutoPadding(false);
  let indexFrame = Buffer.alloc(SM3_BLOCK + 256);

  /**
   * XORs in place the SM4-CTR keystream over frame[at + FRAME_DATA, + length) for each field, the IV being the 16
   * bytes before: counter blocks IV, IV + 1, … (the whole 128-bit block counts up big-endian, carry included).
   */
  function ctr(frame: Buffer, starts: readonly number[], lengths: readonly number[]): void {
    let blocks = 0;
    for (const n of lengths) blocks += Math.ceil(n / SM4_BLOCK);
    if (blocks === 0) return;
    const counters = Buffer.allocUnsafe(blocks * SM4_BLOCK);
    let c = 0;
    for (let f = 0; f < starts.length; f++) {
      const fieldBlocks = Math.ceil(lengths[f]! / SM4_BLOCK);
      if (fieldBlocks === 0) continue;
      const iv = starts[f]! + FRAME_IV;
      for (let i = 0; i < SM4_BLOCK; i++) counters[c + i] = frame[iv + i]!;
      if (fieldBlocks > 1) {
        // Each block starts as the IV; block b adds b to the low 32 bits, which carries into the upper 96 at most once.
        counters.fill(counters.subarray(c, c + SM4_BLOCK), c + SM4_BLOCK, c + fieldBlocks * SM4_BLOCK);
        const low = counters.readUInt32BE(c + 12);
        for (let b = 1; b < fieldBlocks; b++) {
          const at = c + b * SM4_BLOCK;
          const word = (low + b) >>> 0;
          counters[at + 12] = word >>> 24;
          counters[at + 13] = word >>> 16;
          counters[at + 14] = word >>> 8;
          counters[at + 15] = word;
          if (word < low) {
            for (let i = at + 11; i >= at; i--) {
              const v = (counters[i]! + 1) & 0xff;
              counters[i] = v;
              if (v !== 0) break;
            }
          }
        }
      }
      c += fieldBlocks * SM4_BLOCK;
    }
    const keystream = ecb.update(counters);
    const data = new DataView(frame.buffer, frame.byteOffset, frame.length);
    const stream = new DataView(keystream.buffer, keystream.byteOffset, keystream.length);
    c = 0;
    for (let f = 0; f < starts.length; f++) {
      const at = starts[f]! + FRAME_DATA;
      const n = lengths[f]!;
      let i = 0;
      for (; i + 4 <= n; i += 4) data.setInt32(at + i, data.getInt32(at + i) ^ stream.getInt32(c + i));
      for (; i < n; i++) frame[at + i]! ^= keystream[c + i]!;
      c += Math.ceil(n / SM4_BLOCK) * SM4_BLOCK;
    }
  }

  function encryptMany(plains: readonly string[]): string[] {
    const lengths = plains.map((p) => Buffer.byteLength(p, 'utf8'));
    const starts: number[] = [];
    let size = 0;
    for (const n of lengths) {
      starts.push(size);
      size += FRAME_DATA + n + TAG_BYTES;
    }
    const frame = Buffer.allocUnsafe(size);
    for (let f = 0; f < plains.length; f++) {
      frame.write(VERSION, starts[f]! + SM3_BLOCK, 'latin1');
      frame.set(nextIv(), starts[f]! + FRAME_IV);
      frame.write(plains[f]!, starts[f]! + FRAME_DATA, 'utf8');
    }
    ctr(frame, starts, lengths);
    return plains.map((_, f) => {
      const at = starts[f]!;
      const end = at + FRAME_DATA + lengths[f]!;
      frame.write(mac(frame.subarray(at, end), 'binary'), end, 'binary');
      return `${VERSION}:${frame.toString('base64', at + FRAME_IV, end + TAG_BYTES)}`;
    });
  }

  function decryptMany(stored: readonly string[]): string[] {
    const raws = stored.map((value) => {
      const [version, body] = value.split(':', 2);
      if (version !== VERSION || !body) throw new FieldCryptoError('加密字段格式无法识别');
      const raw = Buffer.from(body, 'base64');
      if (raw.length < IV_BYTES + TAG_BYTES) throw new FieldCryptoError('加密字段长度不正确');
      return raw;
    });
    const starts: number[] = [];
    const lengths: number[] = [];
    let size = 0;
    for (const raw of raws) {
      starts.push(size);
      lengths.push(raw.length - IV_BYTES - TAG_BYTES);
      size += FRAME_IV + raw.length - TAG_BYTES;
    }
    const frame = Buffer.allocUnsafe(size);
    const expected = Buffer.allocUnsafe(TAG_BYTES);
    for (let f = 0; f < raws.length; f++) {
      const raw = raws[f]!;
      const at = starts[f]!;
      frame.write(VERSION, at + SM3_BLOCK, 'latin1');
      frame.set(raw.subarray(0, raw.length - TAG_BYTES), at + FRAME_IV);
      expected.write(mac(frame.subarray(at, at + FRAME_DATA + lengths[f]!), 'binary'), 0, 'binary');
      if (!crypto.timingSafeEqual(raw.subarray(raw.length - TAG_BYTES), expected)) throw new FieldCryptoError('加密字段校验失败（可能被篡改或密钥不符）');
    }
    ctr(frame, starts, lengths);
    return starts.map((at, f) => frame.toString('utf8', at + FRAME_DATA, at + FRAME_DATA + lengths[f]!));
  }

  function blindIndex(kind: string, value: string): string {
    const message = `${kind}\0${value.trim().toUpperCase()}`;
    const length = SM3_BLOCK + Buffer.byteLength(message, 'utf8');
    if (length > indexFrame.length) indexFrame = Buffer.alloc(length);
    indexFrame.write(message, SM3_BLOCK, 'utf8');
    return indexMac(indexFrame.subarray(0, length), 'hex');
  }

  return {
    encrypt: (plain) => encryptMany([plain])[0]!,
    decrypt: (stored) => decryptMany([stored])[0]!,
    blindIndex,
    encryptMany,
    decryptMany,
    blindIndexMany: (kind, values) => values.map((value) => blindIndex(kind, value)),
    subkey(purpose) {
      return derive(secretKey, `sub:${purpose}`, 32);
    },
  };
}

/** Each distinct value's blind index, computed once in bulk: an import's column, then looked up by value. */
export function blindIndexesOf(fields: Pick<FieldCrypto, 'blindIndexMany'>, kind: string, values: readonly string[]): Map<string, string> {
  const distinct = [...new Set(values)];
  const indexes = fields.blindIndexMany(kind, distinct);
  return new Map(distinct.map((value, i) => [value, indexes[i]!]));
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
