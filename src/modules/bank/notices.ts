import { businessDate } from '../../core/dates.ts';
import { type Conn, type Db, type Tx, bulkInsert, nowIso } from '../../core/db.ts';
import { log } from '../../core/log.ts';
import { formatYuan } from '../../core/money.ts';
import { noticeLines } from '../batch/index.ts';

/**
 * Payment notices (补贴发放告知, issue 8 item 7): each line the bank reports paid queues a notice — policy, amount,
 * date, department — in the `bank_notice` outbox; a scheduled task hands queued notices to the sender. The agent
 * bank sends them by SMS to the phone it holds for the account (its agreement promises the service free), so the
 * platform needs no phone number. The sender is pluggable; the default writes one log line per notice, with no
 * personal data (the account's last four digits and the amount).
 */
export interface NoticeSender {
  channel: string;
  send(notice: { id: number; text: string }): Promise<void>;
}

export const logSender: NoticeSender = {
  channel: 'log',
  async send(notice) {
    log('info', 'payment notice', { notice: notice.id, text: notice.text });
  },
};

/** Queue one notice per newly paid line, in the result import's transaction. */
export async function queueNotices(trx: Tx, paidLineIds: number[]): Promise<number> {
  if (paidLineIds.length === 0) return 0;
  const lines = await noticeLines(trx, paidLineIds);
  const today = businessDate();
  const now = nowIso();
  await bulkInsert(trx, 'bank_notice', lines, (l) => ({
    line_id: l.line_id,
    person_id: l.person_id,
    round_id: l.round_id,
    text: `您的${l.round_title} ${formatYuan(l.amount_fen)} 元已于 ${today} 发放到尾号 ${l.account_last4 ?? '----'} 的账户。主管部门：${l.department_name}。`,
    state: 'queued',
    queued_at: now,
  }));
  return lines.length;
}

/** Send what is queued (oldest first, a batch at a time); returns how many were sent. */
export async function sendQueuedNotices(db: Db, sender: NoticeSender = logSender, limit = 5_000): Promise<number> {
  const queued: { id: number; text: string }[] = await db('bank_notice').where({ state: 'queued' }).orderBy('id').limit(limit).select('id', 'text');
  for (const notice of queued) {
    await sender.send(notice);
    await db('bank_notice').where({ id: notice.id, state: 'queued' }).update({ state: 'sent', channel: sender.channel, sent_at: nowIso() });
  }
  return queued.length;
}

export async function noticesOf(db: Conn, personId: number): Promise<{ text: string; state: string; queued_at: string; sent_at: string | null }[]> {
  return db('bank_notice').where({ person_id: personId }).orderBy('id', 'desc').limit(50).select('text', 'state', 'queued_at', 'sent_at');
}
