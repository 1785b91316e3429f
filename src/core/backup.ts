import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AuditAnchorPoint } from './audit.ts';
import { ANCHOR_FILE, checkAuditLog } from './audit-anchor.ts';
import { type AuditVerifierConfig, isPostgresUrl } from './config.ts';
import { type Db, createDb, isPostgres, pendingMigrations } from './db.ts';
import { SqliteConnection } from './sqlite-client.ts';

/**
 * SQLite backups that restore (README, "Scheduled tasks, backups and restoring"):
 * `VACUUM INTO` writes a consistent, compact copy of the live database while the server keeps working (it reads one
 * snapshot in WAL mode). Beside each copy `<copy>.json` records its SM3 digest, its last migration and the last row of
 * its audit chain (id, hash, rows), so that a restore can tell a damaged or altered copy, and an auditor can see what
 * the restored log must end with. The newest `keep` copies are kept.
 */
export const BACKUP_PREFIX = 'ykt-';
const MANIFEST_FORMAT = 'ykt-backup/1';

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  file: string;
  bytes: number;
  sm3: string;
  createdAt: string;
  /** Why it was taken: the nightly task or `ykt backup` (scheduled, manual), or before migrating the database forward. */
  reason: BackupReason;
  /** The last migration applied in the copy. */
  migration: string | null;
  /** The last row of the copy's audit chain; null for an empty log. */
  audit: (AuditAnchorPoint & { count: number }) | null;
}

export type BackupReason = 'scheduled' | 'manual' | 'before-migration' | 'before-key-rotation';

/** A moment as the backups' file names write it: YYYYMMDD-HHMMSS, UTC. */
const stampOf = (now: Date) => now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/** A restore refused or failed, with what the operator should know, in Chinese. */
export class RestoreError extends Error {}

