import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import type { FieldCrypto } from '../../core/crypto.ts';
import { isBusinessDate } from '../../core/dates.ts';
import { type Tx, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { fingerprintOf, parsePublicKey } from '../../core/signing.ts';
import { NOTICE_CHANNELS, PROCUREMENT_METHODS } from './model.ts';
import { type AgreementAction, can } from './policy.ts';
import { type AgreementRow, bankKeysOf, countyOf, findAgreement } from './queries.ts';
import type { AgreementEdit, AgreementExtension, AgreementInput, AgreementTermination, BankKeyInput, BreachInput } from './schemas.ts';

/** How a settlement account number is stored: encrypted like a payee's account, with its last four digits for pages. */
export function sealedSettlementAccount(crypto: FieldCrypto, accountNo: string) {
  return { settlement_account_enc: crypto.encrypt(accountNo), settlement_account_last4: accountNo.replace(/\D/g, '').slice(-4) };
}

/**
 * The numbers recorded before they were stored encrypted (migration 20261125110000_agreement_settlement_account_enc
 * left them in settlement_account_plain) are encrypted, and the plain column emptied, with an audit row. Run by the
 * server when it starts, after migrating: a migration has no key. Safe to run again and on several instances at
 * once (each row is taken only while still plain); returns how many it sealed.
 */
export async function sealSettlementAccounts(core: Core): Promise<number> {
  const plain: { id: number; settlement_account_plain: string }[] = await core.db('agreement_contract').whereNotNull('settlement_account_plain').select('id', 'settlement_account_plain');
  if (plain.length === 0) return 0;
  return inTransaction(core.db, async (trx) => {
    let sealed = 0;
    for (const row of plain) {
      sealed += await trx('agreement_contract')
        .where({ id: row.id })
        .whereNotNull('settlement_account_plain')
        .update({ ...sealedSettlementAccount(core.crypto, row.settlement_account_plain), settlement_account_plain: null });
    }
    if (sealed) await recordAudit(trx, { userId: null, username: 'ykt-server', ip: null }, { action: 'agreement.account.seal', summary: { agreements: sealed } });
    return sealed;
  });
}

/**
 * The county finance section records an agreement, with the procurement that chose the bank and the terms set it:
 * the bank must be an organisation of kind bank, the term a real one, the settlement account a bank account number,
 * the townships the county's own; each agreement number once per county.
 */
export async function recordAgreement(core: Core, actor: Actor, input: AgreementInput): Promise<number> {
  const county = await countyOf(core.db, actor.regionId);
  await authorize(core.db, actor, can(actor, 'record', { countyId: county?.id ?? null }), { objectType: 'agreement' });
  const countyId = county!.id;
  const errors: Record<string, string> = {};
  const bank = await core.db('core_org').where({ id: input.bankOrgId, kind: 'bank' }).first('id', 'name');
  if (!bank) errors.bankOrgId = '请选择代发金融机构';
  if (!isBusinessDate(input.startsOn)) errors.startsOn = '请填写协议开始日期（YYYY-MM-DD）';
  if (!isBusinessDate(input.endsOn)) errors.endsOn = '请填写协议结束日期（YYYY-MM-DD）';
  else if (isBusinessDate(input.startsOn) && input.endsOn < input.startsOn) errors.endsOn = '结束日期不能早于开始日期';
  if (!/^[0-9-]{6,40}$/.test(input.settlementAccountNo)) errors.settlementAccountNo = '资金清算账号应为 6–40 位数字';
  const townships = input.townshipIds.length ? await core.db('core_region').where({ parent_id: countyId, level: 'township' }).whereIn('id', input.townshipIds).pluck('id') : [];
  if (townships.length === 0 || townships.length !== new Set(input.townshipIds).size) errors.townshipIds = '请选择本县服务的乡镇';
  if (Object.keys(errors).length) throw new ValidationError(errors);
  return inTransaction(core.db, async (trx) => {
    if (await trx('agreement_contract').where({ county_id: countyId, agreement_no: input.agreementNo }).first('id')) throw new ValidationError({ agreementNo: '该协议编号已登记' });
    const id = await insertReturningId(trx, 'agreement_contract', {
      county_id: countyId,
      bank_org_id: input.bankOrgId,
      agreement_no: input.agreementNo,
      starts_on: input.startsOn,
      ends_on: input.endsOn,
      ...sealedSettlementAccount(core.crypto, input.settlementAccountNo),
      ...editableColumns(input),
      recorded_by: actor.userId,
      recorded_at: nowIso(),
    });
    for (const townshipId of townships) await trx('agreement_township').insert({ agreement_id: id, township_id: townshipId });
    await recordAudit(trx, actor, { action: 'agreement.record', objectType: 'agreement', objectId: id, summary: { bank: bank!.name, agreementNo: input.agreementNo, term: `${input.startsOn}~${input.endsOn}`, townships: townships.length } });
    return id;
  });
}

/** The columns of the terms the finance section keeps up to date, from the form. */
function editableColumns(input: AgreementEdit | AgreementInput) {
  return {
    branch: input.branch,
    settlement_account_name: input.settlementAccountName,
    procurement_project_no: input.procurementProjectNo,
    procurement_method: input.procurementMethod,
    term_payment: input.termPayment,
    term_notice: input.termNotice,
    term_withdrawal: input.termWithdrawal,
    term_data_security: input.termDataSecurity,
    free_sms: input.freeSms,
    notice_channel: input.noticeChannel ?? null,
    free_withdrawal: input.freeWithdrawal,
    data_security_pledged: input.dataSecurityPledged,
  };
}

/** The editable terms as the audit log compares them (codes and yes/no in words). */
function termsSummary(a: Pick<AgreementRow, 'branch' | 'settlement_account_name' | 'procurement_project_no' | 'procurement_method' | 'term_payment' | 'term_notice' | 'term_withdrawal' | 'term_data_security' | 'free_sms' | 'notice_channel' | 'free_withdrawal' | 'data_security_pledged'>) {
  const yesNo = (v: boolean) => (v ? '是' : '否');
  return {
    branch: a.branch,
    settlementAccountName: a.settlement_account_name,
    procurementProjectNo: a.procurement_project_no ?? '',
    procurementMethod: a.procurement_method ? (PROCUREMENT_METHODS[a.procurement_method as keyof typeof PROCUREMENT_METHODS] ?? a.procurement_method) : '',
    termPayment: a.term_payment ?? '',
    termNotice: a.term_notice ?? '',
    termWithdrawal: a.term_withdrawal ?? '',
    termDataSecurity: a.term_data_security ?? '',
    freeSms: yesNo(Boolean(a.free_sms)),
    noticeChannel: a.notice_channel ? (NOTICE_CHANNELS[a.notice_channel as keyof typeof NOTICE_CHANNELS] ?? a.notice_channel) : '未约定',
    freeWithdrawal: yesNo(Boolean(a.free_withdrawal)),
    dataSecurityPledged: yesNo(Boolean(a.data_security_pledged)),
  };
}

/** The agreement an action is asked on, authorized for it (a refusal audited), or 404. */
async function agreementFor(core: Core, actor: Actor, id: number, action: Exclude<AgreementAction, 'read' | 'record'>): Promise<AgreementRow> {
  const agreement = await findAgreement(core.db, id);
  if (!agreement) throw new NotFoundError('代发协议不存在');
  await authorize(core.db, actor, can(actor, action, agreement), { objectType: 'agreement', objectId: id });
  return agreement;
}

/** Moves the agreement from the version the form showed to the next, or refuses: someone else changed it first. */
async function bumpVersion(trx: Tx, id: number, version: number, changes: Record<string, unknown>): Promise<void> {
  const updated = await trx('agreement_contract').where({ id, version }).whereNull('terminated_on').update({ ...changes, version: version + 1 });
  if (updated !== 1) throw new ConflictError('该代发协议已被他人修改或已终止，请刷新页面后重试');
}

/**
 * The finance section edits an agreement's terms (网点, 账户名称, the procurement, the 重庆 二(五) terms, the free
 * services). No second person approves an edit: it is audited with the terms before and after. The bank, number,
 * term, settlement account number and townships are not edited here: an extension changes the term, and another
 * account or other townships need a new agreement.
 */
export async function editAgreement(core: Core, actor: Actor, id: number, input: AgreementEdit): Promise<void> {
  const agreement = await agreementFor(core, actor, id, 'edit');
  await inTransaction(core.db, async (trx) => {
    await bumpVersion(trx, id, input.version, editableColumns(input));
    await recordAudit(trx, actor, { action: 'agreement.edit', objectType: 'agreement', objectId: id, summary: { before: termsSummary(agreement), after: termsSummary(editableColumns(input)) } });
  });
}

/** The finance section extends an agreement's term to a later end date, under the document that agrees it. */
export async function extendAgreement(core: Core, actor: Actor, id: number, input: AgreementExtension): Promise<void> {
  const agreement = await agreementFor(core, actor, id, 'extend');
  if (input.newEndsOn <= agreement.ends_on) throw new ValidationError({ newEndsOn: `延期后的结束日期应晚于现结束日期 ${agreement.ends_on}` });
  await inTransaction(core.db, async (trx) => {
    await bumpVersion(trx, id, input.version, { ends_on: input.newEndsOn });
    await trx('agreement_extension').insert({ agreement_id: id, previous_ends_on: agreement.ends_on, new_ends_on: input.newEndsOn, document_no: input.extensionDocNo, recorded_by: actor.userId, recorded_at: nowIso() });
    await recordAudit(trx, actor, { action: 'agreement.extend', objectType: 'agreement', objectId: id, summary: { from: agreement.ends_on, to: input.newEndsOn, documentNo: input.extensionDocNo } });
  });
}

/**
 * The finance section terminates an agreement from a day within its term, giving the reason. From that day the
 * bank gets no new round (agreementInForce says why); what it was given before stays its to pay.
 */
export async function terminateAgreement(core: Core, actor: Actor, id: number, input: AgreementTermination): Promise<void> {
  const agreement = await agreementFor(core, actor, id, 'terminate');
  if (input.terminatedOn < agreement.starts_on || input.terminatedOn > agreement.ends_on) throw new ValidationError({ terminatedOn: `终止日期应在协议期限内（${agreement.starts_on} 至 ${agreement.ends_on}）` });
  await inTransaction(core.db, async (trx) => {
    await bumpVersion(trx, id, input.version, { terminated_on: input.terminatedOn, termination_reason: input.terminationReason, terminated_by: actor.userId, terminated_at: nowIso() });
    await recordAudit(trx, actor, { action: 'agreement.terminate', objectType: 'agreement', objectId: id, summary: { terminatedOn: input.terminatedOn, reason: input.terminationReason} });
  });
}

/** The finance section records a breach by the bank (青海 二(一)3: 违约责任惩戒措施), also after the agreement ended. */
export async function recordBreach(core: Core, actor: Actor, id: number, input: BreachInput): Promise<void> {
  const agreement = await agreementFor(core, actor, id, 'record_breach');
  if (input.breachOn < agreement.starts_on) throw new ValidationError({ breachOn: `违约发生日期不能早于协议开始日期 ${agreement.starts_on}` });
  await inTransaction(core.db, async (trx) => {
    await trx('agreement_breach').insert({ agreement_id: id, occurred_on: input.breachOn, description: input.breachWhat, measure: input.breachMeasure, recorded_by: actor.userId, recorded_at: nowIso() });
    await recordAudit(trx, actor, { action: 'agreement.breach', objectType: 'agreement', objectId: id, summary: { occurredOn: input.breachOn, what: input.breachWhat, measure: input.breachMeasure } });
  });
}

/**
 * The finance section records the bank's SM2 public key on its agreement (as the bank gives it, PEM or hex; its
 * fingerprint is shown to compare with the bank's written notice) and what the agreement makes of it: the bank's
 * signature required on its result files and answers, the files given it encrypted for it. A new key retires the
 * one in use, which stays listed. Either requirement needs a key. Audited with the fingerprints and terms before
 * and after.
 */
export async function setBankKey(core: Core, actor: Actor, id: number, input: BankKeyInput): Promise<void> {
  const agreement = await agreementFor(core, actor, id, 'set_bank_key');
  const [current] = (await bankKeysOf(core.db, id)).filter((k) => k.retiredAt === null);
  let publicKey: string | null = null;
  if (input.bankPublicKey) {
    const parsed = parsePublicKey(input.bankPublicKey);
    if (!parsed.ok) throw new ValidationError({ bankPublicKey: parsed.message });
    if (parsed.publicKey !== current?.publicKey) publicKey = parsed.publicKey;
  }
  if ((input.requireBankSignature || input.encryptFiles) && !publicKey && !current) throw new ValidationError({ bankPublicKey: '要求银行签名或加密代发文件，须先登记银行的 SM2 公钥' });
  const terms = (fingerprint: string | null, signature: boolean, encrypt: boolean) => ({ key: fingerprint ?? '未登记', requireBankSignature: signature ? '是' : '否', encryptFiles: encrypt ? '是' : '否' });
  await inTransaction(core.db, async (trx) => {
    const at = nowIso();
    await bumpVersion(trx, id, input.version, { require_bank_signature: input.requireBankSignature, encrypt_files: input.encryptFiles });
    if (publicKey) {
      await trx('agreement_bank_key').where({ agreement_id: id, in_use: 1 }).update({ in_use: null, retired_at: at });
      await trx('agreement_bank_key').insert({ agreement_id: id, public_key: publicKey, fingerprint: fingerprintOf(publicKey), in_use: 1, recorded_by: actor.userId, recorded_at: at });
    }
    await recordAudit(trx, actor, {
      action: 'agreement.bank_key',
      objectType: 'agreement',
      objectId: id,
      summary: { before: terms(current?.fingerprint ?? null, agreement.require_bank_signature, agreement.encrypt_files), after: terms(publicKey ? fingerprintOf(publicKey) : (current?.fingerprint ?? null), input.requireBankSignature, input.encryptFiles) },
    });
  });
}
