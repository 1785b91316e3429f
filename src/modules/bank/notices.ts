import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { apiAuditor } from '../../core/api.ts';
import { recordAudit } from '../../core/audit.ts';
import type { Core } from '../../core/context.ts';
import { businessDate, formatDateTime, isoWithOffset } from '../../core/dates.ts';
import { type Conn, type Db, type Tx, bulkInsert, inTransaction, insertReturningId, nowIso, selectInChunks } from '../../core/db.ts';
import { ConflictError } from '../../core/errors.ts';
import { freeTextProblem } from '../../core/fields.ts';
import { claimFileDigest } from '../../core/imports.ts';
import { log } from '../../core/log.ts';
import { type Fen, formatYuan } from '../../core/money.ts';
import { type ImportError, csvLine, readTable, writeErrorReport } from '../../core/spreadsheet.ts';
import { noticeChannelOf } from '../agreement/index.ts';
import { type NoticeLine, type ResultLineFacts, type RoundNoticeFacts, noticeLines } from '../batch/index.ts';
import { type Fetcher, bankOf, bankTermsToday, signedBy } from './commands.ts';
import { lineRef } from './payout.ts';

/**
 * Payment notices (补贴发放告知; 青海 实施意见 二(一)1: 受托银行业金融机构应……通过手机短信等方式及时向受益对象发送
 * 补贴项目、补贴标准、发放部门等信息; 重庆 五). Each line the bank reports paid queues a notice in `bank_notice`, in
 * the result import's transaction: the policy (the round), the standard and unit, the amount, the date paid, the
 * department, the account's last four digits — never a full ID or account number.
 *
 * The agent bank sends them by SMS to the phone it holds for the account, as its agreement promises (free SMS and a
 * channel, agreement module): it fetches the notices — a notice file on its page or `GET /api/v1/notices` — and
 * posts back, per notice, sent or failed with the reason (docs/notice-format.md). A notice is sent only when the bank
 * confirms it; fetched and not yet confirmed it is 已交银行待确认. Where no channel is agreed, the log sender writes the
 * notice to the platform's log: nothing reaches the person, and the pages say so (演示 in the demo).
 *
 * States: queued (waiting for the bank to fetch it, or for the log task) → handed (the bank fetched it) → sent |
 * failed (the bank's confirmation; a failed one may later be confirmed sent); logged (written to the log only).
 */
export type NoticeState = 'queued' | 'handed' | 'sent' | 'failed' | 'logged';
export type NoticeChannelCode = 'file' | 'api' | 'log';

/** Days after which a notice handed to the bank and still unconfirmed shows on the bank's home page. */
export const NOTICE_CONFIRM_DAYS = 3;

export interface NoticeSender {
  channel: string;
  send(notice: { id: number; text: string }): Promise<void>;
}

/**
 * The demo's sender, and the one used where no agreement names a channel: one log line per notice (its id and text:
 * the amount and the account's last four digits, no ID or account number). It sends nothing to anyone.
 */
export const logSender: NoticeSender = {
  channel: 'log',
  async send(notice) {
    log('info', 'payment notice written to the log only, not sent (no SMS channel agreed with the bank)', { notice: notice.id, text: notice.text });
  },
};

/**
 * What the notices of a round say, line by line (at most 300 characters: the title and department names are
 * bounded). The round's part is read once, and each amount in yuan formatted once (a round has few distinct amounts).
 */
export function noticeTexts(round: Pick<NoticeLine, 'round_title' | 'unit' | 'department_name'>, paidOn: string): (line: Pick<NoticeLine, 'amount_fen' | 'standard_fen' | 'tier_name' | 'account_last4'>) => string {
  const yuan = new Map<number, string>();
  const money = (amount: Fen) => {
    let text = yuan.get(amount);
    if (text === undefined) yuan.set(amount, (text = formatYuan(amount)));
    return text;
  };
  return (l) => {
    const tier = l.tier_name && l.tier_name !== '标准' ? `${l.tier_name}，` : '';
    return `您的${round.round_title} ${money(l.amount_fen)} 元（补贴标准：${tier}每${round.unit} ${money(l.standard_fen)} 元）已于 ${paidOn} 发放到尾号 ${l.account_last4 ?? '----'} 的账户。发放部门：${round.department_name}。`;
  };
}

