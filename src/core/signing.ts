import crypto from 'node:crypto';
import { sm2 } from 'sm-crypto-v2';
import { deploymentAuditor, recordAudit } from './audit.ts';
import type { Core } from './context.ts';
import { type Conn, type Tx, inTransaction, nowIso } from './db.ts';
import { storedPurposeKey } from './wrapped-keys.ts';

/**
 * The deployment's SM2 signatures (GB/T 32918.2, SM2 with SM3) on the files it gives the agent banks (Liaoning
 * 三(二)2): payout files, with the signature beside the file and in the API's answer (docs/signature-format.md).
 *
 * The key pair is made at the server's first start (or at the first signature) and kept as rows:
 * the public key and its fingerprint in core_signing_key, the private key in core_wrapped_key under the purpose
 * `sm2-signing:<the key's id>`, encrypted under the field key (`ykt rotate-key` re-encrypts it). The SM2 arithmetic is
 * sm-crypto-v2's (on the audited @noble/curves); the message's digest e = SM3(Z ‖ M) is taken with Node's own SM3,
 * so that a file of many MB is hashed natively.
 */

/** The signer's identity in Z (GB/T 35276: the default user ID), as banks' SM2 libraries use by default. */
export const SM2_USER_ID = '1234567812345678';

/** SubjectPublicKeyInfo of an SM2 public key, before the 65 bytes of its point (id-ecPublicKey, curve 1.2.156.10197.1.301). */
const SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex');

export interface SigningKey {
  id: number;
  /** SM3 of the public key's 65 bytes, hex. */
  fingerprint: string;
  /** The uncompressed point, 04 ‖ x ‖ y, hex. */
  publicKey: string;
  createdAt: string;
  retiredAt: string | null;
}

export interface Signature {
  algorithm: 'SM2-SM3';
  /** The signing key's fingerprint. */
  key: string;
  /** The signature, DER (SEQUENCE of r and s), hex. */
  signature: string;
}

const purposeOf = (keyId: number) => `sm2-signing:${keyId}`;
export const fingerprintOf = (publicKey: string) => crypto.createHash('sm3').update(Buffer.from(publicKey, 'hex')).digest('hex');

