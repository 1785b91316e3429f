import type { Conn } from '../../core/db.ts';
import type { PolicyFields, PolicyLevel } from './files.ts';

/** Rows of the policy tables as the module reads them, versions with their tiers and exclusive groups. */
export interface PolicyVersion extends PolicyFields {
  id: number;
  itemId: number;
  code: string;
  level: PolicyLevel;
  regionId: number | null;
  regionName: string | null;
  departmentOrgId: number;
  department: string;
  versionNo: number;
  state: 'draft' | 'returned' | 'published';
  effectiveYear: number;
  confidential: boolean;
  changeNote: string | null;
  revision: number;
  editedBy: number;
  editedAt: string;
  publishedBy: number | null;
  publishedAt: string | null;
  returnReason: string | null;
  exclusiveGroups: string[];
}

/** A budget allocation document (指标文件) as recorded. */
export interface AllocationInput {
  itemId: number;
  year: number;
  amountFen: number;
  docNumber: string;
  docTitle: string;
  docDate: string;
}

export interface AllocationRow extends AllocationInput {
  id: number;
  recordedAt: string;
}

export function versionQuery(db: Conn) {
  return db('policy_version as v')
    .join('policy_item as i', 'i.id', 'v.item_id')
    .join('core_org as o', 'o.id', 'i.department_org_id')
    .leftJoin('core_region as r', 'r.id', 'i.region_id')
    .select(
      'v.*',
      'i.code',
      'i.level',
      'i.region_id',
      'i.department_org_id',
      'o.name as department',
      'r.name as region_name',
    );
}

/** Attach tiers and groups to version rows (two queries for any number of versions). */
export async function hydrate(db: Conn, rows: Record<string, unknown>[]): Promise<PolicyVersion[]> {
  const ids = rows.map((r) => Number(r.id));
  const tiers: { version_id: number; name: string; standard_fen: number }[] = ids.length ? await db('policy_tier').whereIn('version_id', ids).orderBy(['version_id', 'position']) : [];
  const groups: { version_id: number; group_name: string }[] = ids.length ? await db('policy_exclusion').whereIn('version_id', ids).orderBy(['version_id', 'group_name']) : [];
  return rows.map((r) => {
    const id = Number(r.id);
    return {
      id,
      itemId: Number(r.item_id),
      code: String(r.code),
      level: r.level as PolicyLevel,
      regionId: r.region_id == null ? null : Number(r.region_id),
      regionName: (r.region_name as string | null) ?? null,
      departmentOrgId: Number(r.department_org_id),
      department: String(r.department),
      versionNo: Number(r.version_no),
      state: r.state as PolicyVersion['state'],
      effectiveYear: Number(r.effective_year),
      name: String(r.name),
      legalBasisTitle: String(r.legal_basis_title),
      legalBasisNumber: String(r.legal_basis_number),
      payee: r.payee as PolicyVersion['payee'],
      frequency: r.frequency as PolicyVersion['frequency'],
      unit: String(r.unit),
      fromYear: Number(r.from_year),
      toYear: r.to_year == null ? null : Number(r.to_year),
      confidential: Boolean(r.confidential),
      changeNote: (r.change_note as string | null) ?? null,
      revision: Number(r.revision),
      editedBy: Number(r.edited_by),
      editedAt: String(r.edited_at),
      publishedBy: r.published_by == null ? null : Number(r.published_by),
      publishedAt: (r.published_at as string | null) ?? null,
      returnReason: (r.return_reason as string | null) ?? null,
      tiers: tiers.filter((t) => Number(t.version_id) === id).map((t) => ({ name: t.name, standardFen: t.standard_fen })),
      exclusiveGroups: groups.filter((g) => Number(g.version_id) === id).map((g) => g.group_name),
    };
  });
}
