import { type Tx, isPostgres } from './db.ts';

/**
 * A file (or an API push) is imported once. Its digest is recorded with the import, in the module's table of
 * imported files, whose unique index covers the scope and the digest (a township's registry, a roster, a round's
 * results …). The import reads that table before parsing (cheap: a repeated file is answered at once), then, inside
 * its write transaction and before its first write, claims the digest here: false means the same file was imported
 * meanwhile — a double click, a second tab — and the import changes nothing and answers 已导入过.
 *
 * On PostgreSQL the claim takes a transaction advisory lock on the table and key, so a concurrent import of the same
 * file waits here until the first commits (and then sees its record) or rolls back (and then imports it). SQLite's
 * transactions are serialized (BEGIN IMMEDIATE, core/db.ts), so the read alone is enough there.
 */
export async function claimFileDigest(trx: Tx, table: string, key: Record<string, string | number>): Promise<boolean> {
  if (isPostgres(trx)) await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`${table}:${JSON.stringify(key)}`]);
  return (await trx(table).where(key).first('id')) === undefined;
}
