import type { Actor } from '../../core/auth/roles.ts';
import { formatDateTime } from '../../core/dates.ts';
import { formatYuan } from '../../core/money.ts';
import { FREQUENCY_LABELS, LEVEL_LABELS, PAYEE_LABELS, type PolicyListDocument, formatTierText, standardText, yearsText } from './files.ts';
import { can } from './policy.ts';
import type { AllocationRow, PolicyVersion } from './repo.ts';

const STATE_LABELS = { draft: '待发布', returned: '已退回', published: '已发布' } as const;

/** One version as the list and detail pages show it. */
/**
 * A version with the review step this actor may take on it (publish or return), or why a colleague must: the
 * page shows the buttons only when `can` allows them.
 */
export function presentVersionFor(actor: Actor, v: PolicyVersion) {
  const review = v.state === 'draft' ? can(actor, 'publish', v) : null;
  return { ...presentVersion(v), canReview: review?.ok === true, reviewNote: review && !review.ok && review.kind === 'four_eyes' ? review.reason : '' };
}

export function presentVersion(v: PolicyVersion) {
  return {
    id: v.id,
    itemId: v.itemId,
    code: v.code,
    name: v.name,
    level: LEVEL_LABELS[v.level],
    setBy: v.regionName ?? '中央',
    department: v.department,
    basis: `《${v.legalBasisTitle}》（${v.legalBasisNumber}）`,
    payee: PAYEE_LABELS[v.payee],
    frequency: FREQUENCY_LABELS[v.frequency],
    standard: standardText(v.tiers, v.unit, '；'),
    years: yearsText(v.fromYear, v.toYear),
    effectiveYear: v.effectiveYear,
    versionNo: v.versionNo,
    state: v.state,
    stateLabel: STATE_LABELS[v.state],
    confidential: v.confidential,
    meansTested: v.meansTested,
    emergencyRelief: v.emergencyRelief,
    exclusive: v.exclusiveGroups.join('、'),
    changeNote: v.changeNote ?? '',
    returnReason: v.returnReason ?? '',
    revision: v.revision,
    editedAt: formatDateTime(v.editedAt),
    publishedAt: formatDateTime(v.publishedAt),
  };
}

/** Group a sorted list by department for the list pages, numbering the lines through all groups. */
export function groupByDepartment<T extends { department: string }>(rows: T[]): { department: string; rows: (T & { no: number })[] }[] {
  const groups: { department: string; rows: (T & { no: number })[] }[] = [];
  rows.forEach((row, i) => {
    const last = groups.at(-1);
    const numbered = { ...row, no: i + 1 };
    if (last && last.department === row.department) last.rows.push(numbered);
    else groups.push({ department: row.department, rows: [numbered] });
  });
  return groups;
}

/** The values of the edit form, from a version (or nothing for a new policy). */
export function formValues(v: PolicyVersion | null, nextYear: number) {
  if (!v) return { payee: 'person', frequency: 'yearly', fromYear: nextYear, effectiveYear: nextYear, tiers: '标准:' };
  return {
    code: v.code,
    name: v.name,
    legalBasisTitle: v.legalBasisTitle,
    legalBasisNumber: v.legalBasisNumber,
    payee: v.payee,
    frequency: v.frequency,
    unit: v.unit,
    tiers: formatTierText(v.tiers),
    fromYear: v.fromYear,
    toYear: v.toYear ?? '',
    effectiveYear: v.state === 'published' ? Math.max(v.effectiveYear, nextYear) : v.effectiveYear,
    confidential: v.confidential,
    meansTested: v.meansTested,
    emergencyRelief: v.emergencyRelief,
    exclusiveGroups: v.exclusiveGroups.join(';'),
    changeNote: v.state === 'published' ? '' : (v.changeNote ?? ''),
    revision: v.state === 'published' ? '' : v.revision,
  };
}

export function presentAllocation(a: AllocationRow) {
  return { year: a.year, amount: formatYuan(a.amountFen), docNumber: a.docNumber, docTitle: a.docTitle, docDate: a.docDate };
}

/** The published list as the PDF and Excel writers take it. */
export function listDocument(county: string, year: number, generatedOn: string, versions: PolicyVersion[]): PolicyListDocument {
  return {
    county,
    year,
    generatedOn,
    lines: versions.map((v) => ({
      code: v.code,
      name: v.name,
      level: v.level,
      settingRegion: v.regionName ?? '中央',
      department: v.department,
      legalBasisTitle: v.legalBasisTitle,
      legalBasisNumber: v.legalBasisNumber,
      payee: v.payee,
      frequency: v.frequency,
      unit: v.unit,
      tiers: v.tiers,
      fromYear: v.fromYear,
      toYear: v.toYear,
      exclusiveGroup: v.exclusiveGroups.length ? v.exclusiveGroups.join(';') : null,
      meansTested: v.meansTested,
      versionNo: v.versionNo,
    })),
  };
}