/** The public key as PEM (SubjectPublicKeyInfo), for the bank's tools. */
export function publicKeyPem(publicKey: string): string {
  const der = Buffer.concat([SPKI_PREFIX, Buffer.from(publicKey, 'hex')]).toString('base64');
  return `-----BEGIN PUBLIC KEY-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

const asKey = (row: { id: number; fingerprint: string; public_key: string; created_at: string; retired_at: string | null }): SigningKey => ({
  id: row.id,
  fingerprint: row.fingerprint,
  publicKey: row.public_key,
  createdAt: new Date(row.created_at).toISOString(),
  retiredAt: row.retired_at ? new Date(row.retired_at).toISOString() : null,
});

/** Every key pair the deployment has signed with, the one in use first, then newest first. */
export async function signingKeys(db: Conn): Promise<SigningKey[]> {
  return ((await db('core_signing_key').orderByRaw('in_use is null').orderBy('id', 'desc')) as Parameters<typeof asKey>[0][]).map(asKey);
}

/** The key pair in use, made at the server's start when there is none (a bank is shown its public key before any file). */
export async function ensureSigningKey(core: Core): Promise<SigningKey> {
  return (await keyInUse(core)).key;
}

/** The key pair in use, made now if there is none (two instances at once make one: the unique in_use decides). */
async function keyInUse(core: Core): Promise<{ key: SigningKey; privateKey: string }> {
  for (;;) {
    const row = await core.db('core_signing_key').where({ in_use: 1 }).first();
    if (row) {
      const key = asKey(row);
      const stored = await storedPurposeKey(core, purposeOf(key.id));
      if (!stored) throw new Error(`the private key of signing key ${key.fingerprint} is missing from core_wrapped_key`);
      return { key, privateKey: stored.toString('hex') };
    }
    // Another instance may make one meanwhile: nothing is stored then, and the loop reads theirs.
    await inTransaction(core.db, (trx) => storeNewPair(core, trx, nowIso()));
  }
}

/**
 * A new key pair, in use from now: its public key and fingerprint, its private key under the field key. Null when
 * another pair is in use already (the unique in_use refuses a second; nothing is stored).
 */
async function storeNewPair(core: Core, trx: Tx, at: string): Promise<{ fingerprint: string } | null> {
  const pair = sm2.generateKeyPairHex();
  const fingerprint = fingerprintOf(pair.publicKey);
  const inserted: { id: number }[] = await trx('core_signing_key').insert({ fingerprint, public_key: pair.publicKey, created_at: at, in_use: 1 }).onConflict('in_use').ignore().returning('id');
  if (inserted.length === 0) return null;
  await trx('core_wrapped_key').insert({ purpose: purposeOf(inserted[0]!.id), key_enc: core.crypto.encrypt(pair.privateKey), created_at: at });
  return { fingerprint };
}

/**
 * Replace the key pair in use (`ykt rotate-signing-key`): a new pair signs from now on; the old one is retired, kept
 * with its private key, so that its signatures can still be checked and its fingerprint stays listed for the banks.
 * Audited as the command. Returns the old and the new key.
 */
export async function rotateSigningKey(core: Core): Promise<{ retired: SigningKey; current: SigningKey }> {
  const retired = await ensureSigningKey(core);
  const at = nowIso();
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('core_signing_key').where({ id: retired.id, in_use: 1 }).update({ in_use: null, retired_at: at });
    const current = updated === 1 ? await storeNewPair(core, trx, at) : null;
    if (!current) throw new Error('the signing key in use changed meanwhile: run the command again');
    await recordAudit(trx, await deploymentAuditor(trx), { action: 'signing_key.rotate', objectType: 'deployment', summary: { retired: retired.fingerprint, current: current.fingerprint } });
  });
  return { retired: { ...retired, retiredAt: at }, current: await ensureSigningKey(core) };
}

/** The SM3 digest e = SM3(Z ‖ M) that SM2 signs, Z from the public key and the user ID (GB/T 32918.2, 5.5). */
function digestOf(data: Buffer, publicKey: string): Uint8Array {
  return crypto.createHash('sm3').update(sm2.getZ(publicKey, SM2_USER_ID)).update(data).digest();
}

/** Sign data with the key pair in use. */
export async function signFile(core: Core, data: Buffer): Promise<Signature> {
  const { key, privateKey } = await keyInUse(core);
  return { algorithm: 'SM2-SM3', key: key.fingerprint, signature: sm2.doSignature(digestOf(data, key.publicKey), privateKey, { der: true, hash: false }) };
}

/** Whether a signature (DER, hex) over data is valid for a public key. */
export function verifySignature(data: Buffer, signature: string, publicKey: string): boolean {
  try {
    return sm2.doVerifySignature(digestOf(data, publicKey), signature, publicKey, { der: true, hash: false });
  } catch {
    return false;
  }
}

/** A signature as the file beside a data file carries it (docs/signature-format.md). */
export function signatureFile(sig: Signature, fileName: string): string {
  return `algorithm=${sig.algorithm}\nuser-id=${SM2_USER_ID}\nfile=${fileName}\nkey=${sig.key}\nsignature=${sig.signature}\n`;
}

/** The algorithm identifier (id-ecPublicKey) and the SM2 curve's OID in DER, as a SubjectPublicKeyInfo names them. */
const SM2_CURVE_OID = Buffer.from('06082a811ccf5501822d', 'hex');

/**
 * An SM2 public key as a bank gives it: PEM (SubjectPublicKeyInfo, curve 1.2.156.10197.1.301) or the uncompressed
 * point in hex (04 ‖ x ‖ y, 130 digits). The point in hex, or the reason it is not one (in Chinese).
 */
export function parsePublicKey(text: string): { ok: true; publicKey: string } | { ok: false; message: string } {
  const trimmed = text.trim();
  let point: string;
  if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
    const der = Buffer.from(trimmed.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s/g, ''), 'base64');
    if (der.length !== 91 || !der.subarray(0, SPKI_PREFIX.length).equals(SPKI_PREFIX) || !der.includes(SM2_CURVE_OID)) return { ok: false, message: '不是 SM2 公钥：PEM 应为 SM2 曲线（1.2.156.10197.1.301）的 SubjectPublicKeyInfo' };
    point = der.subarray(SPKI_PREFIX.length).toString('hex');
  } else {
    point = trimmed.replace(/\s/g, '').toLowerCase();
    if (!/^04[0-9a-f]{128}$/.test(point)) return { ok: false, message: '公钥应为 PEM（BEGIN PUBLIC KEY），或以 04 开头的 130 位十六进制（未压缩的公钥点）' };
  }
  let onCurve: boolean;
  try {
    onCurve = sm2.verifyPublicKey(point);
  } catch {
    onCurve = false;
  }
  return onCurve ? { ok: true, publicKey: point } : { ok: false, message: '公钥不在 SM2 曲线上，请核对后重新粘贴' };
}

/**
 * The private key of an SM2 key pair in PEM (PKCS#8 as `openssl genpkey -algorithm SM2` writes it, or SEC1 `EC
 * PRIVATE KEY`), in hex, with its public key: for `ykt bank-sim`, which signs and decrypts as a bank would.
 */
export function parsePrivateKeyPem(pem: string): { privateKey: string; publicKey: string } {
  const der = Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]*PRIVATE KEY-----/g, '').replace(/\s/g, ''), 'base64');
  // ECPrivateKey (RFC 5915): SEQUENCE { INTEGER 1, OCTET STRING (32) the private key, ... }.
  const at = der.indexOf(Buffer.from('020101' + '0420', 'hex'));
  if (at < 0 || !der.includes(SM2_CURVE_OID)) throw new Error('不是 SM2 私钥（PEM）');
  const privateKey = der.subarray(at + 5, at + 37).toString('hex');
  return { privateKey, publicKey: sm2.getPublicKeyFromPrivateKey(privateKey) };
}

/**
 * A new SM2 key pair, its private key as PEM (SEC1 `EC PRIVATE KEY` on the SM2 curve, as OpenSSL reads it) and its
 * public key as PEM: for `ykt bank-sim --new-key`, which plays a bank that has no SM2 tools at hand.
 */
export function newKeyPairPem(): { privateKeyPem: string; publicKeyPem: string; fingerprint: string } {
  const pair = sm2.generateKeyPairHex();
  const der = Buffer.from(`30770201010420${pair.privateKey.padStart(64, '0')}a00a06082a811ccf5501822da144034200${pair.publicKey}`, 'hex');
  return { privateKeyPem: `-----BEGIN EC PRIVATE KEY-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END EC PRIVATE KEY-----\n`, publicKeyPem: publicKeyPem(pair.publicKey), fingerprint: fingerprintOf(pair.publicKey) };
}

/** Sign data with a key pair given in hex (the bank's side: `ykt bank-sim`, and the tests). */
export function signWith(privateKey: string, publicKey: string, data: Buffer): string {
  return sm2.doSignature(digestOf(data, publicKey), privateKey, { der: true, hash: false });
}

/**
 * A signature as a bank sends it: a signature file (docs/signature-format.md: `signature=` DER in hex, and `key=` if
 * given), the DER in hex alone, or the DER bytes themselves (as `openssl dgst -sign` writes them). Null when it is
 * none of these.
 */
export function parseSignature(data: Buffer | string): { signature: string; key: string | null } | null {
  if (typeof data !== 'string' && data[0] === 0x30 && data.length >= 8 && data.length <= 80 && data[1] === data.length - 2) return { signature: data.toString('hex'), key: null };
  const text = data.toString().replace(/^\ufeff/, '');
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const signature = (fields.get('signature') ?? text.trim()).toLowerCase();
  return /^30[0-9a-f]{8,}$/.test(signature) ? { signature, key: fields.get('key')?.toLowerCase() || null } : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Encrypted files (数字信封, docs/signature-format.md): the data under a fresh SM4 key (SM4-CBC, PKCS#7 padding), the
// key encrypted with the bank's SM2 public key (GB/T 32918.4, C1C3C2, DER as GM/T 0009 writes it, as OpenSSL's
// `pkeyutl -decrypt` reads it), both in one file behind a short text header.

const ENVELOPE_MAGIC = 'YKT-ENVELOPE/1';

/** The data encrypted for the holder of a public key, as one envelope file. */
export function sealFor(publicKey: string, data: Buffer): Buffer {
  const key = crypto.randomBytes(16);
  const iv = crypto.randomBytes(16);
  const cipher = crypto.createCipheriv('sm4-cbc', key, iv);
  const body = Buffer.concat([cipher.update(data), cipher.final()]);
  const wrapped = sm2.doEncrypt(new Uint8Array(key), publicKey, 1, { asn1: true });
  const header = `${ENVELOPE_MAGIC}\ncipher=SM4-CBC\nkey-id=${fingerprintOf(publicKey)}\nwrapped-key=${wrapped}\niv=${iv.toString('hex')}\nlength=${body.length}\n\n`;
  return Buffer.concat([Buffer.from(header, 'ascii'), body]);
}

/** The envelope's header fields and encrypted body, or null when the file is not an envelope. */
export function envelopeParts(file: Buffer): { fields: Map<string, string>; body: Buffer } | null {
  if (!file.subarray(0, ENVELOPE_MAGIC.length).equals(Buffer.from(ENVELOPE_MAGIC))) return null;
  const end = file.indexOf('\n\n');
  if (end < 0) return null;
  const fields = new Map(file.subarray(0, end).toString('ascii').split('\n').slice(1).map((l) => l.split('=', 2) as [string, string]));
  return { fields, body: file.subarray(end + 2) };
}

/** The data of an envelope, decrypted with the private key it was sealed for (the bank's side). */
export function openEnvelope(file: Buffer, privateKey: string): Buffer {
  const parts = envelopeParts(file);
  if (!parts) throw new Error('不是加密的代发文件（缺少 YKT-ENVELOPE/1 文件头）');
  const key = Buffer.from(sm2.doDecrypt(parts.fields.get('wrapped-key') ?? '', privateKey, 1, { asn1: true, output: 'array' }));
  if (key.length !== 16) throw new Error('无法解开数字信封：私钥与加密所用的公钥不符');
  const decipher = crypto.createDecipheriv('sm4-cbc', key, Buffer.from(parts.fields.get('iv') ?? '', 'hex'));
  return Buffer.concat([decipher.update(parts.body), decipher.final()]);
}
