import { createHash } from 'node:crypto';
import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { businessDate, isBusinessDate } from '../../core/dates.ts';
import { type ApiClient, apiAuditor } from '../../core/api.ts';
import { type Conn, bulkInsert, inTransaction, insertReturningId, nowIso, selectInChunks } from '../../core/db.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { claimFileDigest } from '../../core/imports.ts';
import { freeTextProblem, personNameProblem } from '../../core/fields.ts';
import { type Region, findRegion } from '../../core/regions.ts';
import { type HeaderGap, type ImportError, type TableSpec, readTable, sortErrors, writeErrorReport } from '../../core/spreadsheet.ts';
import { type ColumnMapping, applyColumnMapping, columnMappingOf } from '../../core/column-mapping.ts';
import { parseIdNumber } from './id-number.ts';
import { authorize } from '../../core/authz.ts';
import { can } from './policy.ts';

/**
 * Reference data from other departments (一项机制助审核): dated snapshots of deaths and moves out (公安), people
 * already receiving other programs (民政), public employees (财政供养人员). The county finance section loads a
 * file (docs/reference-data-format.md); rows are matched by ID number against the county's registry, and only
 * the matches are kept (as hits on the person, with the snapshot as their source): data about people who are not
 * beneficiaries is not stored. Statuses are not changed here: a death or a move is a marker that the township
 * station turns into a status change, confirmed by the finance office; the batch checks read the markers.
 */
export const REFERENCE_SOURCES = {
  police_death: { label: '公安：死亡人员', kind: 'deceased', dateColumn: '死亡日期', detailColumn: null, roster: false },
  police_move: { label: '公安：户籍迁出人员', kind: 'moved', dateColumn: '迁出日期', detailColumn: '迁往地', roster: false },
  civil_program: { label: '民政：在保救助对象', kind: 'other_program', dateColumn: '享受起始日期', detailColumn: '救助项目', roster: true },
  public_employee: { label: '财政：财政供养人员', kind: 'public_employee', dateColumn: '入职日期', detailColumn: '工作单位', roster: true },
} as const;
export type ReferenceSource = keyof typeof REFERENCE_SOURCES;
export type ReferenceKind = (typeof REFERENCE_SOURCES)[ReferenceSource]['kind'];
export const REFERENCE_KIND_LABELS: Record<ReferenceKind, string> = { deceased: '死亡', moved: '迁出', other_program: '享受其他救助', public_employee: '财政供养人员' };

interface ReferenceRow {
  rowNumber: number;
  idNumber: string;
  name: string;
  eventDate: string | null;
  detail: string;
}

const MAX_DETAIL = 100;

/** Dates as other departments' exports write them: 2026-11-01, 2026/11/1, 20261101, 2026年11月1日, or an Excel date. */
export function parseLooseDate(text: string): string | null {
  const excelSerial = /^\d{5}$/.test(text) ? Number(text) : null;
  if (excelSerial !== null) {
    const iso = new Date(Date.UTC(1899, 11, 30) + excelSerial * 86_400_000).toISOString().slice(0, 10);
    return isBusinessDate(iso) ? iso : null;
  }
  const m = /^(\d{4})(?:([-/.])(\d{1,2})\2(\d{1,2})|年(\d{1,2})月(\d{1,2})日?|(\d{2})(\d{2}))$/.exec(text.replace(/\s/g, ''));
  if (!m) return null;
  const [month, day] = [m[3] ?? m[5] ?? m[7], m[4] ?? m[6] ?? m[8]] as [string, string];
  const iso = `${m[1]}-${month.padStart(2, '0')}-${day.padStart(2, '0')}`;
  return isBusinessDate(iso) ? iso : null;
}

/** The names other departments' exports give the columns (docs/reference-data-format.md), the likelier first. */
const COLUMN_ALIASES: Record<string, readonly string[]> = {
  姓名: ['人员姓名'],
  身份证号码: ['身份证号', '公民身份号码', '公民身份证号码', '身份证件号码', '身份证'],
  死亡日期: ['死亡时间'],
  迁出日期: ['迁出时间'],
  迁往地: ['迁往地址', '迁往地详址', '迁往地区'],
  享受起始日期: ['享受开始日期', '救助起始日期', '保障起始日期', '起始日期', '享受日期'],
  救助项目: ['救助类别', '救助类型', '保障类别'],
  入职日期: ['入职时间', '参加工作日期', '参加工作时间'],
  工作单位: ['工作单位名称', '单位名称', '所在单位', '单位'],
};

