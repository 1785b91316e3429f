import iconv from 'iconv-lite';
import { afterEach, describe, expect, it } from 'vitest';
import { sm3Hex } from '../../src/core/crypto.ts';
import { TEST_DB, type TestDb, agentFor, asAdmin, auditRows, binaryParser, createSeededDb, login, regionId, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe(`the agent bank's payout files (${TEST_DB})`, () => {
  it('gives the bank the released rounds’ payout files: every line with its reference, holder, account in clear and amount in fen, a header with count and total, an SM3 checksum, the same bytes each time, audited', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const round = await t.core.db('batch_round').where({ state: 'released' }).first('id');
    const lines = await t.core.db('batch_line').where({ round_id: round.id, state: 'active' }).orderBy('id').select('id', 'amount_fen', 'account_id', 'holder_name');
    const total = lines.reduce((s: number, l: { amount_fen: number }) => s + Number(l.amount_fen), 0);
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    expect((await bank.get('/')).text).toContain('已下达本机构的发放批次');
    const page = await bank.get('/bank/payouts');
    expect(page.text).toContain('2026年10月经济困难高龄失能养老服务补贴资金');

    const csv = await bank.get(`/bank/payouts/${round.id}/csv`).buffer(true).parse(binaryParser);
    expect(csv.status).toBe(200);
    const text = (csv.body as Buffer).toString('utf8').replace(/^\ufeff/, '');
    const rows = text.trim().split('\r\n').map((r) => r.split(','));
    expect(rows[0]).toEqual(['批次号', '批次名称', '期间', '补贴项目', '代发金融机构', '代发协议', '笔数', '总金额（分）', '生成时间']);
    expect(rows[1]!.slice(6, 8)).toEqual([String(lines.length), String(total)]);
    expect(rows[3]).toEqual(['流水号', '户名', '账号', '金额（分）', '补贴项目']);
    const details = rows.slice(4);
    expect(details.map((d) => d[0])).toEqual(lines.map((l: { id: number }) => `R${round.id}-${l.id}`));
    const account = await t.core.db('beneficiary_account').where({ id: lines[0].account_id }).first('account_enc');
    expect(details[0]!.slice(1, 4)).toEqual([lines[0].holder_name, t.core.crypto.decrypt(account.account_enc), String(lines[0].amount_fen)]);

    const checksum = await bank.get(`/bank/payouts/${round.id}/csv/sm3`);
    expect(checksum.text).toBe(`${sm3Hex(csv.body as Buffer)}  代发文件-R${round.id}-2026-10.csv\n`);
    const again = await bank.get(`/bank/payouts/${round.id}/csv`).buffer(true).parse(binaryParser);
    expect(Buffer.compare(again.body as Buffer, csv.body as Buffer)).toBe(0);
    expect((await auditRows(t.core, 'bank.payout.download')).length).toBe(3);

    const txt = await bank.get(`/bank/payouts/${round.id}/txt`).buffer(true).parse(binaryParser);
    const records = (txt.body as Buffer).toString('latin1').split('\r\n').filter(Boolean);
    expect(records[0]![0]).toBe('H');
    expect(records.at(-1)).toBe(`T${String(lines.length).padStart(10, '0')}${String(total).padStart(15, '0')}`);
    for (const r of records.slice(1, -1)) expect(Buffer.byteLength(r, 'latin1')).toBe(1 + 24 + 40 + 32 + 15);
    expect(iconv.decode(txt.body as Buffer, 'gb18030')).toContain(lines[0].holder_name);

    // The township station is not the bank; a round not released to this bank is not there.
    const station = agentFor(t.core);
    await login(station, 'station1');
    expect((await station.get(`/bank/payouts/${round.id}/csv`)).status).toBe(403);
    const compiling = await t.core.db('batch_round').where({ state: 'compiling' }).first('id');
    expect((await bank.get(`/bank/payouts/${compiling.id}/csv`)).status).toBe(404);
  });

  it('serves the same file through the API to a bank token, and to no other', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const admin = await asAdmin(t);
    const bankOrg = await t.core.db('core_org').where({ kind: 'bank' }).first('id');
    const county = String(await regionId(t, '青禾县'));
    const token = async (fields: Record<string, string>) => /<code>(ykt_[^<]+)<\/code>/.exec((await submit(admin, '/admin/api-tokens', '/admin/api-tokens', fields)).text)![1]!;
    const bankToken = await token({ name: '信用社代发系统', purpose: 'bank', regionId: county, orgId: String(bankOrg.id) });
    const otherToken = await token({ name: '数据共享平台', purpose: 'reference', regionId: county, orgId: '' });
    const api = agentFor(t.core);
    const list = await api.get('/api/v1/payouts').set('Authorization', `Bearer ${bankToken}`);
    expect(list.status).toBe(200);
    const released = list.body.rounds.find((r: { state: string }) => r.state === 'released');
    const file = await api.get(`/api/v1/payouts/${released.roundId}?format=xlsx`).set('Authorization', `Bearer ${bankToken}`).buffer(true).parse(binaryParser);
    expect(file.status).toBe(200);
    expect(file.headers['x-checksum-sm3']).toBe(sm3Hex(file.body as Buffer));
    const [audit] = (await auditRows(t.core, 'bank.payout.download')).slice(-1);
    expect(audit.username).toBe('api:信用社代发系统');
    expect((await api.get('/api/v1/payouts').set('Authorization', `Bearer ${otherToken}`)).status).toBe(403);
  });
});
