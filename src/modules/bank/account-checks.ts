import { createHash } from 'node:crypto';
import { type ApiClient, apiAuditor } from '../../core/api.ts';
import { recordAudit } from '../../core/audit.ts';
import type { Knex } from 'knex';
import { type Actor, hasRole } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, bulkInsert, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { businessDate } from '../../core/dates.ts';
import { freeTextProblem } from '../../core/fields.ts';
import { type Signature, fingerprintOf, signFile } from '../../core/signing.ts';
import { type ImportError, type TableSpec, csvLine, readTable, writeErrorReport } from '../../core/spreadsheet.ts';
import { agreementInForce, encryptionKeyOf } from '../agreement/index.ts';
import { ACCOUNT_VERDICTS, type AccountVerdict, accountCheckLines, confinedToDepartment, recordAccountVerdicts, roundInScope } from '../batch/index.ts';
import { accountNumbersById, idNumbersById } from '../beneficiary/index.ts';
import { type Fetcher, bankOf, bankTermsToday, signedBy } from './commands.ts';
import { can } from './policy.ts';

/**
 * Account verification before money moves (Qinghai 二(二)6: 受托银行业金融机构、实施部门与乡镇、村社之间进行核对;
 * Haicheng 二(四): the bank 负责补贴对象卡（折）账号的姓名等相关信息的复核确认). The department while it compiles a round,
 * or the finance section during its review, sends the round's accounts (holder name, ID number, account) to a bank
 * with an agreement in force; the bank answers each line (docs/account-check-format.md); its answer becomes each
 * line's verdict, and every verdict but 一致 a blocking finding on the line (batch/checks/bank-verdict.ts), so that
 * the round is not released until the account is corrected and verified again.
 */

export interface AccountCheckRow {
  id: number;
  round_id: number;
  round_title: string;
  county_id: number;
  bank_org_id: number;
  bank_name: string;
  state: 'sent' | 'answered';
  lines: number;
  requested_at: string;
  requested_by_name: string;
  answered_at: string | null;
}

/** A line's reference in the list and the answer: V<check>-<line>. */
export const checkRef = (checkId: number, lineId: number) => `V${checkId}-${lineId}`;

const LIST_HEADER = ['核验编号', '户名', '身份证号码', '账号', '核验结果', '说明'];
const ANSWER_SPEC: TableSpec = { headerHas: ['核验编号', '核验结果'], required: ['核验编号', '核验结果'], rowNoun: '核验结果', formatHint: '格式见账户核验文件说明：在下载的核验名单中填写核验结果和说明' };
const VERDICT_BY_LABEL = new Map<string, AccountVerdict>(Object.entries(ACCOUNT_VERDICTS).map(([code, label]) => [label, code as AccountVerdict]));

function checkQuery(db: Conn) {
  return db('bank_account_check as c')
    .join('core_org as b', 'b.id', 'c.bank_org_id')
    .join('core_region as r', 'r.id', 'c.county_id')
    .leftJoin('core_user as u', 'u.id', 'c.requested_by')
    .select('c.id', 'c.round_id', 'c.round_title', 'c.county_id', 'c.bank_org_id', 'b.name as bank_name', 'c.state', 'c.lines', 'c.requested_at', 'u.display_name as requested_by_name', 'c.answered_at');
}

/** The checks an actor sees: its bank's; the counties' in its region; a department's, of its own rounds. */
function inScope(q: Knex.QueryBuilder, actor: Actor): Knex.QueryBuilder {
  if (hasRole(actor, 'bank')) return q.where('c.bank_org_id', actor.orgId ?? 0);
  q.where('r.path', 'like', `${actor.regionPath}%`);
  return confinedToDepartment(actor) ? q.where('c.department_org_id', actor.orgId ?? 0) : q;
}

