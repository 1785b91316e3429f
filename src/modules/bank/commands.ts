import type { ApiClient } from '../../core/api.ts';
import { apiAuditor } from '../../core/api.ts';
import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { sm3Hex } from '../../core/crypto.ts';
import { type Signature, fingerprintOf, sealFor, signFile } from '../../core/signing.ts';
import { businessDate } from '../../core/dates.ts';
import { inTransaction } from '../../core/db.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { type RoundRow, releasedAt, releasedLines, roundsOfBank } from '../batch/index.ts';
import { accountNumbersById } from '../beneficiary/index.ts';
import { versionsById } from '../policy/index.ts';
import { type BankKeyTerms, agreementInForce, bankKeyTerms, checkBankSignature, encryptionKeyOf } from '../agreement/index.ts';
import { type PayoutDocument, PAYOUT_FORMATS, lineRef } from './payout.ts';
import { can } from './policy.ts';
import { supplementsOf } from './queries.ts';
import { supplementFetched } from './failures.ts';

/**
 * The agent bank's side of a released round: its users (or its API token) fetch the payout file. The file is the
 * same bytes at every download (it is dated by the release, not the download), so its SM3 checksum can be
 * fetched beside it; every download is audited with that checksum.
 */
export type Fetcher = { actor: Actor; client?: never } | { client: ApiClient; actor?: never };

export function bankOf(who: Fetcher): number {
  if (who.client) {
    if (who.client.purpose !== 'bank' || who.client.orgId === null) throw new ForbiddenError('该接口令牌不是代发金融机构的令牌');
    return who.client.orgId;
  }
  const decision = can(who.actor, 'bank_files', null);
  if (!decision.ok) throw new ForbiddenError(decision.reason);
  return who.actor.orgId!;
}

/** The rounds released to the fetcher's bank. */
export async function bankRounds(core: Core, who: Fetcher): Promise<RoundRow[]> {
  return roundsOfBank(core.db, bankOf(who));
}

export interface PayoutFile {
  fileName: string;
  contentType: string;
  body: Buffer;
  sm3: string;
  /** The deployment's SM2 signature of the body (core/signing.ts). */
  signature: Signature;
  lines: number;
  totalFen: number;
  /** The bank's public key the file goes to it encrypted for (its agreement asks for it), or null. */
  encryptFor: string | null;
}

/**
 * The signature and encryption terms a round's files and answers go by: those of its bank's agreement in force on
 * the day the round was released (the agreement its payout file names).
 */
export async function roundBankTerms(core: Core, round: RoundRow, bankOrgId: number): Promise<BankKeyTerms | null> {
  const released = (await releasedAt(core.db, round.id)) ?? round.created_at;
  return bankKeyTerms(core.db, { countyId: round.county_id, bankOrgId, on: businessDate(new Date(released)) });
}

/**
 * The bank's signature on what it sends, checked against the key on its agreement (agreement module): the refusal
 * is a SignatureRefusal, which the page shows at the signature's field and the API at its header.
 */
export function signedBy(terms: BankKeyTerms | null, data: Buffer, signature: Buffer | string | null, what: string): { signature: string; key: string } | null {
  const checked = checkBankSignature(terms, data, signature, what);
  if (!checked.ok) throw new SignatureRefusal(checked.message);
  return checked.signed;
}

/** A file or request refused for its signature (missing, malformed, or not the agreement's bank key's). */
export class SignatureRefusal extends ValidationError {
  constructor(message: string) {
    super({ signature: message });
  }
}

/**
 * The signature and encryption terms of what a bank sends or is given today outside a round (notice confirmations,
 * card requests): those of its agreement in force today in the county (by default the bank's own county).
 */
export async function bankTermsToday(core: Core, bankOrgId: number, countyId?: number): Promise<BankKeyTerms | null> {
  const county = countyId ?? ((await core.db('core_org').where({ id: bankOrgId }).first('region_id')) as { region_id: number } | undefined)?.region_id;
  return county === undefined ? null : bankKeyTerms(core.db, { countyId: county, bankOrgId, on: businessDate() });
}

/**
 * A file as it goes to the bank: itself, or, when the bank's agreement asks for it, sealed for the bank's key (a
 * 数字信封 `<name>.enc`, docs/signature-format.md). The signature and the SM3 are those of the file itself.
 */
export function delivered(file: { fileName: string; contentType: string; body: Buffer }, encryptFor: string | null): { fileName: string; contentType: string; body: Buffer; encryptedFor: string | null } {
  if (!encryptFor) return { ...file, encryptedFor: null };
  return { fileName: `${file.fileName}.enc`, contentType: 'application/octet-stream', body: sealFor(encryptFor, file.body), encryptedFor: fingerprintOf(encryptFor) };
}

/** A payout file's download headers: its SM3, and the deployment's SM2 signature with its key's fingerprint. */
export const payoutHeaders = (file: PayoutFile) => ({ 'X-Checksum-SM3': file.sm3, 'X-Signature-SM2': file.signature.signature, 'X-Signature-Key': file.signature.key });

/**
 * The payout file of a released round, or of one of its supplementary payouts (补充代发文件 n: corrected lines sent
 * again, their references carrying the attempt). Dated by the release (or the supplement), so every download is
 * the same bytes. `delivered`: the file itself goes to the bank (not only its checksum).
 */
