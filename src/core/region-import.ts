import { createHash } from 'node:crypto';
import { type Actor, type RegionLevel, REGION_LEVEL_LABELS, hasRole } from './auth/roles.ts';
import { recordAudit } from './audit.ts';
import { type Conn, type Db, analyzeTable, inTransaction, isPostgres } from './db.ts';
import { ForbiddenError } from './errors.ts';
import { PARENT_DIGITS, type Region, insertRegion, parentCode, readRegionCode, regionInScope, regionLineage } from './regions.ts';
import { type ImportError, type SubmittedTable, readTable, sortErrors, writeErrorReport } from './spreadsheet.ts';

/**
 * The county's townships and villages from the statistics bureau's 统计用区划代码 (docs/region-import-format.md): an
 * administrator uploads the county's table (.xlsx or CSV, UTF-8 or GB18030) and the tree under the county is brought
 * in line with it, in one transaction, or the file is refused whole with each row's errors. A code is 12 digits:
 * province 2, city 2, county 2, township 3, village 3; the platform keeps a county's code as 6 digits, a township's
 * as 9 and a village's as 12, as the demo county and the ID numbers' first six digits do. Existing nodes are found by
 * code, or by name under the same parent when they have none yet (create-admin makes the county without one), so
 * that importing sets codes, renames where the bureau's name differs, and adds what is missing; nothing is deleted
 * (people and rounds refer to the regions). The same file again changes nothing.
 */

export const REGION_IMPORT_SPEC = {
  headerHas: ['统计用区划代码', '名称'],
  required: ['统计用区划代码', '名称'] as const,
  aliases: {
    统计用区划代码: ['区划代码', '行政区划代码', '代码'],
    名称: ['区划名称', '地区名称', '单位名称'],
    上级代码: ['上级区划代码', '上级统计用区划代码', '父级代码'],
    级别: ['层级', '区划级别'],
  },
  rowNoun: '地区',
  formatHint: '格式见帮助页“地区导入格式”',
};

/** The levels a row may have and the length of the code the platform keeps for each. */
const KEPT_LENGTH: Record<RegionLevel, number> = { province: 6, city: 6, county: 6, township: 9, village: 12 };

/** What a 级别 cell may say, as the bureau and counties write it. */
const LEVEL_WORDS: [RegExp, RegionLevel][] = [
  [/^(省|省级|自治区|直辖市|province)$/i, 'province'],
  [/^(市|地级|地级市|市级|自治州|地区|盟|city)$/i, 'city'],
  [/^(县|区|县级|县级市|县（区）|县\(区\)|旗|自治县|county)$/i, 'county'],
  [/^(乡|镇|街道|乡镇|乡级|乡镇级|苏木|乡（镇、街道）|township)$/i, 'township'],
  [/^(村|社区|村级|村委会|居委会|村（社区）|村\(社区\)|嘎查|village)$/i, 'village'],
];

interface RegionRow {
  rowNumber: number;
  code: string;
  level: RegionLevel;
  name: string;
}