/** The checks the actor sees, newest first. */
export async function listAccountChecks(db: Conn, actor: Actor): Promise<AccountCheckRow[]> {
  return inScope(checkQuery(db), actor).orderBy('c.id', 'desc').limit(200);
}

/** One check the actor sees, or 404 (another bank's or county's is not said to exist). */
export async function accountCheckInScope(db: Conn, actor: Actor, id: number): Promise<AccountCheckRow> {
  const row = (await inScope(checkQuery(db), actor).where('c.id', id).first()) as AccountCheckRow | undefined;
  if (!row) throw new NotFoundError('账户核验不存在或不在您的管辖范围内');
  return row;
}

/** The checks of the API token's bank, those awaiting its answer first, then newest first. */
export async function accountChecksOfBank(db: Conn, client: ApiClient): Promise<AccountCheckRow[]> {
  const bankOrgId = bankOf({ client });
  return checkQuery(db).where('c.bank_org_id', bankOrgId).orderByRaw("case when c.state = 'sent' then 0 else 1 end").orderBy('c.id', 'desc').limit(200);
}

/** A check as a bank's user sees it (its scope) or its API token (its own bank's only: 404 otherwise, as for a user). */
async function checkOf(core: Core, who: Fetcher, id: number): Promise<AccountCheckRow> {
  if (who.actor) return accountCheckInScope(core.db, who.actor, id);
  const check = (await checkQuery(core.db).where({ 'c.id': id, 'c.bank_org_id': bankOf(who) }).first()) as AccountCheckRow | undefined;
  if (!check) throw new NotFoundError('没有发给本机构的该账户核验');
  return check;
}

/**
 * What the bank may do with a check it sees: the user's by can() (refusals audited); the token's, being its own
 * bank's, download always and answer only while the check awaits its answer.
 */
async function authorizeCheck(core: Core, who: Fetcher, check: AccountCheckRow, action: 'download_account_check' | 'answer_account_check'): Promise<void> {
  if (who.actor) await authorize(core.db, who.actor, can(who.actor, action, check), { objectType: 'account_check', objectId: check.id });
  else if (action === 'answer_account_check' && check.state !== 'sent') throw new ConflictError('该账户核验已回复');
}

/** The lines of a check with the bank's outcome, those found wrong first: what its page lists. */
export async function accountCheckOutcomes(db: Conn, checkId: number): Promise<{ line_id: number; holder_name: string; outcome: AccountVerdict | null; note: string | null }[]> {
  return db('bank_account_check_line').where({ check_id: checkId }).orderByRaw("case when outcome is null or outcome = 'ok' then 1 else 0 end").orderBy('line_id').select('line_id', 'holder_name', 'outcome', 'note');
}

/**
 * Send a round's accounts to a bank for verification: every active line that pays an account, as it is now. The
 * bank must have an agreement in force in the county; one check of a round awaits its answer at a time.
 */
export async function requestAccountCheck(core: Core, actor: Actor, input: { roundId: number; bankOrgId: number }): Promise<number> {
  const round = await roundInScope(core.db, actor, input.roundId);
  await authorize(core.db, actor, can(actor, 'request_account_check', round), { objectType: 'round', objectId: round.id });
  const bank = (await core.db('core_org').where({ id: input.bankOrgId, kind: 'bank' }).first('id', 'name')) as { id: number; name: string } | undefined;
  if (!bank) throw new ValidationError({ bankOrgId: '请选择代发金融机构' });
  const agreement = await agreementInForce(core.db, { countyId: round.county_id, bankOrgId: bank.id, on: businessDate(), townshipIds: [] });
  if (typeof agreement === 'string') throw new ValidationError({ bankOrgId: agreement });
  const lines = await accountCheckLines(core.db, round.id);
  if (lines.length === 0) throw new ValidationError({ roundId: '本批次没有登记了账户的发放明细' });
  return inTransaction(core.db, async (trx) => {
    if (await trx('bank_account_check').where({ round_id: round.id, state: 'sent' }).first('id')) throw new ConflictError('本批次已有一次账户核验待银行回复，请待回复后再发送');
    const id = await insertReturningId(trx, 'bank_account_check', { round_id: round.id, county_id: round.county_id, department_org_id: round.department_org_id, round_title: round.title.slice(0, 200), bank_org_id: bank.id, state: 'sent', lines: lines.length, requested_by: actor.userId, requested_at: nowIso() });
    await bulkInsert(trx, 'bank_account_check_line', lines, (l) => ({ check_id: id, line_id: l.line_id, person_id: l.person_id, account_id: l.account_id, holder_name: l.holder_name, outcome: null, note: null }));
    await recordAudit(trx, actor, { action: 'bank.account_check.request', objectType: 'round', objectId: round.id, summary: { check: id, bank: bank.name, lines: lines.length } });
    return id;
  });
}

