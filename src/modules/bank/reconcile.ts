import { createHash } from 'node:crypto';
import { type AuditWho, recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { sm3Hex } from '../../core/crypto.ts';
import { businessDate } from '../../core/dates.ts';
import { type Conn, type Db, type Tx, bulkInsert, inTransaction, insertReturningId, nowIso, selectInChunks } from '../../core/db.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { type Fen, fen, formatYuan } from '../../core/money.ts';
import { type ImportError, type TableSpec, readTable, writeErrorReport } from '../../core/spreadsheet.ts';
import { lineAmounts, transferredRounds } from '../batch/index.ts';
import { bankTermsToday, signedBy } from './commands.ts';
import { roundLedger } from './ledger.ts';
import { authorize } from '../../core/authz.ts';
import { BANK_LINE_STATES, type BankLineState, differenceRef } from './model.ts';
import { can, signingPartyOf } from './policy.ts';
import { type DifferenceRow, type ReconciliationRow, type SignatureRow, differenceById, differencesOf, openDifferences, reconciliationFigures, reconciliationInScope, reconciliationRounds, requiredParties, signatureOf, signaturesOf } from './queries.ts';
import { reconciliationReportPdf } from './reports.ts';

/**
 * Quarterly reconciliation with the agent bank (Qinghai 二(二)9: 每季度末进行补贴资金、受益对象等信息核对). At each
 * quarter's end a scheduled task opens one reconciliation per county and bank, covering the bank's rounds the
 * treasury transferred by then. Finance, department and bank see the same figures per round and per policy; the
 * bank uploads its confirmation of every line (paid, unpaid, refunded); every difference from the platform is
 * listed line by line until the finance section resolves it (or a corrected confirmation removes it); then the
 * finance section, the bank and each department sign, and the signed report is kept as PDF with its SM3. The reads
 * (the reconciliations in scope, their figures, differences and signatures) are in queries.ts.
 */

/** The quarter a business date falls in, and the quarter that ended last before it. */
export function quarterOf(date: string): { quarter: string; start: string; end: string } {
  const year = Number(date.slice(0, 4));
  const q = Math.floor((Number(date.slice(5, 7)) - 1) / 3) + 1;
  const endMonth = q * 3;
  const end = new Date(Date.UTC(year, endMonth, 0)).toISOString().slice(0, 10);
  return { quarter: `${year}-Q${q}`, start: `${year}-${String(endMonth - 2).padStart(2, '0')}-01`, end };
}
export function lastEndedQuarter(today: string): { quarter: string; start: string; end: string } {
  const start = quarterOf(today).start;
  const before = new Date(Date.parse(`${start}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  return quarterOf(before);
}

const SYSTEM: AuditWho = { userId: null, username: 'ykt-scheduler', ip: null };

/** The scheduled task: open the reconciliation of the quarter that ended for each county and bank with transferred rounds. */
export async function openReconciliations(db: Db, today = businessDate()): Promise<number> {
  const quarter = lastEndedQuarter(today);
  const pairs = new Map<string, { countyId: number; bankOrgId: number }>();
  for (const r of await transferredRounds(db, {})) {
    if (businessDate(new Date(r.transferred_at)) <= quarter.end) pairs.set(`${r.county_id}:${r.bank_org_id}`, { countyId: r.county_id, bankOrgId: r.bank_org_id });
  }
  let opened = 0;
  for (const { countyId, bankOrgId } of pairs.values()) {
    await inTransaction(db, async (trx) => {
      if (await trx('bank_reconciliation').where({ county_id: countyId, bank_org_id: bankOrgId, quarter: quarter.quarter }).first('id')) return;
      const id = await insertReturningId(trx, 'bank_reconciliation', { county_id: countyId, bank_org_id: bankOrgId, quarter: quarter.quarter, period_end: quarter.end, state: 'open', opened_at: nowIso() });
      await recordAudit(trx, SYSTEM, { action: 'bank.reconciliation.open', objectType: 'reconciliation', objectId: id, summary: { county: countyId, bank: bankOrgId, quarter: quarter.quarter } });
      opened++;
    });
  }
  return opened;
}

/** Where each line of these rounds stands on the platform: paid, refunded (money back from the bank) or unpaid (at the bank). */
async function platformLines(db: Conn, roundIds: number[]): Promise<Map<number, { roundId: number; amountFen: Fen; state: BankLineState }>> {
  const lines = new Map<number, { roundId: number; amountFen: Fen; state: BankLineState }>();
  for (const roundId of roundIds) for (const [lineId, amountFen] of await lineAmounts(db, roundId)) lines.set(lineId, { roundId, amountFen, state: 'unpaid' });
  const paid: { line_id: number }[] = await selectInChunks(roundIds, (chunk) => db('bank_line_result').whereIn('round_id', chunk).where({ result: 'paid' }).select('line_id'));
  for (const p of paid) lines.get(p.line_id)!.state = 'paid';
  const away: { line_id: number }[] = await selectInChunks(roundIds, (chunk) => db('bank_failure').whereIn('round_id', chunk).whereIn('funds', ['source', 'treasury']).select('line_id'));
  for (const a of away) lines.get(a.line_id)!.state = 'refunded';
  return lines;
}

const CONFIRMATION_SPEC: TableSpec = { headerHas: ['流水号', '状态'], required: ['流水号', '金额（分）', '状态'], rowNoun: '对账明细', formatHint: '格式见对账确认文件说明：流水号、金额（分）、状态（已发放、未发放、已退回）' };

export type Confirmed = { ok: true; repeated: boolean; rows: number; differences: number };
export type ConfirmationOutcome = Confirmed | { ok: false; errors: ImportError[]; report: Buffer };

/**
 * The bank's confirmation of every line of the covered rounds (docs/reconciliation-file-format.md): refused whole
 * with every reason if a reference is unknown or repeated or a state unreadable; otherwise it replaces the previous
 * confirmation, the differences are listed again (a difference already resolved and still there keeps its
 * resolution), and any sign-off given on the earlier figures is withdrawn. The same file twice changes nothing.
 */
export async function importConfirmation(core: Core, actor: Actor, reconciliationId: number, file: { name: string; buffer: Buffer }, signature: Buffer | null = null): Promise<ConfirmationOutcome> {
  const rec = await reconciliationInScope(core.db, actor, reconciliationId);
  await authorize(core.db, actor, can(actor, 'confirm_reconciliation', rec), { objectType: 'reconciliation', objectId: rec.id });
  const sha256 = createHash('sha256').update(file.buffer).digest('hex');
  if (rec.confirmation_sha256 === sha256) return { ok: true, repeated: true, rows: rec.confirmation_rows ?? 0, differences: await openDifferences(core.db, rec.id) };
  const signed = signedBy(await bankTermsToday(core, rec.bank_org_id, rec.county_id), file.buffer, signature, '对账确认文件');
  const table = await readTable(file.buffer, CONFIRMATION_SPEC);
  if (typeof table === 'string') {
    const errors = [{ rowNumber: 0, field: '文件', message: table }];
    return { ok: false, errors, report: await writeErrorReport('对账确认文件', errors, null) };
  }
  const rounds = await reconciliationRounds(core.db, rec);
  const platform = await platformLines(core.db, rounds.map((r) => r.id));
  const col = (name: string) => table.columns.get(name);
  const errors: ImportError[] = [];
  const confirmed = new Map<number, { roundId: number; state: BankLineState; amountFen: number; rowNumber: number }>();
  const stateOf = new Map(Object.entries(BANK_LINE_STATES).map(([k, v]) => [v, k as BankLineState]));
  for (const row of table.rows) {
    const cell = (name: string) => {
      const i = col(name);
      return i === undefined ? '' : (row.cells[i] ?? '');
    };
    const fail = (field: string, message: string) => errors.push({ rowNumber: row.rowNumber, field, message });
    const ref = cell('流水号');
    const m = /^R(\d+)-(\d+)(?:-\d+)?$/.exec(ref);
    const lineId = m ? Number(m[2]) : null;
    const line = lineId === null ? undefined : platform.get(lineId);
    if (!m || !line || line.roundId !== Number(m[1])) {
      fail('流水号', ref === '' ? '不能为空' : `“${ref}”不是本次对账所含批次的流水号`);
      continue;
    }
    const before = confirmed.get(lineId!);
    if (before) fail('流水号', `与第 ${before.rowNumber} 行是同一笔`);
    const amount = cell('金额（分）');
    if (!/^\d+$/.test(amount)) fail('金额（分）', '应为整数（分）');
    const state = stateOf.get(cell('状态') as (typeof BANK_LINE_STATES)[BankLineState]);
    if (!state) fail('状态', '应为“已发放”“未发放”或“已退回”');
    if (!before && state && /^\d+$/.test(amount)) confirmed.set(lineId!, { roundId: line.roundId, state, amountFen: Number(amount), rowNumber: row.rowNumber });
  }
  if (errors.length) return { ok: false, errors, report: await writeErrorReport('对账确认文件', errors, table) };
  const differences: Difference[] = [];
  for (const [lineId, p] of platform) {
    const b = confirmed.get(lineId);
    if (!b) differences.push({ round_id: p.roundId, line_id: lineId, kind: 'missing', platform: `${BANK_LINE_STATES[p.state]} ${formatYuan(p.amountFen)} 元`, bank: '确认文件中没有该笔', amount_fen: p.amountFen });
    else {
      if (b.amountFen !== p.amountFen) differences.push({ round_id: p.roundId, line_id: lineId, kind: 'amount', platform: `${formatYuan(p.amountFen)} 元`, bank: `${formatYuan(b.amountFen)} 元`, amount_fen: p.amountFen });
      if (b.state !== p.state) differences.push({ round_id: p.roundId, line_id: lineId, kind: 'state', platform: BANK_LINE_STATES[p.state], bank: BANK_LINE_STATES[b.state], amount_fen: p.amountFen });
    }
  }
  return replaceConfirmation(core, actor, rec, { sha256, name: file.name, rows: table.rows.length, differences, signed }, async (trx) => {
    await bulkInsert(trx, 'bank_reconciliation_line', [...confirmed], ([lineId, c]) => ({ reconciliation_id: rec.id, round_id: c.roundId, line_id: lineId, bank_state: c.state, bank_amount_fen: c.amountFen }));
  });
}

type Difference = Pick<DifferenceRow, 'round_id' | 'line_id' | 'kind' | 'platform' | 'bank' | 'amount_fen'>;

/**
 * The bank's confirmation (a file of lines, or totals entered) replaces the last one, in one transaction: its rows,
 * the differences listed again (one already resolved and still there keeps its resolution), every sign-off given on
 * the earlier figures withdrawn.
 */
async function replaceConfirmation(core: Core, actor: Actor, rec: ReconciliationRow, input: { sha256: string; name: string; rows: number; differences: Difference[]; signed?: { signature: string; key: string } | null }, store: (trx: Tx) => Promise<void>): Promise<Confirmed> {
  return inTransaction(core.db, async (trx): Promise<Confirmed> => {
    const updated = await trx('bank_reconciliation')
      .where({ id: rec.id, state: 'open' })
      .where((w) => w.whereNull('confirmation_sha256').orWhereNot('confirmation_sha256', input.sha256))
      .update({ confirmation_sha256: input.sha256, confirmation_name: input.name.slice(0, 200), confirmation_rows: input.rows, confirmed_at: nowIso(), bank_signature: input.signed?.signature ?? null, bank_key_fingerprint: input.signed?.key ?? null, version: trx.raw('version + 1') });
    if (updated !== 1) {
      // This same confirmation sent twice at once (a double click, a second tab) is taken once; or it is signed.
      const now: { state: string; confirmation_sha256: string | null } = await trx('bank_reconciliation').where({ id: rec.id }).first('state', 'confirmation_sha256');
      if (now.state === 'open' && now.confirmation_sha256 === input.sha256) return { ok: true, repeated: true, rows: input.rows, differences: await openDifferences(trx, rec.id) };
      throw new ConflictError('该季度对账已签认，不能再更改银行确认');
    }
    await trx('bank_reconciliation_line').where({ reconciliation_id: rec.id }).delete();
    await trx('bank_reconciliation_total').where({ reconciliation_id: rec.id }).delete();
    await store(trx);
    const key = (d: Difference) => `${d.round_id}:${d.line_id ?? ''}:${d.kind}:${d.platform}:${d.bank}`;
    const resolved = new Map(((await trx('bank_reconciliation_diff').where({ reconciliation_id: rec.id, state: 'resolved' }).select('*')) as DifferenceRow[]).map((d) => [key(d), d]));
    await trx('bank_reconciliation_diff').where({ reconciliation_id: rec.id }).delete();
    await bulkInsert(trx, 'bank_reconciliation_diff', input.differences, (d) => {
      const kept = resolved.get(key(d));
      return { reconciliation_id: rec.id, ...d, state: kept ? 'resolved' : 'open', resolution: kept?.resolution ?? null, resolved_by: kept?.resolved_by ?? null, resolved_at: kept?.resolved_at ?? null };
    });
    const withdrawn = await trx('bank_reconciliation_signature').where({ reconciliation_id: rec.id }).delete();
    await recordAudit(trx, actor, { action: 'bank.reconciliation.confirm', objectType: 'reconciliation', objectId: rec.id, summary: { source: input.name, sha256: input.sha256, rows: input.rows, differences: input.differences.length, signaturesWithdrawn: withdrawn, ...(input.signed ? { signedBy: input.signed.key } : {}) } });
    return { ok: true as const, repeated: false, rows: input.rows, differences: await openDifferences(trx, rec.id) };
  });
}

/**
 * Instead of the lines, the bank may enter its confirmed totals of each round (paid, still at the bank, refunded,
 * in fen); a round whose totals differ from the platform's is listed as a difference per figure. A round not entered
 * counts as all zero.
 */
export async function enterConfirmedTotals(core: Core, actor: Actor, reconciliationId: number, totals: Map<number, { paidFen: number; unpaidFen: number; refundedFen: number }>): Promise<Confirmed> {
  const rec = await reconciliationInScope(core.db, actor, reconciliationId);
  await authorize(core.db, actor, can(actor, 'confirm_reconciliation', rec), { objectType: 'reconciliation', objectId: rec.id });
  const rounds = await reconciliationRounds(core.db, rec);
  if ([...totals.keys()].some((id) => !rounds.some((r) => r.id === id))) throw new ValidationError({ totals: '填报的批次不在本次对账范围内' });
  const sha256 = createHash('sha256').update(JSON.stringify([...totals].sort((a, b) => a[0] - b[0]))).digest('hex');
  if (rec.confirmation_sha256 === sha256) return { ok: true, repeated: true, rows: totals.size, differences: await openDifferences(core.db, rec.id) };
  const differences: Difference[] = [];
  for (const r of rounds) {
    const ledger = await roundLedger(core.db, r.id);
    const bank = totals.get(r.id) ?? { paidFen: 0, unpaidFen: 0, refundedFen: 0 };
    const compare = (kind: 'paid' | 'unpaid' | 'refunded', platformFen: number, bankFen: number) => {
      if (platformFen !== bankFen) differences.push({ round_id: r.id, line_id: null, kind, platform: `${BANK_LINE_STATES[kind]}合计 ${formatYuan(platformFen)} 元`, bank: `${formatYuan(bankFen)} 元`, amount_fen: fen(Math.abs(platformFen - bankFen)) });
    };
    compare('paid', ledger.paidFen, bank.paidFen);
    compare('unpaid', ledger.pendingFen, bank.unpaidFen);
    compare('refunded', ledger.refundedFen, bank.refundedFen);
  }
  return replaceConfirmation(core, actor, rec, { sha256, name: '页面填报的各批次合计', rows: totals.size, differences }, async (trx) => {
    await bulkInsert(trx, 'bank_reconciliation_total', [...totals], ([roundId, t]) => ({ reconciliation_id: rec.id, round_id: roundId, paid_fen: t.paidFen, unpaid_fen: t.unpaidFen, refunded_fen: t.refundedFen }));
  });
}

/** The finance section resolves a difference with what it found (a bank error corrected, a result posted late …). */
export async function resolveDifference(core: Core, actor: Actor, diffId: number, resolution: string): Promise<void> {
  const diff = await differenceById(core.db, diffId);
  if (!diff) throw new NotFoundError('对账差异不存在');
  const rec = await reconciliationInScope(core.db, actor, diff.reconciliation_id);
  await authorize(core.db, actor, can(actor, 'resolve_difference', rec), { objectType: 'reconciliation', objectId: rec.id });
  const text = resolution.trim();
  if (!text) throw new ValidationError({ resolution: '请写明核实结果和处理方式' });
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('bank_reconciliation_diff').where({ id: diffId, state: 'open' }).update({ state: 'resolved', resolution: text.slice(0, 300), resolved_by: actor.userId, resolved_at: nowIso() });
    if (updated !== 1) throw new ConflictError('该差异已处理');
    await recordAudit(trx, actor, { action: 'bank.reconciliation.resolve', objectType: 'reconciliation', objectId: rec.id, summary: { diff: diffId, line: diff.line_id, kind: diff.kind, resolution: text } });
  });
}

/**
 * One party signs the figures (after the bank's confirmation, with every difference resolved). The last signature
 * closes the reconciliation and keeps its report as PDF with its SM3.
 */
export async function signReconciliation(core: Core, actor: Actor, reconciliationId: number, input: { version: number }): Promise<boolean> {
  const rec = await reconciliationInScope(core.db, actor, reconciliationId);
  const parties = await requiredParties(core.db, rec);
  await authorize(core.db, actor, can(actor, 'sign_reconciliation', { parties, state: rec.state }), { objectType: 'reconciliation', objectId: rec.id });
  if (!rec.confirmation_sha256) throw new ConflictError('代发金融机构尚未上传对账确认文件');
  if (await openDifferences(core.db, rec.id)) throw new ConflictError('还有未处理的对账差异，处理完毕后才能签认');
  const mine = signingPartyOf(actor, parties)!;
  return inTransaction(core.db, async (trx) => {
    const current: { version: number; state: string } = await trx('bank_reconciliation').where({ id: rec.id }).first('version', 'state');
    if (current.version !== input.version || current.state !== 'open') throw new ConflictError('对账数据已变化，请刷新后核对再签认');
    if (await trx('bank_reconciliation_signature').where({ reconciliation_id: rec.id, party: mine.party }).where((w) => (mine.orgId === null ? w.whereNull('org_id') : w.where('org_id', mine.orgId))).first('id')) throw new ConflictError(`${mine.label}已签认`);
    await trx('bank_reconciliation_signature').insert({ reconciliation_id: rec.id, party: mine.party, org_id: mine.orgId, user_id: actor.userId, signer_name: `${actor.displayName}（${actor.orgName ?? mine.label}）`, signed_at: nowIso() });
    const signed = await signaturesOf(trx, rec.id);
    const complete = parties.every((p) => signatureOf(signed, p));
    if (complete) {
      const pdf = await reconciliationReport(trx, { ...rec, signed_at: nowIso() }, signed);
      await trx('bank_reconciliation').where({ id: rec.id }).update({ state: 'signed', signed_at: nowIso(), report_pdf: pdf, report_sm3: sm3Hex(pdf), version: trx.raw('version + 1') });
    }
    await recordAudit(trx, actor, { action: 'bank.reconciliation.sign', objectType: 'reconciliation', objectId: rec.id, summary: { party: mine.party, org: mine.orgId, complete } });
    return complete;
  });
}

/** The signed report: per round and per policy, the bank's confirmed totals, the differences and how each was resolved, the signatures. */
async function reconciliationReport(trx: Tx, rec: ReconciliationRow, signatures: SignatureRow[]): Promise<Buffer> {
  const diffs = await differencesOf(trx, rec.id);
  return reconciliationReportPdf({
    rec,
    figures: await reconciliationFigures(trx, rec),
    differences: diffs.map((d) => ({ ref: differenceRef(d), platform: d.platform, bank: d.bank, resolution: d.resolution ?? '', resolvedBy: d.resolved_by_name ?? '' })),
    signatures,
  });
}
