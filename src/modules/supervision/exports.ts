import crypto from 'node:crypto';
import fs from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { Zip, ZipDeflate } from 'fflate';
import { type AuditRow, recordAudit } from '../../core/audit.ts';
import type { AuditLexicon } from '../../core/audit-vocabulary.ts';
import { authorize } from '../../core/authz.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { addCalendarDays, startOfBusinessDateIso } from '../../core/dates.ts';
import { type Conn, inTransaction, nowIso } from '../../core/db.ts';
import { NotFoundError } from '../../core/errors.ts';
import { csvLine } from '../../core/spreadsheet.ts';
import { presentAuditRow } from '../../core/web/presenters.ts';
import { failuresForExport, resultsForExport } from '../bank/index.ts';
import { linesForExport, roundsForExport } from '../batch/index.ts';
import { idNumbersById, peopleForExport } from '../beneficiary/index.ts';
import { listRegionFor, policyList } from '../policy/index.ts';
import type { ExportInput } from './export-schemas.ts';
import { runQueuedJobs } from './jobs.ts';
import { can } from './policy.ts';

/**
 * The complete export (完整导出, issue 17 item 7, Chongqing 十一): a period's policies, people, rounds, lines, bank
 * results, failure cases and audit log rows of a region's scope, as a zip of CSV files with a manifest. A request only
 * queues a row (supervision_export); the `supervision-export` task builds the zip in the background, reading each
 * table in keyset chunks and writing each chunk's CSV lines into the zip stream (fflate), so a county's data is never
 * held in memory. docs/complete-export.md describes the files.
 */

export type ExportState = 'queued' | 'running' | 'done' | 'failed' | 'expired';
export const EXPORT_STATES: Record<ExportState, string> = { queued: '排队中', running: '生成中', done: '已完成', failed: '失败', expired: '已过保存期，文件已删除' };

/** A zip with ID numbers in clear is kept this many days after it was built, then deleted by the export task. */
export const CLEAR_RETENTION_DAYS = 7;

export interface ExportRow {
  id: number;
  requested_by: number;
  region_id: number;
  region_path: string;
  period_from: string;
  period_to: string;
  in_clear: boolean | number;
  reason: string | null;
  state: ExportState;
  files_done: number;
  files_total: number;
  rows_done: number;
  file_path: string | null;
  size_bytes: number | string | null;
  sm3: string | null;
  manifest: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  heartbeat_at: string | null;
  finished_at: string | null;
}

/** One file of the manifest: its rows (the header not counted), the totals of its `_fen` columns, its bytes' SM3. */
export interface ManifestFile {
  file: string;
  rows: number;
  bytes: number;
  sm3: string;
  totals_fen: Record<string, number>;
}

export interface Manifest {
  export_id: number;
  region: string;
  period_from: string;
  period_to: string;
  id_numbers: 'masked' | 'clear';
  generated_at: string;
  files: ManifestFile[];
}

/** Rows read from the database at a time. */
const CHUNK = 1_000;
/** Round ids put in one `where in` (the results and cases are read by the period's rounds). */
const ROUND_IDS_PER_QUERY = 500;
/** The seven CSV files and the two manifest files. */
export const EXPORT_FILES = 9;
/** Where the zips are kept, under the data directory. */
export const EXPORT_DIR = 'supervision-exports';

// ---------------------------------------------------------------------------------------------------------------
// Requests and reads

/**
 * Queue a complete export of the actor's scope. A clear export (ID numbers in clear) is allowed to the roles of
 * CLEAR_EXPORTERS only, and audited with the reason typed; a refusal is audited (access.denied) and answers 403. An
 * identical export of the same person still queued or running is not queued twice: its id is returned instead.
 */