/**
 * The list the bank verifies (CSV, UTF-8 with a BOM): each line's reference, holder name, ID number and account in
 * clear, and the two columns it fills in. Signed; encrypted for the bank when its agreement asks for it; the
 * download audited. `delivered`: the list itself goes to the bank, not only its signature.
 */
export async function accountCheckFile(core: Core, who: Fetcher, checkId: number, options: { delivered: boolean } = { delivered: true }): Promise<{ fileName: string; body: Buffer; signature: Signature; encryptFor: string | null }> {
  const check = await checkOf(core, who, checkId);
  await authorizeCheck(core, who, check, 'download_account_check');
  const lines: { line_id: number; person_id: number; account_id: number; holder_name: string }[] = await core.db('bank_account_check_line').where({ check_id: checkId }).orderBy('line_id').select('line_id', 'person_id', 'account_id', 'holder_name');
  const ids = await idNumbersById(core.db, core.crypto, [...new Set(lines.map((l) => l.person_id))]);
  const accounts = await accountNumbersById(core.db, core.crypto, lines.map((l) => l.account_id));
  const body = Buffer.from(`\ufeff${[csvLine(LIST_HEADER), ...lines.map((l) => csvLine([checkRef(checkId, l.line_id), l.holder_name, ids.get(l.person_id) ?? '', accounts.get(l.account_id) ?? '', '', '']))].join('\r\n')}\r\n`, 'utf8');
  const encryptFor = encryptionKeyOf(await bankTermsToday(core, check.bank_org_id, check.county_id));
  if (options.delivered) {
    await inTransaction(core.db, (trx) => recordAudit(trx, who.actor ?? apiAuditor(who.client), { action: 'bank.account_check.download', objectType: 'account_check', objectId: checkId, summary: { lines: lines.length, ...(encryptFor ? { encryptedFor: fingerprintOf(encryptFor) } : {}) } }));
  }
  return { fileName: `账户核验名单-R${check.round_id}-${checkId}.csv`, body, signature: await signFile(core, body), encryptFor };
}

export type AccountAnswerOutcome = { ok: true; repeated: boolean; verified: number; wrong: number } | { ok: false; errors: ImportError[]; report: Buffer };

/** One line of the bank's answer as read from its file or its API body, numbered as its row. */
interface AnswerRecord {
  rowNumber: number;
  ref: string;
  /** The result as the file words it (一致 …) or its code through the API (ok …). */
  result: string;
  note: string;
}

/**
 * The bank's answer from its user's file: the list with 核验结果 (一致, 户名不符, 证件号码不符, 账户不存在, 已销户, 已冻结,
 * 状态异常（挂失、止付等）) and 说明 filled in for every line, signed when its agreement requires it.
 */
