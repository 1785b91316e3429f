import { API_PURPOSES, type ApiClient } from '../../core/api.ts';
import { ALLOWED, type Decision, refused } from '../../core/authz.ts';
import { type Actor, type Role, hasRole } from '../../core/auth/roles.ts';
import { isPathInScope } from '../../core/regions.ts';

/**
 * Who reads the supervision pages: the supervisors (监督检查), in their region's scope. The audit administrator is left
 * out on purpose (三权分立: it reads the audit log and nothing else), as are the roles that do the work the pages
 * supervise.
 */
export const SUPERVISION_READERS: readonly Role[] = ['supervisor'];

/** What each action is decided on. */
interface SupervisionResources {
  /** The overview (监督工作台): every module's figures in the actor's scope. */
  view_overview: null;
  /** The deadline monitor (限时办理监控) and its timeliness table. */
  view_deadlines: null;
  /** The monitor's table as a workbook. */
  export_deadlines: null;
  /** The complete exports' page (完整导出): the list of the actor's scope and the form. */
  view_exports: null;
  /** Asking for a complete export, masked or with ID numbers in clear. */
  request_export: { inClear: boolean };
  /** One export's page (progress, manifest). */
  view_export: ExportResource;
  /** Its zip. */
  download_export: ExportResource;
  /** The reports (发放统计报表, /supervision/reports): figures by policy, department, township, village and period. */
  view_reports: null;
  /** A report as a workbook. */
  export_reports: null;
  /** Performance goals and budget execution (绩效目标和预算执行监控, /supervision/performance): the report readers. */
  view_performance: null;
  /** Spot checks (抽查): the list and the draw's form, drawing a sample. */
  view_samples: null;
  draw_sample: null;
  /** One sample's page (its items, the re-check of its draw), and recording a visit to one of its items. */
  view_sample: { region_path: string };
  record_visit: { region_path: string };
  /** The findings (问题线索): the list of those the actor sees or answers for, one finding, answering, closing. */
  view_findings: null;
  view_finding: FindingResource;
  /** Screening (大数据比对筛查): the runs' page and queuing a run over the actor's region; one run's page. */
  view_screenings: null;
  run_screening: null;
  view_screening: { region_path: string };
  answer_finding: FindingResource;
  close_finding: FindingResource;
}

/** What a finding's decisions look at: where it is (the responsible township's path), whose department, its state. */
export interface FindingResource {
  region_path: string;
  department_org_id: number | null;
  state: string;
}

/**
 * Who answers a finding (整改答复): the responsible township's station and finance office (the township the finding
 * names, or above it for a county-level finding), and the department of the round's policy.
 */
export const FINDING_ANSWERERS: readonly Role[] = ['township_station', 'township_finance', 'department'];

function answersFor(actor: Actor, f: FindingResource): boolean {
  if (hasRole(actor, 'township_station', 'township_finance') && actor.regionLevel === 'township' && isPathInScope(actor, f.region_path)) return true;
  return hasRole(actor, 'department') && f.department_org_id !== null && actor.orgId === f.department_org_id;
}

const inSupervisorScope = (actor: Actor, path: string): Decision =>
  hasRole(actor, ...SUPERVISION_READERS) && isPathInScope(actor, path) ? ALLOWED : refused('role', '只有本辖区的监督检查人员可以办理该事项');

/** What a complete export's decisions look at. */
export interface ExportResource {
  requested_by: number;
  region_path: string;
  in_clear: boolean | number;
}

/**
 * Who makes the complete export (完整导出, Chongqing 十一) "for the finance and audit departments": the finance
 * section (财政局业务科室), which answers for the money and hands the files to the audit office, and the supervisors
 * (监督检查), who check the work of everyone else. The audit administrator (`auditor`) is not the audit office: under
 * 三权分立 it reads the audit log and nothing else (docs/security.md), so it gets no business data here either.
 */
export const EXPORT_REQUESTERS: readonly Role[] = ['finance_section', 'supervisor'];

/**
 * Who may ask for ID numbers in clear: the finance section only. It already handles full numbers in its work (the
 * payees' files, the corrections), and a release needs its second factor (ROLES_REQUIRING_TOTP); supervisors check
 * and need no more than the staff mask. A clear export is audited with its reason, and only its requester downloads it.
 */
export const CLEAR_EXPORTERS: readonly Role[] = ['finance_section'];
export type SupervisionAction = keyof SupervisionResources;

