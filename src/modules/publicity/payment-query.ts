import { recordAudit } from '../../core/audit.ts';
import type { Core } from '../../core/context.ts';
import { type Tx, inTransaction, isPostgres } from '../../core/db.ts';
import { validate } from '../../core/http/validate.ts';
import { maskIdNumber } from '../../core/mask.ts';
import { formatYuan } from '../../core/money.ts';
import { maskPersonForPublic, publicMaskRule } from '../../core/public-mask.ts';
import { publicPaymentsOf } from '../bank/index.ts';
import { accountLast4sOf, registryFactsByIdNumberIndex } from '../beneficiary/index.ts';
import { paymentQuerySchema } from './payment-query-schemas.ts';

/**
 * The portal's personal payment query (个人发放结果查询, issue 16 item 6; DESIGN.md "Publicity and the public"): a
 * person gives their name, ID number and the last four digits of a payout account they have had, and sees their
 * payments, masked. Knowing someone's ID number is not enough: the name and the last four digits must match too.
 *
 * - "No such person" and "details do not match" get the same answer, after the same work: the blind index is always
 *   computed, and the person's accounts and payments are always read (for an unknown person, of person id 0, which
 *   none has).
 * - Queries are limited per client address and per ID number (counted by its blind index, never in clear), in
 *   `publicity_query_throttle`; a refused query says when to try again.
 * - Every query is audited (`publicity.payment_query`): found or not, or refused by the limit, with the ID number
 *   masked strictly (110***********002X) and never in clear; no user, the address kept by the audit row.
 */
export const PAYMENT_QUERY_LIMITS = {
  address: { queries: 10, windowMs: 10 * 60_000 },
  idNumber: { queries: 5, windowMs: 60 * 60_000 },
} as const;

export const NO_MATCH_MESSAGE = '未查到符合条件的发放记录：请核对姓名、身份证号码和账户后四位，或向乡镇（街道）经办站所咨询';

export interface PublicPaymentView {
  round: string;
  period: string;
  amount: string;
  status: string;
  date: string;
}

export type PaymentQueryAnswer =
  | { kind: 'found'; person: { name: string; id: string }; payments: PublicPaymentView[] }
  | { kind: 'no_match' }
  | { kind: 'throttled'; until: number };

type Scope = keyof typeof PAYMENT_QUERY_LIMITS;

/** A counter's window as it stands now: its queries in the current window and when that window ends. */
async function readCounter(trx: Tx, scope: Scope, key: string, now: number): Promise<{ queries: number; start: string; ends: number }> {
  const { windowMs } = PAYMENT_QUERY_LIMITS[scope];
  const at = new Date(now).toISOString();
  await trx('publicity_query_throttle').insert({ scope, key, queries: 0, window_start: at }).onConflict(['scope', 'key']).ignore();
  const query = trx('publicity_query_throttle').where({ scope, key }).first('queries', 'window_start');
  if (isPostgres(trx)) query.forUpdate();
  const row = (await query) as { queries: number; window_start: string };
  const started = Date.parse(row.window_start);
  if (now - started >= windowMs) return { queries: 0, start: at, ends: now + windowMs };
  return { queries: Number(row.queries), start: row.window_start, ends: started + windowMs };
}

/**
 * Count a query against its address and its ID number, or refuse it (until the later of the full windows' ends)
 * when either has used its queries; a refused query is not counted. Rows are locked in one order (address, then ID
 * number), so parallel queries are counted one after another. Windows that ended a day ago are deleted.
 */
async function claimQuery(trx: Tx, address: string, idIndex: string, now: number): Promise<number | null> {
  await trx('publicity_query_throttle').where('window_start', '<', new Date(now - 24 * 60 * 60_000).toISOString()).delete();
  const counters: [Scope, string][] = [
    ['address', address],
    ['idNumber', idIndex],
  ];
  const read = [];
  for (const [scope, key] of counters) read.push({ scope, key, ...(await readCounter(trx, scope, key, now)) });
  const full = read.filter((c) => c.queries >= PAYMENT_QUERY_LIMITS[c.scope].queries);
  if (full.length) return Math.max(...full.map((c) => c.ends));
  for (const c of read) await trx('publicity_query_throttle').where({ scope: c.scope, key: c.key }).update({ queries: c.queries + 1, window_start: c.start });
  return null;
}

/** Answer a query from the portal's form (`input` as posted; a ValidationError names the fields to correct). */
export async function queryPayments(core: Core, input: unknown, ip: string | null, now = Date.now()): Promise<PaymentQueryAnswer> {
  const typed = validate(paymentQuerySchema, input);
  const idIndex = core.crypto.blindIndex('id', typed.idNumber);
  const who = { userId: null, username: null, ip };
  const id = maskIdNumber(typed.idNumber, 'strict');
  return inTransaction(core.db, async (trx): Promise<PaymentQueryAnswer> => {
    const until = await claimQuery(trx, ip || '-', idIndex, now);
    if (until !== null) {
      await recordAudit(trx, who, { action: 'publicity.payment_query', summary: { result: 'throttled', id } });
      return { kind: 'throttled', until };
    }
    // The same reads whether or not the person exists (person id 0 is nobody's), so both answers take about as long.
    const [person] = await registryFactsByIdNumberIndex(trx, [idIndex]);
    const personId = person?.personId ?? 0;
    // One after another: a transaction's connection takes one query at a time.
    const last4s = await accountLast4sOf(trx, personId);
    const payments = await publicPaymentsOf(trx, personId);
    const rule = await publicMaskRule(trx, person?.villageId ?? 0);
    const matches = person !== undefined && person.name === typed.name && last4s.includes(typed.last4);
    await recordAudit(trx, who, {
      action: 'publicity.payment_query',
      objectType: person ? 'person' : undefined,
      objectId: person ? person.personId : undefined,
      summary: { result: matches ? 'found' : 'not_found', id, payments: matches ? payments.length : 0 },
    });
    if (!matches) return { kind: 'no_match' };
    return {
      kind: 'found',
      person: maskPersonForPublic(rule, { name: person.name, idNumber: person.idMasked }),
      payments: payments.map((p) => ({ round: p.round, period: p.period, amount: formatYuan(p.amountFen), status: p.status, date: p.date })),
    };
  });
}
