import fs from 'node:fs';
import path from 'node:path';
import type { Db } from './db.ts';

/**
 * SQLite online backups: `VACUUM INTO` writes a consistent, compact copy of the live database while the server
 * keeps working (it reads one snapshot in WAL mode). The newest `keep` copies are kept.
 */
export const BACKUP_PREFIX = 'ykt-';

export async function backupSqlite(db: Db, dir: string, keep: number, now = new Date()): Promise<{ file: string; bytes: number; removed: string[] }> {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const file = path.join(dir, `${BACKUP_PREFIX}${stamp}.sqlite`);
  const partial = `${file}.partial`;
  fs.rmSync(partial, { force: true });
  await db.raw('VACUUM INTO ?', [partial]);
  fs.renameSync(partial, file); // a backup file is either whole or absent
  const backups = fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(BACKUP_PREFIX) && f.endsWith('.sqlite'))
    .sort()
    .reverse();
  const removed = backups.slice(keep);
  for (const f of removed) fs.rmSync(path.join(dir, f));
  return { file, bytes: fs.statSync(file).size, removed };
}