/** Check every row on its own and against the others; the rows, or every error. */
function checkRows(table: SubmittedTable): { rows: RegionRow[]; errors: ImportError[]; codes: Set<string> } {
  const { columns } = table;
  const cell = (cells: string[], column: string) => {
    const i = columns.get(column);
    return i === undefined ? '' : (cells[i] ?? '').trim();
  };
  const rows: RegionRow[] = [];
  const errors: ImportError[] = [];
  /** Every readable code of the file, rows in error included (a village's township may be a row with a bad name). */
  const codes = new Set<string>();
  for (const { rowNumber, cells } of table.rows) {
    const err = (field: string, message: string) => errors.push({ rowNumber, field, message });
    const codeText = cell(cells, '统计用区划代码').replace(/\s/g, '');
    const name = cell(cells, '名称');
    const levelText = cell(cells, '级别').replace(/\s/g, '');
    const parentText = cell(cells, '上级代码').replace(/\s/g, '');
    const before = errors.length;
    if (name === '') err('名称', '请填写名称');
    else if (name.length > 60) err('名称', `名称过长（${name.length} 个字），最多 60 个字`);
    else if (/[\u0000-\u001f<>]/.test(name)) err('名称', '名称中有不可用的字符');
    if (codeText === '') {
      err('统计用区划代码', '请填写统计用区划代码');
      continue;
    }
    const read = readRegionCode(codeText);
    if (typeof read === 'string') {
      err('统计用区划代码', read);
      continue;
    }
    codes.add(read.code);
    if (levelText !== '') {
      const said = LEVEL_WORDS.find(([pattern]) => pattern.test(levelText))?.[1];
      if (!said) err('级别', `“${levelText}”不是可识别的级别：应为县、乡镇（街道）或村（社区）`);
      else if (said !== read.level) err('统计用区划代码', `与级别“${levelText}”不符：${REGION_LEVEL_LABELS[said]}的代码为 ${KEPT_LENGTH[said]} 位（写成 12 位时末尾补 0）`);
    }
    if (parentText !== '') {
      const parent = readRegionCode(parentText);
      const expected = parentCode(read.code, read.level);
      if (typeof parent === 'string') err('上级代码', parent);
      else if (!expected) err('上级代码', '省级没有上级代码');
      else if (parent.code !== expected) err('上级代码', `应为本行代码的前 ${PARENT_DIGITS[read.level]} 位（${expected}）：每级代码以上级代码开头`);
    }
    if (errors.length === before) rows.push({ rowNumber, code: read.code, level: read.level, name });
  }
  const seen = new Map<string, RegionRow>();
  const names = new Map<string, RegionRow>();
  for (const row of rows) {
    const twin = seen.get(row.code);
    if (twin) errors.push({ rowNumber: row.rowNumber, field: '统计用区划代码', message: `与第 ${twin.rowNumber} 行的代码重复` });
    else seen.set(row.code, row);
    const key = `${parentCode(row.code, row.level)}|${row.name}`;
    const sibling = names.get(key);
    if (sibling && sibling.code !== row.code) errors.push({ rowNumber: row.rowNumber, field: '名称', message: `与第 ${sibling.rowNumber} 行同属一个上级、名称相同` });
    else names.set(key, row);
  }
  return { rows, errors, codes };
}

/** What an import did, or would do when refused. */
export interface RegionImportOutcome {
  ok: boolean;
  created: number;
  coded: number;
  renamed: number;
  unchanged: number;
  /** Regions under the county that the file does not name (kept as they are). */
  notInFile: number;
  errors: ImportError[];
  report: Buffer | null;
}

type Change = { kind: 'create'; row: RegionRow; parentCode: string } | { kind: 'code' | 'rename'; row: RegionRow; region: Region };

/**
 * Plan the changes under the county, as the tree stands in the transaction: every row is matched to the node it
 * names, or planned as a new one under its parent (in the file or already in the tree).
 */
