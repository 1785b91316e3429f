import type { Core } from './context.ts';
import type { FieldCrypto } from './crypto.ts';
import { type Conn, nowIso } from './db.ts';

/**
 * A key for one purpose (the HMAC of a complaint's query code), kept in core_wrapped_key encrypted under the field
 * key, instead of derived from the field key: what was made with it (the hash of a code the platform never stores)
 * must stay valid when the field key changes (`ykt rotate-key` re-encrypts the row). The first use writes it, with the
 * value the purpose's key had when it was derived (crypto.subkey), so that hashes made before this table stay valid.
 */
const cache = new WeakMap<FieldCrypto, Map<string, Buffer>>();

export async function purposeKey(core: Pick<Core, 'crypto'> & { db: Conn }, purpose: string): Promise<Buffer> {
  const known = cache.get(core.crypto)?.get(purpose);
  if (known) return known;
  let key = await storedPurposeKey(core, purpose);
  if (!key) {
    await core.db('core_wrapped_key').insert({ purpose, key_enc: core.crypto.encrypt(core.crypto.subkey(purpose).toString('hex')), created_at: nowIso() }).onConflict('purpose').ignore();
    // Another instance may have written it first: read back what is there.
    key = (await storedPurposeKey(core, purpose))!;
  }
  if (!cache.has(core.crypto)) cache.set(core.crypto, new Map());
  cache.get(core.crypto)!.set(purpose, key);
  return key;
}

/** A county-scoped purpose key: the county's own key for that purpose, brought by its move (core/county-move.ts). */
export const countyPurpose = (purpose: string, countyId: number) => `${purpose}:county:${countyId}`;

/** A purpose's key only if it is stored (a moved county's own key, core/county-move.ts): nothing is written. */
export async function storedPurposeKey(core: Pick<Core, 'crypto'> & { db: Conn }, purpose: string): Promise<Buffer | undefined> {
  const row = (await core.db('core_wrapped_key').where({ purpose }).first('key_enc')) as { key_enc: string } | undefined;
  return row ? Buffer.from(core.crypto.decrypt(row.key_enc), 'hex') : undefined;
}
