import { createHash } from 'node:crypto';
import { recordAudit } from '../../core/audit.ts';
import { authorize } from '../../core/authz.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, inTransaction, insertReturningId, nowIso, selectInChunks } from '../../core/db.ts';
import { ConflictError } from '../../core/errors.ts';
import { freeTextProblem } from '../../core/fields.ts';
import { claimFileDigest } from '../../core/imports.ts';
import { type ImportError, type SubmittedTable, type TableSpec, csvLine, readTable, writeErrorReport } from '../../core/spreadsheet.ts';
import { registryFactsById } from '../beneficiary/index.ts';
import { correctionOf, event } from './failures.ts';
import { lineRef } from './payout.ts';
import { can, nextState } from './policy.ts';
import { type FailureView, failuresQuery } from './queries.ts';

/**
 * The township finance office's part in corrections (Haicheng 三 1–2): the bank's failures reach it as well as the
 * stations; the stations collect the right facts and the finance office imports the corrected lines of its township
 * as one file (docs/failure-correction-format.md): 发放明细编号, 姓名, 修正说明. The file is refused whole, with every
 * reason naming its row and column, or applied whole in one transaction; the same file twice changes nothing. Each
 * line lands where a station's entry (correctFailure) lands — 待主管部门核实, paying the payee's registry account as
 * it now stands — so the department verifies it, another person than the one who imported it (four-eyes).
 */
export const CORRECTION_COLUMNS = ['发放明细编号', '姓名', '修正说明'] as const;

const SPEC: TableSpec = {
  headerHas: ['发放明细编号', '修正说明'],
  required: CORRECTION_COLUMNS,
  aliases: { 发放明细编号: ['流水号', '明细编号'], 修正说明: ['核实情况和修正内容', '修正内容'] },
  rowNoun: '修正明细',
  formatHint: '格式见修正信息导入说明：发放明细编号、姓名、修正说明（可下载本页的导入模板）',
};

/** A line's reference as the payout file and the case list show it: R<round>-<line>, or with the attempt that failed (R12-3402-2). */
const REF = /^R(\d+)-(\d+)(?:-(\d+))?$/;

const NOTE_MAX = 500;

export type CorrectionImportOutcome = { ok: true; repeated: boolean; lines: number } | { ok: false; errors: ImportError[]; report: Buffer };

/** The cases of the actor's township that a correction may now be imported for (the template lists them). */
export async function correctableCases(db: Conn, actor: Actor): Promise<FailureView[]> {
  const rows = (await failuresQuery(db, actor).whereIn('f.state', ['correcting', 'refunded']).orderBy('f.round_id').orderBy('f.line_id').limit(5000)) as FailureView[];
  return rows.filter((c) => can(actor, 'import_correction', c).ok);
}

/** The import template: the header and one row per correctable case of the township, 修正说明 left to fill in (CSV, UTF-8 with BOM). */
export async function correctionTemplate(db: Conn, actor: Actor): Promise<Buffer> {
  const rows = (await correctableCases(db, actor)).map((c) => [lineRef(c.round_id, c.line_id), c.person_name, '']);
  const text = [[...CORRECTION_COLUMNS], ...rows].map(csvLine).join('\r\n') + '\r\n';
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
}

interface Checked {
  failure: FailureView;
  note: string;
  set: Record<string, unknown>;
}

