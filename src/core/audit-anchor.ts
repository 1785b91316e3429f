import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type ArchiveCheck, verifyArchives } from './audit-archive.ts';
import { type AuditAnchorPoint, type AuditVerification, verifyAuditChain } from './audit.ts';
import { auditKeyId } from './audit-key.ts';
import type { AuditVerifierConfig } from './config.ts';
import { type Conn, isPostgres } from './db.ts';

/**
 * The audit anchor, kept outside the database. After each verification that finds the chain whole (the nightly
 * task, `ykt verify-audit`, the auditor's page), the last row's id and hash and the number of rows are written to
 * <YKT_DATA_DIR>/audit-anchor.json, and copied to YKT_AUDIT_ANCHOR_COPY when that is set. The next verification
 * fails if that row is gone or changed: rows cut from the end of the log, or a chain recomputed from its start,
 * which the chain alone cannot show. The auditor's page shows the anchor for keeping elsewhere as well.
 *
 * The file names its database, because one data directory may serve two (the demo's beside the county's): an
 * anchor of another database is not compared, and is replaced by this database's.
 */
export const ANCHOR_FILE = 'audit-anchor.json';
const FORMAT = 'ykt-audit-anchor/1';

export interface AuditAnchor extends AuditAnchorPoint {
  format: typeof FORMAT;
  /** The database the chain is in, without credentials. */
  database: string;
  /** Rows in the chain up to and including lastId. */
  count: number;
  verifiedAt: string;
  /** The fingerprint of the audit key the chain was verified with (src/core/audit-key.ts). */
  keyId: string;
  /** Who ran the verification: an auditor's username, `ykt-scheduler`, or `ykt verify-audit`; absent in older files. */
  verifiedBy?: string;
}

export interface AuditCheck extends AuditVerification {
  /** This database's anchor as the file held it before, which the chain was compared with. */
  previous: AuditAnchor | null;
  /** The anchor written after this verification; null when the chain failed or the log is empty. */
  anchor: AuditAnchor | null;
  /** The anchor could not be written (the chain itself may hold): what failed, in Chinese. */
  anchorError: string | null;
  /** What is worth knowing about the anchor that is no fault of the chain, in Chinese (none found, another database's). */
  notes: string[];
  /** The archived chains of counties moved onto this deployment (core/audit-archive.ts), each verified. */
  archives: ArchiveCheck[];
}

/** The database a connection reaches, without user name or password: the PostgreSQL host, port, database and schema, or the SQLite file. */
export function databaseName(db: Conn): string {
  const { connection, searchPath } = db.client.config as { connection: unknown; searchPath?: string | string[] };
  if (isPostgres(db)) {
    // knex has parsed the URL into its parts.
    const { host, port, database } = connection as { host?: string; port?: string | number; database?: string };
    const schema = [searchPath ?? []].flat().join(',');
    return `postgres://${host ?? ''}${port ? `:${port}` : ''}/${database ?? ''}${schema ? `?schema=${schema}` : ''}`;
  }
  return path.resolve((connection as { filename: string }).filename);
}

function isAnchor(value: unknown): value is AuditAnchor {
  const a = value as Partial<AuditAnchor> | null;
  return (
    typeof a === 'object' && a !== null && a.format === FORMAT && typeof a.database === 'string' &&
    Number.isSafeInteger(a.lastId) && typeof a.lastHash === 'string' && /^[0-9a-f]{64}$/.test(a.lastHash) &&
    Number.isSafeInteger(a.count) && typeof a.verifiedAt === 'string' && typeof a.keyId === 'string'
  );
}

type Found = { anchor: AuditAnchor | null; note: string | null; problem: string | null };

function readAnchor(file: string, database: string): Found {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { anchor: null, note: `数据目录中还没有锚点文件（${ANCHOR_FILE}），本次未与锚点比对；如另行保存过锚点，请人工比对`, problem: null };
    }
    return { anchor: null, note: null, problem: `锚点文件 ${file} 无法读取：${(err as Error).message}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = null;
  }
  if (!isAnchor(value)) return { anchor: null, note: null, problem: `锚点文件 ${file} 的内容无法识别：请与另行保存的锚点核对后恢复或删除它` };
  if (value.database !== database) {
    return { anchor: null, note: `锚点文件原记录的是另一个数据库（${value.database}）的校验结果，本次未与之比对，已改为本库的锚点`, problem: null };
  }
  return { anchor: value, note: null, problem: null };
}

/** Write a file whole or not at all: a temporary file beside it, flushed to disk, then renamed over it. */
function writeAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = fs.openSync(temp, 'w', 0o644);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}

/**
 * Verify the chain against this database's anchor (and any `extra` anchors the caller keeps), then, when it
 * holds, write the new anchor to the data directory and to the copy. The audit key is the configuration's: the
 * verifier needs no other secret.
 */
export async function checkAuditLog(db: Conn, config: AuditVerifierConfig, extra: AuditAnchorPoint[] = [], verifiedBy?: string): Promise<AuditCheck> {
  const file = path.join(config.dataDir, ANCHOR_FILE);
  const database = databaseName(db);
  const found = readAnchor(file, database);
  const notes = found.note ? [found.note] : [];
  const chain = await verifyAuditChain(db, { key: config.auditKey, anchors: [...(found.anchor ? [found.anchor] : []), ...extra] });
  // A database from before county moves (a backup being restored) has no archive.
  const archives = (await db.schema.hasTable('core_county_move')) ? await verifyArchives(db, config.auditKey) : [];
  const badArchive = archives.find((a) => !a.ok);
  const result = chain.ok && badArchive ? { ...chain, ok: false, problem: badArchive.problem } : chain;
  const done = { previous: found.anchor, anchor: null, anchorError: null, notes, archives };
  if (!result.ok) return { ...result, ...done };
  if (found.problem) return { ...result, ...done, ok: false, problem: found.problem };
  if (result.lastId === null || result.lastHash === null) return { ...result, ...done };
  const anchor: AuditAnchor = {
    format: FORMAT,
    database,
    lastId: result.lastId,
    lastHash: result.lastHash,
    count: result.checked,
    verifiedAt: new Date().toISOString(),
    keyId: auditKeyId(config.auditKey),
    ...(verifiedBy ? { verifiedBy } : {}),
  };
  const text = `${JSON.stringify(anchor, null, 2)}\n`;
  for (const target of [file, ...(config.auditAnchorCopy ? [config.auditAnchorCopy] : [])]) {
    try {
      writeAtomically(target, text);
    } catch (err) {
      const written = target === file ? '' : `锚点已写入 ${file}，但`;
      return { ...result, ...done, anchor: target === file ? null : anchor, anchorError: `${written}无法写入审计锚点文件 ${target}：${(err as Error).message}` };
    }
  }
  return { ...result, ...done, anchor };
}

/** This database's anchor as the data directory holds it now (the latest verification that found the chain whole), or null. */
export function currentAnchor(db: Conn, config: Pick<AuditVerifierConfig, 'dataDir'>): AuditAnchor | null {
  return readAnchor(path.join(config.dataDir, ANCHOR_FILE), databaseName(db)).anchor;
}
