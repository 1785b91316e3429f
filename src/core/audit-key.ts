import { hmacSm3, sm3Hex } from './crypto.ts';

/**
 * The audit key: the HMAC-SM3 key of the audit log's hash chain (docs/audit-chain.md). It is kept apart from
 * YKT_SECRET_KEY so that it can be handed to the audit office: it verifies the chain and decrypts nothing. It is
 * never stored in the database, so that whoever administers the database cannot recompute a chain that the
 * verifier accepts. YKT_AUDIT_KEY sets it; without it, it is derived one-way from YKT_SECRET_KEY.
 */
export const AUDIT_KEY_BYTES = 32;
/** The derivation's label: the audit key is HMAC-SM3(YKT_SECRET_KEY as UTF-8, this label as UTF-8). */
const DERIVATION_LABEL = 'ykt audit chain v1';

export function deriveAuditKey(secretKey: string): Buffer {
  return hmacSm3(Buffer.from(secretKey, 'utf8'), DERIVATION_LABEL);
}

/** A key's public name (the first 16 hex digits of its SM3 hash): which key a chain was made with, without the key. */
export function auditKeyId(key: Buffer): string {
  return sm3Hex(key).slice(0, 16);
}

/**
 * The key this process writes audit rows with. Rows are written by recordAudit, which every command calls with
 * its transaction only; so loadConfig sets the key when it reads the settings (one instance a process).
 */
let keyInUse: Buffer | null = null;

export function useAuditKey(key: Buffer): void {
  keyInUse = key;
}

export function auditKeyInUse(): Buffer {
  if (!keyInUse) throw new Error('审计密钥尚未设置（设置由 loadConfig 读取）');
  return keyInUse;
}
