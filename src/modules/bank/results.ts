import { createHash } from 'node:crypto';
import type { ApiClient } from '../../core/api.ts';
import { apiAuditor } from '../../core/api.ts';
import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, bulkInsert, inTransaction, insertReturningId, nowIso, selectInChunks } from '../../core/db.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import type { BankKeyTerms } from '../agreement/index.ts';
import { freeTextProblem } from '../../core/fields.ts';
import { claimFileDigest } from '../../core/imports.ts';
import { releaseGarbage } from '../../core/memory.ts';
import { type ImportError, type TableRow, type TableSpec, readTable, writeErrorReport } from '../../core/spreadsheet.ts';
import { type ResultLineFacts, resultLineFacts, roundNoticeFacts, roundsOfBank } from '../batch/index.ts';
import { bankOf, type Fetcher, roundBankTerms, signedBy } from './commands.ts';
import { type AttemptResult, recordAttempts } from './failures.ts';
import { queueNotices } from './notices.ts';

/**
 * The bank's result of each payout line (回盘, docs/result-file-format.md), by file or API. A file's summary (its
 * control totals: count and total, successes and failures when given) must equal its own lines. The lines are
 * checked against the round's payout: unknown or foreign line references, amounts that differ, duplicates, results
 * that contradict one already recorded, are refused, the whole file with every reason. A partial result is fine:
 * the lines it does not name stay pending at the bank. The same file twice changes nothing, recognised by its
 * SHA-256 before it is read.
 */
export const FAILURE_CODES = {
  F01: '账户不存在',
  F02: '户名不符',
  F03: '账户冻结',
  F04: '账户已销户',
  F05: '账户挂失或状态异常',
  F06: '证件信息不符',
  F99: '其他原因',
} as const;
export type FailureCode = keyof typeof FAILURE_CODES;

const SPEC: TableSpec = { headerHas: ['流水号', '结果'], required: ['流水号', '金额（分）', '结果'], rowNoun: '回盘结果', formatHint: '格式见回盘文件说明：流水号、金额（分）、结果、失败代码、失败原因' };

/** The summary above the detail header: its names on one row, its figures on the next. */
const SUMMARY = { count: '总笔数', total: '总金额（分）', paid: '成功笔数', failed: '失败笔数' } as const;

export type ResultOutcome =
  | { ok: true; repeated: boolean; rows: number; paid: number; failed: number; unchanged: number }
  | { ok: false; errors: ImportError[]; report: Buffer };

/** A result line as received (a file's row, an API post's item): its texts. */
export interface ResultRecord {
  rowNumber: number;
  ref: string;
  amount: string;
  result: string;
  code: string;
  reason: string;
}

const CODES = Object.keys(FAILURE_CODES) as FailureCode[];
const NO_CODE = 0;
const OTHER_CODE = 255;
const PAID = 1;
const FAILED = 2;

/**
 * The lines of one result (a file's rows or an API post), kept column by column in typed arrays rather than as one
 * object per line: a 200,000-line result file takes some 5 MB here instead of the ~50 MB its records took as
 * objects (issue 18). Each line's reference is parsed as it is added (R<round>-<line>[-<attempt>]); only what the
 * messages need is kept as text: a reference that is not this round's, a reason that is not blank.
 */
class ResultLines {
  count = 0;
  rowNumbers = new Int32Array(1024);
  /** The line id and attempt of the reference; attempt 0 when the reference is not this round's. */
  lineIds = new Float64Array(1024);
  attempts = new Int32Array(1024);
  /** The amount in fen when it is all digits, NaN otherwise. */
  amounts = new Float64Array(1024);
  /** PAID, FAILED or 0 (neither). */
  results = new Uint8Array(1024);
  /** NO_CODE, 1 + the index in CODES, or OTHER_CODE. */
  codes = new Uint8Array(1024);
  /** By line index: the reference's text when it is not as refText writes it back (not this round's, leading zeros …), the reason when it is not blank. */
  refTexts = new Map<number, string>();
  reasons = new Map<number, string>();
  private refPattern: RegExp;

  constructor(private roundId: number) {
    this.refPattern = new RegExp(`^R${roundId}-(\\d+)(?:-(\\d+))?$`);
  }

