import type { Knex } from 'knex';
import { type Actor, type RegionLevel, REGION_LEVELS, REGION_LEVEL_LABELS, hasRole } from './auth/roles.ts';
import { recordAudit, refuse } from './audit.ts';
import { type Conn, type Db, type Tx, analyzeTable, inTransaction, insertReturningId, nowIso } from './db.ts';
import { ForbiddenError, NotFoundError, ValidationError } from './errors.ts';

/**
 * The region tree (province › city › county › township › village) and the one place where a user's scope is
 * enforced: a user sees the subtree of their own region node and nothing else.
 */
export interface Region {
  id: number;
  parent_id: number | null;
  level: RegionLevel;
  code: string | null;
  name: string;
  path: string;
}

export interface Org {
  id: number;
  kind: 'department' | 'bank';
  region_id: number;
  name: string;
  code: string | null;
}

/** The ids along a materialised path, root first: "/1/4/17/" → [1, 4, 17]. */
export function pathIds(path: string): number[] {
  return path.split('/').filter(Boolean).map(Number);
}

export function isPathInScope(actor: Pick<Actor, 'regionPath'>, path: string): boolean {
  return path.startsWith(actor.regionPath);
}

/** Restrict a query to rows whose region column lies in the actor's subtree. */
export function whereRegionInScope(qb: Knex.QueryBuilder, column: string, actor: Pick<Actor, 'regionPath'>, db: Conn): Knex.QueryBuilder {
  return qb.whereIn(column, db('core_region').select('id').where('path', 'like', `${actor.regionPath}%`));
}

export async function findRegion(db: Conn, id: number): Promise<Region | undefined> {
  return db('core_region').where({ id }).first();
}

/**
 * The county a public page (no login) is about: the one asked for, else the only county there is; undefined when the
 * visitor must choose among `counties`; 404 for a county that does not exist.
 */
export async function publicCounty(db: Conn, asked: number | null | undefined): Promise<{ county: Region | undefined; counties: Region[] }> {
  const counties: Region[] = await db('core_region').where({ level: 'county' }).orderBy('name');
  const county = asked ? counties.find((c) => c.id === asked) : counties.length === 1 ? counties[0] : undefined;
  if (asked && !county) throw new NotFoundError('该县（区）不存在');
  return { county, counties };
}

/**
 * The region if it exists and lies in the actor's scope. A region outside the scope is refused with 403 and an
 * audit row: someone asked for data that is not theirs.
 */
export async function regionInScope(db: Db, actor: Actor, id: number): Promise<Region> {
  const region = await findRegion(db, id);
  if (!region) throw new NotFoundError('地区不存在');
  if (!isPathInScope(actor, region.path)) await refuse(db, actor, { objectType: 'region', objectId: id, summary: { reason: 'out_of_scope' } }, '该地区不在您的管辖范围内');
  return region;
}

/** The regions in the actor's subtree, in tree order (inTreeOrder). */
export async function listRegionsInScope(db: Conn, actor: Pick<Actor, 'regionPath'>): Promise<Region[]> {
  return inTreeOrder(await db('core_region').where('path', 'like', `${actor.regionPath}%`));
}

/**
 * Regions as a list shows them: each under its parent, and the children of a parent in the order of their 统计用区划代码
 * (the statistics bureau's order, which county staff know), those without a code after them in the order they were
 * added. Regions whose parent is not in the list start the list, in the same order.
 */
export function inTreeOrder<R extends Pick<Region, 'id' | 'parent_id' | 'code'>>(regions: R[]): R[] {
  const children = new Map<number | null, R[]>();
  const ids = new Set(regions.map((r) => r.id));
  for (const r of regions) {
    const key = r.parent_id !== null && ids.has(r.parent_id) ? r.parent_id : null;
    children.set(key, [...(children.get(key) ?? []), r]);
  }
  const byCode = (a: R, b: R) => (a.code === null) !== (b.code === null) ? (a.code === null ? 1 : -1) : (a.code ?? '').localeCompare(b.code ?? '') || a.id - b.id;
  const out: R[] = [];
  const walk = (parent: number | null) => {
    for (const r of (children.get(parent) ?? []).sort(byCode)) {
      out.push(r);
      walk(r.id);
    }
  };
  walk(null);
  return out;
}