/** The channel the agreement in force on the day names for notices of a county's lines paid by a bank; the log where none does. */
async function channelOf(conn: Conn, l: Pick<NoticeLine, 'county_id' | 'bank_org_id'>, on: string): Promise<NoticeChannelCode> {
  const agreed = l.bank_org_id === null ? null : await noticeChannelOf(conn, { countyId: l.county_id, bankOrgId: l.bank_org_id, on });
  return agreed?.channel ?? 'log';
}

/** The channel of each (county, bank) pair of these lines, by `county:bank`. */
async function channelsOf(conn: Conn, lines: Pick<NoticeLine, 'county_id' | 'bank_org_id'>[], on: string): Promise<Map<string, NoticeChannelCode>> {
  const channels = new Map<string, NoticeChannelCode>();
  for (const l of lines) {
    const key = `${l.county_id}:${l.bank_org_id}`;
    if (!channels.has(key)) channels.set(key, await channelOf(conn, l, on));
  }
  return channels;
}

/**
 * Queue one notice per newly paid line of a round, in the result import's transaction, on the channel its agreement
 * names: the round's facts read once, each line's from `facts` (what the import read to check the amounts), written
 * in one bulk insert.
 */
export async function queueNotices(trx: Tx, round: RoundNoticeFacts, paidLineIds: readonly number[], facts: (lineId: number) => ResultLineFacts): Promise<number> {
  if (paidLineIds.length === 0) return 0;
  const today = businessDate();
  const now = nowIso();
  const channel = await channelOf(trx, round, today);
  const ids = [...new Set(paidLineIds)];
  const text = noticeTexts(round, today);
  const row = (lineId: number) => {
    const line = facts(lineId);
    return {
      line_id: lineId,
      person_id: line.person_id,
      round_id: round.round_id,
      county_id: round.county_id,
      bank_org_id: round.bank_org_id,
      text: text(line),
      state: 'queued',
      channel,
      queued_at: now,
    };
  };
  await bulkInsert(trx, 'bank_notice', ids, row);
  return ids.length;
}

/**
 * The scheduled task: notices queued before channels existed get theirs (from their line and the agreement); those
 * on the log channel go to the log sender and become `logged` — not sent. Notices on a bank channel wait for the bank
 * to fetch them. Returns what it did, for the task's message.
 */
export async function sendQueuedNotices(db: Db, sender: NoticeSender = logSender, limit = 5_000): Promise<{ logged: number; awaitingBank: number }> {
  const legacy: { id: number; line_id: number }[] = await db('bank_notice').where({ state: 'queued' }).whereNull('channel').orderBy('id').limit(limit).select('id', 'line_id');
  if (legacy.length) {
    const lines = await noticeLines(db, legacy.map((n) => n.line_id));
    const channels = await channelsOf(db, lines, businessDate());
    for (const l of lines) {
      await db('bank_notice').where({ line_id: l.line_id, state: 'queued' }).whereNull('channel').update({ county_id: l.county_id, bank_org_id: l.bank_org_id, channel: channels.get(`${l.county_id}:${l.bank_org_id}`)! });
    }
  }
  const queued: { id: number; text: string }[] = await db('bank_notice').where({ state: 'queued', channel: 'log' }).orderBy('id').limit(limit).select('id', 'text');
  let logged = 0;
  for (const notice of queued) {
    await sender.send(notice);
    logged += await db('bank_notice').where({ id: notice.id, state: 'queued' }).update({ state: 'logged', handed_at: nowIso() });
  }
  const [{ n }] = (await db('bank_notice').where({ state: 'queued' }).whereIn('channel', ['file', 'api']).count({ n: '*' })) as { n: number | string }[];
  return { logged, awaitingBank: Number(n) };
}