/** The SM3 digest of a file, read in pieces. */
export async function sm3OfFile(file: string): Promise<string> {
  const hash = crypto.createHash('sm3');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** What a copy holds at its end, read without writing to it (read-only: its bytes, and so its digest, stay as written). */
async function factsOf(file: string): Promise<Pick<BackupManifest, 'migration' | 'audit'>> {
  const db = await SqliteConnection.open(file, { readonly: true });
  const get = async <T>(sql: string) => (await db.all<T>(sql))[0];
  try {
    const migration = await get<{ name: string }>('SELECT name FROM knex_migrations ORDER BY id DESC LIMIT 1');
    const last = await get<{ id: number; hash: string }>('SELECT id, hash FROM core_audit ORDER BY id DESC LIMIT 1');
    const count = await get<{ n: number }>('SELECT count(*) AS n FROM core_audit');
    return { migration: migration?.name ?? null, audit: last ? { lastId: last.id, lastHash: last.hash, count: count?.n ?? 0 } : null };
  } finally {
    await db.close();
  }
}

export async function backupSqlite(db: Db, dir: string, keep: number, now = new Date(), reason: BackupReason = 'scheduled'): Promise<{ file: string; bytes: number; removed: string[]; manifest: BackupManifest }> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${BACKUP_PREFIX}${stampOf(now)}.sqlite`);
  const partial = `${file}.partial`;
  fs.rmSync(partial, { force: true });
  await db.raw('VACUUM INTO ?', [partial]);
  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    file: path.basename(file),
    bytes: fs.statSync(partial).size,
    sm3: await sm3OfFile(partial),
    createdAt: now.toISOString(),
    reason,
    ...(await factsOf(partial)),
  };
  fs.writeFileSync(`${file}.json.partial`, `${JSON.stringify(manifest, null, 2)}\n`);
  fs.renameSync(partial, file); // a backup file is either whole or absent
  fs.renameSync(`${file}.json.partial`, `${file}.json`);
  const backups = fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(BACKUP_PREFIX) && f.endsWith('.sqlite'))
    .sort()
    .reverse();
  const removed = backups.slice(keep);
  for (const f of removed) {
    fs.rmSync(path.join(dir, f));
    fs.rmSync(path.join(dir, `${f}.json`), { force: true });
  }
  return { file, bytes: manifest.bytes, removed, manifest };
}

/**
 * Before a newer version migrates an SQLite database forward (`ykt serve`, `ykt migrate`): a backup, when the
 * database already holds migrations and some are pending. A fresh database and one already up to date get none.
 */
export async function backupBeforeMigrating(db: Db, dir: string, keep: number): Promise<string | null> {
  if (isPostgres(db)) return null;
  const { applied, pending } = await pendingMigrations(db);
  if (applied === 0 || pending.length === 0) return null;
  return (await backupSqlite(db, dir, keep, new Date(), 'before-migration')).file;
}

/** The file beside an SQLite database that says a server is using it: its process id. */
const servingMark = (databaseFile: string) => `${databaseFile}.serving`;

/** Mark the database as in use by this process (`ykt serve`); the returned function removes the mark. */
export function markServing(databaseFile: string): () => void {
  const mark = servingMark(databaseFile);
  fs.writeFileSync(mark, `${process.pid}\n`);
  return () => {
    if (fs.existsSync(mark) && fs.readFileSync(mark, 'utf8').trim() === String(process.pid)) fs.rmSync(mark, { force: true });
  };
}

/** The process serving the database, if one is alive (a mark left by a killed server is no obstacle). */
export function servingProcess(databaseFile: string): number | null {
  const mark = servingMark(databaseFile);
  if (!fs.existsSync(mark)) return null;
  const pid = Number(fs.readFileSync(mark, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

export interface RestoreOutcome {
  manifest: BackupManifest;
  /** Where the database that was replaced was kept (with its -wal and -shm files), or null when there was none. */
  keptAside: string | null;
  /** Rows of the restored audit log, all verified. */
  auditRows: number;
  /** The audit anchor of the replaced database, kept beside the new one for the auditors, or null. */
  previousAnchor: string | null;
}

const SIDE_FILES = ['', '-wal', '-shm'];

/**
 * Restore an SQLite database from a backup: the copy's SM3 checked against its `.json`, refused while a server uses
 * the database; the database replaced (the one it replaces kept aside as `<database>.before-restore-<time>`), then
 * its audit chain verified from the first row to the last, which must be the row the backup recorded. The anchor of
 * the replaced database (its log went further) is kept aside too, and a new one written. When the verification fails,
 * the replaced database is put back.
 */
export async function restoreSqlite(config: AuditVerifierConfig, backupFile: string, now = new Date()): Promise<RestoreOutcome> {
  if (isPostgresUrl(config.databaseUrl)) throw new RestoreError('PostgreSQL 数据库请用 pg_restore 从 pg_dump 的备份恢复（见 README）');
  const target = path.resolve(config.databaseUrl);
  if (!fs.existsSync(backupFile)) throw new RestoreError(`找不到备份文件 ${backupFile}`);
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(`${backupFile}.json`, 'utf8')) as BackupManifest;
  } catch {
    throw new RestoreError(`找不到或读不懂备份的校验文件 ${backupFile}.json：无法确认备份完好，未恢复`);
  }
  if (manifest.format !== MANIFEST_FORMAT || typeof manifest.sm3 !== 'string') throw new RestoreError(`${backupFile}.json 不是本平台的备份校验文件，未恢复`);
  const digest = await sm3OfFile(backupFile);
  if (digest !== manifest.sm3) throw new RestoreError(`备份文件的 SM3（${digest}）与校验文件记录的（${manifest.sm3}）不符：文件已损坏或被改动，未恢复`);
  const pid = servingProcess(target);
  if (pid !== null) throw new RestoreError(`服务正在使用数据库 ${target}（进程 ${pid}）：请先停止服务再恢复，未恢复`);

  const stamp = stampOf(now);
  const aside = fs.existsSync(target) ? `${target}.before-restore-${stamp}` : null;
  if (aside) for (const s of SIDE_FILES) if (fs.existsSync(target + s)) fs.renameSync(target + s, aside + s);
  const anchorFile = path.join(config.dataDir, ANCHOR_FILE);
  const previousAnchor = fs.existsSync(anchorFile) ? `${anchorFile}.before-restore-${stamp}` : null;
  if (previousAnchor) fs.renameSync(anchorFile, previousAnchor);
  const putBack = () => {
    for (const s of SIDE_FILES) fs.rmSync(target + s, { force: true });
    if (aside) for (const s of SIDE_FILES) if (fs.existsSync(aside + s)) fs.renameSync(aside + s, target + s);
    if (previousAnchor) fs.renameSync(previousAnchor, anchorFile);
  };
  try {
    fs.copyFileSync(backupFile, `${target}.restoring`);
    fs.renameSync(`${target}.restoring`, target);
  } catch (err) {
    putBack();
    throw new RestoreError(`无法写入 ${target}：${(err as Error).message}；原数据库已放回`);
  }
  const db = createDb(target);
  let check: Awaited<ReturnType<typeof checkAuditLog>>;
  let rows = 0;
  try {
    check = await checkAuditLog(db, config, manifest.audit ? [manifest.audit] : [], 'ykt restore');
    if (check.ok) rows = Number(((await db('core_audit').count({ n: '*' }).first()) as { n: number }).n);
  } finally {
    await db.destroy(); // closed before its files are moved back
  }
  const recorded = manifest.audit?.count ?? 0;
  if (!check.ok || rows !== recorded) {
    putBack();
    throw new RestoreError(`恢复后的审计日志校验未通过：${check.ok ? `有 ${rows} 条，备份时为 ${recorded} 条` : check.problem}；原数据库已放回，未恢复`);
  }
  return { manifest, keptAside: aside, auditRows: rows, previousAnchor };
}
