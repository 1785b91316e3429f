import { createHash } from 'node:crypto';
import { type ApiClient, apiAuditor } from '../../core/api.ts';
import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import { businessDate, isBusinessDate } from '../../core/dates.ts';
import { type Conn, type Tx, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { ForbiddenError, NotFoundError } from '../../core/errors.ts';
import { freeTextProblem } from '../../core/fields.ts';
import { claimFileDigest } from '../../core/imports.ts';
import { type Region, findRegion, pathIds } from '../../core/regions.ts';
import { type ImportError, type SubmittedTable, type TableSpec, readTable, sortErrors, writeErrorReport } from '../../core/spreadsheet.ts';
import { can } from './policy.ts';
import { listRegionFor } from './queries.ts';

/**
 * Allocation documents (指标文件) from the budget system (预算管理一体化, Liaoning 三(二)4: 与财政预算指标管理…有效衔接),
 * received instead of typed: a file the county's finance section uploads (CSV or .xlsx) or the budget system's API push
 * (token purpose 'budget'). One function checks and records both (loadAllocations): every row checked at the edge, the
 * whole file or body recorded in one transaction or nothing; a document already recorded with the same content is
 * unchanged, the same document number of the same item and year with other content refused; the same file or body
 * again (its SHA-256, per county) changes nothing. Format: docs/budget-exchange-format.md.
 */

/** The file's columns, in the order of the format, with the API's JSON property of each (errors name either). */
export const ALLOCATION_PROPERTIES = {
  补贴项目编码: 'itemCode',
  年度: 'year',
  '金额（分）': 'amountFen',
  指标文件文号: 'docNumber',
  指标文件名称: 'docTitle',
  发文日期: 'docDate',
} as const;
export type AllocationColumn = keyof typeof ALLOCATION_PROPERTIES;
const COLUMNS = Object.keys(ALLOCATION_PROPERTIES) as AllocationColumn[];

const SPEC: TableSpec = {
  headerHas: ['补贴项目编码', '指标文件文号'],
  required: COLUMNS,
  aliases: { 补贴项目编码: ['项目编码', '编码'], '金额（分）': ['金额(分)', '指标金额（分）'], 指标文件文号: ['文号'], 发文日期: ['下达日期'] },
  rowNoun: '指标文件',
  formatHint: '格式见“预算管理一体化数据交换格式”',
};

/** The largest amount a row may carry (10 亿元 in fen): a typo of several digits is refused, not recorded. */
const MAX_FEN = 100_000_000_000;

/** One allocation document row as checked. */
export interface AllocationRecord {
  rowNumber: number;
  itemId: number;
  itemCode: string;
  year: number;
  amountFen: number;
  docNumber: string;
  docTitle: string;
  docDate: string;
}

/** A row to check: its number (the file's row, or the record's position from 1) and its cells by column. */
interface RawRecord {
  rowNumber: number;
  get(column: AllocationColumn): string;
}

export type AllocationImportOutcome =
  | { ok: true; repeated: boolean; importId: number; rows: number; created: number; unchanged: number }
  | { ok: false; errors: ImportError[]; report: Buffer };

type Loader = { actor: Actor; client?: never } | { client: ApiClient; actor?: never };

/** The county the documents are for: the finance section's (may it 'allocate'), or the budget token's (a county). */
async function loaderCounty(core: Core, loader: Loader): Promise<Region> {
  if (loader.actor) {
    const county = await listRegionFor(core.db, loader.actor.regionId);
    await authorize(core.db, loader.actor, can(loader.actor, 'allocate', county), { objectType: 'policy' });
    return county;
  }
  if (loader.client.purpose !== 'budget') throw new ForbiddenError('该接口令牌不能导入指标文件：须为“预算管理一体化”用途的令牌');
  const county = await findRegion(core.db, loader.client.regionId);
  if (!county) throw new NotFoundError('地区不存在');
  if (county.level !== 'county') throw new ForbiddenError('指标文件按县导入：该接口令牌不属于县一级');
  return county;
}

/** The items of the county's list (inherited and its own), by code. */
async function countyItems(db: Conn, county: Region): Promise<Map<string, number>> {
  const rows: { id: number; code: string }[] = await db('policy_item').where((w) => w.whereIn('region_id', pathIds(county.path)).orWhereNull('region_id')).select('id', 'code');
  return new Map(rows.map((r) => [r.code, r.id]));
}

/** Each row checked alone (Chinese messages naming the column), then the file's own duplicates. */
function checkRecords(records: RawRecord[], items: Map<string, number>, today: string): { rows: AllocationRecord[]; errors: ImportError[] } {
  const rows: AllocationRecord[] = [];
  const errors: ImportError[] = [];
  for (const record of records) {
    const { rowNumber } = record;
    const problems: ImportError[] = [];
    const fail = (field: AllocationColumn, message: string) => problems.push({ rowNumber, field, message });
    const text = (field: AllocationColumn, max: number): string => {
      const value = record.get(field);
      if (value === '') fail(field, '不能为空');
      else if ([...value].length > max) fail(field, `不能超过 ${max} 个字符`);
      else {
        const problem = freeTextProblem(value);
        if (problem) fail(field, problem);
      }
      return value;
    };
    const itemCode = record.get('补贴项目编码');
    const itemId = items.get(itemCode);
    if (itemCode === '') fail('补贴项目编码', '不能为空');
    else if (itemId === undefined) fail('补贴项目编码', `「${itemCode.slice(0, 40)}」不在本县政策清单中`);
    const yearText = record.get('年度');
    const year = /^\d{4}$/.test(yearText) ? Number(yearText) : NaN;
    if (yearText === '') fail('年度', '不能为空');
    else if (!(year >= 2000 && year <= 2100)) fail('年度', '应为 2000 到 2100 之间的四位年份');
    const amountText = record.get('金额（分）');
    const amountFen = /^\d{1,12}$/.test(amountText) ? Number(amountText) : NaN;
    if (amountText === '') fail('金额（分）', '不能为空');
    else if (!Number.isInteger(amountFen)) fail('金额（分）', '应为以分为单位的整数（不带小数点、千分位或货币符号）');
    else if (amountFen <= 0) fail('金额（分）', '应大于零');
    else if (amountFen > MAX_FEN) fail('金额（分）', '超过 10 亿元，请核对（单位为分）');
    const docNumber = text('指标文件文号', 60);
    const docTitle = text('指标文件名称', 200);
    const docDate = record.get('发文日期');
    if (docDate === '') fail('发文日期', '不能为空');
    else if (!isBusinessDate(docDate)) fail('发文日期', '应为 YYYY-MM-DD 格式的有效日期');
    else if (docDate > today) fail('发文日期', '不能晚于今天');
    errors.push(...problems);
    if (problems.length === 0) rows.push({ rowNumber, itemId: itemId!, itemCode, year, amountFen, docNumber, docTitle, docDate });
  }
  // One document of one item and year once in a file.
  const seen = new Map<string, number>();
  for (const row of rows) {
    const key = JSON.stringify([row.itemId, row.year, row.docNumber]);
    const first = seen.get(key);
    if (first === undefined) seen.set(key, row.rowNumber);
    else errors.push({ rowNumber: row.rowNumber, field: '指标文件文号', message: `与第 ${first} 行重复（同一补贴项目、年度和文号）` });
  }
  return { rows, errors };
}

/** What the stored documents make of the rows: new ones to record, unchanged ones, and rows that contradict one. */
async function compareWithStored(db: Conn, countyId: number, rows: AllocationRecord[]): Promise<{ fresh: AllocationRecord[]; unchanged: number; errors: ImportError[] }> {
  const stored: { item_id: number; year: number; doc_number: string; amount_fen: number | string; doc_title: string; doc_date: string }[] = rows.length
    ? await db('policy_allocation')
        .where({ county_id: countyId })
        .whereIn('doc_number', [...new Set(rows.map((r) => r.docNumber))])
        .select('item_id', 'year', 'doc_number', 'amount_fen', 'doc_title', 'doc_date')
    : [];
  const byKey = new Map(stored.map((s) => [JSON.stringify([s.item_id, s.year, s.doc_number]), s]));
  const fresh: AllocationRecord[] = [];
  const errors: ImportError[] = [];
  let unchanged = 0;
  for (const row of rows) {
    const known = byKey.get(JSON.stringify([row.itemId, row.year, row.docNumber]));
    if (!known) {
      fresh.push(row);
      continue;
    }
    const differs: [AllocationColumn, string][] = [];
    if (Number(known.amount_fen) !== row.amountFen) differs.push(['金额（分）', String(known.amount_fen)]);
    if (known.doc_title !== row.docTitle) differs.push(['指标文件名称', known.doc_title]);
    if (known.doc_date !== row.docDate) differs.push(['发文日期', known.doc_date]);
    if (differs.length === 0) unchanged++;
    for (const [field, was] of differs) errors.push({ rowNumber: row.rowNumber, field, message: `与已登记的同一指标文件（${row.year} 年 ${row.itemCode}，文号 ${row.docNumber}）不一致：已登记为「${was}」；更正已登记的指标请联系财政局业务科室` });
  }
  return { fresh, unchanged, errors };
}

/**
 * Check and record a county's allocation documents, all or none (see the top of this file). `records` come from a
 * file's rows or an API body's items; `source` says which, for the import's record and the audit log.
 */
async function loadAllocations(
  core: Core,
  loader: Loader,
  county: Region,
  source: { channel: 'file' | 'api'; name: string; sha256: string; table: SubmittedTable | null },
  records: RawRecord[],
): Promise<AllocationImportOutcome> {
  const key = { county_id: county.id, file_sha256: source.sha256 };
  const repeated = async (conn: Conn): Promise<AllocationImportOutcome | null> => {
    const row: { id: number; rows: number } | undefined = await conn('policy_allocation_import').where(key).first('id', 'rows');
    return row ? { ok: true, repeated: true, importId: row.id, rows: row.rows, created: 0, unchanged: row.rows } : null;
  };
  const previous = await repeated(core.db);
  if (previous) return previous;
  const refuse = async (errors: ImportError[]): Promise<AllocationImportOutcome> => {
    const sorted = sortErrors(errors, source.table?.columns);
    return { ok: false, errors: sorted, report: await writeErrorReport('指标文件导入', sorted, source.table) };
  };
  if (records.length === 0) return refuse([{ rowNumber: 0, field: '文件', message: '没有任何指标文件记录' }]);
  const checked = checkRecords(records, await countyItems(core.db, county), businessDate());
  const compared = await compareWithStored(core.db, county.id, checked.rows);
  if (checked.errors.length || compared.errors.length) return refuse([...checked.errors, ...compared.errors]);

  const who = loader.actor ?? apiAuditor(loader.client);
  return inTransaction(core.db, async (trx: Tx): Promise<AllocationImportOutcome> => {
    if (!(await claimFileDigest(trx, 'policy_allocation_import', key))) return (await repeated(trx))!;
    // Compared again inside the transaction: a document recorded meanwhile (the form, another push) is seen.
    const now = await compareWithStored(trx, county.id, checked.rows);
    if (now.errors.length) return refuse(now.errors);
    const importedAt = nowIso();
    const importId = await insertReturningId(trx, 'policy_allocation_import', {
      ...key,
      channel: source.channel,
      file_name: source.name.slice(0, 200),
      rows: checked.rows.length,
      created: now.fresh.length,
      unchanged: now.unchanged,
      imported_by: loader.actor?.userId ?? null,
      imported_at: importedAt,
    });
    for (const row of now.fresh) {
      await trx('policy_allocation').insert({
        county_id: county.id,
        item_id: row.itemId,
        year: row.year,
        amount_fen: row.amountFen,
        doc_number: row.docNumber,
        doc_title: row.docTitle,
        doc_date: row.docDate,
        recorded_by: loader.actor?.userId ?? 0,
        recorded_at: importedAt,
      });
    }
    await recordAudit(trx, who, {
      action: 'policy.allocation.import',
      objectType: 'allocation_import',
      objectId: importId,
      summary: {
        file: source.name,
        channel: source.channel,
        sha256: source.sha256,
        rows: checked.rows.length,
        created: now.fresh.length,
        unchanged: now.unchanged,
        amountFen: now.fresh.reduce((sum, r) => sum + r.amountFen, 0),
        docs: [...new Set(now.fresh.map((r) => r.docNumber))].join('；').slice(0, 500),
      },
    });
    return { ok: true, repeated: false, importId, rows: checked.rows.length, created: now.fresh.length, unchanged: now.unchanged };
  });
}

/** The finance section uploads a file of allocation documents (CSV or .xlsx) for its county. */
export async function importAllocationFile(core: Core, actor: Actor, file: { name: string; buffer: Buffer }): Promise<AllocationImportOutcome> {
  const county = await loaderCounty(core, { actor });
  const sha256 = createHash('sha256').update(file.buffer).digest('hex');
  const known = (await core.db('policy_allocation_import').where({ county_id: county.id, file_sha256: sha256 }).first('id', 'rows')) as { id: number; rows: number } | undefined;
  if (known) return { ok: true, repeated: true, importId: known.id, rows: known.rows, created: 0, unchanged: known.rows };
  const table = await readTable(file.buffer, SPEC);
  if (typeof table === 'string') {
    const errors = [{ rowNumber: 0, field: '文件', message: table }];
    return { ok: false, errors, report: await writeErrorReport('指标文件导入', errors, null) };
  }
  const records = table.rows.map(({ rowNumber, cells }) => ({ rowNumber, get: (column: AllocationColumn) => (cells[table.columns.get(column)!] ?? '').trim() }));
  return loadAllocations(core, { actor }, county, { channel: 'file', name: file.name, sha256, table }, records);
}

/** An allocation document as the budget system's API sends it (the file's columns as JSON properties). */
export type AllocationPush = Partial<Record<(typeof ALLOCATION_PROPERTIES)[AllocationColumn], unknown>>;

/** The budget system pushes allocation documents for its token's county; row numbers are the items' positions from 1. */
export async function pushAllocations(core: Core, client: ApiClient, allocations: AllocationPush[]): Promise<AllocationImportOutcome> {
  const county = await loaderCounty(core, { client });
  const text = (v: unknown) => (typeof v === 'string' ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : '');
  const records = allocations.map((a, i) => ({ rowNumber: i + 1, get: (column: AllocationColumn) => text((a ?? {})[ALLOCATION_PROPERTIES[column]]) }));
  const canonical = JSON.stringify(records.map((r) => COLUMNS.map((c) => r.get(c))));
  const sha256 = createHash('sha256').update(canonical).digest('hex');
  return loadAllocations(core, { client }, county, { channel: 'api', name: `接口推送（${client.name}）`, sha256, table: null }, records);
}