/** How a notice's state reads on the person's page and the bank's list. In the demo the log sender says so. */
export function noticeStateLabel(n: { state: string; channel: string | null; sent_at: string | null; handed_at: string | null; failure_reason: string | null }, demo: boolean): string {
  switch (n.state) {
    case 'sent':
      return `已发送（代发银行确认，${formatDateTime(n.sent_at)}）`;
    case 'failed':
      return `代发银行发送失败：${n.failure_reason ?? ''}`;
    case 'handed':
      return `已交银行待确认（${formatDateTime(n.handed_at)} 交银行）`;
    case 'logged':
      return demo ? '演示：仅写入日志，未实际发送' : '未实际发送：代发协议未约定短信告知渠道，仅写入日志';
    default:
      return n.channel === 'file' || n.channel === 'api' ? '待代发银行获取' : '待发送';
  }
}

export interface NoticeRow {
  id: number;
  text: string;
  state: NoticeState;
  channel: string | null;
  queued_at: string;
  handed_at: string | null;
  sent_at: string | null;
  failure_reason: string | null;
}

const NOTICE_COLUMNS = ['id', 'text', 'state', 'channel', 'queued_at', 'handed_at', 'sent_at', 'failure_reason'];

export async function noticesOf(db: Conn, personId: number): Promise<NoticeRow[]> {
  return db('bank_notice').where({ person_id: personId }).orderBy('id', 'desc').limit(50).select(NOTICE_COLUMNS);
}

/** A bank's notices by state (its page), and the latest ones. */
export async function noticesOfBank(db: Conn, bankOrgId: number): Promise<{ counts: Record<string, number>; latest: NoticeRow[]; channels: string[] }> {
  const rows = (await db('bank_notice').where({ bank_org_id: bankOrgId }).groupBy('state', 'channel').select('state', 'channel').count({ n: '*' })) as { state: string; channel: string; n: number | string }[];
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.state] = (counts[r.state] ?? 0) + Number(r.n);
  const latest = await db('bank_notice').where({ bank_org_id: bankOrgId }).orderBy('id', 'desc').limit(50).select(NOTICE_COLUMNS);
  return { counts, latest, channels: [...new Set(rows.map((r) => r.channel))] };
}

