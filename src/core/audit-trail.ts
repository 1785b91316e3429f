import type { Actor } from './auth/roles.ts';
import { type AuditCheck, currentAnchor } from './audit-anchor.ts';
import type { AuditVerifierConfig } from './config.ts';
import { recordAudit } from './audit.ts';
import { type Db, inTransaction } from './db.ts';

/**
 * What the audit log's page shows of the checks of its own chain, whichever ran last: the latest check that found
 * the chain whole is the anchor in the data directory (audit-anchor.ts: when, by whom, the rows it covered, from the
 * page, the nightly task or `ykt verify-audit`); a check that failed is an `audit.verify.failed` row (the task's, or
 * an auditor's on /audit/verify); the nightly task's last run is core_task `audit-verify`. The page's own check
 * writes no row when the chain holds: a row written after it would lie outside the anchor it has just written.
 */
export const VERIFY_TASK = 'audit-verify';
export const SCHEDULER_USERNAME = 'ykt-scheduler';

export interface LatestVerification {
  at: string;
  /** Who ran it: an auditor's username, the scheduler, the command line; null when the record does not say. */
  by: string | null;
  ok: boolean;
  /** What the check said, in Chinese. */
  result: string;
  /** The last row it covered, when known. */
  lastId: number | null;
}

interface TaskFields {
  last_run_at: string | null;
  last_status: 'ok' | 'error' | null;
  last_result: string | null;
}

function parseJson(text: string | null): Record<string, unknown> {
  try {
    const v: unknown = text ? JSON.parse(text) : null;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const BY_LABELS: Record<string, string> = { [SCHEDULER_USERNAME]: '计划任务（每日自动校验）', 'ykt verify-audit': '命令行 ykt verify-audit' };
const byLabel = (by: string | null | undefined) => (by ? (BY_LABELS[by] ?? by) : null);

export async function latestVerification(db: Db, config: Pick<AuditVerifierConfig, 'dataDir'>): Promise<LatestVerification | null> {
  const candidates: LatestVerification[] = [];
  const anchor = currentAnchor(db, config);
  if (anchor) candidates.push({ at: anchor.verifiedAt, by: byLabel(anchor.verifiedBy), ok: true, result: `完整：已校验 ${anchor.count} 条记录`, lastId: anchor.lastId });
  const task = (await db('core_task').where({ name: VERIFY_TASK }).first('last_run_at', 'last_status', 'last_result')) as TaskFields | undefined;
  // A run that failed for another reason than the chain (the anchor could not be written) is only in core_task.
  if (task?.last_run_at && task.last_status === 'error') candidates.push({ at: task.last_run_at, by: byLabel(SCHEDULER_USERNAME), ok: false, result: task.last_result ?? '', lastId: null });
  const failed = (await db('core_audit').where('action', 'audit.verify.failed').orderBy('id', 'desc').first('at', 'username', 'summary')) as
    | { at: string; username: string | null; summary: string }
    | undefined;
  if (failed) {
    const problem = parseJson(failed.summary).problem;
    candidates.push({ at: failed.at, by: byLabel(failed.username), ok: false, result: `异常：${typeof problem === 'string' ? problem : '哈希链或锚点不符'}`, lastId: null });
  }
  return candidates.sort((a, b) => Date.parse(b.at) - Date.parse(a.at))[0] ?? null;
}

/** An auditor's check on /audit/verify that failed, as a row of the log, as the nightly task writes its own. */
export async function recordFailedVerification(db: Db, actor: Actor, result: AuditCheck): Promise<void> {
  if (result.ok) return;
  await inTransaction(db, (trx) => recordAudit(trx, actor, { action: 'audit.verify.failed', summary: { problem: result.problem } }));
}

/**
 * The search of the log by person, which core cannot do alone (the registry is a module's): the composition root
 * passes the registry's check of an ID number and its lookup through the blind index. The number itself is never
 * stored, logged or put in an address: the search is audited with the person's id only.
 */
export interface AuditPersonFinder {
  /** null when the typed text is a valid ID number, else what is wrong with it, in Chinese. */
  check(input: string): string | null;
  /** The person registered with this ID number in the actor's region subtree, or null. */
  find(actor: Actor, input: string): Promise<{ id: number } | null>;
}