export async function answerAccountCheck(core: Core, actor: Actor, checkId: number, file: { name: string; buffer: Buffer }, signature: Buffer | null = null): Promise<AccountAnswerOutcome> {
  const check = await accountCheckInScope(core.db, actor, checkId);
  const sha256 = createHash('sha256').update(file.buffer).digest('hex');
  if (await answeredWith(core.db, check, sha256) && can(actor, 'download_account_check', check).ok) return answeredBefore(core.db, checkId);
  await authorizeCheck(core, { actor }, check, 'answer_account_check');
  const signed = signedBy(await bankTermsToday(core, check.bank_org_id, check.county_id), file.buffer, signature, '账户核验结果文件');
  const table = await readTable(file.buffer, ANSWER_SPEC);
  if (typeof table === 'string') {
    const errors = [{ rowNumber: 0, field: '文件', message: table }];
    return { ok: false, errors, report: await writeErrorReport('账户核验结果', errors, null) };
  }
  const records = table.rows.map((row) => {
    const cell = (name: string) => {
      const i = table.columns.get(name);
      return i === undefined ? '' : (row.cells[i] ?? '').trim();
    };
    return { rowNumber: row.rowNumber, ref: cell('核验编号'), result: cell('核验结果'), note: cell('说明') };
  });
  return applyAnswer(core, { actor }, check, { fileName: file.name, sha256, records, signed, byLabel: true }, (errors) => writeErrorReport('账户核验结果', errors, table));
}

/**
 * The bank's answer through the API: [{ref, result: ok|name_mismatch|…, note?}] for every line, numbered from 1,
 * signed over the body as sent when its agreement requires it. The same body twice changes nothing.
 */
export async function postAccountAnswers(core: Core, client: ApiClient, checkId: number, answers: { ref?: unknown; result?: unknown; note?: unknown }[], body: { raw: Buffer; signature: string | null }): Promise<AccountAnswerOutcome> {
  const check = await checkOf(core, { client }, checkId);
  const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  const records = answers.map((a, i) => ({ rowNumber: i + 1, ref: text(a?.ref), result: text(a?.result), note: text(a?.note) }));
  const sha256 = createHash('sha256').update(JSON.stringify(records.map((r) => [r.ref, r.result, r.note]))).digest('hex');
  if (await answeredWith(core.db, check, sha256)) return answeredBefore(core.db, checkId);
  await authorizeCheck(core, { client }, check, 'answer_account_check');
  const signed = signedBy(await bankTermsToday(core, check.bank_org_id, check.county_id), body.raw, body.signature, '账户核验结果');
  return applyAnswer(core, { client }, check, { fileName: `接口核验结果（${client.name}）`, sha256, records, signed, byLabel: false }, (errors) => writeErrorReport('账户核验结果接口', errors, null));
}

/** Whether the check was answered with exactly this (file or body, by its digest): then it changes nothing. */
async function answeredWith(db: Conn, check: AccountCheckRow, sha256: string): Promise<boolean> {
  if (check.state !== 'answered') return false;
  const stored: { answer_sha256: string | null } = await db('bank_account_check').where({ id: check.id }).first('answer_sha256');
  return stored.answer_sha256 === sha256;
}

/** The answer recorded before, as it was told then (the same answer again changes nothing). */
async function answeredBefore(db: Conn, checkId: number): Promise<AccountAnswerOutcome & { ok: true }> {
  const rows = (await db('bank_account_check_line').where({ check_id: checkId }).groupByRaw("case when outcome = 'ok' then 1 else 0 end").select(db.raw("case when outcome = 'ok' then 1 else 0 end as fine")).count({ n: '*' })) as { fine: number | string; n: number | string }[];
  const count = (fine: number) => Number(rows.find((r) => Number(r.fine) === fine)?.n ?? 0);
  return { ok: true, repeated: true, verified: count(1), wrong: count(0) };
}

/**
 * An answer checked whole (every line of the check once, a known result, a reason beside anything but 一致) and
 * applied in one transaction: each line's outcome, and the round's lines' verdicts for the cross-checks.
 */
