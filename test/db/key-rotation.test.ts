import { afterEach, describe, expect, it } from 'vitest';
import { composeRekeyers } from '../../src/app.ts';
import { verifyAuditChain } from '../../src/core/audit.ts';
import type { Core } from '../../src/core/context.ts';
import { ConfigError } from '../../src/core/config.ts';
import { createFieldCrypto } from '../../src/core/crypto.ts';
import { nowIso } from '../../src/core/db.ts';
import { checkFieldKey } from '../../src/core/key-check.ts';
import { KeyRotationError, rotateFieldKey } from '../../src/core/key-rotation.ts';
import { complaintStatus, fileComplaint } from '../../src/modules/publicity/complaints.ts';
import { TEST_DB, TEST_SECRET, type TestDb, createSeededDb, regionId } from '../factories.ts';

/**
 * `ykt rotate-key` (core/key-rotation.ts): after a change of the field key, every encrypted field reads under the new
 * key, every blind index finds what it found before (a person by ID number, a roster line's payee, a screening
 * finding's account), a citizen's complaint code still opens the complaint, the key check refuses the old key, and
 * the audit chain records the change. A field the old key cannot read stops the rotation with nothing changed.
 */
const NEW_SECRET = 'f'.repeat(16) + '0123456789abcdef'.repeat(3);

let t: TestDb;
afterEach(async () => t?.cleanup());

