import { createHash, createPublicKey } from 'node:crypto';
import iconv from 'iconv-lite';
import { afterEach, describe, expect, it } from 'vitest';
import { signingKeys } from '../../src/core/signing.ts';
import { sm3Hex } from '../../src/core/crypto.ts';
import { roundResults } from '../../src/modules/bank/queries.ts';
import { sendQueuedNotices } from '../../src/modules/bank/notices.ts';
import { resultFileCsv, simulateResults } from '../../src/modules/bank/simulator.ts';
import { roundMoney } from '../../src/modules/batch/round-workflow.ts';
import { TEST_DB, type TestDb, agentFor, approvedToken, asAdmin, auditRows, binaryParser, createSeededDb, csrfFrom, independentSm2, login, regionId, submit } from '../factories.ts';

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
    expect((await bank.get('/')).text).toContain('已下达本机构、尚未回盘的发放批次');
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
    const token = async (fields: Record<string, string>) => approvedToken(t!, await submit(admin, '/admin/api-tokens', '/admin/api-tokens', fields));
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
    // Signed by the deployment: the signature in the answer checks out with the key the bank's page shows.
    const [key] = await signingKeys(t.core.db);
    expect(file.headers['x-signature-key']).toBe(key!.fingerprint);
    expect(independentSm2.doVerifySignature([...(file.body as Buffer)], file.headers['x-signature-sm2'], key!.publicKey, { der: true, hash: true })).toBe(true);
  });

  it('signs each payout file: the signature file beside it and the public key on the bank\'s page check out', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const round = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const csv = await bank.get(`/bank/payouts/${round.id}/csv`).buffer(true).parse(binaryParser);
    const sigFile = await bank.get(`/bank/payouts/${round.id}/csv/sig`);
    expect(sigFile.headers['content-disposition']).toContain('attachment');
    const fields = Object.fromEntries(sigFile.text.trim().split('\n').map((l) => l.split('=') as [string, string]));
    expect(fields).toMatchObject({ algorithm: 'SM2-SM3', 'user-id': '1234567812345678', file: `代发文件-R${round.id}-2026-09.csv` });
    const pem = await bank.get('/bank/signing-key.pem').buffer(true).parse(binaryParser);
    const publicKey = createPublicKey((pem.body as Buffer).toString('utf8')).export({ format: 'der', type: 'spki' }).subarray(-65).toString('hex');
    expect(fields.key).toBe(csv.headers['x-signature-key']);
    expect(independentSm2.doVerifySignature([...(csv.body as Buffer)], fields.signature!, publicKey, { der: true, hash: true })).toBe(true);
    const page = await bank.get('/bank/payouts');
    expect(page.text).toContain(fields.key!.slice(0, 4));
    expect(page.text).toContain(`/bank/payouts/${round.id}/csv/sig`);
    // Only the bank: the station gets neither the signature nor the key.
    const station = agentFor(t.core);
    await login(station, 'station1');
    expect((await station.get(`/bank/payouts/${round.id}/csv/sig`)).status).toBe(403);
    expect((await station.get('/bank/signing-key.pem')).status).toBe(403);
  });

  it('takes the bank\'s results: checked against the payout, refused whole with every reason, partial allowed, twice changes nothing; the money adds up', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const round = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
    const lines = await t.core.db('batch_line').where({ round_id: round.id, state: 'active' }).orderBy('id').select('id', 'amount_fen');
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const page = await bank.get('/bank/payouts');
    const ref = (i: number) => `R${round.id}-${lines[i].id}`;
    const upload = (csv: Buffer, name = '回盘.csv') => bank.post(`/bank/payouts/${round.id}/results`).field('_csrf', csrfFrom(page.text)).attach('file', csv, name);
    const paid = (i: number) => ({ ref: ref(i), amountFen: lines[i].amount_fen, result: '成功' });
    const bad = await upload(resultFileCsv([paid(0), paid(0), { ref: `R${round.id}-999999`, amountFen: 100, result: '成功' }, { ref: ref(1), amountFen: 1, result: '失败', code: 'F07' }]));
    expect(bad.status).toBe(422);
    // The summary takes rows 1–3, the lines' header row 4; the lines start on row 5.
    for (const message of ['第 6 行「流水号」：与第 5 行重复', `第 7 行「流水号」：“R${round.id}-999999”不是本批次代发文件或已拨付的补充代发文件中的流水号`, `第 8 行「金额（分）」：与代发文件不符：应为 ${lines[1].amount_fen} 分`, '第 8 行「失败代码」：应为 F01、F02、F03、F04、F05、F06、F99 之一']) {
      expect(bad.text).toContain(message);
    }
    expect(await t.core.db('bank_line_result').where({ round_id: round.id }).count({ n: '*' })).toEqual([{ n: 0 }]);

    // The bank's home page counts the rounds it has not answered yet; an answered one leaves it (a year of paid rounds is no work).
    const unanswered = async () => Number(/尚未回盘的发放批次（下载代发文件）<\/a><\/td><td class="num">(\d+)</.exec((await bank.get('/')).text)?.[1] ?? 0);
    const before = await unanswered();
    expect(before).toBeGreaterThan(0);
    const partial = resultFileCsv([paid(0), paid(1), paid(2), paid(3), { ref: ref(4), amountFen: lines[4].amount_fen, result: '失败', code: 'F02' }]);
    expect((await upload(partial)).status).toBe(303);
    expect((await bank.get('/bank/payouts')).text).toContain('回盘已导入：成功 4 笔，失败 1 笔');
    expect(await unanswered()).toBe(before - 1);
    await upload(partial, '再传一次.csv');
    expect((await bank.get('/bank/payouts')).text).toContain('该回盘文件已导入过');
    const contradiction = await upload(resultFileCsv([paid(4)]));
    expect(contradiction.status).toBe(422);
    expect(contradiction.text).toContain('该笔已有回盘结果（失败 F02），不能更改');

    // transferred = paid + failed + pending at the bank, to the fen.
    const money = await roundMoney(t.core.db, Number(round.id));
    const results = await roundResults(t.core.db, Number(round.id), { count: money.lines, totalFen: money.linesFen });
    expect(results).toMatchObject({ paid: 4, failed: 1, pending: lines.length - 5 });
    expect(results.paidFen + results.failedFen + results.pendingFen).toBe(money.transferredFen);
  });

  it('refuses a result file whose summary differs from its own lines, naming the figure; a partial file\'s summary counts its own lines only', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const round = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
    const lines: { id: number; amount_fen: number }[] = await t.core.db('batch_line').where({ round_id: round.id, state: 'active' }).orderBy('id').limit(20).select('id', 'amount_fen');
    expect(lines.length).toBe(20);
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const page = await bank.get('/bank/payouts');
    const upload = (csv: string) => bank.post(`/bank/payouts/${round.id}/results`).field('_csrf', csrfFrom(page.text)).attach('file', Buffer.from(csv), '回盘.csv');
    // 20 lines of the round: the first failed (F03), the others paid.
    const details = lines.map((l, i) => `R${round.id}-${l.id},${l.amount_fen},${i === 0 ? '失败,F03,' : '成功,,'}`);
    const total = lines.reduce((sum, l) => sum + l.amount_fen, 0);
    const file = (summary: string[]) => `${summary.join('\n')}\n\n流水号,金额（分）,结果,失败代码,失败原因\n${details.join('\n')}\n`;
    const refusals: [string, string[], string[]][] = [
      // The summary says 21 lines and 100 fen more than its 20 lines: both figures are named.
      ['one line and 100 fen more', ['总笔数,总金额（分）', `21,${total + 100}`], ['第 2 行「总笔数」：汇总为 21 笔，本文件明细为 20 笔', `第 2 行「总金额（分）」：汇总为 ${total + 100} 分，本文件明细合计 ${total} 分`]],
      ['the whole round’s count', ['总笔数,总金额（分）', `30,${total}`], ['第 2 行「总笔数」：汇总为 30 笔，本文件明细为 20 笔（汇总只计本文件中的明细）']],
      ['successes and failures swapped', ['总笔数,总金额（分）,成功笔数,失败笔数', `20,${total},1,19`], ['第 2 行「成功笔数」：汇总为 1 笔，本文件结果为“成功”的明细为 19 笔', '第 2 行「失败笔数」：汇总为 19 笔，本文件结果为“失败”的明细为 1 笔']],
      ['a figure that is no number', ['总笔数,总金额（分）', `二十,${total}`], ['第 2 行「总笔数」：汇总应为整数']],
      ['no summary', [], ['缺少汇总：明细表头上方应有一行“总笔数、总金额（分）”']],
    ];
    for (const [what, summary, messages] of refusals) {
      const refused = await upload(file(summary));
      expect(refused.status, what).toBe(422);
      for (const message of messages) expect(refused.text, what).toContain(message);
    }
    expect(await t.core.db('bank_result_file').where({ round_id: round.id }).count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await t.core.db('bank_line_result').where({ round_id: round.id }).count({ n: '*' })).toEqual([{ n: 0 }]);

    // A partial file: its summary is its own 20 lines (the round has more); the others stay pending at the bank.
    expect((await upload(file(['总笔数,总金额（分）,成功笔数,失败笔数', `20,${total},19,1`]))).status).toBe(303);
    expect((await bank.get('/bank/payouts')).text).toContain('回盘已导入：成功 19 笔，失败 1 笔');
    const money = await roundMoney(t.core.db, Number(round.id));
    expect(money.lines).toBeGreaterThan(20);
    expect(await roundResults(t.core.db, Number(round.id), { count: money.lines, totalFen: money.linesFen })).toMatchObject({ paid: 19, failed: 1, pending: money.lines - 20 });
  });

  it('recognises a result file already imported by its digest, before reading it', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const round = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id', 'bank_org_id');
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const page = await bank.get('/bank/payouts');
    // Bytes no reader would take (not a table) whose digest is on record as imported for this round: the answer
    // is the repeat's, so the file was never read.
    const unreadable = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const sha256 = createHash('sha256').update(unreadable).digest('hex');
    await t.core.db('bank_result_file').insert({ round_id: round.id, bank_org_id: round.bank_org_id, file_sha256: sha256, file_name: '回盘.csv', channel: 'file', rows: 3, paid: 3, failed: 0, uploaded_by: null, uploaded_at: new Date().toISOString() });
    const imports = (await auditRows(t.core, 'bank.results.import')).length;
    const again = await bank.post(`/bank/payouts/${round.id}/results`).field('_csrf', csrfFrom(page.text)).attach('file', unreadable, '回盘.csv');
    expect(again.status).toBe(303);
    expect((await bank.get('/bank/payouts')).text).toContain('该回盘文件已导入过，本次没有做任何更改');
    // Without that record the same bytes are read, and refused as not a table.
    await t.core.db('bank_result_file').where({ round_id: round.id, file_sha256: sha256 }).delete();
    const read = await bank.post(`/bank/payouts/${round.id}/results`).field('_csrf', csrfFrom(page.text)).attach('file', unreadable, '回盘.csv');
    expect(read.status).toBe(422);
    expect(read.text).toContain('PNG 图片');
    expect((await auditRows(t.core, 'bank.results.import')).length).toBe(imports);
  });

  it('takes results through the API from the bank\'s token, the same rules', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const admin = await asAdmin(t);
    const bankOrg = await t.core.db('core_org').where({ kind: 'bank' }).first('id');
    const token = await approvedToken(t, await submit(admin, '/admin/api-tokens', '/admin/api-tokens', { name: '信用社代发系统', purpose: 'bank', regionId: String(await regionId(t, '青禾县')), orgId: String(bankOrg.id) }));
    const round = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
    const line = await t.core.db('batch_line').where({ round_id: round.id }).orderBy('id').first('id', 'amount_fen');
    const post = (results: unknown[]) => agentFor(t!.core).post(`/api/v1/payouts/${round.id}/results`).set('Authorization', `Bearer ${token}`).send({ results });
    const wrong = await post([{ ref: `R${round.id}-${line.id}`, amountFen: Number(line.amount_fen) + 1, result: 'paid' }]);
    expect(wrong.status).toBe(422);
    expect(wrong.body.errors).toEqual([{ row: 1, field: 'amountFen', message: `与代发文件不符：应为 ${line.amount_fen} 分` }]);
    const ok = await post([{ ref: `R${round.id}-${line.id}`, amountFen: Number(line.amount_fen), result: 'failed', code: 'F03' }]);
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ paid: 0, failed: 1 });
    expect((await post([{ ref: `R${round.id}-${line.id}`, amountFen: Number(line.amount_fen), result: 'failed', code: 'F03' }])).status).toBe(200);
  });

  it('runs the loop without a bank: the simulator answers the payout file and its results import', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const round = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const payout = await bank.get(`/bank/payouts/${round.id}/xlsx`).buffer(true).parse(binaryParser);
    const simulated = await simulateResults(payout.body as Buffer, { failRate: 0.2, seed: 11 });
    const page = await bank.get('/bank/payouts');
    const uploaded = await bank.post(`/bank/payouts/${round.id}/results`).field('_csrf', csrfFrom(page.text)).attach('file', simulated.csv, 'sim.csv');
    expect(uploaded.status).toBe(303);
    const money = await roundMoney(t.core.db, Number(round.id));
    expect(await roundResults(t.core.db, Number(round.id), { count: money.lines, totalFen: money.linesFen })).toMatchObject({ failed: simulated.failed, paid: simulated.lines - simulated.failed, pending: 0 });
    // The one-card view shows the bank's answer on the person's page.
    const failed = await t.core.db('bank_line_result').where({ round_id: round.id, result: 'failed' }).first('line_id', 'failure_code');
    const line = await t.core.db('batch_line').where({ id: failed.line_id }).first('person_id');
    const station = agentFor(t.core);
    await login(station, 'station1');
    const person = await station.get(`/beneficiaries/${line.person_id}`);
    expect(person.text).toContain('代发银行发放结果');
    expect(person.text).toContain(`发放失败：${failed.failure_code}`);

    // Each paid line queued one notice; the demo agreement names no SMS channel, so the log sender (here a test
    // sender) writes them and the person's page says they were not sent (test/http/notices.test.ts: the bank's channel).
    const sent: string[] = [];
    const queuedBefore = Number((await t.core.db('bank_notice').where({ state: 'queued' }).whereNot({ round_id: round.id }).count({ n: '*' }).first())?.n);
    expect((await sendQueuedNotices(t.core.db, { channel: 'test', send: async (n) => void sent.push(n.text) })).logged).toBe(queuedBefore + simulated.lines - simulated.failed);
    expect((await sendQueuedNotices(t.core.db, { channel: 'test', send: async (n) => void sent.push(n.text) })).logged).toBe(0);
    const paid = await t.core.db('bank_line_result').where({ round_id: round.id, result: 'paid' }).first('line_id');
    const paidLine = await t.core.db('batch_line').where({ id: paid.line_id }).first('person_id', 'amount_fen', 'account_last4');
    const notice = (await t.core.db('bank_notice').where({ line_id: paid.line_id }).first('text')).text as string;
    expect(notice).toMatch(new RegExp(`^您的2026年9月经济困难高龄失能养老服务补贴资金 [\\d,.]+ 元（补贴标准：(.+，)?每\\S+ [\\d,.]+ 元）已于 \\d{4}-\\d{2}-\\d{2} 发放到尾号 ${paidLine.account_last4} 的账户。发放部门：青禾县民政局。$`));
    expect(sent).toContain(notice);
    const personPage = (await station.get(`/beneficiaries/${paidLine.person_id}`)).text;
    expect(personPage).toContain(notice);
    expect(personPage).toContain('演示：仅写入日志，未实际发送');
  });
});
