import type { FieldCrypto } from '../../core/crypto.ts';
import { businessDate } from '../../core/dates.ts';
import type { Conn } from '../../core/db.ts';
import { type Region, findRegion, inTreeOrder, regionLineage } from '../../core/regions.ts';
import { type NoticeChannel, inForceOn } from './model.ts';

export interface AgreementRow {
  id: number;
  county_id: number;
  bank_org_id: number;
  bank_name: string;
  branch: string;
  agreement_no: string;
  starts_on: string;
  ends_on: string;
  settlement_account_name: string;
  /** The settlement account number, encrypted (settlementAccountNumber); pages show its last four digits only. */
  settlement_account_enc: string;
  settlement_account_last4: string;
  free_sms: boolean;
  /** How the bank takes the notices it sends free by SMS (file | api), or null: none agreed (the log only). */
  notice_channel: string | null;
  free_withdrawal: boolean;
  /** Bumped by every change (edit, extension, termination): a form of an older version is refused. */
  version: number;
  /** How the bank was chosen (青海 二(一)1); empty on agreements recorded before it was asked for. */
  procurement_project_no: string | null;
  procurement_method: string | null;
  /** What the agreement sets the bank on each term of 重庆 二(五); empty on agreements recorded before. */
  term_payment: string | null;
  term_notice: string | null;
  term_withdrawal: string | null;
  term_data_security: string | null;
  data_security_pledged: boolean;
  /** The day from which a terminated agreement no longer applies, and why it was terminated. */
  terminated_on: string | null;
  termination_reason: string | null;
  townships: string[];
  township_ids: number[];
}

/** The county of a region (itself if it is one), or undefined above the county level. */
export async function countyOf(db: Conn, regionId: number): Promise<Region | undefined> {
  const region = await findRegion(db, regionId);
  return region ? (await regionLineage(db, region)).find((r) => r.level === 'county') : undefined;
}

const AGREEMENT_COLUMNS = ['id', 'county_id', 'bank_org_id', 'branch', 'agreement_no', 'starts_on', 'ends_on', 'settlement_account_name', 'settlement_account_enc', 'settlement_account_last4', 'free_sms', 'notice_channel', 'free_withdrawal', 'version', 'procurement_project_no', 'procurement_method', 'term_payment', 'term_notice', 'term_withdrawal', 'term_data_security', 'data_security_pledged', 'terminated_on', 'termination_reason'];

/**
 * The full settlement account number of an agreement, for the treasury's transfer to it (which must go to exactly
 * that account) and nothing else: every other page shows `****` and its last four digits.
 */
export function settlementAccountNumber(crypto: FieldCrypto, agreement: Pick<AgreementRow, 'settlement_account_enc'>): string {
  return crypto.decrypt(agreement.settlement_account_enc);
}

/** A county's agreements, latest first, each with the townships it serves. */
export async function listAgreements(db: Conn, countyId: number): Promise<AgreementRow[]> {
  return withTownships(db, await db('agreement_contract as a').join('core_org as o', 'o.id', 'a.bank_org_id').where('a.county_id', countyId).orderBy('a.starts_on', 'desc').select([...AGREEMENT_COLUMNS.map((c) => `a.${c}`), 'o.name as bank_name']));
}

/** One agreement with the townships it serves, or undefined. */
export async function findAgreement(db: Conn, id: number): Promise<AgreementRow | undefined> {
  const [row] = await withTownships(db, await db('agreement_contract as a').join('core_org as o', 'o.id', 'a.bank_org_id').where('a.id', id).select([...AGREEMENT_COLUMNS.map((c) => `a.${c}`), 'o.name as bank_name']));
  return row;
}

async function withTownships(db: Conn, rows: AgreementRow[]): Promise<AgreementRow[]> {
  const served: { agreement_id: number; township_id: number; name: string }[] = rows.length
    ? await db('agreement_township as s').join('core_region as t', 't.id', 's.township_id').whereIn('s.agreement_id', rows.map((r: { id: number }) => r.id)).orderBy('t.id').select('s.agreement_id', 's.township_id', 't.name')
    : [];
  return rows.map((r: AgreementRow) => {
    const mine = served.filter((s) => s.agreement_id === r.id);
    return { ...r, free_sms: Boolean(r.free_sms), free_withdrawal: Boolean(r.free_withdrawal), data_security_pledged: Boolean(r.data_security_pledged), townships: mine.map((s) => s.name), township_ids: mine.map((s) => s.township_id) };
  });
}

