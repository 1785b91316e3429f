import type { FieldCrypto } from '../../core/crypto.ts';
import { parseSignature, verifySignature } from '../../core/signing.ts';
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
  /** The bank must sign its result files and answers with the key on this agreement (agreement_bank_key). */
  require_bank_signature: boolean;
  /** The files given the bank are encrypted for its key (docs/signature-format.md). */
  encrypt_files: boolean;
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

const AGREEMENT_COLUMNS = ['id', 'county_id', 'bank_org_id', 'branch', 'agreement_no', 'starts_on', 'ends_on', 'settlement_account_name', 'settlement_account_enc', 'settlement_account_last4', 'free_sms', 'notice_channel', 'free_withdrawal', 'version', 'procurement_project_no', 'procurement_method', 'term_payment', 'term_notice', 'term_withdrawal', 'term_data_security', 'data_security_pledged', 'require_bank_signature', 'encrypt_files', 'terminated_on', 'termination_reason'];

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
    return { ...r, free_sms: Boolean(r.free_sms), free_withdrawal: Boolean(r.free_withdrawal), data_security_pledged: Boolean(r.data_security_pledged), require_bank_signature: Boolean(r.require_bank_signature), encrypt_files: Boolean(r.encrypt_files), townships: mine.map((s) => s.name), township_ids: mine.map((s) => s.township_id) };
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

/** A bank's SM2 public key recorded on an agreement. */
export interface BankKey {
  fingerprint: string;
  /** The uncompressed point, 04 ‖ x ‖ y, hex. */
  publicKey: string;
  recordedAt: string;
  /** Set once replaced: what was accepted under it can still be checked with it. */
  retiredAt: string | null;
}

/** The bank keys recorded on an agreement, the one in use first, then newest first. */
export async function bankKeysOf(db: Conn, agreementId: number): Promise<BankKey[]> {
  const rows: { fingerprint: string; public_key: string; recorded_at: string; retired_at: string | null }[] = await db('agreement_bank_key').where({ agreement_id: agreementId }).orderByRaw('in_use is null').orderBy('id', 'desc').select('fingerprint', 'public_key', 'recorded_at', 'retired_at');
  return rows.map((r) => ({ fingerprint: r.fingerprint, publicKey: r.public_key, recordedAt: new Date(r.recorded_at).toISOString(), retiredAt: r.retired_at ? new Date(r.retired_at).toISOString() : null }));
}

/** What a bank's agreement in force on a day says of signatures and encryption, with the bank's key in use. */
export interface BankKeyTerms {
  agreementId: number;
  agreementNo: string;
  requireSignature: boolean;
  encryptFiles: boolean;
  key: { fingerprint: string; publicKey: string } | null;
}

/**
 * The signature and encryption terms of the bank's agreement in force in a county on a day (the most recent if
 * several are), or null when none is in force: then nothing is required and nothing encrypted.
 */
export async function bankKeyTerms(db: Conn, input: { countyId: number; bankOrgId: number; on: string }): Promise<BankKeyTerms | null> {
  const rows: { id: number; agreement_no: string; require_bank_signature: boolean | number; encrypt_files: boolean | number; starts_on: string; ends_on: string; terminated_on: string | null }[] = await db('agreement_contract')
    .where({ county_id: input.countyId, bank_org_id: input.bankOrgId })
    .orderBy('starts_on', 'desc')
    .select('id', 'agreement_no', 'require_bank_signature', 'encrypt_files', 'starts_on', 'ends_on', 'terminated_on');
  const agreement = rows.find((a) => inForceOn(a, input.on));
  if (!agreement) return null;
  const key: { fingerprint: string; public_key: string } | undefined = await db('agreement_bank_key').where({ agreement_id: agreement.id, in_use: 1 }).first('fingerprint', 'public_key');
  return {
    agreementId: agreement.id,
    agreementNo: agreement.agreement_no,
    requireSignature: Boolean(agreement.require_bank_signature),
    encryptFiles: Boolean(agreement.encrypt_files),
    key: key ? { fingerprint: key.fingerprint, publicKey: key.public_key } : null,
  };
}

/** The bank's public key the files given it are encrypted for, or null: its agreement does not ask for it. */
export function encryptionKeyOf(terms: BankKeyTerms | null): string | null {
  return terms?.encryptFiles && terms.key ? terms.key.publicKey : null;
}

/**
 * The bank's signature on a file or a request body it sends, checked against the key on its agreement: required
 * when the agreement says so; a signature given unasked is checked too (a wrong one is never let pass). Returns
 * what to keep with the upload (null: not signed), or the refusal in Chinese. `what` names the upload (回盘文件 …).
 */
export function checkBankSignature(terms: BankKeyTerms | null, data: Buffer, signature: Buffer | string | null, what: string): { ok: true; signed: { signature: string; key: string } | null } | { ok: false; message: string } {
  const given = signature === null || signature.length === 0 ? null : parseSignature(signature);
  if (signature !== null && signature.length > 0 && !given) return { ok: false, message: '签名文件的格式不对：应为平台签名格式的 .sig 文件（含 signature= 行）、十六进制或 DER 编码的 SM2 签名' };
  if (!terms?.key) return terms?.requireSignature ? { ok: false, message: `代发协议（${terms.agreementNo}）要求签名，但尚未登记银行的签名公钥：请联系县财政局登记后再上传` } : { ok: true, signed: null };
  if (!given) return terms.requireSignature ? { ok: false, message: `代发协议（${terms.agreementNo}）要求${what}附银行的 SM2 签名：请同时提供签名` } : { ok: true, signed: null };
  const key = terms.key;
  if (given.key && given.key !== key.fingerprint) return { ok: false, message: `签名所用公钥（指纹 ${given.key.slice(0, 16)}…）不是代发协议（${terms.agreementNo}）登记的银行公钥（指纹 ${key.fingerprint.slice(0, 16)}…）` };
  if (!verifySignature(data, given.signature, key.publicKey)) return { ok: false, message: `签名与${what}不符，或不是用代发协议（${terms.agreementNo}）登记的银行公钥（指纹 ${key.fingerprint.slice(0, 16)}…）签的：${what}可能被改动过，未导入` };
  return { ok: true, signed: { signature: given.signature, key: key.fingerprint } };
}