describe(`changing the field key (${TEST_DB})`, () => {
  it('re-encrypts every field and index in one transaction; the registry, the lines, complaints and findings still match', async () => {
    t = await createSeededDb({}, { people: true });
    const { core } = t;
    await checkFieldKey(core);
    const filed = await fileComplaint(core, { kind: 'complaint', sheetCode: null, countyId: await regionId(t, '青禾县'), subject: '补贴未到账', content: '今年的耕地地力保护补贴还没有收到。', contactName: null, phone: '13800001234' }, '192.0.2.1');
    const line = (await core.db('batch_line').whereNotNull('account_index').orderBy('id').first('id', 'person_id', 'account_id', 'account_index')) as { id: number; person_id: number; account_id: number; account_index: string };
    expect(line).toBeDefined();
    const township = (await core.db('core_region').where({ level: 'township' }).first('id', 'path')) as { id: number; path: string };
    await core.db('supervision_finding').insert({
      source: 'screening',
      source_ref: `shared_account:account:${line.account_index.slice(0, 32)}`,
      region_id: township.id,
      region_path: township.path,
      title: '尾号 0000 的账户为 3 户 3 人领取',
      evidence: '（测试）',
      state: 'open',
      opened_by: 1,
      opened_at: nowIso(),
    });
    const person = (await core.db('beneficiary_person').where({ id: line.person_id }).first('id_enc', 'phone_enc')) as { id_enc: string; phone_enc: string | null };
    const idNumber = core.crypto.decrypt(person.id_enc);
    const account = (await core.db('beneficiary_account').where({ id: line.account_id }).first('account_enc')) as { account_enc: string };
    const accountNumber = core.crypto.decrypt(account.account_enc);
    const people = Number(((await core.db('beneficiary_person').count({ n: '*' }).first()) as { n: number }).n);

    // A field written under another key: the rotation names it and changes nothing.
    const stranger = createFieldCrypto('e'.repeat(64));
    const victim = (await core.db('beneficiary_person').orderBy('id', 'desc').first('id', 'phone_enc')) as { id: number; phone_enc: string | null };
    await core.db('beneficiary_person').where({ id: victim.id }).update({ phone_enc: stranger.encrypt('13900000000') });
    const rotated = createFieldCrypto(NEW_SECRET);
    const refused = await rotateFieldKey(core, rotated, composeRekeyers(core)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KeyRotationError);
    expect((refused as Error).message).toBe(`beneficiary_person.phone_enc 第 ${victim.id} 行无法用当前密钥解密：数据库中有用其他密钥写入的字段，未做任何更改`);
    expect(await checkFieldKey(core)).toBe('matches');
    expect(core.crypto.decrypt(((await core.db('beneficiary_person').where({ id: line.person_id }).first('id_enc')) as { id_enc: string }).id_enc)).toBe(idNumber);
    await core.db('beneficiary_person').where({ id: victim.id }).update({ phone_enc: victim.phone_enc });

    const done = await rotateFieldKey(core, rotated, composeRekeyers(core));
    expect(done).toContainEqual({ table: 'beneficiary_person', column: 'id_enc', rows: people });
    expect(done.find((d) => d.table === 'batch_line' && d.column === 'id_index')!.rows).toBeGreaterThan(0);
    expect(done).toContainEqual({ table: 'supervision_finding', column: 'source_ref', rows: 1 });

    const after: Core = { ...core, crypto: rotated };
    // The key check: the new key matches, the old one is refused.
    expect(await checkFieldKey(after)).toBe('matches');
    await expect(checkFieldKey(core)).rejects.toBeInstanceOf(ConfigError);
    // The person and the account read under the new key; their indexes are the new key's.
    const moved = (await core.db('beneficiary_person').where({ id: line.person_id }).first('id_enc', 'id_index')) as { id_enc: string; id_index: string };
    expect(rotated.decrypt(moved.id_enc)).toBe(idNumber);
    expect(moved.id_index).toBe(rotated.blindIndex('id', idNumber));
    const movedAccount = (await core.db('beneficiary_account').where({ id: line.account_id }).first('account_enc', 'account_index')) as { account_enc: string; account_index: string };
    expect(rotated.decrypt(movedAccount.account_enc)).toBe(accountNumber);
    expect(movedAccount.account_index).toBe(rotated.blindIndex('account', accountNumber));
    // Every roster line's indexes are again its payee's and its account's.
    const strayIds = await core.db('batch_line as l').leftJoin('beneficiary_person as p', 'p.id_index', 'l.id_index').whereNull('p.id').count({ n: '*' }).first();
    expect(Number((strayIds as { n: number }).n)).toBe(0);
    const strayAccounts = await core.db('batch_line as l').whereNotNull('l.account_index').leftJoin('beneficiary_account as a', 'a.account_index', 'l.account_index').whereNull('a.id').count({ n: '*' }).first();
    expect(Number((strayAccounts as { n: number }).n)).toBe(0);
    expect(((await core.db('batch_line').where({ id: line.id }).first('account_index')) as { account_index: string }).account_index).toBe(movedAccount.account_index);
    // The finding names the same account, by the new index.
    expect(await core.db('supervision_finding').where({ source: 'screening' }).pluck('source_ref')).toEqual([`shared_account:account:${movedAccount.account_index.slice(0, 32)}`]);
    // The citizen's query code still opens the complaint; its phone reads under the new key.
    expect(await complaintStatus(after, filed.trackingNo, filed.code, '192.0.2.2')).not.toBeNull();
    const complaint = (await core.db('publicity_complaint').where({ tracking_no: filed.trackingNo }).first('phone_enc')) as { phone_enc: string };
    expect(rotated.decrypt(complaint.phone_enc)).toBe('13800001234');
    // The audit chain holds the change and still verifies.
    const last = (await core.db('core_audit').orderBy('id', 'desc').first('action', 'username')) as { action: string; username: string };
    expect(last).toEqual({ action: 'key.rotate', username: 'ykt-cli' });
    expect((await verifyAuditChain(core.db)).ok).toBe(true);
  }, 120_000);

  it('keeps the query codes of complaints filed before the codes had a key of their own', async () => {
    t = await createSeededDb();
    const filed = await fileComplaint(t.core, { kind: 'complaint', sheetCode: null, countyId: await regionId(t, '青禾县'), subject: '补贴未到账', content: '补贴还没有收到。', contactName: null, phone: null }, '192.0.2.1');
    // Before migration 20261212000100 the code's HMAC key was derived from the field key, and no row held it.
    await t.core.db('core_wrapped_key').delete();
    const restarted: Core = { ...t.core, crypto: createFieldCrypto(TEST_SECRET) };
    expect(await complaintStatus(restarted, filed.trackingNo, filed.code, '192.0.2.2')).not.toBeNull();
    expect(await t.core.db('core_wrapped_key').pluck('purpose')).toEqual(['publicity-complaint-code']);
  });
});