export async function requestExport(core: Core, actor: Actor, input: ExportInput): Promise<{ id: number; existing: boolean }> {
  await authorize(core.db, actor, can(actor, 'request_export', { inClear: input.inClear }), { objectType: 'supervision_export' });
  return inTransaction(core.db, async (trx) => {
    const same = (await trx('supervision_export')
      .where({ requested_by: actor.userId, region_id: actor.regionId, period_from: input.from, period_to: input.to, in_clear: input.inClear })
      .whereIn('state', ['queued', 'running'])
      .first('id')) as { id: number } | undefined;
    if (same) return { id: same.id, existing: true };
    const [row] = (await trx('supervision_export')
      .insert({
        requested_by: actor.userId,
        region_id: actor.regionId,
        region_path: actor.regionPath,
        period_from: input.from,
        period_to: input.to,
        in_clear: input.inClear,
        reason: input.inClear ? input.reason : null,
        state: 'queued',
        files_total: EXPORT_FILES,
        created_at: nowIso(),
      })
      .returning('id')) as ({ id: number } | number)[];
    const id = typeof row === 'object' ? row.id : row!;
    await recordAudit(trx, actor, {
      action: input.inClear ? 'supervision.export.request_clear' : 'supervision.export.request',
      objectType: 'supervision_export',
      objectId: id,
      summary: { from: input.from, to: input.to, clear: input.inClear, ...(input.inClear ? { reason: input.reason } : {}) },
    });
    return { id, existing: false };
  });
}

/** The exports of the actor's scope, newest first (at most 100). */
export async function exportsInScope(db: Conn, actor: Actor): Promise<(ExportRow & { requester: string | null })[]> {
  return db('supervision_export as e')
    .leftJoin('core_user as u', 'u.id', 'e.requested_by')
    .where('e.region_path', 'like', `${actor.regionPath}%`)
    .orderBy('e.id', 'desc')
    .limit(100)
    .select('e.*', 'u.display_name as requester');
}

/** One export, if it lies in the actor's scope (else 403, audited); 404 when there is none. */
export async function exportFor(core: Core, actor: Actor, id: number): Promise<ExportRow & { requester: string | null }> {
  const row = (await core.db('supervision_export as e').leftJoin('core_user as u', 'u.id', 'e.requested_by').where('e.id', id).first('e.*', 'u.display_name as requester')) as (ExportRow & { requester: string | null }) | undefined;
  if (!row) throw new NotFoundError('该导出不存在');
  await authorize(core.db, actor, can(actor, 'view_export', row), { objectType: 'supervision_export', objectId: id });
  return row;
}

/** The zip to download: allowed by can('download_export') (a clear one to its requester only); each download audited. */
export async function exportDownload(core: Core, actor: Actor, id: number): Promise<{ fileName: string; file: string; size: number }> {
  const row = await exportFor(core, actor, id);
  await authorize(core.db, actor, can(actor, 'download_export', row), { objectType: 'supervision_export', objectId: id });
  if (row.state !== 'done' || !row.file_path) throw new NotFoundError('该导出尚未生成完成');
  const file = path.join(core.config.dataDir, row.file_path);
  if (!fs.existsSync(file)) throw new NotFoundError('导出文件已不在数据目录中（可能已被删除），请重新申请');
  const size = fs.statSync(file).size;
  await inTransaction(core.db, (trx) =>
    recordAudit(trx, actor, { action: 'supervision.export.download', objectType: 'supervision_export', objectId: id, summary: { clear: Boolean(row.in_clear), sm3: row.sm3 } }),
  );
  return { fileName: exportFileName(row), file, size };
}

export function exportFileName(row: Pick<ExportRow, 'id' | 'period_from' | 'period_to' | 'in_clear'>): string {
  return `完整导出-${row.id}-${row.period_from}至${row.period_to}${row.in_clear ? '-明文' : ''}.zip`;
}

// ---------------------------------------------------------------------------------------------------------------
// The background build

/**
 * The `supervision-export` task: marks exports cut off by a restart as failed, then builds every queued export, oldest
 * first, each claimed by a conditional update (queued → running) so that two instances never build the same one.
 */
export async function runQueuedExports(core: Core, lexicon: AuditLexicon): Promise<{ built: number; failed: number }> {
  await deleteExpiredClearExports(core);
  return runQueuedJobs(core, 'supervision_export', '生成中断（服务重启或超时），请重新申请', (id) => buildExport(core, lexicon, id));
}

/**
 * Clear exports past CLEAR_RETENTION_DAYS: their zip is deleted from the data directory and the row marked expired
 * (its manifest and SM3 stay as the record of what was handed out), each deletion audited as the scheduler's.
 */
