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
