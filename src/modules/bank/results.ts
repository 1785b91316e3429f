import { createHash } from 'node:crypto';
import type { ApiClient } from '../../core/api.ts';
import { apiAuditor } from '../../core/api.ts';
import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, bulkInsert, inTransaction, insertReturningId, nowIso, selectInChunks } from '../../core/db.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { freeTextProblem } from '../../core/fields.ts';
import { claimFileDigest } from '../../core/imports.ts';
import { releaseGarbage } from '../../core/memory.ts';
import { type ImportError, type TableRow, type TableSpec, readTable, writeErrorReport } from '../../core/spreadsheet.ts';
import { lineAmounts, roundsOfBank } from '../batch/index.ts';
import { bankOf, type Fetcher } from './commands.ts';
import { recordAttempts } from './failures.ts';
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

export interface ResultRecord {
  rowNumber: number;
  ref: string;
  amount: string;
  result: string;
  code: string;
  reason: string;
}

const SPEC: TableSpec = { headerHas: ['流水号', '结果'], required: ['流水号', '金额（分）', '结果'], rowNoun: '回盘结果', formatHint: '格式见回盘文件说明：流水号、金额（分）、结果、失败代码、失败原因' };

/** The summary above the detail header: its names on one row, its figures on the next. */
const SUMMARY = { count: '总笔数', total: '总金额（分）', paid: '成功笔数', failed: '失败笔数' } as const;

export type ResultOutcome =
  | { ok: true; repeated: boolean; rows: number; paid: number; failed: number; unchanged: number }
  | { ok: false; errors: ImportError[]; report: Buffer };

interface Checked {
  lineId: number;
  attempt: number;
  amountFen: number;
  result: 'paid' | 'failed';
  code: FailureCode | null;
  reason: string | null;
}

/**
 * What the bank may answer for a round, by `line:attempt`: every line's first payout, and each line of a
 * supplementary payout (its reference carries the attempt: R<round>-<line>-<attempt>) once the bank has its money.
 */
async function expectedAttempts(db: Conn, roundId: number): Promise<Map<string, number>> {
  const expected = new Map<string, number>();
  for (const [lineId, amount] of await lineAmounts(db, roundId)) expected.set(`${lineId}:1`, amount);
  const resent: { line_id: number; attempt: number; amount_fen: number }[] = await db('bank_supplement_line as sl')
    .join('bank_supplement as s', 's.id', 'sl.supplement_id')
    .where('s.round_id', roundId)
    .where((w) => w.where('s.needs_transfer', false).orWhereNotNull('s.transferred_at'))
    .select('sl.line_id', 'sl.attempt', 'sl.amount_fen');
  for (const r of resent) expected.set(`${r.line_id}:${r.attempt}`, r.amount_fen);
  return expected;
}