  add(r: ResultRecord): void {
    if (this.count === this.rowNumbers.length) this.grow();
    const i = this.count++;
    this.rowNumbers[i] = r.rowNumber;
    const m = this.refPattern.exec(r.ref);
    const lineId = m ? Number(m[1]) : NaN;
    const attempt = m ? (m[2] === undefined ? 1 : Number(m[2])) : NaN;
    // A line id or attempt too large to be one is a reference that names no line of the round.
    if (attempt >= 1 && attempt < 65_536 && Number.isSafeInteger(attemptKey(lineId, attempt))) {
      this.lineIds[i] = lineId;
      this.attempts[i] = attempt;
      if (this.refText(i) !== r.ref) this.refTexts.set(i, r.ref);
    } else {
      this.attempts[i] = 0;
      this.refTexts.set(i, r.ref);
    }
    this.amounts[i] = /^\d+$/.test(r.amount) ? Number(r.amount) : NaN;
    this.results[i] = r.result === '成功' || r.result === 'paid' ? PAID : r.result === '失败' || r.result === 'failed' ? FAILED : 0;
    this.codes[i] = r.code === '' ? NO_CODE : Object.hasOwn(FAILURE_CODES, r.code) ? 1 + CODES.indexOf(r.code as FailureCode) : OTHER_CODE;
    if (r.reason !== '') this.reasons.set(i, r.reason);
  }

  /** The line's reference as the file has it. */
  refText(i: number): string {
    const known = this.refTexts.get(i);
    if (known !== undefined) return known;
    return this.attempts[i] === 1 ? `R${this.roundId}-${this.lineIds[i]}` : `R${this.roundId}-${this.lineIds[i]}-${this.attempts[i]}`;
  }

  code(i: number): FailureCode | null {
    const c = this.codes[i]!;
    return c === NO_CODE || c === OTHER_CODE ? null : CODES[c - 1]!;
  }

  private grow(): void {
    const size = this.rowNumbers.length * 2;
    const grown = <A extends Int32Array | Float64Array | Uint8Array>(a: A): A => {
      const b = new (a.constructor as new (n: number) => A)(size);
      b.set(a);
      return b;
    };
    this.rowNumbers = grown(this.rowNumbers);
    this.lineIds = grown(this.lineIds);
    this.attempts = grown(this.attempts);
    this.amounts = grown(this.amounts);
    this.results = grown(this.results);
    this.codes = grown(this.codes);
  }
}

/** A line's key among the round's attempts: line id and attempt as one number (an attempt is far below 2^16 and a line id below 2^37). */
const attemptKey = (lineId: number, attempt: number) => lineId * 65_536 + attempt;

/**
 * What the bank may answer for a round about these lines: each line's first payout (its amount, with what its payment
 * notice says, by line id), and each line of a supplementary payout (its reference carries the attempt:
 * R<round>-<line>-<attempt>) once the bank has its money (amount by attemptKey).
 */
async function expectedAttempts(db: Conn, roundId: number, lineIds: readonly number[]): Promise<{ first: Map<number, ResultLineFacts>; resent: Map<number, number> }> {
  const first = await resultLineFacts(db, roundId, lineIds);
  const resent = new Map<number, number>();
  const rows: { line_id: number; attempt: number; amount_fen: number }[] = await db('bank_supplement_line as sl')
    .join('bank_supplement as s', 's.id', 'sl.supplement_id')
    .where('s.round_id', roundId)
    .where((w) => w.where('s.needs_transfer', false).orWhereNotNull('s.transferred_at'))
    .select('sl.line_id', 'sl.attempt', 'sl.amount_fen');
  for (const r of rows) resent.set(attemptKey(r.line_id, r.attempt), r.amount_fen);
  return { first, resent };
}

/**
 * Check the lines against the round's payouts and the results on record; the lines to record (fresh) by their index,
 * and the facts of the lines named (their payment notices are written from them).
 */