async function deleteExpiredClearExports(core: Core): Promise<void> {
  const before = new Date(Date.now() - CLEAR_RETENTION_DAYS * 86_400_000).toISOString();
  const due: { id: number; file_path: string | null; region_id: number }[] = await core.db('supervision_export').where({ state: 'done' }).where('in_clear', true).where('finished_at', '<', before).select('id', 'file_path', 'region_id');
  for (const row of due) {
    if (row.file_path) await fs.promises.rm(path.join(core.config.dataDir, row.file_path), { force: true });
    await inTransaction(core.db, async (trx) => {
      await trx('supervision_export').where({ id: row.id, state: 'done' }).update({ state: 'expired', file_path: null });
      await recordAudit(trx, { userId: null, username: 'ykt-scheduler', regionId: row.region_id, ip: null }, { action: 'supervision.export.expire', objectType: 'supervision_export', objectId: row.id, summary: { days: CLEAR_RETENTION_DAYS } });
    });
  }
}

/** A column of a CSV file: its name in the header, and its value in a row. */
interface Column<R> {
  name: string;
  value: (row: R) => string | number | null;
}

const num = (v: number | string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));
const flag = (v: boolean | number | null | undefined): number => (v ? 1 : 0);

/** A table read in keyset chunks: `read(afterId)` gives the next rows in id order, at most CHUNK. */
async function* keyset<R extends { id: number }>(read: (afterId: number) => Promise<R[]>): AsyncGenerator<R[]> {
  let after = 0;
  for (;;) {
    const rows = await read(after);
    if (rows.length) yield rows;
    if (rows.length < CHUNK) return;
    after = rows[rows.length - 1]!.id;
  }
}

/** The same over the period's rounds, ROUND_IDS_PER_QUERY round ids at a time. */
async function* byRounds<R extends { id: number }>(roundChunks: number[][], read: (roundIds: number[], afterId: number) => Promise<R[]>): AsyncGenerator<R[]> {
  for (const ids of roundChunks) yield* keyset((after) => read(ids, after));
}

/** One CSV file being written into the zip: BOM, header, rows; its bytes hashed (SM3), rows counted, `_fen` columns summed. */
class CsvEntry<R> {
  private readonly entry: ZipDeflate;
  private readonly hash = crypto.createHash('sm3');
  private readonly fenColumns: Column<R>[];
  rows = 0;
  bytes = 0;
  readonly totals: Record<string, number> = {};

  constructor(
    zip: Zip,
    readonly file: string,
    private readonly columns: Column<R>[],
  ) {
    this.entry = new ZipDeflate(file, { level: 6 });
    zip.add(this.entry);
    this.fenColumns = columns.filter((c) => c.name.endsWith('_fen'));
    for (const c of this.fenColumns) this.totals[c.name] = 0;
    this.push(`\ufeff${csvLine(columns.map((c) => c.name))}\r\n`);
  }

  private push(text: string, final = false): void {
    const bytes = Buffer.from(text, 'utf8');
    this.hash.update(bytes);
    this.bytes += bytes.length;
    this.entry.push(bytes, final);
  }

  write(rows: readonly R[]): void {
    if (rows.length === 0) return;
    let text = '';
    for (const row of rows) {
      text += `${csvLine(this.columns.map((c) => c.value(row)))}\r\n`;
      for (const c of this.fenColumns) this.totals[c.name]! += Number(c.value(row) ?? 0);
    }
    this.rows += rows.length;
    this.push(text);
  }

  end(): ManifestFile {
    this.push('', true);
    return { file: this.file, rows: this.rows, bytes: this.bytes, sm3: this.hash.digest('hex'), totals_fen: this.totals };
  }
}

