import type { Conn } from '../../core/db.ts';
import type { Fen } from '../../core/money.ts';
import type { Frequency, Payee, PolicyFields, PolicyLevel } from './files.ts';

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
  /** 救助类: a means-tested programme, whose rounds run the public-employee check. */
  meansTested: boolean;
  /** 突发灾害应急救助: a round under it may be opened as 应急救助（事后公示）(paid first, publicised after payment). */
  emergencyRelief: boolean;
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
  amountFen: Fen;
  docNumber: string;
  docTitle: string;
  docDate: string;
}

export interface AllocationRow extends AllocationInput {
  id: number;
  recordedAt: string;
}

/** A row of versionQuery: the version's columns with its item's and the names joined to it. */
export interface VersionDbRow {
  id: number;
  item_id: number;
  version_no: number;
  state: PolicyVersion['state'];
  effective_year: number;
  name: string;
  legal_basis_title: string;
  legal_basis_number: string;
  payee: Payee;
  frequency: Frequency;
  unit: string;
  from_year: number;
  to_year: number | null;
  /** SQLite gives 0 or 1, here and in means_tested and emergency_relief. */
  confidential: boolean;
  means_tested: boolean;
  emergency_relief: boolean;
  change_note: string | null;
  revision: number;
  edited_by: number;
  edited_at: string;
  published_by: number | null;
  published_at: string | null;
  return_reason: string | null;
  code: string;
  level: PolicyLevel;
  region_id: number | null;
  department_org_id: number;
  department: string;
  region_name: string | null;
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
export async function hydrate(db: Conn, rows: VersionDbRow[]): Promise<PolicyVersion[]> {
  const ids = rows.map((r) => r.id);
  const tiers: { version_id: number; name: string; standard_fen: Fen }[] = ids.length ? await db('policy_tier').whereIn('version_id', ids).orderBy(['version_id', 'position']) : [];
  const groups: { version_id: number; group_name: string }[] = ids.length ? await db('policy_exclusion').whereIn('version_id', ids).orderBy(['version_id', 'group_name']) : [];
  return rows.map((r) => ({
    id: r.id,
    itemId: r.item_id,
    code: r.code,
    level: r.level,
    regionId: r.region_id,
    regionName: r.region_name,
    departmentOrgId: r.department_org_id,
    department: r.department,
    versionNo: r.version_no,
    state: r.state,
    effectiveYear: r.effective_year,
    name: r.name,
    legalBasisTitle: r.legal_basis_title,
    legalBasisNumber: r.legal_basis_number,
    payee: r.payee,
    frequency: r.frequency,
    unit: r.unit,
    fromYear: r.from_year,
    toYear: r.to_year,
    confidential: Boolean(r.confidential),
    meansTested: Boolean(r.means_tested),
    emergencyRelief: Boolean(r.emergency_relief),
    changeNote: r.change_note,
    revision: r.revision,
    editedBy: r.edited_by,
    editedAt: r.edited_at,
    publishedBy: r.published_by,
    publishedAt: r.published_at,
    returnReason: r.return_reason,
    tiers: tiers.filter((t) => t.version_id === r.id).map((t) => ({ name: t.name, standardFen: t.standard_fen })),
    exclusiveGroups: groups.filter((g) => g.version_id === r.id).map((g) => g.group_name),
  }));
}
