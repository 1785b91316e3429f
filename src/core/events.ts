import { type Db, type Tx, inTransaction, nowIso } from './db.ts';
import { log } from './log.ts';

/**
 * The outbox: a lower module that must make a higher one react (a paid line needs a notice, a complaint needs
 * a case) writes an event in its own transaction; the scheduler's dispatch task hands it to the handlers the
 * modules registered, each event in its own transaction, retrying failures with backoff.
 */
export type EventHandler = (trx: Tx, payload: Record<string, unknown>) => Promise<void>;
export type EventHandlers = Record<string, EventHandler[]>;

export async function emitEvent(trx: Tx, type: string, payload: Record<string, unknown>): Promise<void> {
  const now = nowIso();
  await trx('core_event').insert({ type, payload: JSON.stringify(payload), created_at: now, next_attempt_at: now });
}

const MAX_BACKOFF_MINUTES = 60;

export interface DispatchResult {
  delivered: number;
  failed: number;
  /** Events of a type no module handles: marked dispatched, counted here so that the task result shows them. */
  unhandled: number;
}

export async function dispatchEvents(db: Db, handlers: EventHandlers, limit = 200): Promise<DispatchResult> {
  const now = nowIso();
  const pending: { id: number; type: string; payload: string; attempts: number }[] = await db('core_event')
    .whereNull('dispatched_at')
    .where('next_attempt_at', '<=', now)
    .orderBy('id')
    .limit(limit);
  const result: DispatchResult = { delivered: 0, failed: 0, unhandled: 0 };
  for (const event of pending) {
    const list = handlers[event.type] ?? [];
    try {
      await inTransaction(db, async (trx) => {
        for (const handle of list) await handle(trx, JSON.parse(event.payload));
        await trx('core_event').where({ id: event.id }).update({ dispatched_at: nowIso(), attempts: event.attempts + 1, last_error: list.length ? null : '没有模块处理此类事件' });
      });
      if (list.length) result.delivered++;
      else result.unhandled++;
    } catch (err) {
      const attempts = event.attempts + 1;
      const delay = Math.min(2 ** (attempts - 1), MAX_BACKOFF_MINUTES) * 60_000;
      const message = err instanceof Error ? err.message : String(err);
      await db('core_event').where({ id: event.id }).update({ attempts, last_error: message.slice(0, 1000), next_attempt_at: new Date(Date.now() + delay).toISOString() });
      log('error', 'event handler failed', { event: event.id, type: event.type, attempts, error: message });
      result.failed++;
    }
  }
  return result;
}
