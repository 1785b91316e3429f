import { afterEach, describe, expect, it } from 'vitest';
import * as sealMigration from '../../migrations/20261125110000_agreement_settlement_account_enc.ts';
import * as maskMigration from '../../migrations/20261125110100_batch_transfer_account_masked.ts';
import { DEMO_SETTLEMENT_ACCOUNT } from '../../seeds/demo-batch.ts';
import { recordAgreement } from '../../src/modules/agreement/commands.ts';
import { sealSettlementAccounts } from '../../src/modules/agreement/index.ts';
import { TEST_DB, type TestDb, actorFor, auditRows, createSeededDb, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe(`institutional account numbers (${TEST_DB})`, () => {
  it('stores an agreement\'s settlement account encrypted, with its last four digits for pages; no column holds the number in clear', async () => {
    t = await createSeededDb();
    const finance = await actorFor(t, 'finance');
    const bank = await t.core.db('core_org').where({ kind: 'bank' }).first('id');
    const id = await recordAgreement(t.core, finance, {
      bankOrgId: bank.id,
      branch: '石桥分社',
      agreementNo: '青财代发〔2026〕9号',
      startsOn: '2026-01-01',
      endsOn: '2027-12-31',
      settlementAccountName: '代发清算户',
      settlementAccountNo: '990102000100200399',
      freeSms: true,
      freeWithdrawal: false,
      procurementProjectNo: 'QH-ZC-2026-009',
      procurementMethod: 'open_tender',
      termPayment: '收到资金后 2 个工作日内足额发放到户',
      termNotice: '每笔发放免费短信告知',
      termWithdrawal: '每个乡镇设助农取款点',
      termDataSecurity: '持卡人信息仅用于代发',
      dataSecurityPledged: true,
      townshipIds: [await regionId(t, '石桥镇')],
    });
    const rows: Record<string, unknown>[] = await t.core.db('agreement_contract').orderBy('id');
    expect(rows.map((r) => r.settlement_account_last4)).toEqual([DEMO_SETTLEMENT_ACCOUNT.slice(-4), '0399']);
    const mine = rows.find((r) => r.id === id)!;
    expect(t.core.crypto.decrypt(String(mine.settlement_account_enc))).toBe('990102000100200399');
    for (const row of rows) {
      expect(JSON.stringify(row)).not.toContain('990102000100200');
      expect(row.settlement_account_plain).toBeNull();
    }
    expect(Object.keys(await t.core.db('agreement_contract').columnInfo())).not.toContain('settlement_account_no');
  });

  it('encrypts the numbers recorded before, when the server starts after the migration (which has no key); running it again changes nothing', async () => {
    t = await createSeededDb();
    const db = t.core.db;
    // The agreement as it was before the migration: the number in clear in settlement_account_no.
    await sealMigration.down(db);
    await db('agreement_contract').update({ settlement_account_no: DEMO_SETTLEMENT_ACCOUNT });
    await sealMigration.up(db);
    const moved = await db('agreement_contract').first();
    expect(moved).toMatchObject({ settlement_account_plain: DEMO_SETTLEMENT_ACCOUNT, settlement_account_enc: null });
    expect(moved).not.toHaveProperty('settlement_account_no');

    expect(await sealSettlementAccounts(t.core)).toBe(1);
    const sealed = await db('agreement_contract').first();
    expect(sealed).toMatchObject({ settlement_account_plain: null, settlement_account_last4: DEMO_SETTLEMENT_ACCOUNT.slice(-4) });
    expect(t.core.crypto.decrypt(sealed.settlement_account_enc)).toBe(DEMO_SETTLEMENT_ACCOUNT);
    expect(await sealSettlementAccounts(t.core)).toBe(0);
    expect((await auditRows(t.core, 'agreement.account.seal')).map((r) => JSON.parse(r.summary))).toEqual([{ agreements: 1 }]);
    expect(t.core.crypto.decrypt((await db('agreement_contract').first()).settlement_account_enc)).toBe(DEMO_SETTLEMENT_ACCOUNT);
  });

  it('records a treasury transfer with the settlement account masked; the migration masks the transfers recorded before', async () => {
    t = await createSeededDb({}, { people: true });
    const db = t.core.db;
    const transfers: { id: number; destination_account: string }[] = await db('batch_transfer').orderBy('id').select('id', 'destination_account');
    expect(transfers.length).toBeGreaterThan(0);
    for (const tr of transfers) expect(tr.destination_account).toBe(`青禾县农村信用合作联社惠民补贴代发清算户 ****${DEMO_SETTLEMENT_ACCOUNT.slice(-4)}`);

    await db('batch_transfer').where({ id: transfers[0]!.id }).update({ destination_account: `青禾县农村信用合作联社惠民补贴代发清算户 ${DEMO_SETTLEMENT_ACCOUNT}` });
    await maskMigration.up(db);
    expect((await db('batch_transfer').orderBy('id').pluck('destination_account')).every((a: string) => a === transfers[0]!.destination_account)).toBe(true);
  });
});
