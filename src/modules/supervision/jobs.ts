import type { Core } from '../../core/context.ts';
import { nowIso } from '../../core/db.ts';

/** A supervision job still running whose heartbeat is older than this was cut off (a restart): it is marked failed. */
export const STALE_MS = 15 * 60_000;

/**
 * The supervision task's background jobs (complete exports, screening runs): rows of `table` queued by a request and
 * built here, oldest first. Jobs cut off by a restart are marked failed with `staleError`; each queued one is claimed
 * by a conditional update (queued → running) so that two instances never build the same one; a failure is recorded on
 * the row with its message.
 */
export async function runQueuedJobs(core: Core, table: string, staleError: string, build: (id: number) => Promise<void>): Promise<{ built: number; failed: number }> {
  const staleBefore = new Date(Date.now() - STALE_MS).toISOString();
  await core.db(table).where({ state: 'running' }).where('heartbeat_at', '<', staleBefore).update({ state: 'failed', error: staleError, finished_at: nowIso() });
  let built = 0;
  let failed = 0;
  for (;;) {
    const next = (await core.db(table).where({ state: 'queued' }).orderBy('id').first('id')) as { id: number } | undefined;
    if (!next) break;
    const now = nowIso();
    const claimed = await core.db(table).where({ id: next.id, state: 'queued' }).update({ state: 'running', started_at: now, heartbeat_at: now });
    if (claimed !== 1) continue;
    try {
      await build(next.id);
      built++;
    } catch (err) {
      failed++;
      await core.db(table).where({ id: next.id }).update({ state: 'failed', error: (err instanceof Error ? err.message : String(err)).slice(0, 1000), finished_at: nowIso() });
    }
  }
  return { built, failed };
}
