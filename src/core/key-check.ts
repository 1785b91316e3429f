import { ConfigError } from './config.ts';
import type { Core } from './context.ts';
import { nowIso } from './db.ts';

/**
 * The field key must be the one the database's encrypted fields were written with. An instance started with another
 * YKT_SECRET_KEY (a typo, an old key, another county's) would read nothing and, worse, write new fields that the
 * others cannot read. The database keeps one known text encrypted under its key (core_key_check, written by the
 * first instance that starts on it); every instance checks it at start and refuses to run when it does not decrypt.
 */
const CHECK_TEXT = 'ykt field key check v1';

const mismatch = () =>
  new ConfigError('YKT_SECRET_KEY 与该数据库不符：数据库中的加密字段是用另一个密钥写入的，请使用写入这些数据时的 YKT_SECRET_KEY（见 docs/operations.md 第 3 节“密钥”）。为免写入无法读取的数据，服务未启动。');

/** The database's key check, if it has one yet. */
const storedCheck = async (core: Core) => ((await core.db('core_key_check').where({ id: 1 }).first('check_enc')) as { check_enc: string } | undefined)?.check_enc;

function decrypts(core: Core, stored: string, expected?: string): boolean {
  try {
    const plain = core.crypto.decrypt(stored);
    return expected === undefined || plain === expected;
  } catch {
    return false;
  }
}

/**
 * Whether the database's key check still opens with this instance's key. A running instance asks every minute
 * (server.ts): after `ykt rotate-key` with this one left running, it stops rather than go on writing fields under the
 * old key. A database without the check yet answers true.
 */
export async function fieldKeyStillMatches(core: Core): Promise<boolean> {
  const stored = await storedCheck(core);
  return stored === undefined || decrypts(core, stored, CHECK_TEXT);
}

/** How often a running instance checks that its field key is still the database's. */
export const KEY_WATCH_MS = 60_000;

/**
 * Check the field key against the database; on a database without the check yet (new, or from before it), first
 * make sure the key reads what core's tables already hold encrypted (the second factors' secrets), then write it.
 * Safe when several instances start at once. Returns whether it wrote the check.
 */
export async function checkFieldKey(core: Core): Promise<'written' | 'matches'> {
  const existing = await storedCheck(core);
  if (existing !== undefined) {
    if (!decrypts(core, existing, CHECK_TEXT)) throw mismatch();
    return 'matches';
  }
  const sample = (await core.db('core_user').whereNotNull('totp_secret_enc').first('totp_secret_enc')) as { totp_secret_enc: string } | undefined;
  if (sample && !decrypts(core, sample.totp_secret_enc)) throw mismatch();
  const mine = core.crypto.encrypt(CHECK_TEXT);
  await core.db('core_key_check').insert({ id: 1, check_enc: mine, created_at: nowIso() }).onConflict('id').ignore();
  // Another instance may have written it first: read back what is there.
  const stored = (await storedCheck(core))!;
  if (!decrypts(core, stored, CHECK_TEXT)) throw mismatch();
  return stored === mine ? 'written' : 'matches';
}