/** Every row against the cases of the actor's township and the registry: the corrections to apply, or every reason to refuse. */
async function check(trx: Conn, actor: Actor, table: SubmittedTable): Promise<{ errors: ImportError[]; checked: Checked[] }> {
  const cell = (row: SubmittedTable['rows'][number], name: string) => {
    const i = table.columns.get(name);
    return i === undefined ? '' : (row.cells[i] ?? '').trim();
  };
  const refs = table.rows.map((row) => REF.exec(cell(row, '发放明细编号')));
  const lineIds = refs.flatMap((m) => (m ? [Number(m[2])] : []));
  const cases = new Map(
    ((await selectInChunks(lineIds, (chunk) => failuresQuery(trx, actor).whereIn('f.line_id', chunk))) as FailureView[]).map((c) => [c.line_id, c]),
  );
  const people = new Map((await registryFactsById(trx, [...new Set([...cases.values()].map((c) => c.person_id))])).map((p) => [p.personId, p]));
  const errors: ImportError[] = [];
  const checked: Checked[] = [];
  const seen = new Map<number, number>();
  if (table.rows.length === 0) errors.push({ rowNumber: 0, field: '文件', message: '文件中没有修正明细' });
  table.rows.forEach((row, i) => {
    const fail = (field: string, message: string) => errors.push({ rowNumber: row.rowNumber, field, message });
    const ref = cell(row, '发放明细编号');
    const m = refs[i];
    const failure = m ? cases.get(Number(m[2])) : undefined;
    if (!ref) return fail('发放明细编号', '不能为空');
    if (!m) return fail('发放明细编号', `“${ref}”格式不对：应为 R<批次号>-<明细号>，如 R12-3402（见发放失败处理列表或代发文件的流水号）`);
    if (!failure || failure.round_id !== Number(m[1])) return fail('发放明细编号', `“${ref}”不是本乡镇的发放失败明细`);
    if (m[3] !== undefined && Number(m[3]) !== failure.attempt) fail('发放明细编号', `发放次数不符：该笔最近一次是第 ${failure.attempt} 次发放`);
    const first = seen.get(failure.id);
    if (first !== undefined) fail('发放明细编号', `与第 ${first} 行是同一笔`);
    else seen.set(failure.id, row.rowNumber);
    const decision = can(actor, 'import_correction', failure);
    if (!decision.ok) fail('发放明细编号', decision.reason);
    if (cell(row, '姓名') !== failure.person_name) fail('姓名', cell(row, '姓名') ? '与该笔收款人的姓名不符' : '不能为空');
    const note = cell(row, '修正说明');
    if (!note) fail('修正说明', '请填写核实情况和修正内容');
    else if (note.length > NOTE_MAX) fail('修正说明', `不能超过 ${NOTE_MAX} 个字符`);
    else if (freeTextProblem(note)) fail('修正说明', freeTextProblem(note)!);
    const correction = correctionOf(people.get(failure.person_id), actor, note, '再次发放');
    if ('problem' in correction) return fail('发放明细编号', correction.problem);
    checked.push({ failure, note, set: correction.set });
  });
  return { errors, checked };
}

/**
 * Import a file of corrected lines of the actor's township (the township finance office). The digest is looked up
 * before reading (a repeat is answered at once) and claimed inside the transaction before the first write, so the
 * same file sent twice at once is applied once.
 */
export async function importCorrections(core: Core, actor: Actor, file: { name: string; buffer: Buffer }): Promise<CorrectionImportOutcome> {
  await authorize(core.db, actor, can(actor, 'import_corrections', null), { objectType: 'region', objectId: actor.regionId });
  const townshipId = actor.regionId;
  const sha256 = createHash('sha256').update(file.buffer).digest('hex');
  const before = async (conn: Conn) => (await conn('bank_correction_file').where({ township_id: townshipId, file_sha256: sha256 }).first('lines')) as { lines: number } | undefined;
  const previous = await before(core.db);
  if (previous) return { ok: true, repeated: true, lines: previous.lines };
  const table = await readTable(file.buffer, SPEC);
  if (typeof table === 'string') {
    const errors = [{ rowNumber: 0, field: '文件', message: table }];
    return { ok: false, errors, report: await writeErrorReport('修正信息导入', errors, null) };
  }
  const outcome = await inTransaction(core.db, async (trx): Promise<CorrectionImportOutcome | { ok: false; errors: ImportError[] }> => {
    if (!(await claimFileDigest(trx, 'bank_correction_file', { township_id: townshipId, file_sha256: sha256 }))) return { ok: true, repeated: true, lines: (await before(trx))!.lines };
    const { errors, checked } = await check(trx, actor, table);
    if (errors.length) return { ok: false, errors };
    const now = nowIso();
    for (const { failure, note, set } of checked) {
      const to = nextState('import_correction', failure.state);
      const updated = await trx('bank_failure').where({ id: failure.id, state: failure.state, version: failure.version }).update({ state: to, ...set, updated_at: now, version: failure.version + 1 });
      if (updated !== 1) throw new ConflictError('文件中的明细已被他人处理，请刷新后重新导入');
      await event(trx, [failure.id], actor, { action: 'import_correction', from: failure.state, to, note: `财政所导入（${file.name.slice(0, 60)}）：${note}` });
    }
    const fileId = await insertReturningId(trx, 'bank_correction_file', { township_id: townshipId, file_sha256: sha256, file_name: file.name.slice(0, 200), lines: checked.length, uploaded_by: actor.userId, uploaded_at: now });
    await recordAudit(trx, actor, { action: 'bank.failure.corrections_import', objectType: 'region', objectId: townshipId, summary: { file: file.name, sha256, correctionFile: fileId, lines: checked.length, failures: checked.slice(0, 500).map((c) => c.failure.id) } });
    return { ok: true, repeated: false, lines: checked.length };
  });
  if (outcome.ok) return outcome;
  if ('report' in outcome) return outcome;
  return { ok: false, errors: outcome.errors, report: await writeErrorReport('修正信息导入', outcome.errors, table) };
}