/** The kind of file under which the county keeps a source's column mapping (core/column-mapping.ts). */
export const referenceFileKind = (source: ReferenceSource) => `beneficiary.reference.${source}`;

/** A source's columns a county may map: those its file needs. */
export const referenceMappableColumns = (source: ReferenceSource): readonly string[] => specFor(source).required;

function specFor(source: ReferenceSource): TableSpec {
  const { dateColumn, detailColumn } = REFERENCE_SOURCES[source];
  return {
    headerHas: ['身份证号码', '姓名'],
    required: source === 'public_employee' ? ['身份证号码', '姓名'] : ['身份证号码', '姓名', dateColumn],
    aliases: COLUMN_ALIASES,
    rowNoun: '人员',
    formatHint: `格式见说明：姓名、身份证号码、${dateColumn}${detailColumn ? `、${detailColumn}` : ''}`,
  };
}

export type ReferenceParseResult = { ok: true; rows: ReferenceRow[] } | { ok: false; errors: ImportError[]; report: Buffer; gap?: HeaderGap | null };

/** One record as read: its row number and its fields by column name (the file's header or the API's keys). */
interface ReferenceRecord {
  rowNumber: number;
  get: (column: string | null) => string;
}

/** Check records: a valid ID number, name and date on each, no ID twice. */
function validateRecords(source: ReferenceSource, records: Iterable<ReferenceRecord>, today: string): { rows: ReferenceRow[]; errors: ImportError[] } {
  const { dateColumn, detailColumn } = REFERENCE_SOURCES[source];
  const rows: ReferenceRow[] = [];
  const errors: ImportError[] = [];
  const seen = new Map<string, number>();
  for (const { rowNumber, get } of records) {
    const fail = (field: string, message: string) => errors.push({ rowNumber, field, message });
    const name = get('姓名');
    const nameProblem = personNameProblem(name);
    if (nameProblem) fail('姓名', nameProblem);
    const id = parseIdNumber(get('身份证号码'), today);
    if (!id.ok) fail('身份证号码', get('身份证号码') === '' ? '不能为空' : id.error);
    const dateText = get(dateColumn);
    const eventDate = dateText === '' ? null : parseLooseDate(dateText);
    if (dateText === '' && source !== 'public_employee') fail(dateColumn, '不能为空');
    else if (dateText !== '' && eventDate === null) fail(dateColumn, '应为有效日期，如 2026-11-01');
    else if (eventDate !== null && eventDate > today) fail(dateColumn, '不能晚于今天');
    const detail = get(detailColumn);
    if ([...detail].length > MAX_DETAIL) fail(detailColumn!, `不能超过 ${MAX_DETAIL} 个字`);
    else if (freeTextProblem(detail)) fail(detailColumn!, freeTextProblem(detail)!);
    if (id.ok) {
      const first = seen.get(id.value.idNumber);
      if (first !== undefined) fail('身份证号码', `与第 ${first} 行重复`);
      else seen.set(id.value.idNumber, rowNumber);
    }
    if (id.ok && !nameProblem) rows.push({ rowNumber, idNumber: id.value.idNumber, name, eventDate, detail });
  }
  return { rows, errors };
}

/** Read a reference file: every row with a valid ID number and date, no ID twice; or every error with a report. */
export async function parseReferenceFile(source: ReferenceSource, file: Buffer, today = businessDate(), mapping: ColumnMapping = {}): Promise<ReferenceParseResult> {
  const what = `${REFERENCE_SOURCES[source].label}数据导入`;
  let gap: HeaderGap | null = null;
  const table = await readTable(file, applyColumnMapping(specFor(source), mapping), undefined, (g) => (gap = g));
  if (typeof table === 'string') {
    const errors = [{ rowNumber: 0, field: '文件', message: table }];
    return { ok: false, errors, report: await writeErrorReport(what, errors, null), gap };
  }
  const column = (name: string | null) => (name === null ? undefined : table.columns.get(name));
  const records = table.rows.map(({ rowNumber, cells }) => ({ rowNumber, get: (name: string | null) => (column(name) === undefined ? '' : cells[column(name)!]!) }));
  const { rows, errors } = validateRecords(source, records, today);
  if (errors.length === 0) return { ok: true, rows };
  return { ok: false, errors: sortErrors(errors, table.columns), report: await writeErrorReport(what, errors, table) };
}

