import type { Core } from '../src/core/context.ts';
import { type Tx, insertReturningId, nowIso } from '../src/core/db.ts';
import { maskIdNumber } from '../src/core/mask.ts';
import { ACCOUNT_KIND_LABELS } from '../src/modules/beneficiary/account-number.ts';
import { fakeHouseholds } from './fake-people.ts';

/**
 * The demo county's registry: about 2,000 fake people in 600 households across its nine villages, some deceased
 * or moved (as the police data would show), a few sharing a card, a few with a second account, and one account
 * change waiting for 城关镇's finance office.
 */
const BANK = '青禾县农村信用合作联社';
const STATUS_SOURCE = { deceased: '公安户籍比对（演示）', moved: '公安户籍比对（演示）' } as const;

export async function seedDemoPeople(trx: Tx, core: Core, at: { villages: Map<string, number>; bankOrgId: number; stationUserId: number }): Promise<number> {
  const households = fakeHouseholds({ households: 600, villages: [...at.villages.keys()], sharedAccounts: 3, secondAccounts: 4 });
  const now = nowIso();
  let people = 0;
  let firstHeadInChengguan: { id: number; name: string } | null = null;
  for (const h of households) {
    const villageId = at.villages.get(h.village)!;
    const householdId = await insertReturningId(trx, 'beneficiary_household', { village_id: villageId, created_at: now, updated_at: now });
    for (const m of h.members) {
      const personId = await insertReturningId(trx, 'beneficiary_person', {
        name: m.name,
        id_enc: core.crypto.encrypt(m.idNumber),
        id_index: core.crypto.blindIndex('id', m.idNumber),
        id_masked: maskIdNumber(m.idNumber),
        birth_date: m.birthDate,
        sex: m.sex,
        village_id: villageId,
        household_id: householdId,
        relation: m.relation,
        status: m.status,
        status_date: m.status === 'active' ? null : '2026-06-30',
        status_source: m.status === 'active' ? null : STATUS_SOURCE[m.status],
        created_by: at.stationUserId,
        created_at: now,
        updated_by: at.stationUserId,
        updated_at: now,
      });
      people++;
      if (m.relation === 'head') {
        await trx('beneficiary_household').where({ id: householdId }).update({ head_person_id: personId });
        if (!firstHeadInChengguan && ['东关社区', '西街村', '南河村'].includes(h.village)) firstHeadInChengguan = { id: personId, name: m.name };
      }
      for (const [i, a] of m.accounts.entries()) {
        // A second account stays on record as closed: one active account per person.
        const active = i === 0;
        await trx('beneficiary_account').insert({
          person_id: personId,
          kind: a.kind,
          bank_org_id: a.kind === 'passbook' ? null : at.bankOrgId,
          bank_name: a.kind === 'passbook' ? '（他行存折）' : BANK,
          account_enc: core.crypto.encrypt(a.number),
          account_index: core.crypto.blindIndex('account', a.number),
          account_last4: a.number.slice(-4),
          holder_name: a.holder,
          luhn_warning: false,
          status: active ? 'active' : 'closed',
          active_person_id: active ? personId : null,
          opened_by: at.stationUserId,
          opened_at: now,
          closed_at: active ? null : now,
          change_reason: active ? '登记时提供' : '一人多卡，停用（演示）',
        });
      }
    }
  }
  if (firstHeadInChengguan) {
    const change = { kind: 'account', account: { kind: 'sscard', bankName: BANK, number: '6239990000000000018', holderName: firstHeadInChengguan.name } };
    await trx('beneficiary_change_request').insert({
      person_id: firstHeadInChengguan.id,
      kind: 'account',
      payload_enc: core.crypto.encrypt(JSON.stringify(change)),
      summary: `更换发放账户为 ${BANK}${ACCOUNT_KIND_LABELS.sscard} ****0018`,
      reason: '原社保卡挂失补办（演示）',
      requested_by: at.stationUserId,
      requested_at: now,
      state: 'pending',
    });
  }
  return people;
}