/** Ancestors from the root down to the region itself, for breadcrumbs and "县 › 镇 › 村" labels. */
export async function regionLineage(db: Conn, region: Region): Promise<Region[]> {
  const ids = pathIds(region.path);
  const rows: Region[] = await db('core_region').whereIn('id', ids);
  return ids.map((id) => rows.find((r) => r.id === id)!).filter(Boolean);
}

export async function listOrgsInScope(db: Conn, actor: Pick<Actor, 'regionPath'>): Promise<(Org & { region_name: string })[]> {
  return db('core_org')
    .join('core_region', 'core_region.id', 'core_org.region_id')
    .where('core_region.path', 'like', `${actor.regionPath}%`)
    .select('core_org.*', 'core_region.name as region_name')
    .orderBy(['core_org.kind', 'core_org.name']);
}

function requireAdmin(actor: Actor): void {
  if (!hasRole(actor, 'admin')) throw new ForbiddenError('只有系统管理员可以管理地区和单位');
}

/** A 统计用区划代码 as a file or a form may give it (2/4/6/9/12 digits, padded with zeros to 12 or not), as the platform keeps it, with its level. */
export function readRegionCode(text: string): { code: string; level: RegionLevel } | string {
  if (!/^\d+$/.test(text)) return '应为数字（统计用区划代码，12 位）';
  let digits = text;
  if (digits.length === 12) {
    if (digits.endsWith('000000')) digits = digits.slice(0, 6);
    else if (digits.endsWith('000')) digits = digits.slice(0, 9);
  }
  if (digits.length === 2) digits += '0000';
  else if (digits.length === 4) digits += '00';
  if (digits.length === 6) {
    if (digits.startsWith('00')) return '省级代码不能为 00';
    const level: RegionLevel = digits.endsWith('0000') ? 'province' : digits.endsWith('00') ? 'city' : 'county';
    return { code: digits, level };
  }
  if (digits.length === 9) return digits.endsWith('000') ? '乡镇代码的末 3 位不能为 000' : { code: digits, level: 'township' };
  if (digits.length === 12) return { code: digits, level: 'village' };
  return `位数不对（${text.length} 位）：县级代码为 6 位，乡镇 9 位，村（社区）12 位；也可都写成 12 位，末尾补 0`;
}

/** The code of the region a code lies under (a village's township, a township's county …), as kept. */
export function parentCode(code: string, level: RegionLevel): string | null {
  if (level === 'village') return code.slice(0, 9);
  if (level === 'township') return code.slice(0, 6);
  if (level === 'county') return `${code.slice(0, 4)}00`;
  if (level === 'city') return `${code.slice(0, 2)}0000`;
  return null;
}

/** How many leading digits of a code name its parent (a village's first 9 its township …). */
export const PARENT_DIGITS: Record<RegionLevel, number> = { province: 0, city: 2, county: 4, township: 6, village: 9 };

export interface NewRegion {
  parentId: number;
  name: string;
  code?: string | null;
}