/** A snapshot pushed through the API: the people as JSON records ({name, idNumber, date, detail}). */
export interface ReferencePush {
  source: ReferenceSource;
  takenOn: string;
  people: { name?: unknown; idNumber?: unknown; date?: unknown; detail?: unknown }[];
}

export type ReferenceLoadOutcome =
  | { ok: true; repeated: boolean; snapshotId: number; rows: number; matched: number; takenOn: string }
  | { ok: false; errors: ImportError[]; report: Buffer; gap?: HeaderGap | null };

type Loader = { actor: Actor; client?: never } | { client: ApiClient; actor?: never };

/** The county a loader loads for: the finance section's county, or an API token's (purpose 'reference'). */
async function loaderCounty(core: Core, loader: Loader): Promise<Region> {
  if (loader.client && loader.client.purpose !== 'reference') throw new ForbiddenError('该接口令牌不能推送部门共享数据');
  const county = await findRegion(core.db, loader.client ? loader.client.regionId : loader.actor.regionId);
  if (!county) throw new NotFoundError('地区不存在');
  if (loader.actor) await authorize(core.db, loader.actor, can(loader.actor, 'load_reference', null), { objectType: 'reference_snapshot' });
  else if (county.level !== 'county') throw new ForbiddenError('部门共享数据按县导入：该接口令牌不属于县一级');
  return county;
}

/** Load a file for the finance section's county (see loadSnapshot). */
export async function loadReferenceSnapshot(core: Core, actor: Actor, input: { source: ReferenceSource; takenOn: string; file: { name: string; buffer: Buffer } }): Promise<ReferenceLoadOutcome> {
  const county = await loaderCounty(core, { actor });
  const sha256 = createHash('sha256').update(input.file.buffer).digest('hex');
  // The county's column mapping for this source, if it saved one, names the columns before the aliases do.
  const mapping = input.source in REFERENCE_SOURCES ? await columnMappingOf(core.db, county.id, referenceFileKind(input.source)) : {};
  return loadSnapshot(core, { actor }, county, { ...input, fileName: input.file.name, sha256, channel: 'file' }, async () => parseReferenceFile(input.source, input.file.buffer, businessDate(), mapping));
}

/** Load a snapshot pushed by the data-sharing platform (see loadSnapshot); row numbers are the records' positions from 1. */
/** A source's columns as the push API's JSON properties: the API reads its records by them, and its errors name them. */
export function referenceProperties(source: ReferenceSource): Record<string, 'name' | 'idNumber' | 'date' | 'detail'> {
  const { dateColumn, detailColumn } = REFERENCE_SOURCES[source];
  return { 姓名: 'name', 身份证号码: 'idNumber', [dateColumn]: 'date', ...(detailColumn ? { [detailColumn]: 'detail' } : {}) };
}

export async function pushReferenceSnapshot(core: Core, client: ApiClient, push: ReferencePush): Promise<ReferenceLoadOutcome> {
  const county = await loaderCounty(core, { client });
  if (!(push.source in REFERENCE_SOURCES)) throw new ValidationError({ source: `应为${Object.keys(REFERENCE_SOURCES).join('、')}之一` });
  if (!Array.isArray(push.people) || push.people.length === 0) throw new ValidationError({ people: '应为非空数组' });
  const keys = referenceProperties(push.source);
  const text = (v: unknown) => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '');
  const records = push.people.map((p, i) => ({ rowNumber: i + 1, get: (column: string | null) => (column !== null && keys[column] ? text(p?.[keys[column]]) : '') }));
  const canonical = JSON.stringify([push.source, push.takenOn, push.people.map((p) => [text(p?.name), text(p?.idNumber), text(p?.date), text(p?.detail)])]);
  const sha256 = createHash('sha256').update(canonical).digest('hex');
  return loadSnapshot(core, { client }, county, { source: push.source, takenOn: push.takenOn, fileName: `接口推送（${client.name}）`, sha256, channel: 'api' }, async () => {
    const { rows, errors } = validateRecords(push.source, records, businessDate());
    return errors.length ? { ok: false, errors, report: await writeErrorReport('部门共享数据推送', errors, null) } : { ok: true, rows };
  });
}

