import { recordAudit } from './audit.ts';
import { type Actor, hasRole } from './auth/roles.ts';
import type { Core } from './context.ts';
import { isBusinessDate } from './dates.ts';
import { type Conn, inTransaction, insertReturningId, nowIso } from './db.ts';
import { ForbiddenError, ValidationError } from './errors.ts';
import { findRegion } from './regions.ts';

/**
 * Agent bank agreements (代发协议), recorded by the county finance section: the bank (an organisation of kind
 * bank), branch, number, term, the townships it serves, the free services it promised (SMS notice of each
 * payment, withdrawal) and its settlement account. A round is released only to a bank whose agreement is in force
 * and serves every township of the round; the treasury transfers only to that settlement account.
 */
export interface AgreementInput {
  bankOrgId: number;
  branch: string;
  agreementNo: string;
  startsOn: string;
  endsOn: string;
  settlementAccountName: string;
  settlementAccountNo: string;
  freeSms: boolean;
  freeWithdrawal: boolean;
  townshipIds: number[];
}

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
  settlement_account_no: string;
  free_sms: boolean;
  free_withdrawal: boolean;
  townships: string[];
  township_ids: number[];
}

export async function recordAgreement(core: Core, actor: Actor, input: AgreementInput): Promise<number> {
  if (!hasRole(actor, 'finance_section')) throw new ForbiddenError('代发协议由县级财政部门登记');
  const county = await findRegion(core.db, actor.regionId);
  if (!county || county.level !== 'county') throw new ForbiddenError('代发协议按县登记：您的账号不在县一级');
  const errors: Record<string, string> = {};
  const bank = await core.db('core_org').where({ id: input.bankOrgId, kind: 'bank' }).first('id', 'name');
  if (!bank) errors.bankOrgId = '请选择代发金融机构';
  if (!isBusinessDate(input.startsOn)) errors.startsOn = '请填写协议开始日期（YYYY-MM-DD）';
  if (!isBusinessDate(input.endsOn)) errors.endsOn = '请填写协议结束日期（YYYY-MM-DD）';
  else if (isBusinessDate(input.startsOn) && input.endsOn < input.startsOn) errors.endsOn = '结束日期不能早于开始日期';
  if (!/^[0-9-]{6,40}$/.test(input.settlementAccountNo)) errors.settlementAccountNo = '资金清算账号应为 6–40 位数字';
  const townships = input.townshipIds.length ? await core.db('core_region').where({ parent_id: county.id, level: 'township' }).whereIn('id', input.townshipIds).pluck('id') : [];
  if (townships.length === 0 || townships.length !== new Set(input.townshipIds).size) errors.townshipIds = '请选择本县服务的乡镇';
  if (Object.keys(errors).length) throw new ValidationError(errors);
  return inTransaction(core.db, async (trx) => {
    if (await trx('core_bank_agreement').where({ county_id: county.id, agreement_no: input.agreementNo }).first('id')) throw new ValidationError({ agreementNo: '该协议编号已登记' });
    const id = await insertReturningId(trx, 'core_bank_agreement', {
      county_id: county.id,
      bank_org_id: input.bankOrgId,
      branch: input.branch,
      agreement_no: input.agreementNo,
      starts_on: input.startsOn,
      ends_on: input.endsOn,
      settlement_account_name: input.settlementAccountName,
      settlement_account_no: input.settlementAccountNo,
      free_sms: input.freeSms,
      free_withdrawal: input.freeWithdrawal,
      recorded_by: actor.userId,
      recorded_at: nowIso(),
    });
    for (const townshipId of townships) await trx('core_bank_agreement_township').insert({ agreement_id: id, township_id: townshipId });
    await recordAudit(trx, actor, { action: 'agreement.record', objectType: 'agreement', objectId: id, summary: { bank: bank!.name, agreementNo: input.agreementNo, term: `${input.startsOn}~${input.endsOn}`, townships: townships.length } });
    return id;
  });
}

export async function listAgreements(db: Conn, countyId: number): Promise<AgreementRow[]> {
  const rows = await db('core_bank_agreement as a').join('core_org as o', 'o.id', 'a.bank_org_id').where('a.county_id', countyId).orderBy('a.starts_on', 'desc').select('a.*', 'o.name as bank_name');
  const served: { agreement_id: number; township_id: number; name: string }[] = rows.length
    ? await db('core_bank_agreement_township as s').join('core_region as t', 't.id', 's.township_id').whereIn('s.agreement_id', rows.map((r: { id: number }) => r.id)).orderBy('t.id').select('s.agreement_id', 's.township_id', 't.name')
    : [];
  return rows.map((r: AgreementRow) => {
    const mine = served.filter((s) => Number(s.agreement_id) === Number(r.id));
    return { ...r, free_sms: Boolean(r.free_sms), free_withdrawal: Boolean(r.free_withdrawal), townships: mine.map((s) => s.name), township_ids: mine.map((s) => Number(s.township_id)) };
  });
}

/**
 * The bank's agreement in force on a date that serves all these townships of the county, or the reason there is
 * none (in Chinese, for the page).
 */
export async function agreementInForce(db: Conn, input: { countyId: number; bankOrgId: number; on: string; townshipIds: number[] }): Promise<AgreementRow | string> {
  const agreements = (await listAgreements(db, input.countyId)).filter((a) => Number(a.bank_org_id) === input.bankOrgId && a.starts_on <= input.on && input.on <= a.ends_on);
  if (agreements.length === 0) return '该金融机构在本县没有有效的代发协议';
  const covering = agreements.find((a) => input.townshipIds.every((t) => a.township_ids.includes(t)));
  return covering ?? '该金融机构的代发协议没有覆盖本批次的全部乡镇';
}
