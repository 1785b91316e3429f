import { nonCardReasonText } from './card-first.ts';
import { formatDateTime } from '../../core/dates.ts';
import { ACCOUNT_KIND_LABELS } from './account-number.ts';
import { RELATIONS, STATUSES } from './model.ts';
import { newAccountSummary } from './commands.ts';
import type { ChangeRequestRow, HitRow, ImportAccountRow, ImportRow, ImportWarningRow, PendingAccountRow, RegistryRow, SnapshotRow } from './queries.ts';
import { REFERENCE_KIND_LABELS, REFERENCE_SOURCES, type ReferenceKind, type ReferenceSource } from './reference.ts';
import type { AccountRow, PersonRow } from './repo.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { can } from './policy.ts';

/** Registry rows → what the pages show; ID, account and phone numbers only ever masked. */
export function presentPerson(p: PersonRow) {
  return {
    id: p.id,
    name: p.name,
    idMasked: p.id_masked,
    birthDate: p.birth_date,
    sex: p.sex === 'male' ? '男' : '女',
    village: p.village_name,
    relation: RELATIONS[p.relation as keyof typeof RELATIONS] ?? p.relation,
    phone: p.phone_masked ?? '',
    status: STATUSES[p.status],
    statusCode: p.status,
    statusNote: p.status_date ? `${p.status_date}（${p.status_source ?? ''}）` : '',
    householdId: p.household_id,
  };
}

/** A person of the registry list and of its export: their active payout account by its bank and last four digits. */
export function presentRegistryRow(p: RegistryRow) {
  return { ...presentPerson(p), account: p.account_last4 ? `${p.account_bank} ****${p.account_last4}` : '' };
}

const ACCOUNT_STATES = { pending: '待财政所确认', active: '使用中', closed: '已停用', refused: '财政所已退回' } as const;

/**
 * An account of the person's page. A first account confirmed by the township finance office was put in use when
 * confirmed; one refused was never in use (the office's note follows the reason).
 */
export function presentAccount(a: AccountRow) {
  const inUse = a.status === 'active' || a.status === 'closed';
  return {
    kind: ACCOUNT_KIND_LABELS[a.kind],
    nonCardReason: a.kind === 'sscard' ? '' : nonCardReasonText(a.non_card_reason ?? null, a.non_card_note ?? null),
    bank: a.bank_name,
    number: `****${a.account_last4}`,
    holder: a.holder_name,
    active: a.status === 'active',
    pending: a.status === 'pending',
    status: ACCOUNT_STATES[a.status],
    importId: a.import_id,
    warning: a.luhn_warning ? '卡号校验位不符，请核对' : '',
    openedAt: inUse ? formatDateTime(a.decided_at ?? a.opened_at) : '',
    closedAt: formatDateTime(a.status === 'refused' ? a.decided_at : a.closed_at),
    reason: [a.change_reason, a.decision_note && `财政所意见：${a.decision_note}`].filter(Boolean).join('；'),
  };
}

const REQUEST_STATES = { pending: '待财政所确认', confirmed: '已确认', rejected: '已退回' } as const;

/** A pending change with whether this actor may decide it, or why a colleague must (four-eyes). */
export function presentRequestFor(actor: Actor, r: ChangeRequestRow) {
  const decision = can(actor, 'decide_change', { requestedBy: r.requested_by, pending: r.state === 'pending' });
  return { ...presentRequest(r), decideAction: `/beneficiaries/changes/${r.id}/decide`, formId: `change-${r.id}`, canDecide: decision.ok, decideNote: decision.ok ? '' : decision.reason };
}

/**
 * A first account registered by the form, as a line of the same confirmation list as the changes, with whether
 * this actor may decide it, or why a colleague must (four-eyes).
 */
export function presentPendingAccountFor(actor: Actor, a: PendingAccountRow) {
  const decision = can(actor, 'decide_account', { openedBy: a.opened_by, pending: true, imported: false });
  return {
    personId: a.person_id,
    person: a.person_name,
    village: a.village_name,
    kind: '发放账户（新登记）',
    summary: `${newAccountSummary(a)}，户名 ${a.holder_name}`,
    reason: a.change_reason,
    requester: a.requester,
    requestedAt: formatDateTime(a.opened_at),
    decideAction: `/beneficiaries/accounts/${a.id}/decide`,
    formId: `account-${a.id}`,
    canDecide: decision.ok,
    decideNote: decision.ok ? '' : decision.reason,
  };
}