/**
 * Load a snapshot for a county. Only rows matching the county's registry are kept, as hits. The same content for
 * the same source loaded again (same SHA-256) changes nothing.
 */
async function loadSnapshot(
  core: Core,
  loader: Loader,
  county: Region,
  input: { source: ReferenceSource; takenOn: string; fileName: string; sha256: string; channel: 'file' | 'api' },
  parse: () => Promise<ReferenceParseResult>,
): Promise<ReferenceLoadOutcome> {
  if (!isBusinessDate(input.takenOn) || input.takenOn > businessDate()) throw new ValidationError({ takenOn: '数据截止日期应为不晚于今天的有效日期' });
  const { sha256 } = input;
  const repeated = async (conn: Conn) => {
    const row: { id: number; rows: number; matched: number; taken_on: string } | undefined = await conn('beneficiary_reference_snapshot').where({ region_id: county.id, source: input.source, file_sha256: sha256 }).first('id', 'rows', 'matched', 'taken_on');
    return row ? { ok: true as const, repeated: true, snapshotId: row.id, rows: row.rows, matched: row.matched, takenOn: row.taken_on } : null;
  };
  const previous = await repeated(core.db);
  if (previous) return previous;
  const parsed = await parse();
  if (!parsed.ok) return parsed;

  const { kind } = REFERENCE_SOURCES[input.source];
  const indexes = core.crypto.blindIndexMany('id', parsed.rows.map((r) => r.idNumber));
  const byIndex = new Map(parsed.rows.map((r, i) => [indexes[i]!, r]));
  return inTransaction(core.db, async (trx) => {
    // The same content sent twice at once is loaded once: the other waits here and answers as a repeat.
    if (!(await claimFileDigest(trx, 'beneficiary_reference_snapshot', { region_id: county.id, source: input.source, file_sha256: sha256 }))) return (await repeated(trx))!;
    const people = await selectInChunks([...byIndex.keys()], (chunk) =>
      trx('beneficiary_person as p').join('core_region as v', 'v.id', 'p.village_id').whereIn('p.id_index', chunk).where('v.path', 'like', `${county.path}%`).select('p.id', 'p.id_index', 'p.name'),
    );
    const snapshotId = await insertReturningId(trx, 'beneficiary_reference_snapshot', {
      source: input.source,
      taken_on: input.takenOn,
      file_name: input.fileName.slice(0, 200),
      rows: parsed.rows.length,
      matched: people.length,
      loaded_by: loader.actor?.userId ?? null,
      loaded_at: nowIso(),
      region_id: county.id,
      file_sha256: sha256,
      channel: input.channel,
    });
    await bulkInsert(trx, 'beneficiary_reference_hit', people, (p: { id: number; id_index: string; name: string }) => {
      const row = byIndex.get(p.id_index)!;
      const detail = [row.detail, row.name !== p.name ? `数据中姓名为“${row.name}”，与档案不一致` : ''].filter(Boolean).join('；');
      return { snapshot_id: snapshotId, person_id: p.id, kind, event_date: row.eventDate, detail: detail.slice(0, 200) };
    });
    await recordAudit(trx, loader.actor ?? apiAuditor(loader.client), {
      action: 'beneficiary.reference.load',
      objectType: 'reference_snapshot',
      objectId: snapshotId,
      summary: { source: input.source, takenOn: input.takenOn, file: input.fileName, channel: input.channel, sha256, rows: parsed.rows.length, matched: people.length },
    });
    return { ok: true as const, repeated: false, snapshotId, rows: parsed.rows.length, matched: people.length, takenOn: input.takenOn };
  });
}