/** Check the records against the round's payouts and the results on record. */
async function check(db: Conn, roundId: number, records: ResultRecord[]): Promise<{ errors: ImportError[]; fresh: Checked[]; unchanged: number }> {
  const expectedOf = await expectedAttempts(db, roundId);
  const recorded = new Map<string, { result: string; failure_code: string | null }>();
  const refPattern = new RegExp(`^R${roundId}-(\\d+)(?:-(\\d+))?$`);
  const parse = (ref: string) => {
    const m = refPattern.exec(ref);
    return m ? { lineId: Number(m[1]), attempt: m[2] === undefined ? 1 : Number(m[2]) } : null;
  };
  const ids = records.flatMap((r) => {
    const p = parse(r.ref);
    return p === null ? [] : [p.lineId];
  });
  for (const r of await selectInChunks(ids, (chunk) => db('bank_line_result').where({ round_id: roundId }).whereIn('line_id', chunk).select('line_id', 'attempt', 'result', 'failure_code'))) {
    recorded.set(`${r.line_id}:${r.attempt}`, r);
  }
  const errors: ImportError[] = [];
  const fresh: Checked[] = [];
  const seen = new Map<string, number>();
  let unchanged = 0;
  for (const r of records) {
    const fail = (field: string, message: string) => errors.push({ rowNumber: r.rowNumber, field, message });
    const ref = parse(r.ref);
    const key = ref === null ? '' : `${ref.lineId}:${ref.attempt}`;
    const expected = expectedOf.get(key);
    if (ref === null || expected === undefined) {
      fail('流水号', r.ref === '' ? '不能为空' : `“${r.ref}”不是本批次代发文件或已拨付的补充代发文件中的流水号`);
      continue;
    }
    const first = seen.get(key);
    if (first !== undefined) fail('流水号', `与第 ${first} 行重复`);
    else seen.set(key, r.rowNumber);
    if (!/^\d+$/.test(r.amount) || Number(r.amount) !== expected) fail('金额（分）', `与代发文件不符：应为 ${expected} 分`);
    const result = r.result === '成功' || r.result === 'paid' ? 'paid' : r.result === '失败' || r.result === 'failed' ? 'failed' : null;
    if (!result) fail('结果', '应为“成功”或“失败”');
    let code: FailureCode | null = null;
    if (result === 'failed') {
      if (!(r.code in FAILURE_CODES)) fail('失败代码', `应为 ${Object.keys(FAILURE_CODES).join('、')} 之一`);
      else code = r.code as FailureCode;
      if (code === 'F99' && r.reason === '') fail('失败原因', '失败代码为 F99 时须写明原因');
      if (freeTextProblem(r.reason)) fail('失败原因', freeTextProblem(r.reason)!);
    } else if (result === 'paid' && r.code !== '') fail('失败代码', '成功的明细不填失败代码');
    const before = recorded.get(key);
    if (before && result) {
      if (before.result === result && (before.failure_code ?? null) === code) unchanged++;
      else fail('结果', `该笔已有回盘结果（${before.result === 'paid' ? '成功' : `失败 ${before.failure_code}`}），不能更改`);
      continue;
    }
    if (result) fresh.push({ lineId: ref.lineId, attempt: ref.attempt, amountFen: expected, result, code, reason: r.reason || (code ? FAILURE_CODES[code] : null) });
  }
  return { errors, fresh, unchanged };
}