export function presentRequest(r: ChangeRequestRow) {
  return {
    id: r.id,
    personId: r.person_id,
    person: r.person_name,
    village: r.village_name,
    kind: r.kind === 'account' ? '发放账户' : '人员状态',
    summary: r.summary,
    reason: r.reason,
    requester: r.requester,
    requestedBy: r.requested_by,
    requestedAt: formatDateTime(r.requested_at),
    state: REQUEST_STATES[r.state],
    pending: r.state === 'pending',
    note: r.decision_note ?? '',
  };
}

const IMPORT_ACCOUNT_STATES = { pending: '待财政所确认', confirmed: '财政所已确认', refused: '财政所已退回' } as const;

export function presentImport(i: ImportRow) {
  return {
    id: i.id,
    fileName: i.file_name,
    township: i.township_name,
    format: i.format === 'csv' ? 'CSV' : 'Excel',
    rows: i.rows,
    created: i.created,
    updated: i.updated,
    unchanged: i.unchanged,
    accountRequests: i.account_requests,
    luhnWarnings: i.luhn_warnings,
    warnings: i.warnings,
    newAccounts: i.new_accounts,
    accountsState: i.accounts_state ? IMPORT_ACCOUNT_STATES[i.accounts_state] : '',
    accountsPending: i.accounts_state === 'pending',
    accountsDecided: i.accounts_decided_at ? `${i.accounts_decided_by_name ?? ''}，${formatDateTime(i.accounts_decided_at)}` : '',
    accountsNote: i.accounts_note ?? '',
    version: i.version,
    at: formatDateTime(i.imported_at),
    by: i.imported_by_name,
  };
}

/** A warning an import's row drew, as a line of the import's warnings page. */
export function presentImportWarning(w: ImportWarningRow) {
  return { row: w.row_number, field: w.field, message: w.message };
}

/** An import's new accounts as the confirmation page shows them: whether this actor may decide them, or why a colleague must (four-eyes). */
export function presentImportFor(actor: Actor, i: ImportRow) {
  const decision = can(actor, 'decide_import_accounts', { importedBy: i.imported_by, pending: i.accounts_state === 'pending' });
  return { ...presentImport(i), canDecide: decision.ok, decideNote: !decision.ok && decision.kind === 'four_eyes' ? decision.reason : '' };
}

export function presentImportAccount(a: ImportAccountRow) {
  return {
    personId: a.person_id,
    person: a.person_name,
    idMasked: a.id_masked,
    village: a.village_name,
    kind: ACCOUNT_KIND_LABELS[a.kind],
    bank: a.bank_name,
    number: `****${a.account_last4}`,
    holder: a.holder_name,
    warning: a.luhn_warning ? '卡号校验位不符，请核对' : '',
    status: ACCOUNT_STATES[a.status],
  };
}

export function presentSnapshot(s: SnapshotRow) {
  return {
    id: s.id,
    source: REFERENCE_SOURCES[s.source as ReferenceSource]?.label ?? s.source,
    takenOn: s.taken_on,
    fileName: s.file_name,
    rows: s.rows,
    matched: s.matched,
    region: s.region_name,
    loadedAt: formatDateTime(s.loaded_at),
    loadedBy: s.loaded_by_name ?? '',
  };
}

export function presentHit(h: HitRow) {
  const source = REFERENCE_SOURCES[h.source as ReferenceSource];
  return {
    personId: h.person_id,
    person: h.person_name,
    village: h.village_name,
    idMasked: h.id_masked,
    personStatus: STATUSES[h.person_status as keyof typeof STATUSES] ?? h.person_status,
    kind: REFERENCE_KIND_LABELS[h.kind as ReferenceKind] ?? h.kind,
    eventDate: h.event_date ?? '',
    dateLabel: source?.dateColumn ?? '日期',
    detail: h.detail,
    source: source?.label ?? h.source,
    takenOn: h.taken_on,
    snapshotId: h.snapshot_id,
    current: h.current,
    settled: h.settled ?? false,
  };
}