/** Build one claimed export: the zip written to a temporary file, renamed when complete, the row updated. */
export async function buildExport(core: Core, lexicon: AuditLexicon, id: number): Promise<void> {
  const { db } = core;
  const exp = (await db('supervision_export').where({ id }).first()) as ExportRow;
  const region = (await db('core_region').where({ id: exp.region_id }).first('name')) as { name: string } | undefined;
  const inClear = Boolean(exp.in_clear);
  const dir = path.join(core.config.dataDir, EXPORT_DIR);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const name = `export-${id}-${crypto.randomBytes(6).toString('hex')}.zip`;
  const finalPath = path.join(dir, name);
  const tmpPath = `${finalPath}.part`;

  const out = fs.createWriteStream(tmpPath, { mode: 0o600 });
  const zipHash = crypto.createHash('sm3');
  let zipBytes = 0;
  let failure: Error | null = null;
  const finished = new Promise<void>((resolve, reject) => {
    out.on('error', reject);
    out.on('finish', resolve);
  });
  const zip = new Zip((err, chunk, final) => {
    if (err) {
      failure = err;
      return;
    }
    zipHash.update(chunk);
    zipBytes += chunk.length;
    out.write(chunk);
    if (final) out.end();
  });

  const files: ManifestFile[] = [];
  let rowsDone = 0;
  /** After each chunk: let the file catch up, keep the heartbeat and the progress. */
  async function progress(added: number): Promise<void> {
    if (failure) throw failure;
    rowsDone += added;
    if (out.writableNeedDrain) await once(out, 'drain');
    await db('supervision_export').where({ id }).update({ rows_done: rowsDone, files_done: files.length, heartbeat_at: nowIso() });
  }
  /** Write the chunks of rows into one CSV file. */
  async function csvFile<R>(file: string, columns: Column<R>[], chunks: AsyncIterable<R[]>, each?: (rows: R[]) => Promise<R[]> | R[]): Promise<void> {
    const csv = new CsvEntry<R>(zip, file, columns);
    for await (const rows of chunks) {
      csv.write(each ? await each(rows) : rows);
      await progress(rows.length);
    }
    files.push(csv.end());
    await progress(0);
  }

  try {
    const { period_from: from, period_to: to, region_path: scope } = exp;

    // 1. policies.csv: the policy list (政策清单) of each year of the period, one row per year, version and tier.
    {
      const listRegion = await listRegionFor(db, exp.region_id);
      type PolicyRow = { id: number; year: number; code: string; name: string; level: string; department: string; legal_basis: string; payee: string; frequency: string; unit: string; tier: string; standard_fen: number; from_year: number; to_year: number | null; confidential: number };
      const csv = new CsvEntry<PolicyRow>(zip, 'policies.csv', [
        { name: 'year', value: (r) => r.year },
        { name: 'policy_code', value: (r) => r.code },
        { name: 'policy_name', value: (r) => r.name },
        { name: 'level', value: (r) => r.level },
        { name: 'department', value: (r) => r.department },
        { name: 'legal_basis', value: (r) => r.legal_basis },
        { name: 'payee', value: (r) => r.payee },
        { name: 'frequency', value: (r) => r.frequency },
        { name: 'unit', value: (r) => r.unit },
        { name: 'tier', value: (r) => r.tier },
        { name: 'standard_fen', value: (r) => r.standard_fen },
        { name: 'from_year', value: (r) => r.from_year },
        { name: 'to_year', value: (r) => r.to_year },
        { name: 'confidential', value: (r) => r.confidential },
      ]);
      for (let year = Number(from.slice(0, 4)); year <= Number(to.slice(0, 4)); year++) {
        const rows: PolicyRow[] = [];
        for (const v of await policyList(db, listRegion, year, { publicOnly: false })) {
          for (const t of v.tiers.length ? v.tiers : [{ name: '', standardFen: 0 }]) {
            rows.push({ id: v.id, year, code: v.code, name: v.name, level: v.level, department: v.department, legal_basis: `${v.legalBasisTitle}（${v.legalBasisNumber}）`, payee: v.payee, frequency: v.frequency, unit: v.unit, tier: t.name, standard_fen: Number(t.standardFen), from_year: v.fromYear, to_year: v.toYear, confidential: flag(v.confidential) });
          }
        }
        csv.write(rows);
        await progress(rows.length);
      }
      files.push(csv.end());
      await progress(0);
    }

    // 2. people.csv: the registry of the scope, ID numbers as the staff mask keeps them, or in clear.
    await csvFile(
      'people.csv',
      [
        { name: 'person_id', value: (r) => r.id },
        { name: 'name', value: (r) => r.name },
        { name: 'id_number', value: (r) => r.id_masked },
        { name: 'birth_date', value: (r) => r.birth_date },
        { name: 'sex', value: (r) => r.sex },
        { name: 'village', value: (r) => r.village_name },
        { name: 'household_id', value: (r) => r.household_id },
        { name: 'relation', value: (r) => r.relation },
        { name: 'status', value: (r) => r.status },
        { name: 'status_date', value: (r) => r.status_date },
      ],
      keyset((after) => peopleForExport(db, scope, after, CHUNK)),
      inClear
        ? async (rows) => {
            const clear = await idNumbersById(db, core.crypto, rows.map((r) => r.id));
            return rows.map((r) => ({ ...r, id_masked: clear.get(r.id) ?? r.id_masked }));
          }
        : undefined,
    );

    // 3. rounds.csv: the rounds whose period ends within the export's period. Their ids (not their data) are kept
    // to read the bank's results and cases of those rounds.
    const roundIds: number[] = [];
    await csvFile(
      'rounds.csv',
      [
        { name: 'round_id', value: (r) => r.id },
        { name: 'county', value: (r) => r.county_name },
        { name: 'policy_item_id', value: (r) => r.policy_item_id },
        { name: 'policy_version_id', value: (r) => r.policy_version_id },
        { name: 'department', value: (r) => r.department_name },
        { name: 'kind', value: (r) => r.kind },
        { name: 'title', value: (r) => r.title },
        { name: 'period', value: (r) => r.period },
        { name: 'period_end', value: (r) => r.period_end },
        { name: 'state', value: (r) => r.state },
        { name: 'payment_plan_fen', value: (r) => num(r.payment_plan_fen) },
        { name: 'active_lines', value: (r) => num(r.lines) },
        { name: 'active_total_fen', value: (r) => num(r.total_fen) },
        { name: 'created_at', value: (r) => r.created_at },
      ],
      keyset((after) => roundsForExport(db, scope, from, to, after, CHUNK)),
      (rows) => {
        roundIds.push(...rows.map((r) => r.id));
        return rows;
      },
    );

    // 4. lines.csv: the payment lines of those rounds in the scope's villages (ID numbers masked as the line keeps them).
    await csvFile(
      'lines.csv',
      [
        { name: 'line_id', value: (r) => r.id },
        { name: 'round_id', value: (r) => r.round_id },
        { name: 'roster_id', value: (r) => r.roster_id },
        { name: 'person_id', value: (r) => r.person_id },
        { name: 'name', value: (r) => r.person_name },
        { name: 'id_number', value: (r) => r.id_masked },
        { name: 'township', value: (r) => r.township_name },
        { name: 'village', value: (r) => r.village_name },
        { name: 'tier', value: (r) => r.tier_name },
        { name: 'standard_fen', value: (r) => num(r.standard_fen) },
        { name: 'quantity_milli', value: (r) => num(r.quantity_milli) },
        { name: 'amount_fen', value: (r) => num(r.amount_fen) },
        { name: 'state', value: (r) => r.state },
        { name: 'reissue', value: (r) => flag(r.reissue) },
        { name: 'source', value: (r) => r.source },
      ],
      keyset((after) => linesForExport(db, scope, from, to, after, CHUNK)),
    );

    // 5–6. results.csv and cases.csv: the bank's results and the failed-payment cases of those rounds.
    const roundChunks: number[][] = [];
    for (let i = 0; i < roundIds.length; i += ROUND_IDS_PER_QUERY) roundChunks.push(roundIds.slice(i, i + ROUND_IDS_PER_QUERY));
    await csvFile(
      'results.csv',
      [
        { name: 'result_id', value: (r) => r.id },
        { name: 'round_id', value: (r) => r.round_id },
        { name: 'line_id', value: (r) => r.line_id },
        { name: 'attempt', value: (r) => r.attempt },
        { name: 'result', value: (r) => r.result },
        { name: 'amount_fen', value: (r) => num(r.amount_fen) },
        { name: 'failure_code', value: (r) => r.failure_code },
        { name: 'failure_reason', value: (r) => r.failure_reason },
        { name: 'recorded_at', value: (r) => r.recorded_at },
      ],
      byRounds(roundChunks, (ids, after) => resultsForExport(db, ids, after, CHUNK)),
    );
    await csvFile(
      'cases.csv',
      [
        { name: 'case_id', value: (r) => r.id },
        { name: 'round_id', value: (r) => r.round_id },
        { name: 'line_id', value: (r) => r.line_id },
        { name: 'name', value: (r) => r.person_name },
        { name: 'id_number', value: (r) => r.id_masked },
        { name: 'village', value: (r) => r.village_name },
        { name: 'state', value: (r) => r.state },
        { name: 'funds', value: (r) => r.funds },
        { name: 'attempt', value: (r) => r.attempt },
        { name: 'failure_code', value: (r) => r.failure_code },
        { name: 'failure_reason', value: (r) => r.failure_reason },
        { name: 'amount_fen', value: (r) => num(r.amount_fen) },
        { name: 'reissue_line_id', value: (r) => r.reissue_line_id },
        { name: 'opened_at', value: (r) => r.opened_at },
        { name: 'updated_at', value: (r) => r.updated_at },
      ],
      byRounds(roundChunks, (ids, after) => failuresForExport(db, scope, ids, after, CHUNK)),
    );

    // 7. audit_log.csv: the audit rows of the period written by users of the scope, as the audit log's export reads
    // them (time, user, roles, action, object and summary in words), with the stored values beside them (action code,
    // summary JSON, hash chain), so that the audit office can check the chain of the rows it has.
    type AuditCsvRow = AuditRow & { region_name: string; shown: ReturnType<typeof presentAuditRow> };
    const fromIso = startOfBusinessDateIso(from);
    const toIso = startOfBusinessDateIso(addCalendarDays(to, 1));
    await csvFile<AuditCsvRow>(
      'audit_log.csv',
      [
        { name: 'audit_id', value: (r) => r.id },
        { name: 'time', value: (r) => r.shown.at },
        { name: 'user', value: (r) => r.shown.who },
        { name: 'roles', value: (r) => r.shown.roles },
        { name: 'region', value: (r) => r.region_name },
        { name: 'action', value: (r) => r.shown.action },
        { name: 'object', value: (r) => r.shown.object },
        { name: 'summary', value: (r) => r.shown.summary },
        { name: 'ip', value: (r) => r.shown.ip },
        { name: 'at', value: (r) => r.at },
        { name: 'action_code', value: (r) => r.action },
        { name: 'object_type', value: (r) => r.object_type },
        { name: 'object_id', value: (r) => r.object_id },
        { name: 'summary_json', value: (r) => r.summary },
        { name: 'prev_hash', value: (r) => r.prev_hash },
        { name: 'hash', value: (r) => r.hash },
      ],
      keyset((after) =>
        db('core_audit as a')
          .join('core_region as g', 'g.id', 'a.region_id')
          .where('g.path', 'like', `${scope}%`)
          .where('a.at', '>=', fromIso)
          .where('a.at', '<', toIso)
          .where('a.id', '>', after)
          .orderBy('a.id')
          .limit(CHUNK)
          .select('a.*', 'g.name as region_name') as Promise<AuditCsvRow[]>,
      ),
      async (rows) => {
        const names = await lexicon.names(db, rows);
        return rows.map((r) => ({ ...r, shown: presentAuditRow(lexicon, names, r) }));
      },
    );

    // The manifest: JSON and CSV, each file's rows, bytes, SM3 and money totals.
    const manifest: Manifest = { export_id: id, region: region?.name ?? '', period_from: from, period_to: to, id_numbers: inClear ? 'clear' : 'masked', generated_at: nowIso(), files };
    const json = new ZipDeflate('manifest.json', { level: 6 });
    zip.add(json);
    json.push(Buffer.from(JSON.stringify(manifest, null, 2), 'utf8'), true);
    const manifestCsv = [csvLine(['file', 'rows', 'bytes', 'sm3', 'totals_fen'])]
      .concat(files.map((f) => csvLine([f.file, f.rows, f.bytes, f.sm3, Object.entries(f.totals_fen).map(([k, v]) => `${k}=${v}`).join(';')])))
      .join('\r\n');
    const mcsv = new ZipDeflate('manifest.csv', { level: 6 });
    zip.add(mcsv);
    mcsv.push(Buffer.from(`\ufeff${manifestCsv}\r\n`, 'utf8'), true);
    zip.end();
    await finished;
    if (failure) throw failure;
    fs.renameSync(tmpPath, finalPath);
    await db('supervision_export')
      .where({ id })
      .update({
        state: 'done',
        files_done: EXPORT_FILES,
        rows_done: rowsDone,
        file_path: path.join(EXPORT_DIR, name),
        size_bytes: zipBytes,
        sm3: zipHash.digest('hex'),
        manifest: JSON.stringify(manifest),
        finished_at: nowIso(),
        heartbeat_at: nowIso(),
      });
  } catch (err) {
    out.destroy();
    fs.rmSync(tmpPath, { force: true });
    throw err;
  }
}