export async function payoutFile(core: Core, who: Fetcher, roundId: number, formatCode: string, supplementSeq: number | null = null, options: { delivered: boolean } = { delivered: true }): Promise<PayoutFile> {
  const format = PAYOUT_FORMATS.find((f) => f.code === formatCode);
  if (!format) throw new ValidationError({ format: `格式应为${PAYOUT_FORMATS.map((f) => f.code).join('、')}之一` });
  const bankOrgId = bankOf(who);
  const round = (await roundsOfBank(core.db, bankOrgId)).find((r) => r.id === roundId);
  if (!round) throw new NotFoundError('没有下达给本机构的该发放批次');
  const released = (await releasedAt(core.db, roundId)) ?? round.created_at;
  const [version] = await versionsById(core.db, [round.policy_version_id]);
  // The agreement in force at the release: the file names it, and its terms say whether the file is sealed.
  const agreedOn = { countyId: round.county_id, bankOrgId, on: businessDate(new Date(released)) };
  const agreement = await agreementInForce(core.db, { ...agreedOn, townshipIds: [] });
  const encryptFor = encryptionKeyOf(await bankKeyTerms(core.db, agreedOn));
  // The file's lines, their account numbers filled in once decrypted (200,000 objects made once, not twice).
  let lines: (PayoutDocument['lines'][number] & { accountId: number | null })[] = [];
  const accounts = new Map<number, string>();
  const accountIdsOf = (of: readonly { accountId: number | null }[]) => {
    const ids: number[] = [];
    for (const l of of) if (l.accountId !== null) ids.push(l.accountId);
    return ids;
  };
  let generatedAt = released;
  let title = round.title;
  let supplementId: number | null = null;
  if (supplementSeq === null) {
    // Each chunk's accounts are read (on another connection) and decrypted while the next chunk of lines is read.
    let accountsRead: Promise<unknown> = Promise.resolve();
    for await (const chunk of releasedLines(core.db, roundId)) {
      const added = chunk.map((l) => ({ ref: lineRef(roundId, l.line_id), name: l.holder_name ?? l.person_name, account: '', amountFen: l.amount_fen, accountId: l.account_id }));
      for (const l of added) lines.push(l);
      accountsRead = accountsRead.then(() => accountNumbersById(core.db, core.crypto, accountIdsOf(added), accounts));
      // Awaited below, after the lines: a failure meanwhile is not an unhandled one.
      accountsRead.catch(() => undefined);
    }
    await accountsRead;
  } else {
    const supplement = (await supplementsOf(core.db, roundId, { fetchableOnly: true })).find((s) => s.seq === supplementSeq);
    if (!supplement) throw new NotFoundError('没有该补充代发文件，或其资金尚未拨付到本机构');
    supplementId = supplement.id;
    const rows: { line_id: number; attempt: number; holder_name: string; account_id: number; amount_fen: number }[] = await core.db('bank_supplement_line').where({ supplement_id: supplement.id }).orderBy('line_id').select('line_id', 'attempt', 'holder_name', 'account_id', 'amount_fen');
    lines = rows.map((l) => ({ ref: lineRef(roundId, l.line_id, l.attempt), name: l.holder_name, account: '', amountFen: l.amount_fen, accountId: l.account_id }));
    generatedAt = new Date(supplement.transferred_at ?? supplement.created_at).toISOString();
    title = `${round.title}（补充代发 ${supplement.seq}）`;
    await accountNumbersById(core.db, core.crypto, accountIdsOf(lines), accounts);
  }
  for (const l of lines) {
    const account = l.accountId === null ? undefined : accounts.get(l.accountId);
    if (account === undefined) throw new ConflictError('批次中有明细没有发放账户，不能生成代发文件');
    l.account = account;
  }
  const bank = await core.db('core_org').where({ id: bankOrgId }).first('name');
  const doc: PayoutDocument = {
    roundId,
    title,
    period: round.period,
    policy: `${version!.code} ${version!.name}`,
    bank: bank.name,
    agreementNo: typeof agreement === 'string' ? '' : agreement.agreement_no,
    generatedAt,
    count: lines.length,
    totalFen: lines.reduce((sum, l) => sum + l.amountFen, 0),
    lines,
  };
  const body = await format.write(doc);
  const suffix = supplementSeq === null ? '' : `-补充${supplementSeq}`;
  const file = { fileName: `代发文件-R${roundId}-${round.period}${suffix}${format.code === 'csv-gb18030' ? '-GB18030' : ''}.${format.extension}`, contentType: format.contentType, body, sm3: sm3Hex(body), signature: await signFile(core, body), lines: doc.count, totalFen: doc.totalFen, encryptFor };
  await inTransaction(core.db, async (trx) => {
    const auditWho = who.actor ?? apiAuditor(who.client);
    await recordAudit(trx, auditWho, { action: 'bank.payout.download', objectType: 'round', objectId: roundId, summary: { format: format.code, supplement: supplementSeq, lines: file.lines, totalFen: file.totalFen, sm3: file.sm3, signedBy: file.signature.key, ...(encryptFor && options.delivered ? { encryptedFor: fingerprintOf(encryptFor) } : {}) } });
    // The corrected lines have reached the bank: their correction clocks end (failures.ts).
    if (supplementId !== null && options.delivered) await supplementFetched(trx, auditWho, supplementId);
  });
  return file;
}