/** Add a child region under a region in the admin's scope. The level follows from the parent's. */
export async function createRegion(db: Db, actor: Actor, input: NewRegion): Promise<Region> {
  requireAdmin(actor);
  const parent = await regionInScope(db, actor, input.parentId);
  const level = REGION_LEVELS[REGION_LEVELS.indexOf(parent.level) + 1];
  if (!level) throw new ValidationError({ parentId: `${REGION_LEVEL_LABELS[parent.level]}之下不能再设下级地区` });
  let code: string | null = null;
  if (input.code) {
    // The same rules as the import of the bureau's codes (core/region-import.ts): the length says the level, and
    // each code starts with its parent's.
    const read = readRegionCode(input.code);
    if (typeof read === 'string') throw new ValidationError({ code: `统计用区划代码${read}` });
    if (read.level !== level) throw new ValidationError({ code: `这是${REGION_LEVEL_LABELS[read.level]}的代码，而新地区是${REGION_LEVEL_LABELS[level]}` });
    if (parent.code && parentCode(read.code, read.level) !== parent.code) throw new ValidationError({ code: `应以上级“${parent.name}”的代码 ${parent.code.slice(0, PARENT_DIGITS[level])} 开头` });
    code = read.code;
  }
  return inTransaction(db, async (trx) => {
    const clash = await trx('core_region').where({ parent_id: parent.id, name: input.name }).first();
    if (clash) throw new ValidationError({ name: `“${parent.name}”下已有名为“${input.name}”的地区` });
    if (code && (await trx('core_region').where({ code }).first())) throw new ValidationError({ code: `区划代码 ${code} 已被使用` });
    const region = await insertRegion(trx, parent, level, input.name, code);
    await recordAudit(trx, actor, { action: 'region.create', objectType: 'region', objectId: region.id, summary: { after: { name: input.name, level, parent: parent.name } } });
    return region;
  });
}

/** Insert a region under parent (null: a root). Callers check names and scope and write the audit row. */
export async function insertRegion(trx: Tx, parent: Region | null, level: RegionLevel, name: string, code: string | null = null, options = { analyze: true }): Promise<Region> {
  const parentPath = parent?.path ?? '/';
  // The path holds the new id, known only after the insert: a placeholder unique within this transaction.
  const id = await insertReturningId(trx, 'core_region', { parent_id: parent?.id ?? null, level, name, code, path: `${parentPath}new/`, created_at: nowIso() });
  const path = `${parentPath}${id}/`;
  await trx('core_region').where({ id }).update({ path });
  // Every scoped query joins the region tree: planned without its statistics (a table this small never reaches
  // autovacuum's threshold), a township's home page read every person of the township. Small, it is analyzed anew
  // (once at the end, by a caller that adds many).
  if (options.analyze) await analyzeTable(trx, 'core_region');
  return { id, parent_id: parent?.id ?? null, level, code, name, path };
}

export async function renameRegion(db: Db, actor: Actor, id: number, name: string): Promise<void> {
  requireAdmin(actor);
  const region = await regionInScope(db, actor, id);
  await inTransaction(db, async (trx) => {
    const clash = await trx('core_region').where({ parent_id: region.parent_id, name }).whereNot({ id }).first();
    if (clash) throw new ValidationError({ name: `同级已有名为“${name}”的地区` });
    await trx('core_region').where({ id }).update({ name });
    await recordAudit(trx, actor, { action: 'region.rename', objectType: 'region', objectId: id, summary: { before: { name: region.name }, after: { name } } });
  });
}

export interface NewOrg {
  kind: 'department' | 'bank';
  regionId: number;
  name: string;
  code?: string | null;
}

export async function createOrg(db: Db, actor: Actor, input: NewOrg): Promise<number> {
  requireAdmin(actor);
  const region = await regionInScope(db, actor, input.regionId);
  if (!['province', 'city', 'county'].includes(region.level)) {
    throw new ValidationError({ regionId: '主管部门和代发金融机构应设在县级及以上地区' });
  }
  return inTransaction(db, async (trx) => {
    if (await trx('core_org').where({ region_id: region.id, kind: input.kind, name: input.name }).first()) {
      throw new ValidationError({ name: `“${region.name}”已有名为“${input.name}”的单位` });
    }
    const id = await insertReturningId(trx, 'core_org', { kind: input.kind, region_id: region.id, name: input.name, code: input.code || null, created_at: nowIso() });
    await recordAudit(trx, actor, { action: 'org.create', objectType: 'org', objectId: id, summary: { after: { kind: input.kind, name: input.name, region: region.name } } });
    return id;
  });
}