const onlySupervisors = (actor: Actor): Decision => (hasRole(actor, ...SUPERVISION_READERS) ? ALLOWED : refused('role', '只有监督检查人员可以查看监督工作台和限时办理监控'));

const exporters = (actor: Actor): Decision => (hasRole(actor, ...EXPORT_REQUESTERS) ? ALLOWED : refused('role', '只有财政局业务科室和监督检查人员可以办理完整导出'));

/**
 * Who reads the reports: the supervisors, and the county finance section (财政部门业务科室), which releases every round
 * and answers for the funds' use — the reports add up, per policy, department and place, figures it sees round by
 * round already (each round's ledger). Both read their region's scope only. The departments, townships, treasury and
 * bank are left out: the reports compare departments and places with each other.
 */
export const REPORT_READERS: readonly Role[] = ['supervisor', 'finance_section'];
const reportReaders = (actor: Actor): Decision => (hasRole(actor, ...REPORT_READERS) ? ALLOWED : refused('role', '只有监督检查人员和财政部门业务科室可以查看发放统计报表'));

const RULES: { [A in SupervisionAction]: (actor: Actor, resource: SupervisionResources[A]) => Decision } = {
  view_overview: onlySupervisors,
  view_deadlines: onlySupervisors,
  export_deadlines: onlySupervisors,
  view_exports: exporters,
  view_reports: reportReaders,
  export_reports: reportReaders,
  view_performance: reportReaders,
  request_export: (actor, { inClear }) => {
    const role = exporters(actor);
    if (!role.ok || !inClear) return role;
    return hasRole(actor, ...CLEAR_EXPORTERS) ? ALLOWED : refused('role', '只有财政局业务科室可以导出明文身份证号码；请选择脱敏导出');
  },
  view_samples: onlySupervisors,
  draw_sample: onlySupervisors,
  view_screenings: onlySupervisors,
  run_screening: onlySupervisors,
  view_screening: (actor, s) => inSupervisorScope(actor, s.region_path),
  view_sample: (actor, s) => inSupervisorScope(actor, s.region_path),
  record_visit: (actor, s) => inSupervisorScope(actor, s.region_path),
  view_findings: (actor) => (hasRole(actor, ...SUPERVISION_READERS, ...FINDING_ANSWERERS) ? ALLOWED : refused('role', '只有监督检查人员和问题线索的责任单位可以查看问题线索')),
  view_finding: (actor, f) => (inSupervisorScope(actor, f.region_path).ok || answersFor(actor, f) ? ALLOWED : refused('role', '该问题线索不在您的管辖范围内')),
  answer_finding: (actor, f) => {
    if (!answersFor(actor, f)) return refused('role', '只有责任乡镇（经办站所、财政所）或责任部门可以答复该问题线索');
    return f.state === 'open' ? ALLOWED : refused('state', '该问题线索已答复或已办结，不能再次答复');
  },
  close_finding: (actor, f) => {
    const scope = inSupervisorScope(actor, f.region_path);
    if (!scope.ok) return refused('role', '只有本辖区的监督检查人员可以办结问题线索');
    return f.state === 'answered' ? ALLOWED : refused('state', f.state === 'closed' ? '该问题线索已办结' : '责任单位答复后才能办结');
  },
  view_export: (actor, e) => (exporters(actor).ok && isPathInScope(actor, e.region_path) ? ALLOWED : refused('role', '该导出不在您的管辖范围内')),
  download_export: (actor, e) => {
    if (!exporters(actor).ok || !isPathInScope(actor, e.region_path)) return refused('role', '该导出不在您的管辖范围内');
    if (e.in_clear && !(hasRole(actor, ...CLEAR_EXPORTERS) && actor.userId === e.requested_by)) return refused('role', '含明文身份证号码的导出只能由申请人下载');
    return ALLOWED;
  },
};

/** Who may do what in the supervision module — the one place that decides, used by the routes and the home page. */
export function can<A extends SupervisionAction>(actor: Actor, action: A, resource: SupervisionResources[A]): Decision {
  return RULES[action](actor, resource);
}

/**
 * What a machine may read through the API (core/api.ts): the upper level's token (purpose 'platform', 上级平台) reads
 * the reports of its region, as a supervisor there reads them; no other purpose reads anything of this module.
 */
export function canApiClient(client: Pick<ApiClient, 'purpose'>, action: 'view_reports'): Decision {
  if (action === 'view_reports' && client.purpose === 'platform') return ALLOWED;
  return refused('role', `令牌用途须为“${API_PURPOSES.platform}”才能读取发放统计`);
}