async function plan(trx: Conn, county: Region, ancestors: Region[], rows: RegionRow[], fileCodes: Set<string>): Promise<{ changes: Change[]; errors: ImportError[]; unchanged: number; notInFile: number; byCode: Map<string, Region> }> {
  const errors: ImportError[] = [];
  const changes: Change[] = [];
  let unchanged = 0;
  const err = (row: RegionRow, field: string, message: string) => errors.push({ rowNumber: row.rowNumber, field, message });
  const subtree: Region[] = await trx('core_region').where('path', 'like', `${county.path}%`);
  /** The county's regions by code: the plan's, then the new ones as they are written. */
  const byCode = new Map(subtree.filter((r) => r.code).map((r) => [r.code!, r]));
  const countyRow = rows.find((r) => r.level === 'county');
  const countyCode = countyRow?.code ?? county.code;
  if (!countyCode) {
    errors.push({ rowNumber: 0, field: '文件', message: `文件中没有县级行（6 位或末 6 位为 0 的 12 位代码），“${county.name}”也尚未设置区划代码：请在文件中加上本县（区）一行` });
    return { changes, errors, unchanged, notInFile: 0, byCode };
  }
  // The city's and the province's codes, as the county's implies them.
  const cityCode = parentCode(countyCode, 'county')!;
  const implied: Partial<Record<RegionLevel, string>> = { city: cityCode, province: parentCode(cityCode, 'city')! };
  for (const a of ancestors) {
    const expected = implied[a.level];
    if (a.code && expected && a.code !== expected) {
      errors.push({ rowNumber: countyRow?.rowNumber ?? 0, field: countyRow ? '统计用区划代码' : '文件', message: `县级代码 ${countyCode} 与上级“${a.name}”的区划代码 ${a.code} 不符` });
      return { changes, errors, unchanged, notInFile: 0, byCode };
    }
  }
  // Codes are unique across the deployment (a central one holds many counties).
  const usedElsewhere = new Map<string, Region>(
    ((await trx('core_region').whereIn('code', rows.map((r) => r.code)).whereNot('path', 'like', `${county.path}_%`)) as Region[]).filter((r) => r.id !== county.id).map((r) => [r.code!, r]),
  );
  const matched = new Set<number>();
  const parentOf = (row: RegionRow) => parentCode(row.code, row.level)!;

  for (const row of rows) {
    if (row.level === 'province' || row.level === 'city') {
      const ancestor = ancestors.find((a) => a.level === row.level);
      // An ancestor without a code gets the one the county's implies (below), whether or not the file has its row.
      if (row.code !== implied[row.level]) err(row, '统计用区划代码', `不是“${county.name}”（${countyCode}）的上级代码`);
      else if (ancestor?.code) unchanged++;
      continue;
    }
    if (row.level === 'county') {
      if (row.name !== county.name) err(row, '名称', `与所选的“${county.name}”不一致：请选择文件所属的县（区），或先在地区表中更名`);
      else if (county.code && county.code !== row.code) err(row, '统计用区划代码', `“${county.name}”的区划代码已是 ${county.code}`);
      else if (usedElsewhere.has(row.code)) err(row, '统计用区划代码', `已被“${usedElsewhere.get(row.code)!.name}”使用`);
      else if (county.code) unchanged++;
      else changes.push({ kind: 'code', row, region: county });
      continue;
    }
    if (!row.code.startsWith(countyCode)) {
      err(row, '统计用区划代码', `不属于“${county.name}”：本县（区）的代码以 ${countyCode} 开头`);
      continue;
    }
    if (usedElsewhere.has(row.code)) {
      err(row, '统计用区划代码', `已被其他县的“${usedElsewhere.get(row.code)!.name}”使用`);
      continue;
    }
    const parentRegionCode = parentOf(row);
    const parentInFile = fileCodes.has(parentRegionCode);
    const parent = row.level === 'township' ? county : byCode.get(parentRegionCode);
    if (row.level === 'village' && !parent && !parentInFile) {
      err(row, '统计用区划代码', `上级乡镇（${parentRegionCode}）既不在文件中，也不在本县（区）的地区表中`);
      continue;
    }
    const existing = byCode.get(row.code);
    if (existing) {
      if (existing.level !== row.level) err(row, '统计用区划代码', `已是${REGION_LEVEL_LABELS[existing.level]}“${existing.name}”的代码`);
      else if (parent && existing.parent_id !== parent.id) err(row, '统计用区划代码', `已是“${existing.name}”的代码，而它不在上级代码 ${parentRegionCode} 之下`);
      else if (existing.name === row.name) unchanged++;
      else if (subtree.some((r) => r.parent_id === existing.parent_id && r.name === row.name && r.id !== existing.id)) err(row, '名称', `同一上级下已有名为“${row.name}”的地区`);
      else changes.push({ kind: 'rename', row, region: existing });
      matched.add(existing.id);
      continue;
    }
    const namesake = parent ? subtree.find((r) => r.parent_id === parent.id && r.name === row.name) : undefined;
    if (namesake?.code) err(row, '名称', `“${parent!.name}”下已有“${row.name}”，其区划代码为 ${namesake.code}`);
    else if (namesake && namesake.level !== row.level) err(row, '名称', `“${row.name}”已是${REGION_LEVEL_LABELS[namesake.level]}`);
    else if (namesake) {
      changes.push({ kind: 'code', row, region: namesake });
      matched.add(namesake.id);
    } else changes.push({ kind: 'create', row, parentCode: parentRegionCode });
  }
  for (const a of ancestors) {
    const code = implied[a.level];
    if (a.code || !code) continue;
    if (!(await trx('core_region').where({ code }).first('id'))) changes.push({ kind: 'code', row: { rowNumber: 0, code, level: a.level, name: a.name }, region: a });
  }
  const notInFile = subtree.filter((r) => r.id !== county.id && !matched.has(r.id)).length;
  return { changes, errors, unchanged, notInFile, byCode };
}

/**
 * Import the county's townships and villages (see above). Only an administrator whose scope holds the county may.
 * On PostgreSQL a transaction advisory lock per county makes two imports at once run one after the other, so that the
 * second finds the first's regions and changes nothing.
 */