/** For the bank's home page: notices waiting for it to fetch, and those handed over more than NOTICE_CONFIRM_DAYS ago and unconfirmed. */
export async function noticeBacklog(db: Conn, bankOrgId: number): Promise<{ toFetch: number; overdue: number }> {
  const cutoff = new Date(Date.now() - NOTICE_CONFIRM_DAYS * 86_400_000).toISOString();
  const count = async (q: Knex.QueryBuilder) => Number(((await q.count({ n: '*' })) as { n: number | string }[])[0]!.n);
  return {
    toFetch: await count(db('bank_notice').where({ bank_org_id: bankOrgId, state: 'queued' }).whereIn('channel', ['file', 'api'])),
    overdue: await count(db('bank_notice').where({ bank_org_id: bankOrgId, state: 'handed' }).where('handed_at', '<', cutoff)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The bank fetches

export interface FetchedNotice {
  noticeId: number;
  /** The payout line reference of the paid attempt (流水号, as in the payout file): the bank knows the account by it. */
  ref: string;
  roundId: number;
  text: string;
  queuedAt: string;
}

/**
 * The notices the fetcher's bank has still to confirm on this channel (queued, or fetched before and unconfirmed),
 * oldest first, at most `limit`; the queued ones become 已交银行待确认. Audited, with how many and the channel.
 */
export async function fetchNotices(core: Core, who: Fetcher, channel: 'file' | 'api', limit = 10_000): Promise<FetchedNotice[]> {
  const bankOrgId = bankOf(who);
  return inTransaction(core.db, async (trx) => {
    const rows: { id: number; line_id: number; round_id: number; text: string; state: string; queued_at: string; attempt: number | null }[] = await trx('bank_notice as n')
      .leftJoin('bank_line_result as r', function () {
        this.on('r.line_id', 'n.line_id').andOnVal('r.result', 'paid');
      })
      .where({ 'n.bank_org_id': bankOrgId, 'n.channel': channel })
      .whereIn('n.state', ['queued', 'handed'])
      .orderBy('n.id')
      .limit(limit)
      .select('n.id', 'n.line_id', 'n.round_id', 'n.text', 'n.state', 'n.queued_at', 'r.attempt');
    const fresh = rows.filter((r) => r.state === 'queued').map((r) => r.id);
    const now = nowIso();
    for (let i = 0; i < fresh.length; i += 5_000) await trx('bank_notice').whereIn('id', fresh.slice(i, i + 5_000)).where({ state: 'queued' }).update({ state: 'handed', handed_at: now });
    await recordAudit(trx, who.actor ?? apiAuditor(who.client), { action: 'bank.notices.fetch', objectType: 'bank_org', objectId: bankOrgId, summary: { channel, notices: rows.length, fresh: fresh.length } });
    return rows.map((r) => ({ noticeId: r.id, ref: lineRef(r.round_id, r.line_id, r.attempt ?? 1), roundId: r.round_id, text: r.text, queuedAt: isoWithOffset(r.queued_at) }));
  });
}

export const NOTICE_FILE_COLUMNS = ['告知编号', '流水号', '发放批次编号', '短信内容'];

/** The notice file (CSV, UTF-8 with a BOM; docs/notice-format.md). */
export function noticeFileCsv(notices: readonly FetchedNotice[]): Buffer {
  const rows = [csvLine(NOTICE_FILE_COLUMNS), ...notices.map((n) => csvLine([n.noticeId, n.ref, n.roundId, n.text]))];
  return Buffer.from(`\ufeff${rows.join('\r\n')}\r\n`, 'utf8');
}

// ---------------------------------------------------------------------------------------------------------------
// The bank confirms

/** The words of a confirmation's result, in a file and through the API. */
export const CONFIRMATION_RESULTS: Record<string, 'sent' | 'failed'> = { 已发送: 'sent', 成功: 'sent', sent: 'sent', 失败: 'failed', failed: 'failed' };

export interface ConfirmationRecord {
  rowNumber: number;
  noticeId: string;
  result: string;
  reason: string;
}

export type ConfirmationOutcome =
  | { ok: true; repeated: boolean; rows: number; sent: number; failed: number; unchanged: number }
  | { ok: false; errors: ImportError[]; report: Buffer };

const CONFIRMATION_SPEC = { headerHas: ['告知编号', '结果'], required: ['告知编号', '结果'], rowNoun: '发送结果', formatHint: '格式见补贴发放告知文件说明：告知编号、结果（已发送/失败）、失败原因' };

async function confirmedBefore(db: Conn, bankOrgId: number, sha256: string): Promise<ConfirmationOutcome | null> {
  const row: { rows: number } | undefined = await db('bank_notice_confirmation').where({ bank_org_id: bankOrgId, file_sha256: sha256 }).first('rows');
  return row ? { ok: true, repeated: true, rows: row.rows, sent: 0, failed: 0, unchanged: row.rows } : null;
}

/** Each record checked on its own (what the edge can say without the database). */
function recordErrors(records: readonly ConfirmationRecord[]): ImportError[] {
  const errors: ImportError[] = [];
  const seen = new Map<string, number>();
  for (const r of records) {
    if (!/^[1-9][0-9]{0,9}$/.test(r.noticeId)) errors.push({ rowNumber: r.rowNumber, field: '告知编号', message: '应为平台告知文件中的告知编号（正整数）' });
    else if (seen.has(r.noticeId)) errors.push({ rowNumber: r.rowNumber, field: '告知编号', message: `与第 ${seen.get(r.noticeId)} 行重复` });
    else seen.set(r.noticeId, r.rowNumber);
    const result = CONFIRMATION_RESULTS[r.result];
    if (!result) errors.push({ rowNumber: r.rowNumber, field: '结果', message: '应为“已发送”或“失败”' });
    if (result === 'failed' && !r.reason) errors.push({ rowNumber: r.rowNumber, field: '失败原因', message: '发送失败须写明原因' });
    if (result === 'sent' && r.reason) errors.push({ rowNumber: r.rowNumber, field: '失败原因', message: '已发送的告知不填失败原因' });
    if (r.reason.length > 200) errors.push({ rowNumber: r.rowNumber, field: '失败原因', message: '不超过 200 字' });
    const problem = r.reason ? freeTextProblem(r.reason) : null;
    if (problem) errors.push({ rowNumber: r.rowNumber, field: '失败原因', message: problem });
  }
  return errors;
}

/**
 * Record the bank's confirmations in one transaction, whole or nothing: the digest claimed first (the same file or
 * call twice changes nothing), every record checked against the bank's notices — unknown or another bank's, not yet
 * handed to the bank, written to the log only, or contradicting a confirmation already recorded (a notice confirmed
 * sent cannot become failed; a failed one may be confirmed sent after a retry) — and refused whole with every reason.
 */
async function applyConfirmations(core: Core, who: Fetcher, input: { fileName: string; sha256: string; channel: 'file' | 'api'; records: ConfirmationRecord[]; signed: { signature: string; key: string } | null }, report: (errors: ImportError[]) => Promise<Buffer>): Promise<ConfirmationOutcome> {
  const bankOrgId = bankOf(who);
  const own = recordErrors(input.records);
  if (own.length) return { ok: false, errors: own, report: await report(own) };
  return inTransaction(core.db, async (trx): Promise<ConfirmationOutcome> => {
    if (!(await claimFileDigest(trx, 'bank_notice_confirmation', { bank_org_id: bankOrgId, file_sha256: input.sha256 }))) return (await confirmedBefore(trx, bankOrgId, input.sha256))!;
    const ids = input.records.map((r) => Number(r.noticeId));
    const notices = new Map(
      (await selectInChunks(ids, (chunk) => trx('bank_notice').whereIn('id', chunk).where('bank_org_id', bankOrgId).select('id', 'state', 'channel')) as { id: number; state: NoticeState; channel: string }[]).map((n) => [n.id, n]),
    );
    const errors: ImportError[] = [];
    const changes: { id: number; result: 'sent' | 'failed'; reason: string }[] = [];
    let unchanged = 0;
    for (const r of input.records) {
      const notice = notices.get(Number(r.noticeId));
      const result = CONFIRMATION_RESULTS[r.result]!;
      const fail = (message: string) => errors.push({ rowNumber: r.rowNumber, field: '告知编号', message });
      if (!notice) fail(`告知 ${r.noticeId} 不存在或不是本机构的告知`);
      else if (notice.state === 'queued') fail(`告知 ${r.noticeId} 尚未交给银行（请先下载告知文件或通过接口获取）`);
      else if (notice.state === 'logged') fail(`告知 ${r.noticeId} 未约定经银行发送（仅写入平台日志）`);
      else if (notice.state === result) unchanged++;
      else if (notice.state === 'sent') fail(`告知 ${r.noticeId} 已确认发送，不能改为失败`);
      else changes.push({ id: notice.id, result, reason: r.reason });
    }
    if (errors.length) return { ok: false, errors, report: await report(errors) };
    const now = nowIso();
    const sent = changes.filter((c) => c.result === 'sent').length;
    const confirmationId = await insertReturningId(trx, 'bank_notice_confirmation', {
      bank_org_id: bankOrgId,
      file_sha256: input.sha256,
      file_name: input.fileName.slice(0, 200),
      channel: input.channel,
      rows: input.records.length,
      sent,
      failed: changes.length - sent,
      uploaded_by: who.actor?.userId ?? null,
      uploaded_at: now,
      bank_signature: input.signed?.signature ?? null,
      bank_key_fingerprint: input.signed?.key ?? null,
    });
    for (const c of changes) {
      const updated = await trx('bank_notice')
        .where({ id: c.id, bank_org_id: bankOrgId })
        .whereIn('state', ['handed', 'failed'])
        .update(c.result === 'sent' ? { state: 'sent', sent_at: now, failure_reason: null, confirmed_at: now, confirmation_id: confirmationId } : { state: 'failed', failure_reason: c.reason, confirmed_at: now, confirmation_id: confirmationId });
      if (updated !== 1) throw new ConflictError(`告知 ${c.id} 的发送结果已被同时回传，请重新提交（整批未导入）`);
    }
    await recordAudit(trx, who.actor ?? apiAuditor(who.client), { action: 'bank.notices.confirm', objectType: 'bank_org', objectId: bankOrgId, summary: { channel: input.channel, file: input.fileName, sha256: input.sha256, rows: input.records.length, sent, failed: changes.length - sent, unchanged, ...(input.signed ? { signedBy: input.signed.key } : {}) } });
    return { ok: true, repeated: false, rows: input.records.length, sent, failed: changes.length - sent, unchanged };
  });
}

/**
 * A confirmation file (CSV or .xlsx) uploaded by the bank's user, with its signature when the bank's agreement
 * requires one; a file already recorded is not read again.
 */
export async function importNoticeConfirmations(core: Core, who: Fetcher, file: { name: string; buffer: Buffer }, signature: Buffer | null = null): Promise<ConfirmationOutcome> {
  const bankOrgId = bankOf(who);
  const signed = signedBy(await bankTermsToday(core, bankOrgId), file.buffer, signature, '告知发送结果文件');
  const sha256 = createHash('sha256').update(file.buffer).digest('hex');
  const previous = await confirmedBefore(core.db, bankOrgId, sha256);
  if (previous) return previous;
  const table = await readTable(file.buffer, CONFIRMATION_SPEC);
  if (typeof table === 'string') {
    const errors = [{ rowNumber: 0, field: '文件', message: table }];
    return { ok: false, errors, report: await writeErrorReport('告知发送结果', errors, null) };
  }
  const get = (cells: string[], column: string) => {
    const i = table.columns.get(column);
    return i === undefined ? '' : (cells[i] ?? '').trim();
  };
  const records = table.rows.map(({ rowNumber, cells }) => ({ rowNumber, noticeId: get(cells, '告知编号'), result: get(cells, '结果'), reason: get(cells, '失败原因') }));
  if (records.length === 0) {
    const errors = [{ rowNumber: 0, field: '文件', message: '文件中没有发送结果' }];
    return { ok: false, errors, report: await writeErrorReport('告知发送结果', errors, null) };
  }
  return applyConfirmations(core, who, { fileName: file.name, sha256, channel: 'file', records, signed }, (errors) => writeErrorReport('告知发送结果', errors, table));
}

/**
 * Confirmations posted through the API (validated by noticeConfirmationsSchema), signed over the body as sent when
 * the bank's agreement requires it; the same body twice changes nothing.
 */
export async function postNoticeConfirmations(core: Core, who: Fetcher, confirmations: { noticeId: number; result: 'sent' | 'failed'; reason?: string | undefined }[], body: { raw: Buffer; signature: string | null }): Promise<ConfirmationOutcome> {
  const bankOrgId = bankOf(who);
  const signed = signedBy(await bankTermsToday(core, bankOrgId), body.raw, body.signature, '告知发送结果');
  const records = confirmations.map((c, i) => ({ rowNumber: i + 1, noticeId: String(c.noticeId), result: c.result, reason: c.reason?.trim() ?? '' }));
  const sha256 = createHash('sha256').update(JSON.stringify(records.map((r) => [r.noticeId, r.result, r.reason]))).digest('hex');
  const previous = await confirmedBefore(core.db, bankOrgId, sha256);
  if (previous) return previous;
  return applyConfirmations(core, who, { fileName: `接口告知发送结果（${who.client?.name ?? ''}）`, sha256, channel: 'api', records, signed }, (errors) => writeErrorReport('告知发送结果接口', errors, null));
}
