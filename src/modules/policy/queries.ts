import type { Conn } from '../../core/db.ts';
import { type Fen, fen } from '../../core/money.ts';
import { type Region, findRegion, pathIds, regionLineage } from '../../core/regions.ts';
import { type AllocationRow, type PolicyVersion, hydrate, versionQuery } from './repo.ts';

/**
 * The list a region works with: a township's or village's is its county's; a county's, city's or province's
 * is its own. It holds the policies set at that region and every region above it, and the central ones.
 */
export async function listRegionFor(db: Conn, regionId: number): Promise<Region> {
  const region = await findRegion(db, regionId);
  if (!region) throw new Error(`region ${regionId} not found`);
  const lineage = await regionLineage(db, region);
  return lineage.find((r) => r.level === 'county') ?? region;
}

function applies(v: PolicyVersion, year: number): boolean {
  return v.effectiveYear <= year && v.fromYear <= year && (v.toYear === null || v.toYear >= year);
}

/** For each item, its published version in force in the year: the latest effective one not after the year. */
function inForce(versions: PolicyVersion[], year: number): PolicyVersion[] {
  const best = new Map<number, PolicyVersion>();
  for (const v of versions) {
    if (v.state !== 'published' || v.effectiveYear > year) continue;
    const current = best.get(v.itemId);
    if (!current || v.effectiveYear > current.effectiveYear || (v.effectiveYear === current.effectiveYear && v.versionNo > current.versionNo)) best.set(v.itemId, v);
  }
  return [...best.values()].filter((v) => applies(v, year));
}

async function versionsForList(db: Conn, listRegion: Region) {
  const ids = pathIds(listRegion.path);
  const rows = await versionQuery(db).where((w) => w.whereIn('i.region_id', ids).orWhereNull('i.region_id'));
  return hydrate(db, rows);
}

const LEVEL_ORDER = { central: 0, province: 1, city: 2, county: 3 } as const;

/**
 * The region's policy list for a year, grouped by department then ordered by level and code. The public
 * list leaves out confidential (涉密) items.
 */
export async function policyList(db: Conn, listRegion: Region, year: number, options: { publicOnly: boolean }): Promise<PolicyVersion[]> {
  const list = inForce(await versionsForList(db, listRegion), year).filter((v) => !options.publicOnly || !v.confidential);
  return list.sort((a, b) => a.department.localeCompare(b.department, 'zh-CN') || LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] || a.code.localeCompare(b.code));
}

/** The version a payment in the given year is made under (the batch module records its id on each line). */
export async function versionInForce(db: Conn, itemId: number, year: number): Promise<PolicyVersion | null> {
  const rows = await versionQuery(db).where('v.item_id', itemId).where('v.state', 'published');
  return inForce(await hydrate(db, rows), year)[0] ?? null;
}

/** Versions by id (the batch module reads the versions its rounds were compiled under). */
export async function versionsById(db: Conn, ids: number[]): Promise<PolicyVersion[]> {
  return ids.length ? hydrate(db, await versionQuery(db).whereIn('v.id', [...new Set(ids)])) : [];
}

export async function policyVersions(db: Conn, itemId: number): Promise<PolicyVersion[]> {
  return hydrate(db, await versionQuery(db).where('v.item_id', itemId).orderBy('v.version_no', 'desc'));
}

/** Drafts waiting for the finance section of the region that set them. */
export async function draftsAwaitingPublication(db: Conn, regionId: number): Promise<PolicyVersion[]> {
  return hydrate(db, await versionQuery(db).where('i.region_id', regionId).where('v.state', 'draft').orderBy('i.code'));
}

/** Drafts a department's staff are working on, or that were returned to them. */
export async function draftsOfDepartment(db: Conn, orgId: number): Promise<PolicyVersion[]> {
  return hydrate(db, await versionQuery(db).where('i.department_org_id', orgId).whereIn('v.state', ['draft', 'returned']).orderBy('i.code'));
}

interface AllocationDbRow {
  id: number;
  item_id: number;
  year: number;
  amount_fen: Fen;
  doc_number: string;
  doc_title: string;
  doc_date: string;
  recorded_at: string;
}

export async function allocations(db: Conn, countyId: number, options: { itemId?: number; year?: number } = {}): Promise<AllocationRow[]> {
  const q = db('policy_allocation').where({ county_id: countyId });
  if (options.itemId) q.where({ item_id: options.itemId });
  if (options.year) q.where({ year: options.year });
  const rows = (await q.orderBy([{ column: 'year', order: 'desc' }, { column: 'doc_date' }, { column: 'id' }])) as AllocationDbRow[];
  return rows.map((r) => ({
    id: r.id,
    itemId: r.item_id,
    year: r.year,
    amountFen: r.amount_fen,
    docNumber: r.doc_number,
    docTitle: r.doc_title,
    docDate: r.doc_date,
    recordedAt: r.recorded_at,
  }));
}

/**
 * What was allocated to a county for a policy and year, in fen: the ceiling the batch module checks every
 * round against (paid + to be paid ≤ allocated).
 */
export async function allocatedFen(db: Conn, countyId: number, itemId: number, year: number): Promise<Fen> {
  const row = (await db('policy_allocation').where({ county_id: countyId, item_id: itemId, year }).sum({ total: 'amount_fen' }).first()) as { total: Fen | null } | undefined;
  // sum() over no allocation is null: nothing allocated.
  return row?.total ?? fen(0);
}

/**
 * Each policy with an allocation to a county in a year, its code first: the allocated total in fen and its version
 * for that year (the one in force; for an item no longer in force, its latest published one), which names it and its
 * competent department. The year-end clearing (bank module) lists every one of them, with or without a round.
 */
export async function yearAllocations(db: Conn, countyId: number, year: number): Promise<{ itemId: number; allocatedFen: Fen; version: PolicyVersion }[]> {
  const sums = (await db('policy_allocation').where({ county_id: countyId, year }).groupBy('item_id').select('item_id').sum({ total: 'amount_fen' })) as { item_id: number; total: Fen }[];
  if (sums.length === 0) return [];
  const versions = await hydrate(db, await versionQuery(db).whereIn('v.item_id', sums.map((s) => s.item_id)));
  const inForceThen = new Map(inForce(versions, year).map((v) => [v.itemId, v]));
  // Otherwise the latest published version (or the latest at all), so that no allocated money goes unlisted.
  const rank = (v: PolicyVersion) => (v.state === 'published' ? 1e6 : 0) + v.effectiveYear * 100 + v.versionNo;
  const latest = new Map<number, PolicyVersion>();
  for (const v of versions) if (!latest.has(v.itemId) || rank(v) > rank(latest.get(v.itemId)!)) latest.set(v.itemId, v);
  const chosen = (itemId: number) => inForceThen.get(itemId) ?? latest.get(itemId);
  return sums
    .filter((s) => chosen(s.item_id))
    .map((s) => ({ itemId: s.item_id, allocatedFen: s.total, version: chosen(s.item_id)! }))
    .sort((a, b) => a.version.code.localeCompare(b.version.code));
}