async function check(db: Conn, roundId: number, lines: ResultLines): Promise<{ errors: ImportError[]; fresh: number[]; unchanged: number; facts: Map<number, ResultLineFacts> }> {
  const named = new Set<number>();
  for (let i = 0; i < lines.count; i++) if (lines.attempts[i] !== 0) named.add(lines.lineIds[i]!);
  const ids = [...named];
  named.clear();
  const expectedOf = await expectedAttempts(db, roundId, ids);
  const expected = (i: number) => (lines.attempts[i] === 1 ? expectedOf.first.get(lines.lineIds[i]!)?.amount_fen : expectedOf.resent.get(attemptKey(lines.lineIds[i]!, lines.attempts[i]!)));
  const recorded = new Map<number, { result: string; failure_code: string | null }>();
  // A round's first result file, the usual case, has none on record to read.
  if (await db('bank_line_result').where({ round_id: roundId }).first('id')) {
    for (const r of await selectInChunks(ids, (chunk) => db('bank_line_result').where({ round_id: roundId }).whereIn('line_id', chunk).select('line_id', 'attempt', 'result', 'failure_code'))) {
      recorded.set(attemptKey(r.line_id, r.attempt), r);
    }
  }
  ids.length = 0;
  const errors: ImportError[] = [];
  const fresh: number[] = [];
  const seen = new Map<number, number>();
  let unchanged = 0;
  for (let i = 0; i < lines.count; i++) {
    const rowNumber = lines.rowNumbers[i]!;
    const fail = (field: string, message: string) => errors.push({ rowNumber, field, message });
    const amount = lines.attempts[i] === 0 ? undefined : expected(i);
    if (amount === undefined) {
      const ref = lines.refText(i);
      fail('流水号', ref === '' ? '不能为空' : `“${ref}”不是本批次代发文件或已拨付的补充代发文件中的流水号`);
      continue;
    }
    const key = attemptKey(lines.lineIds[i]!, lines.attempts[i]!);
    const first = seen.get(key);
    if (first !== undefined) fail('流水号', `与第 ${first} 行重复`);
    else seen.set(key, rowNumber);
    if (lines.amounts[i] !== amount) fail('金额（分）', `与代发文件不符：应为 ${amount} 分`);
    const result = lines.results[i] === PAID ? 'paid' : lines.results[i] === FAILED ? 'failed' : null;
    if (!result) fail('结果', '应为“成功”或“失败”');
    const code = lines.code(i);
    const reason = lines.reasons.get(i) ?? '';
    if (result === 'failed') {
      if (code === null) fail('失败代码', `应为 ${CODES.join('、')} 之一`);
      if (code === 'F99' && reason === '') fail('失败原因', '失败代码为 F99 时须写明原因');
      if (freeTextProblem(reason)) fail('失败原因', freeTextProblem(reason)!);
    } else if (result === 'paid' && lines.codes[i] !== NO_CODE) fail('失败代码', '成功的明细不填失败代码');
    const before = recorded.get(key);
    if (before && result) {
      if (before.result === result && (before.failure_code ?? null) === code) unchanged++;
      else fail('结果', `该笔已有回盘结果（${before.result === 'paid' ? '成功' : `失败 ${before.failure_code}`}），不能更改`);
      continue;
    }
    if (result) fresh.push(i);
  }
  return { errors, fresh, unchanged, facts: expectedOf.first };
}

/** The round the bank may record results of: released to it, its money at the bank. Returns the bank's org id. */
async function resultRound(core: Core, who: Fetcher, roundId: number): Promise<{ bankOrgId: number; terms: BankKeyTerms | null }> {
  const bankOrgId = bankOf(who);
  const round = (await roundsOfBank(core.db, bankOrgId)).find((r) => r.id === roundId);
  if (!round) throw new NotFoundError('没有下达给本机构的该发放批次');
  if (round.state !== 'transferred') throw new ConflictError('该批次的资金尚未拨付到本机构，不能登记发放结果');
  return { bankOrgId, terms: await roundBankTerms(core, round, bankOrgId) };
}

/** The answer to a file (by its digest) already imported for the round, or null. */
async function importedBefore(conn: Conn, roundId: number, sha256: string): Promise<ResultOutcome | null> {
  const row: { rows: number; paid: number; failed: number } | undefined = await conn('bank_result_file').where({ round_id: roundId, file_sha256: sha256 }).first('rows', 'paid', 'failed');
  return row ? { ok: true, repeated: true, rows: row.rows, paid: row.paid, failed: row.failed, unchanged: row.rows } : null;
}

const summaryName = (text: string) => text.replace(/\s/g, '');

/**
 * The file's summary against its own lines: the row naming 总笔数 and 总金额（分） above the detail header, and its
 * figures on the next row. Each figure that differs is an error naming it; 成功笔数 and 失败笔数 are checked when
 * given.
 */
