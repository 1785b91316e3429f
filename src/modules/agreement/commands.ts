import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import type { FieldCrypto } from '../../core/crypto.ts';
import { isBusinessDate } from '../../core/dates.ts';
import { inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { ValidationError } from '../../core/errors.ts';
import { can } from './policy.ts';
import { countyOf } from './queries.ts';
import type { AgreementInput } from './schemas.ts';

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
 * The county finance section records an agreement: the bank must be an organisation of kind bank, the term a real
 * one, the settlement account a bank account number, the townships the county's own; each agreement number once
 * per county.
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
      branch: input.branch,
      agreement_no: input.agreementNo,
      starts_on: input.startsOn,
      ends_on: input.endsOn,
      settlement_account_name: input.settlementAccountName,
      ...sealedSettlementAccount(core.crypto, input.settlementAccountNo),
      free_sms: input.freeSms,
      free_withdrawal: input.freeWithdrawal,
      recorded_by: actor.userId,
      recorded_at: nowIso(),
    });
    for (const townshipId of townships) await trx('agreement_township').insert({ agreement_id: id, township_id: townshipId });
    await recordAudit(trx, actor, { action: 'agreement.record', objectType: 'agreement', objectId: id, summary: { bank: bank!.name, agreementNo: input.agreementNo, term: `${input.startsOn}~${input.endsOn}`, townships: townships.length } });
    return id;
  });
}