/** The round the bank may record results of: released to it, its money at the bank. Returns the bank's org id. */
async function resultRound(core: Core, who: Fetcher, roundId: number): Promise<number> {
  const bankOrgId = bankOf(who);
  const round = (await roundsOfBank(core.db, bankOrgId)).find((r) => r.id === roundId);
  if (!round) throw new NotFoundError('没有下达给本机构的该发放批次');
  if (round.state !== 'transferred') throw new ConflictError('该批次的资金尚未拨付到本机构，不能登记发放结果');
  return bankOrgId;
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
function checkSummary(above: TableRow[], records: ResultRecord[]): ImportError[] {
  const at = above.findIndex((r) => r.cells.some((c) => summaryName(c) === SUMMARY.count) && r.cells.some((c) => summaryName(c) === SUMMARY.total));
  const figures = at < 0 ? undefined : above[at + 1];
  if (!figures) {
    return [{ rowNumber: 0, field: '汇总', message: `缺少汇总：明细表头上方应有一行“${SUMMARY.count}、${SUMMARY.total}”（可加“${SUMMARY.paid}、${SUMMARY.failed}”），下一行为本文件明细的合计（格式见回盘文件说明）` }];
  }
  const names = above[at]!.cells.map(summaryName);
  const lines = { count: records.length, total: 0, paid: 0, failed: 0 };
  for (const r of records) {
    if (/^\d+$/.test(r.amount)) lines.total += Number(r.amount);
    if (r.result === '成功' || r.result === 'paid') lines.paid++;
    else if (r.result === '失败' || r.result === 'failed') lines.failed++;
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
  compare(SUMMARY.count, lines.count, (given) => `汇总为 ${given} 笔，本文件明细为 ${lines.count} 笔`, true);
  compare(SUMMARY.total, lines.total, (given) => `汇总为 ${given} 分，本文件明细合计 ${lines.total} 分`, true);
  compare(SUMMARY.paid, lines.paid, (given) => `汇总为 ${given} 笔，本文件结果为“成功”的明细为 ${lines.paid} 笔`, false);
  compare(SUMMARY.failed, lines.failed, (given) => `汇总为 ${given} 笔，本文件结果为“失败”的明细为 ${lines.failed} 笔`, false);
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
  input: { fileName: string; sha256: string; channel: 'file' | 'api'; records: ResultRecord[]; refused: ImportError[] },
  report: (errors: ImportError[]) => Promise<Buffer>,
): Promise<ResultOutcome> {
  return inTransaction(core.db, async (trx): Promise<ResultOutcome> => {
    if (!(await claimFileDigest(trx, 'bank_result_file', { round_id: roundId, file_sha256: input.sha256 }))) return (await importedBefore(trx, roundId, input.sha256))!;
    const checked = await check(trx, roundId, input.records);
    const errors = [...input.refused, ...checked.errors];
    if (errors.length) return { ok: false, errors, report: await report(errors) };
    const { fresh, unchanged } = checked;
    releaseGarbage(fresh.length);
    const paid = fresh.filter((f) => f.result === 'paid').length;
    const now = nowIso();
    const fileId = await insertReturningId(trx, 'bank_result_file', {
      round_id: roundId,
      bank_org_id: bankOrgId,
      file_sha256: input.sha256,
      file_name: input.fileName.slice(0, 200),
      channel: input.channel,
      rows: input.records.length,
      paid,
      failed: fresh.length - paid,
      uploaded_by: who.actor?.userId ?? null,
      uploaded_at: now,
    });
    await bulkInsert(trx, 'bank_line_result', fresh, (f) => ({ line_id: f.lineId, round_id: roundId, attempt: f.attempt, result: f.result, amount_fen: f.amountFen, failure_code: f.code, failure_reason: f.reason, result_file_id: fileId, recorded_at: now }));
    await queueNotices(trx, fresh.filter((f) => f.result === 'paid').map((f) => f.lineId));
    await recordAttempts(trx, who.actor ?? apiAuditor(who.client), roundId, fileId, fresh);
    await recordAudit(trx, who.actor ?? apiAuditor(who.client), { action: 'bank.results.import', objectType: 'round', objectId: roundId, summary: { file: input.fileName, sha256: input.sha256, rows: input.records.length, paid, failed: fresh.length - paid, unchanged } });
    return { ok: true, repeated: false, rows: input.records.length, paid, failed: fresh.length - paid, unchanged };
  });
}

/** A result file (.xlsx or CSV) uploaded by the bank's user for one round; a file already imported is not read again. */
export async function importResultFile(core: Core, actor: Actor, roundId: number, file: { name: string; buffer: Buffer }): Promise<ResultOutcome> {
  const bankOrgId = await resultRound(core, { actor }, roundId);
  const sha256 = createHash('sha256').update(file.buffer).digest('hex');
  const previous = await importedBefore(core.db, roundId, sha256);
  if (previous) return previous;
  // Rows become records as they are read, and are not kept: a 200,000-line result stays small in memory; the
  // error report, if any, reads the file again.
  const records: ResultRecord[] = [];
  const table = await readTable(file.buffer, SPEC, ({ rowNumber, cells }, columns) => {
    const get = (column: string) => {
      const i = columns.get(column);
      return i === undefined ? '' : cells[i]!;
    };
    records.push({ rowNumber, ref: get('流水号'), amount: get('金额（分）'), result: get('结果'), code: get('失败代码').toUpperCase(), reason: get('失败原因') });
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
  releaseGarbage(records.length);
  return apply(core, { actor }, bankOrgId, roundId, { fileName: file.name, sha256, channel: 'file', records, refused: checkSummary(table.above, records) }, report);
}

/** Results posted through the API: [{ref, amountFen, result: 'paid'|'failed', code?, reason?}], numbered from 1. */
export async function postResults(core: Core, client: ApiClient, roundId: number, results: { ref?: unknown; amountFen?: unknown; result?: unknown; code?: unknown; reason?: unknown }[]): Promise<ResultOutcome> {
  const bankOrgId = await resultRound(core, { client }, roundId);
  const text = (v: unknown) => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '');
  const records = results.map((r, i) => ({ rowNumber: i + 1, ref: text(r?.ref), amount: text(r?.amountFen), result: text(r?.result), code: text(r?.code).toUpperCase(), reason: text(r?.reason) }));
  const sha256 = createHash('sha256').update(JSON.stringify(records.map((r) => [r.ref, r.amount, r.result, r.code, r.reason]))).digest('hex');
  const previous = await importedBefore(core.db, roundId, sha256);
  if (previous) return previous;
  return apply(core, { client }, bankOrgId, roundId, { fileName: `接口回盘（${client.name}）`, sha256, channel: 'api', records, refused: [] }, (errors) => writeErrorReport('回盘接口', errors, null));
}
