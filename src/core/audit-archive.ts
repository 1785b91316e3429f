import type { AuditVerification } from './audit.ts';
import { verifyAuditChain } from './audit.ts';
import { createFieldCrypto, hmacSm3 } from './crypto.ts';
import type { Conn } from './db.ts';

/**
 * The audit logs of counties moved onto this deployment (core/county-move.ts): kept as they were in
 * core_audit_archive, one chain per move, each verified with its county's audit key. That key is kept with the move,
 * encrypted under a key derived from this deployment's audit key, so that the verifier needs nothing more than for the
 * deployment's own chain (`ykt verify-audit`, the nightly task, the auditor's page), and a change of the field key
 * leaves it alone. The move's row records the archive's last row and hash: rows cut from its end show too.
 */
const archiveSealer = (auditKey: Buffer) => createFieldCrypto(hmacSm3(auditKey, 'ykt-audit-archive-key').toString('hex'));

export const sealArchiveKey = (deploymentAuditKey: Buffer, countyAuditKey: Buffer): string => archiveSealer(deploymentAuditKey).encrypt(countyAuditKey.toString('hex'));

/** An archived county chain's rows, for verifyAuditChain. */
export const archiveRows = (moveId: number) => (db: Conn) =>
  db('core_audit_archive').where('move_id', moveId).select('id', 'at', 'user_id', 'username', 'roles', 'region_id', 'action', 'object_type', 'object_id', 'summary', 'ip', 'prev_hash', 'hash', 'alg');

export interface ArchiveCheck extends AuditVerification {
  moveId: number;
  county: string;
  movedAt: string;
}

interface MoveRow {
  id: number;
  county_name: string;
  moved_at: string;
  audit_key_enc: string;
  audit_rows: number;
  audit_last_id: number | string | null;
  audit_last_hash: string | null;
}

/** Verify every moved county's archived chain, or only that of one move; each result says which county and when it moved. */
export async function verifyArchives(db: Conn, deploymentAuditKey: Buffer, moveId?: number): Promise<ArchiveCheck[]> {
  const moves = (await db('core_county_move')
    .modify((q) => (moveId === undefined ? q : q.where({ id: moveId })))
    .orderBy('id')
    .select('id', 'county_name', 'moved_at', 'audit_key_enc', 'audit_rows', 'audit_last_id', 'audit_last_hash')) as MoveRow[];
  const sealer = archiveSealer(deploymentAuditKey);
  const out: ArchiveCheck[] = [];
  for (const m of moves) {
    const which = { moveId: m.id, county: m.county_name, movedAt: String(m.moved_at) };
    let key: Buffer;
    try {
      key = Buffer.from(sealer.decrypt(m.audit_key_enc), 'hex');
    } catch {
      out.push({ ...which, ok: false, checked: 0, firstBad: null, problem: `${m.county_name}迁入前的审计日志无法校验：其审计密钥打不开（所用的审计密钥不是本部署的，或迁入记录被修改）`, lastId: null, lastHash: null });
      continue;
    }
    const anchors = m.audit_last_id === null || m.audit_last_hash === null ? [] : [{ lastId: Number(m.audit_last_id), lastHash: m.audit_last_hash }];
    const result = await verifyAuditChain(db, { key, anchors, rows: archiveRows(m.id) });
    const problem = !result.ok ? `${m.county_name}迁入前的审计日志：${result.problem}` : result.checked !== Number(m.audit_rows) ? `${m.county_name}迁入前的审计日志应有 ${m.audit_rows} 条，现有 ${result.checked} 条` : null;
    out.push({ ...which, ...result, ok: problem === null, problem });
  }
  return out;
}