function checkSummary(above: TableRow[], lines: ResultLines): ImportError[] {
  const at = above.findIndex((r) => r.cells.some((c) => summaryName(c) === SUMMARY.count) && r.cells.some((c) => summaryName(c) === SUMMARY.total));
  const figures = at < 0 ? undefined : above[at + 1];
  if (!figures) {
    return [{ rowNumber: 0, field: '汇总', message: `缺少汇总：明细表头上方应有一行“${SUMMARY.count}、${SUMMARY.total}”（可加“${SUMMARY.paid}、${SUMMARY.failed}”），下一行为本文件明细的合计（格式见回盘文件说明）` }];
  }
  const names = above[at]!.cells.map(summaryName);
  const counted = { count: lines.count, total: 0, paid: 0, failed: 0 };
  for (let i = 0; i < lines.count; i++) {
    if (!Number.isNaN(lines.amounts[i])) counted.total += lines.amounts[i]!;
    if (lines.results[i] === PAID) counted.paid++;
    else if (lines.results[i] === FAILED) counted.failed++;
  }
  const errors: ImportError[] = [];
  const compare = (name: string, counted: number, differs: (given: string) => string, required: boolean) => {
    const i = names.indexOf(name);
    const text = i < 0 ? '' : (figures.cells[i] ?? '');
    if (text === '' && !required) return;
    const fail = (message: string) => errors.push({ rowNumber: figures.rowNumber, field: name, message });
    if (!/^\d+$/.test(text)) fail('汇总应为整数');
    else if (Number(text) !== counted) fail(`${differs(text)}（汇总只计本文件中的明细）`);
  };
  compare(SUMMARY.count, counted.count, (given) => `汇总为 ${given} 笔，本文件明细为 ${counted.count} 笔`, true);
  compare(SUMMARY.total, counted.total, (given) => `汇总为 ${given} 分，本文件明细合计 ${counted.total} 分`, true);
  compare(SUMMARY.paid, counted.paid, (given) => `汇总为 ${given} 笔，本文件结果为“成功”的明细为 ${counted.paid} 笔`, false);
  compare(SUMMARY.failed, counted.failed, (given) => `汇总为 ${given} 笔，本文件结果为“失败”的明细为 ${counted.failed} 笔`, false);
  return errors;
}

/**
 * Record the results in one transaction: the digest claimed first (the same file sent twice at once is imported
 * once, the other answered as a repeat), then the lines checked against the payout and the results on record.
 * `refused` are the errors found before (the file's summary): the file is refused with them and the lines' own.
 */
async function apply(
  core: Core,
  who: Fetcher,
  bankOrgId: number,
  roundId: number,
  input: { fileName: string; sha256: string; channel: 'file' | 'api'; lines: ResultLines; refused: ImportError[]; signed: { signature: string; key: string } | null },
  report: (errors: ImportError[]) => Promise<Buffer>,
): Promise<ResultOutcome> {
  return inTransaction(core.db, async (trx): Promise<ResultOutcome> => {
    if (!(await claimFileDigest(trx, 'bank_result_file', { round_id: roundId, file_sha256: input.sha256 }))) return (await importedBefore(trx, roundId, input.sha256))!;
    const { lines } = input;
    const checked = await check(trx, roundId, lines);
    const errors = [...input.refused, ...checked.errors];
    if (errors.length) return { ok: false, errors, report: await report(errors) };
    const { fresh, unchanged, facts } = checked;
    releaseGarbage(fresh.length);
    const paidLineIds = fresh.filter((i) => lines.results[i] === PAID).map((i) => lines.lineIds[i]!);
    const paid = paidLineIds.length;
    const now = nowIso();
    const fileId = await insertReturningId(trx, 'bank_result_file', {
      round_id: roundId,
      bank_org_id: bankOrgId,
      file_sha256: input.sha256,
      file_name: input.fileName.slice(0, 200),
      channel: input.channel,
      rows: lines.count,
      paid,
      failed: fresh.length - paid,
      uploaded_by: who.actor?.userId ?? null,
      uploaded_at: now,
      bank_signature: input.signed?.signature ?? null,
      bank_key_fingerprint: input.signed?.key ?? null,
    });
    const attempt = (i: number): AttemptResult => {
      const code = lines.code(i);
      return { lineId: lines.lineIds[i]!, attempt: lines.attempts[i]!, result: lines.results[i] === PAID ? 'paid' : 'failed', code, reason: lines.reasons.get(i) || (code ? FAILURE_CODES[code] : null) };
    };
    await bulkInsert(trx, 'bank_line_result', fresh, (i) => {
      const a = attempt(i);
      return { line_id: a.lineId, round_id: roundId, attempt: a.attempt, result: a.result, amount_fen: lines.amounts[i], failure_code: a.code, failure_reason: a.reason, result_file_id: fileId, recorded_at: now };
    });
    await queueNotices(trx, await roundNoticeFacts(trx, roundId), paidLineIds, (lineId) => facts.get(lineId)!);
    // recordAttempts acts on failures and on resends: the first payouts paid, nearly all the lines, are left out.
    await recordAttempts(trx, who.actor ?? apiAuditor(who.client), roundId, fileId, fresh.filter((i) => lines.attempts[i] !== 1 || lines.results[i] !== PAID).map(attempt));
    await recordAudit(trx, who.actor ?? apiAuditor(who.client), { action: 'bank.results.import', objectType: 'round', objectId: roundId, summary: { file: input.fileName, sha256: input.sha256, rows: lines.count, paid, failed: fresh.length - paid, unchanged, ...(input.signed ? { signedBy: input.signed.key } : {}) } });
    return { ok: true, repeated: false, rows: lines.count, paid, failed: fresh.length - paid, unchanged };
  });
}

