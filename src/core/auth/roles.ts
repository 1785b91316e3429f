/**
 * Roles of docs/architecture.md, with the separation of duties of 等保2.0 三级 (三权分立): the system administrator manages
 * users, regions and settings but neither reads the audit log nor touches money; the audit administrator reads
 * the audit log and changes nothing else; supervisors read and check. A user may hold several business roles,
 * never one of these together with admin or auditor.
 */
export const ROLES = [
  'admin',
  'auditor',
  'township_station',
  'township_finance',
  'department',
  'finance_section',
  'treasury',
  'bank',
  'supervisor',
] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  admin: '系统管理员',
  auditor: '审计管理员',
  township_station: '乡镇经办站所',
  township_finance: '乡镇财政所',
  department: '业务主管部门',
  finance_section: '财政局业务科室',
  treasury: '国库科',
  bank: '代发金融机构',
  supervisor: '监督检查',
};

/** Roles that must use a second factor outside demo mode (等保三级 §8.1.4.1(d)). */
export const ROLES_REQUIRING_TOTP: readonly Role[] = ['admin', 'finance_section', 'treasury'];

/** Roles whose holders cannot hold any other role. */
const EXCLUSIVE_ROLES: readonly Role[] = ['admin', 'auditor'];

export type RegionLevel = 'province' | 'city' | 'county' | 'township' | 'village';
export const REGION_LEVELS: readonly RegionLevel[] = ['province', 'city', 'county', 'township', 'village'];
export const REGION_LEVEL_LABELS: Record<RegionLevel, string> = {
  province: '省',
  city: '市',
  county: '县（区）',
  township: '乡镇（街道）',
  village: '村（社区）',
};

/** What is wrong with this combination of roles, or null. Messages are for the admin's form. */
export function roleCombinationError(roles: readonly Role[], orgKind: 'department' | 'bank' | null): string | null {
  if (roles.length === 0) return '请至少选择一个角色';
  for (const exclusive of EXCLUSIVE_ROLES) {
    if (roles.includes(exclusive) && roles.length > 1) {
      return `${ROLE_LABELS[exclusive]}不能兼任其他角色（三权分立）`;
    }
  }
  if (roles.includes('supervisor') && roles.length > 1) return '监督检查人员不能兼任业务角色';
  if (roles.includes('department') && orgKind !== 'department') return '业务主管部门用户必须指定所属主管部门';
  if (roles.includes('bank') && orgKind !== 'bank') return '代发金融机构用户必须指定所属金融机构';
  if (roles.includes('bank') && roles.length > 1) return '代发金融机构用户不能兼任财政或部门角色';
  if (orgKind !== null && !roles.includes('department') && !roles.includes('bank')) {
    return '只有业务主管部门和代发金融机构用户可以指定所属单位';
  }
  return null;
}

/** The person acting: built from the session for every request, passed to every command. */
export interface Actor {
  userId: number;
  username: string;
  displayName: string;
  roles: Role[];
  regionId: number;
  /** Materialised path of the user's region, "/1/4/17/": their scope is every region under it. */
  regionPath: string;
  regionName: string;
  /** The level of the user's region (a county's finance section, a township's station …). */
  regionLevel: RegionLevel;
  orgId: number | null;
  orgName: string | null;
  ip: string | null;
}

export function hasRole(actor: Actor, ...roles: Role[]): boolean {
  return roles.some((r) => actor.roles.includes(r));
}

export function requiresTotp(roles: readonly Role[]): boolean {
  return roles.some((r) => ROLES_REQUIRING_TOTP.includes(r));
}
