import type { Config } from './config.ts';
import type { FieldCrypto } from './crypto.ts';
import type { Db } from './db.ts';

/** What every service needs from the platform: the database, the settings, and the field cipher. */
export interface Core {
  db: Db;
  config: Config;
  crypto: FieldCrypto;
}
