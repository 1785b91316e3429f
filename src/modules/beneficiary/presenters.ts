import { formatDateTime } from '../../core/dates.ts';
import { ACCOUNT_KIND_LABELS } from './account-number.ts';
import { RELATIONS, STATUSES } from './model.ts';
import type { ChangeRequestRow, HitRow, ImportRow, RegistryRow, SnapshotRow } from './queries.ts';
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

export function presentAccount(a: AccountRow) {
  return {
    kind: ACCOUNT_KIND_LABELS[a.kind],
    bank: a.bank_name,
    number: `****${a.account_last4}`,
    holder: a.holder_name,
    active: a.status === 'active',
    status: a.status === 'active' ? '使用中' : '已停用',
    warning: a.luhn_warning ? '卡号校验位不符，请核对' : '',
    openedAt: formatDateTime(a.opened_at),
    closedAt: formatDateTime(a.closed_at),
    reason: a.change_reason ?? '',
  };
}

const REQUEST_STATES = { pending: '待财政所确认', confirmed: '已确认', rejected: '已退回' } as const;

/** A pending change with whether this actor may decide it, or why a colleague must (four-eyes). */
export function presentRequestFor(actor: Actor, r: ChangeRequestRow) {
  const decision = can(actor, 'decide_change', { requestedBy: r.requested_by, pending: r.state === 'pending' });
  return { ...presentRequest(r), canDecide: decision.ok, decideNote: decision.ok ? '' : decision.reason };
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

export function presentImport(i: ImportRow) {
  return {
    fileName: i.file_name,
    format: i.format === 'csv' ? 'CSV' : 'Excel',
    rows: i.rows,
    created: i.created,
    updated: i.updated,
    unchanged: i.unchanged,
    accountRequests: i.account_requests,
    luhnWarnings: i.luhn_warnings,
    at: formatDateTime(i.imported_at),
    by: i.imported_by_name,
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
  };
}
