/**
 * Roles of docs/architecture.md, with the separation of duties of 等保2.0 三级 (三权分立): the system administrator manages
 * users, regions and settings but neither reads the audit log nor touches money; the audit administrator reads
 * the audit log and changes nothing else; supervisors read and check. A user may hold several business roles,
 * except the pairs of INCOMPATIBLE_ROLES.
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

/**
 * Roles that must use a second factor (等保三级 §8.1.4.1(d)): the administrator and the auditor (三员), and the
 * roles that release and pay money. Only demo mode (`ykt demo`) asks none; no setting of `ykt serve` turns it off.
 */
export const ROLES_REQUIRING_TOTP: readonly Role[] = ['admin', 'auditor', 'finance_section', 'treasury'];

/** The 三员 roles: their accounts' password resets by an administrator are shown to the auditors. */
export const THREE_OFFICER_ROLES: readonly Role[] = ['admin', 'auditor'];

/** Every role but the administrator's and the auditor's. */
const BUSINESS_ROLES: readonly Role[] = ['township_station', 'township_finance', 'department', 'finance_section', 'treasury', 'bank', 'supervisor'];

/** Two roles that one account may never hold together, and why (shown on the user form). */
export interface IncompatibleRoles {
  roles: readonly [Role, Role];
  reason: string;
}

const pairsWith = (role: Role, others: readonly Role[], reason: string): IncompatibleRoles[] => others.map((other) => ({ roles: [role, other], reason }));

/**
 * The incompatible pairs (不相容岗位分离): enforced when an administrator creates or edits a user. Four-eyes rules in
 * the modules' `can()` keep apart the people of one step and the next; this table keeps apart the roles, so that no
 * one account can, say, release a round (财政局业务科室) and pay it (国库科) alone.
 */
export const INCOMPATIBLE_ROLES: readonly IncompatibleRoles[] = [
  { roles: ['admin', 'auditor'], reason: '三权分立：两者相互监督' },
  ...pairsWith('admin', BUSINESS_ROLES, '三权分立：系统管理员不办理业务、不接触资金'),
  ...pairsWith('auditor', BUSINESS_ROLES, '三权分立：审计管理员只查阅审计日志'),
  { roles: ['finance_section', 'treasury'], reason: '审核下达资金与拨付资金须由不同的人办理' },
  { roles: ['township_station', 'township_finance'], reason: '编制清册与复核比对须由不同的人办理' },
  ...pairsWith('supervisor', ['township_station', 'township_finance', 'department', 'finance_section', 'treasury', 'bank'], '监督检查人员不办理业务'),
  ...pairsWith('bank', ['township_station', 'township_finance', 'department', 'finance_section', 'treasury'], '代发金融机构用户只办理代发业务'),
];

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
  const pair = INCOMPATIBLE_ROLES.find((p) => roles.includes(p.roles[0]) && roles.includes(p.roles[1]));
  if (pair) return `${ROLE_LABELS[pair.roles[0]]}与${ROLE_LABELS[pair.roles[1]]}不能由同一账户兼任（${pair.reason}）`;
  if (roles.includes('department') && orgKind !== 'department') return '业务主管部门用户必须指定所属主管部门';
  if (roles.includes('bank') && orgKind !== 'bank') return '代发金融机构用户必须指定所属金融机构';
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
