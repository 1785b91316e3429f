import { afterEach, describe, expect, it } from 'vitest';
import { businessDate } from '../../src/core/dates.ts';
import { resultFileCsv, simulateResults } from '../../src/modules/bank/simulator.ts';
import { DEMO_SETTLEMENT_ACCOUNT } from '../../seeds/demo-batch.ts';
import { TEST_DB, type TestDb, agentFor, binaryParser, createSeededDb, csrfFrom, login, loginWithTotp } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const yuan = (fen: number) => (fen / 100).toFixed(2);

describe(`failed payments, from the pages (${TEST_DB})`, () => {
  it('takes a failure from the bank through correction, re-review, the supplementary payout, refund and return to the treasury, every step on its page, the ledger balanced', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const round = await db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
    const lines = await db('batch_line').where({ round_id: round.id, state: 'active' }).orderBy('id').limit(2).select('id', 'amount_fen', 'person_name');
    const [a, b] = lines.map((l: { id: number; amount_fen: number; person_name: string }) => ({ id: Number(l.id), fen: Number(l.amount_fen), name: l.person_name }));
    const as = async (username: string) => {
      const agent = agentFor(t!.core);
      if (['finance', 'treasury'].includes(username)) await loginWithTotp(agent, t!.core, username);
      else await login(agent, username);
      return agent;
    };
    const post = async (agent: ReturnType<typeof agentFor>, page: string, action: string, fields: Record<string, string | string[]>) => {
      const csrf = csrfFrom((await agent.get(page)).text);
      return agent.post(action).type('form').send({ _csrf: csrf, ...fields });
    };

    // The bank reports both lines failed.
    const bank = await as('bank');
    const payouts = await bank.get('/bank/payouts');
    const upload = (csv: Buffer, name: string) => bank.post(`/bank/payouts/${round.id}/results`).field('_csrf', csrfFrom(payouts.text)).attach('file', csv, name);
    expect((await upload(resultFileCsv([a, b].map((l) => ({ ref: `R${round.id}-${l!.id}`, amountFen: l!.fen, result: '失败', code: 'F03' }))), '回盘.csv')).status).toBe(303);

    // The station sees them on its home page and corrects them.
    const station = await as('station1');
    expect((await station.get('/')).text).toContain('发放失败、待核实修正的明细');
    const list = await station.get('/bank/failures?state=correcting');
    expect(list.text).toContain(a!.name);
    const ids = (await db('bank_failure').where({ round_id: round.id }).orderBy('id').select('id', 'version')).map((r: { id: number }) => Number(r.id));
    const version = async (id: number) => String((await db('bank_failure').where({ id }).first('version')).version);
    const empty = await post(station, `/bank/failures/${ids[0]}`, `/bank/failures/${ids[0]}/correct`, { version: await version(ids[0]!), note: '' });
    expect(empty.status).toBe(422);
    expect(empty.text).toContain('请填写核实情况和修正内容');
    for (const id of ids) expect((await post(station, `/bank/failures/${id}`, `/bank/failures/${id}/correct`, { version: await version(id), note: '账户已解冻' })).status).toBe(303);

    const dept = await as('dept_civil');
    expect((await dept.get('/')).text).toContain('乡镇已修正、待核实的失败明细');
    for (const id of ids) expect((await post(dept, `/bank/failures/${id}`, `/bank/failures/${id}/verify`, { version: await version(id) })).status).toBe(303);

    const finance = await as('finance');
    const roundPage = await finance.get(`/bank/rounds/${round.id}`);
    expect(roundPage.text).toContain('再次复核修正后的明细（2 笔）');
    expect((await post(finance, `/bank/rounds/${round.id}`, `/bank/rounds/${round.id}/approve`, { failureIds: ids.map(String) })).status).toBe(303);

    // The supplementary payout: both lines again, references carrying the attempt; the simulator fails them.
    const supplement = await bank.get(`/bank/payouts/${round.id}/xlsx?supplement=1`).buffer(true).parse(binaryParser);
    expect(supplement.status).toBe(200);
    const simulated = await simulateResults(supplement.body as Buffer, { failRate: 1, seed: 3 });
    expect(simulated.csv.toString('utf8')).toContain(`R${round.id}-${a!.id}-2`);
    expect((await upload(simulated.csv, '补充回盘.csv')).status).toBe(303);
    expect((await bank.get('/')).text).toContain('再次发放失败、待退回资金的明细');

    // The bank records the refund with its voucher: the amount must be the total of what it ticks.
    expect((await bank.get(`/bank/rounds/${round.id}`)).text).toContain(`登记资金退回原账户（2 笔，合计 ${yuan(a!.fen + b!.fen)} 元）`);
    const wrong = await post(bank, `/bank/rounds/${round.id}`, `/bank/rounds/${round.id}/refund`, { failureIds: ids.map(String), amount: '1.00', voucherNo: 'TK001', refundedOn: businessDate() });
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain(`退回金额应为所选 2 笔的合计 ${yuan(a!.fen + b!.fen)} 元`);
    expect((await post(bank, `/bank/rounds/${round.id}`, `/bank/rounds/${round.id}/refund`, { failureIds: ids.map(String), amount: yuan(a!.fen + b!.fen), voucherNo: 'TK001', refundedOn: businessDate() })).status).toBe(303);

    // The department pays both again within 10 working days (a free-form return is no longer offered): corrected,
    // verified, re-reviewed, the treasury sends the money again; one is paid, the other fails a third time.
    expect((await dept.get('/')).text).toContain('资金已退回原账户、待重新发放的明细');
    expect((await dept.get(`/bank/failures/${ids[1]}`)).text).not.toContain('不再发放的原因');
    for (const id of ids) {
      expect((await post(station, `/bank/failures/${id}`, `/bank/failures/${id}/correct`, { version: await version(id), note: '已补办社保卡' })).status).toBe(303);
      expect((await post(dept, `/bank/failures/${id}`, `/bank/failures/${id}/verify`, { version: await version(id) })).status).toBe(303);
    }
    expect((await post(finance, `/bank/rounds/${round.id}`, `/bank/rounds/${round.id}/approve`, { failureIds: ids.map(String) })).status).toBe(303);
    // Not fetchable until the treasury sends the money again.
    expect((await bank.get(`/bank/payouts/${round.id}/csv?supplement=2`)).status).toBe(404);
    const treasury = await as('treasury');
    expect((await treasury.get('/')).text).toContain('待再次拨付的补充代发文件');
    const supplementId = String((await db('bank_supplement').where({ round_id: round.id, seq: 2 }).first('id')).id);
    const elsewhere = await post(treasury, `/bank/rounds/${round.id}`, `/bank/rounds/${round.id}/retransfer`, { supplementId, amount: yuan(a!.fen + b!.fen), voucherNo: 'ZF002', destinationAccount: '6222000000000000' });
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.text).toContain('只能拨付到代发协议');
    expect((await post(treasury, `/bank/rounds/${round.id}`, `/bank/rounds/${round.id}/retransfer`, { supplementId, amount: yuan(a!.fen + b!.fen), voucherNo: 'ZF002', destinationAccount: DEMO_SETTLEMENT_ACCOUNT })).status).toBe(303);
    const third = await bank.get(`/bank/payouts/${round.id}/csv?supplement=2`).buffer(true).parse(binaryParser);
    expect((third.body as Buffer).toString('utf8')).toContain(`R${round.id}-${a!.id}-3`);
    expect((await upload(resultFileCsv([{ ref: `R${round.id}-${a!.id}-3`, amountFen: a!.fen, result: '成功' }, { ref: `R${round.id}-${b!.id}-3`, amountFen: b!.fen, result: '失败', code: 'F04' }]), '第三次.csv')).status).toBe(303);
    expect((await db('bank_failure').where({ id: ids[0] }).first('state')).state).toBe('paid');
    // The third failure is refunded by the bank and is due back to the treasury.
    expect((await post(bank, `/bank/rounds/${round.id}`, `/bank/rounds/${round.id}/refund`, { failureIds: [String(ids[1])], amount: yuan(b!.fen), voucherNo: 'TK004', refundedOn: businessDate() })).status).toBe(303);
    expect((await db('bank_failure').where({ id: ids[1] }).first('state')).state).toBe('return_due');

    expect((await post(treasury, `/bank/rounds/${round.id}`, `/bank/rounds/${round.id}/treasury-return`, { failureIds: [String(ids[1])], amount: yuan(b!.fen), voucherNo: 'JK003', returnedOn: businessDate() })).status).toBe(303);

    // The ledger: every figure, both identities.
    const ledger = await finance.get(`/bank/rounds/${round.id}`);
    expect(ledger.text).toContain('两项等式均成立');
    expect(ledger.text).toContain('缴回财政记录');
    // The public list: masked name and ID, no account digits.
    const failedList = await station.get('/bank/failed-list');
    const personB = await db('batch_line').where({ id: b!.id }).first('id_masked', 'account_last4');
    expect(failedList.text).toContain(personB.id_masked);
    expect(failedList.text).not.toContain(b!.name);
    expect(failedList.text).not.toContain(personB.account_last4);
    // The same list on the public pages, without a login.
    const county = await db('core_region').where({ level: 'county' }).first('id');
    const anonymous = await agentFor(t.core).get(`/public/failed-payments?county=${county.id}`);
    expect(anonymous.status).toBe(200);
    expect(anonymous.text).toContain(personB.id_masked);
    expect(anonymous.text).not.toContain(b!.name);
    expect(anonymous.text).not.toContain(`****${personB.account_last4}`);
    expect((await agentFor(t.core).get('/public/failed-payments?county=999999')).status).toBe(404);
    // The person's page shows how the failure was handled.
    const personPage = await station.get(`/beneficiaries/${(await db('batch_line').where({ id: b!.id }).first('person_id')).person_id}`);
    expect(personPage.text).toContain('已暂缴回财政（公开名单）');

    // b comes forward: request at the station, the department verifies, the finance section approves, the
    // department compiles the reissue round from the original round's page.
    expect((await post(station, `/bank/failures/${ids[1]}`, `/bank/failures/${ids[1]}/request-reissue`, { version: await version(ids[1]!), note: '本人已到站报备' })).status).toBe(303);
    expect((await dept.get('/')).text).toContain('本人已报备、待核实的补发申请');
    expect((await post(dept, `/bank/failures/${ids[1]}`, `/bank/failures/${ids[1]}/verify`, { version: await version(ids[1]!) })).status).toBe(303);
    expect((await post(finance, `/bank/failures/${ids[1]}`, `/bank/failures/${ids[1]}/approve-reissue`, { version: await version(ids[1]!) })).status).toBe(303);
    expect((await dept.get(`/bank/rounds/${round.id}`)).text).toContain('编入补发批次（1 人）');
    const compiled = await post(dept, `/bank/rounds/${round.id}`, `/bank/rounds/${round.id}/compile-reissue`, {});
    expect(compiled.status).toBe(303);
    expect(compiled.headers.location).toMatch(/^\/rounds\/\d+$/);
    expect((await dept.get(compiled.headers.location!)).text).toContain('（补发）');
    expect((await station.get(`/bank/failures/${ids[1]}`)).text).toContain('已编入补发批次');
    expect((await station.get('/bank/failed-list')).text).not.toContain(personB.id_masked);
  });
});