/**
 * The bank's agreement in force on a date that serves all these townships of the county, or the reason there is
 * none (in Chinese, for the page): a terminated agreement is in force no more from its termination day, and says so
 * with its reason.
 */
export async function agreementInForce(db: Conn, input: { countyId: number; bankOrgId: number; on: string; townshipIds: number[] }): Promise<AgreementRow | string> {
  const ofBank = (await listAgreements(db, input.countyId)).filter((a) => a.bank_org_id === input.bankOrgId);
  const agreements = ofBank.filter((a) => inForceOn(a, input.on));
  if (agreements.length === 0) {
    const terminated = ofBank.find((a) => a.terminated_on !== null && a.starts_on <= input.on && input.on <= a.ends_on);
    return terminated ? `该金融机构在本县的代发协议（${terminated.agreement_no}）已于 ${terminated.terminated_on} 终止（${terminated.termination_reason}），不能再下达新的发放批次` : '该金融机构在本县没有有效的代发协议';
  }
  const covering = agreements.find((a) => input.townshipIds.every((t) => a.township_ids.includes(t)));
  return covering ?? '该金融机构的代发协议没有覆盖本批次的全部乡镇';
}

/** The banks whose agreement in force today serves this township. */
export async function banksServing(db: Conn, townshipId: number): Promise<{ id: number; name: string }[]> {
  const township = await findRegion(db, townshipId);
  if (!township?.parent_id) return [];
  const today = businessDate();
  const banks = new Map<number, string>();
  for (const a of await listAgreements(db, township.parent_id)) {
    if (inForceOn(a, today) && a.township_ids.includes(townshipId)) banks.set(a.bank_org_id, a.bank_name);
  }
  return [...banks].map(([id, name]) => ({ id, name }));
}

/** What the finance section chooses from when it records an agreement: the county's banks and townships. */
export async function recordingChoices(db: Conn, countyId: number): Promise<{ banks: { id: number; name: string }[]; townships: { id: number; name: string }[] }> {
  return {
    banks: await db('core_org').where({ kind: 'bank', region_id: countyId }).orderBy('id').select('id', 'name'),
    townships: inTreeOrder<Region>(await db('core_region').where({ parent_id: countyId, level: 'township' }).select('id', 'parent_id', 'code', 'name')),
  };
}

/** The extensions of an agreement's term, oldest first. */
export async function listExtensions(db: Conn, agreementId: number): Promise<{ previous_ends_on: string; new_ends_on: string; document_no: string; recorded_at: string; recorded_by_name: string }[]> {
  return db('agreement_extension as e').leftJoin('core_user as u', 'u.id', 'e.recorded_by').where('e.agreement_id', agreementId).orderBy('e.id').select('e.previous_ends_on', 'e.new_ends_on', 'e.document_no', 'e.recorded_at', 'u.display_name as recorded_by_name');
}

/** The breaches recorded against an agreement's bank, latest first. */
export async function listBreaches(db: Conn, agreementId: number): Promise<{ occurred_on: string; description: string; measure: string; recorded_at: string; recorded_by_name: string }[]> {
  return db('agreement_breach as b').leftJoin('core_user as u', 'u.id', 'b.recorded_by').where('b.agreement_id', agreementId).orderBy([{ column: 'b.occurred_on', order: 'desc' }, { column: 'b.id', order: 'desc' }]).select('b.occurred_on', 'b.description', 'b.measure', 'b.recorded_at', 'u.display_name as recorded_by_name');
}

/**
 * The channel by which a bank takes the payment notices of a county on a day: that of its agreement in force there
 * that promises free SMS notices and names a channel (the most recent if several do), or null — then no channel is
 * agreed and the platform only writes the notices to its log.
 */
export async function noticeChannelOf(db: Conn, input: { countyId: number; bankOrgId: number; on: string }): Promise<{ agreementId: number; channel: NoticeChannel } | null> {
  const rows: { id: number; notice_channel: string; starts_on: string; ends_on: string; terminated_on: string | null }[] = await db('agreement_contract')
    .where({ county_id: input.countyId, bank_org_id: input.bankOrgId })
    .where('free_sms', true)
    .whereNotNull('notice_channel')
    .orderBy('starts_on', 'desc')
    .select('id', 'notice_channel', 'starts_on', 'ends_on', 'terminated_on');
  const agreement = rows.find((a) => inForceOn(a, input.on));
  return agreement ? { agreementId: agreement.id, channel: agreement.notice_channel as NoticeChannel } : null;
}