/**
 * A result file (.xlsx or CSV) uploaded by the bank's user for one round, with the bank's signature file when its
 * agreement requires one (checked first: an unsigned file is not read); a file already imported is not read again.
 */
export async function importResultFile(core: Core, actor: Actor, roundId: number, file: { name: string; buffer: Buffer }, signature: Buffer | null = null): Promise<ResultOutcome> {
  const { bankOrgId, terms } = await resultRound(core, { actor }, roundId);
  const signed = signedBy(terms, file.buffer, signature, '回盘文件');
  const sha256 = createHash('sha256').update(file.buffer).digest('hex');
  const previous = await importedBefore(core.db, roundId, sha256);
  if (previous) return previous;
  // Rows go into the lines' columns as they are read, and are not kept: a 200,000-line result stays small in
  // memory; the error report, if any, reads the file again.
  const lines = new ResultLines(roundId);
  const table = await readTable(file.buffer, SPEC, ({ rowNumber, cells }, columns) => {
    const get = (column: string) => {
      const i = columns.get(column);
      return i === undefined ? '' : cells[i]!;
    };
    lines.add({ rowNumber, ref: get('流水号'), amount: get('金额（分）'), result: get('结果'), code: get('失败代码').toUpperCase(), reason: get('失败原因') });
    return false;
  });
  const report = async (errors: ImportError[]) => {
    const full = await readTable(file.buffer, SPEC);
    return writeErrorReport('回盘文件导入', errors, typeof full === 'string' ? null : full);
  };
  if (typeof table === 'string') {
    const errors = [{ rowNumber: 0, field: '文件', message: table }];
    return { ok: false, errors, report: await writeErrorReport('回盘文件导入', errors, null) };
  }
  releaseGarbage(lines.count);
  return apply(core, { actor }, bankOrgId, roundId, { fileName: file.name, sha256, channel: 'file', lines, refused: checkSummary(table.above, lines), signed }, report);
}

/**
 * Results posted through the API: [{ref, amountFen, result: 'paid'|'failed', code?, reason?}], numbered from 1. The
 * bank's signature, when given or required, is over the request body as sent (`body`, its raw bytes).
 */
export async function postResults(core: Core, client: ApiClient, roundId: number, results: { ref?: unknown; amountFen?: unknown; result?: unknown; code?: unknown; reason?: unknown }[], body: { raw: Buffer; signature: string | null }): Promise<ResultOutcome> {
  const { bankOrgId, terms } = await resultRound(core, { client }, roundId);
  const signed = signedBy(terms, body.raw, body.signature, '回盘数据');
  const text = (v: unknown) => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '');
  const records = results.map((r, i) => ({ rowNumber: i + 1, ref: text(r?.ref), amount: text(r?.amountFen), result: text(r?.result), code: text(r?.code).toUpperCase(), reason: text(r?.reason) }));
  const sha256 = createHash('sha256').update(JSON.stringify(records.map((r) => [r.ref, r.amount, r.result, r.code, r.reason]))).digest('hex');
  const previous = await importedBefore(core.db, roundId, sha256);
  if (previous) return previous;
  const lines = new ResultLines(roundId);
  for (const r of records) lines.add(r);
  return apply(core, { client }, bankOrgId, roundId, { fileName: `接口回盘（${client.name}）`, sha256, channel: 'api', lines, refused: [], signed }, (errors) => writeErrorReport('回盘接口', errors, null));
}