export async function importRegions(db: Db, actor: Actor, countyId: number, file: { name: string; buffer: Buffer }): Promise<RegionImportOutcome> {
  if (!hasRole(actor, 'admin')) throw new ForbiddenError('只有系统管理员可以导入地区');
  const county = await regionInScope(db, actor, countyId);
  const empty = { created: 0, coded: 0, renamed: 0, unchanged: 0, notInFile: 0 };
  const refused = async (errors: ImportError[], table: SubmittedTable | null): Promise<RegionImportOutcome> => ({ ok: false, ...empty, errors: sortErrors(errors, table?.columns), report: await writeErrorReport('地区导入', errors, table) });
  if (county.level !== 'county') return refused([{ rowNumber: 0, field: '文件', message: '请选择县（区）：乡镇和村（社区）按县导入' }], null);
  const table = await readTable(file.buffer, REGION_IMPORT_SPEC);
  if (typeof table === 'string') return refused([{ rowNumber: 0, field: '文件', message: table }], null);
  const checked = checkRows(table);
  if (checked.errors.length) {
    // The rows good on their own are also checked against the tree, so that the report names every error at once.
    const bad = new Set(checked.errors.map((e) => e.rowNumber));
    const ancestors = (await regionLineage(db, county)).filter((r) => r.id !== county.id);
    const planned = await plan(db, county, ancestors, checked.rows.filter((r) => !bad.has(r.rowNumber)), checked.codes);
    return refused([...checked.errors, ...planned.errors], table);
  }
  const outcome = await inTransaction(db, async (trx) => {
    if (isPostgres(trx)) await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`core_region_import:${county.id}`]);
    const current = (await trx('core_region').where({ id: county.id }).first()) as Region;
    const ancestors = (await regionLineage(trx, current)).filter((r) => r.id !== current.id);
    const planned = await plan(trx, current, ancestors, checked.rows, checked.codes);
    if (planned.errors.length) return { ...planned, ok: false as const };
    const counts = { created: 0, coded: 0, renamed: 0 };
    if (planned.changes.length === 0) return { ...planned, ok: true as const, counts };
    const { byCode } = planned;
    // From the top down: a new village's township exists by the time it is added.
    const order: RegionLevel[] = ['province', 'city', 'county', 'township', 'village'];
    for (const change of [...planned.changes].sort((a, b) => order.indexOf(a.row.level) - order.indexOf(b.row.level) || a.row.code.localeCompare(b.row.code))) {
      const { row } = change;
      if (change.kind === 'create') {
        const parent = row.level === 'township' ? current : byCode.get(change.parentCode)!;
        const region = await insertRegion(trx, parent, row.level, row.name, row.code, { analyze: false });
        byCode.set(row.code, region);
        counts.created++;
        await recordAudit(trx, actor, { action: 'region.create', objectType: 'region', objectId: region.id, summary: { after: { name: row.name, level: row.level, parent: parent.name, code: row.code }, via: 'import' } });
      } else if (change.kind === 'code') {
        await trx('core_region').where({ id: change.region.id }).update({ code: row.code });
        byCode.set(row.code, { ...change.region, code: row.code });
        counts.coded++;
        await recordAudit(trx, actor, { action: 'region.code', objectType: 'region', objectId: change.region.id, summary: { name: change.region.name, after: { code: row.code }, via: 'import' } });
      } else {
        await trx('core_region').where({ id: change.region.id }).update({ name: row.name });
        counts.renamed++;
        await recordAudit(trx, actor, { action: 'region.rename', objectType: 'region', objectId: change.region.id, summary: { before: { name: change.region.name }, after: { name: row.name }, via: 'import' } });
      }
    }
    await analyzeTable(trx, 'core_region');
    await recordAudit(trx, actor, {
      action: 'region.import',
      objectType: 'region',
      objectId: county.id,
      summary: { county: county.name, file: file.name.slice(0, 200), sha256: createHash('sha256').update(file.buffer).digest('hex'), rows: checked.rows.length, ...counts, unchanged: planned.unchanged },
    });
    return { ...planned, ok: true as const, counts };
  });
  if (!outcome.ok) return refused(outcome.errors, table);
  return { ok: true, ...outcome.counts, unchanged: outcome.unchanged, notInFile: outcome.notInFile, errors: [], report: null };
}