async function applyAnswer(
  core: Core,
  who: Fetcher,
  check: AccountCheckRow,
  input: { fileName: string; sha256: string; records: AnswerRecord[]; signed: { signature: string; key: string } | null; byLabel: boolean },
  report: (errors: ImportError[]) => Promise<Buffer>,
): Promise<AccountAnswerOutcome> {
  const checkId = check.id;
  const lines = new Map(((await core.db('bank_account_check_line').where({ check_id: checkId }).select('line_id', 'account_id', 'holder_name')) as { line_id: number; account_id: number; holder_name: string }[]).map((l) => [checkRef(checkId, l.line_id), l]));
  const errors: ImportError[] = [];
  const seen = new Map<string, number>();
  const answers: { lineId: number; accountId: number; holderName: string; outcome: AccountVerdict; note: string | null }[] = [];
  for (const r of input.records) {
    const fail = (field: string, message: string) => errors.push({ rowNumber: r.rowNumber, field, message });
    const line = lines.get(r.ref);
    if (!line) {
      fail('核验编号', `“${r.ref}”不是本次核验名单中的核验编号`);
      continue;
    }
    if (seen.has(r.ref)) fail('核验编号', `与第 ${seen.get(r.ref)} 行重复`);
    seen.set(r.ref, r.rowNumber);
    const outcome = input.byLabel ? VERDICT_BY_LABEL.get(r.result) : r.result in ACCOUNT_VERDICTS ? (r.result as AccountVerdict) : undefined;
    if (!outcome) fail('核验结果', input.byLabel ? `应为${Object.values(ACCOUNT_VERDICTS).join('、')}之一` : `应为${Object.keys(ACCOUNT_VERDICTS).join('、')}之一`);
    if (outcome && outcome !== 'ok' && !r.note) fail('说明', '核验结果不是“一致”的，须写明情况（如 户名应为…、销户日期）');
    if (r.note.length > 200) fail('说明', '不超过 200 字');
    const problem = r.note ? freeTextProblem(r.note) : null;
    if (problem) fail('说明', problem);
    if (outcome) answers.push({ lineId: line.line_id, accountId: line.account_id, holderName: line.holder_name, outcome, note: r.note || null });
  }
  const missing = lines.size - seen.size;
  if (missing > 0) errors.push({ rowNumber: 0, field: '核验编号', message: `缺少核验名单中的 ${missing} 行：每行须有核验结果` });
  if (errors.length) return { ok: false, errors, report: await report(errors) };
  return inTransaction(core.db, async (trx) => {
    const updated = await trx('bank_account_check')
      .where({ id: checkId, state: 'sent' })
      .update({ state: 'answered', answered_by: who.actor?.userId ?? null, answered_at: nowIso(), answer_sha256: input.sha256, answer_name: input.fileName.slice(0, 200), bank_signature: input.signed?.signature ?? null, bank_key_fingerprint: input.signed?.key ?? null });
    if (updated !== 1) {
      // Answered meanwhile: by this same answer sent twice at once, or by another.
      const now: { answer_sha256: string | null } = await trx('bank_account_check').where({ id: checkId }).first('answer_sha256');
      if (now.answer_sha256 === input.sha256) return answeredBefore(trx, checkId);
      throw new ConflictError('该账户核验已回复');
    }
    for (const a of answers) await trx('bank_account_check_line').where({ check_id: checkId, line_id: a.lineId }).update({ outcome: a.outcome, note: a.note });
    await recordAccountVerdicts(trx, `${check.bank_name}核验 ${checkId}`, answers);
    const wrong = answers.filter((a) => a.outcome !== 'ok').length;
    await recordAudit(trx, who.actor ?? apiAuditor(who.client), { action: 'bank.account_check.answer', objectType: 'account_check', objectId: checkId, summary: { round: check.round_id, file: input.fileName, sha256: input.sha256, verified: answers.length - wrong, wrong, ...(input.signed ? { signedBy: input.signed.key } : {}) } });
    return { ok: true as const, repeated: false, verified: answers.length - wrong, wrong };
  });
}
