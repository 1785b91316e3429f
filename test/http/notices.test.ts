import { afterEach, describe, expect, it, vi } from 'vitest';
import { noticeStateLabel, sendQueuedNotices, logSender } from '../../src/modules/bank/notices.ts';
import { simulateNoticeConfirmations, simulateResults } from '../../src/modules/bank/simulator.ts';
import { formatYuan } from '../../src/core/money.ts';
import { TEST_DB, type TestDb, agentFor, approvedToken, asAdmin, auditRows, binaryParser, createSeededDb, csrfFrom, login, regionId, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  vi.restoreAllMocks();
  t = undefined;
});

type Agent = ReturnType<typeof agentFor>;

/** The bank pays the 2026-09 round through the simulator (a fifth failing): its paid lines queue notices. */
async function payRound(db: TestDb, bank: Agent): Promise<{ roundId: number; paidLineIds: number[] }> {
  const round = await db.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
  const payout = await bank.get(`/bank/payouts/${round.id}/xlsx`).buffer(true).parse(binaryParser);
  const simulated = await simulateResults(payout.body as Buffer, { failRate: 0.2, seed: 11 });
  const page = await bank.get('/bank/payouts');
  const uploaded = await bank.post(`/bank/payouts/${round.id}/results`).field('_csrf', csrfFrom(page.text)).attach('file', simulated.csv, 'sim.csv');
  expect(uploaded.status).toBe(303);
  const paid = await db.core.db('bank_line_result').where({ round_id: round.id, result: 'paid' }).orderBy('line_id').pluck('line_id');
  expect(paid.length).toBe(simulated.lines - simulated.failed);
  return { roundId: Number(round.id), paidLineIds: paid.map(Number) };
}

/** The full ID and account numbers of the people these lines pay (decrypted): none may appear in a notice or a log. */
async function secretsOf(db: TestDb, lineIds: number[]): Promise<string[]> {
  const lines = await db.core.db('batch_line').whereIn('id', lineIds).select('person_id', 'account_id');
  const people = await db.core.db('beneficiary_person').whereIn('id', lines.map((l: { person_id: number }) => l.person_id)).pluck('id_enc');
  const accounts = await db.core.db('beneficiary_account').whereIn('id', lines.map((l: { account_id: number }) => l.account_id)).pluck('account_enc');
  return [...people, ...accounts].map((enc: string) => db.core.crypto.decrypt(enc));
}

const csv = (rows: string[][]) => Buffer.from(`\ufeff${rows.map((r) => r.join(',')).join('\r\n')}\r\n`, 'utf8');

/** The person's page of a line, as the township station (logged in once per database) sees it. */
const stations = new WeakMap<TestDb, Agent>();
async function personPage(db: TestDb, lineId: number): Promise<string> {
  const line = await db.core.db('batch_line').where({ id: lineId }).first('person_id');
  let station = stations.get(db);
  if (!station) {
    station = agentFor(db.core);
    await login(station, 'station1');
    stations.set(db, station);
  }
  return (await station.get(`/beneficiaries/${line.person_id}`)).text;
}

describe(`payment notices through the agent bank's SMS channel (${TEST_DB})`, () => {
  it('lets the finance section agree the bank’s notice channel on the agreement, only with the free SMS service', async () => {
    t = await createSeededDb({ demo: true });
    // The finance section agrees the notice file as the bank's channel; a channel without the free SMS service is refused.
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const agreement = await t.core.db('agreement_contract').first();
    const path = `/agreements/${agreement.id}`;
    const terms = { version: String(agreement.version), branch: agreement.branch, settlementAccountName: agreement.settlement_account_name, procurementProjectNo: agreement.procurement_project_no, procurementMethod: agreement.procurement_method, termPayment: agreement.term_payment, termNotice: agreement.term_notice, termWithdrawal: agreement.term_withdrawal, termDataSecurity: agreement.term_data_security, freeWithdrawal: 'on', dataSecurityPledged: 'on' };
    const refused = await submit(finance, path, `${path}/edit`, { ...terms, noticeChannel: 'file' });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('约定了短信告知渠道，须同时勾选“每笔发放免费短信告知”');
    const unknown = await submit(finance, path, `${path}/edit`, { ...terms, freeSms: 'on', noticeChannel: 'pigeon' });
    expect(unknown.status).toBe(422);
    expect(unknown.text).toContain('请选择短信告知渠道');
    expect((await submit(finance, path, `${path}/edit`, { ...terms, freeSms: 'on', noticeChannel: 'file' })).status).toBe(303);
    expect((await finance.get(path)).text).toContain('免费短信告知（经告知文件');
    const edit = (await auditRows(t.core, 'agreement.edit')).at(-1);
    expect(JSON.stringify(edit.summary)).toContain('告知文件');
    expect(await t.core.db('agreement_contract').where({ id: agreement.id }).first('notice_channel')).toEqual({ notice_channel: 'file' });
  });

  it('queues a notice naming the policy, standard and unit, amount, date, department and the account’s last four digits, and marks it sent only when the bank confirms it through the notice file', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    await t.core.db('agreement_contract').update({ notice_channel: 'file' });
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const { roundId, paidLineIds } = await payRound(t, bank);
    const notices = await t.core.db('bank_notice').where({ round_id: roundId }).orderBy('id').select('id', 'line_id', 'text', 'state', 'channel');
    expect(notices.map((n: { line_id: number }) => Number(n.line_id))).toEqual(paidLineIds);
    expect(new Set(notices.map((n: { state: string; channel: string }) => `${n.state}/${n.channel}`))).toEqual(new Set(['queued/file']));

    // The text: the round (policy and period), the standard per unit, the amount, the date, the department, the last four digits.
    const line = await t.core.db('batch_line as l').join('batch_round as r', 'r.id', 'l.round_id').where('l.id', paidLineIds[0]).first('l.amount_fen', 'l.standard_fen', 'l.tier_name', 'l.account_last4', 'r.unit', 'r.title');
    const text = notices[0].text as string;
    expect(text).toContain(`您的${line.title} ${formatYuan(line.amount_fen)} 元`);
    expect(text).toContain(`每${line.unit} ${formatYuan(line.standard_fen)} 元`);
    expect(text).toMatch(/已于 \d{4}-\d{2}-\d{2} 发放到尾号/);
    expect(text).toContain(`尾号 ${line.account_last4} 的账户`);
    expect(text).toContain('发放部门：青禾县民政局');
    const secrets = await secretsOf(t, paidLineIds);
    for (const n of notices) for (const s of secrets) expect(n.text).not.toContain(s);

    // The task leaves them to the bank: nothing is written to the log, nothing claims to be sent.
    const demoQueued = Number((await t.core.db('bank_notice').where({ state: 'queued', channel: 'log' }).count({ n: '*' }).first())!.n);
    expect(await sendQueuedNotices(t.core.db)).toEqual({ logged: demoQueued, awaitingBank: notices.length });
    expect(new Set(await t.core.db('bank_notice').where({ round_id: roundId }).pluck('state'))).toEqual(new Set(['queued']));
    expect((await bank.get('/')).text).toContain('待获取并短信发送的补贴发放告知');
    expect(await personPage(t, paidLineIds[0]!)).toContain('待代发银行获取');

    // The bank downloads the notice file: every unconfirmed notice, by the payout reference; they are handed over.
    const file = await bank.get('/bank/notices/file.csv').buffer(true).parse(binaryParser);
    expect(file.status).toBe(200);
    const rows = (file.body as Buffer).toString('utf8').replace(/^\ufeff/, '').trim().split('\r\n').map((r) => r.split(','));
    expect(rows[0]).toEqual(['告知编号', '流水号', '发放批次编号', '短信内容']);
    expect(rows.slice(1).map((r) => [Number(r[0]), r[1], r[3]])).toEqual(notices.map((n: { id: number; line_id: number; text: string }) => [Number(n.id), `R${roundId}-${n.line_id}`, n.text]));
    for (const s of secrets) expect((file.body as Buffer).toString('utf8')).not.toContain(s);
    expect(new Set(await t.core.db('bank_notice').where({ round_id: roundId }).pluck('state'))).toEqual(new Set(['handed']));
    expect((await auditRows(t.core, 'bank.notices.fetch')).length).toBe(1);
    // Handed over and unconfirmed for more than 3 days, they show on the bank's home page.
    await t.core.db('bank_notice').where({ id: notices[0].id }).update({ handed_at: new Date(Date.now() - 4 * 86_400_000).toISOString() });
    expect((await bank.get('/')).text).toContain('已交银行超过 3 天未回传发送结果的告知');
    const handedPage = await personPage(t, paidLineIds[0]!);
    expect(handedPage).toContain('已交银行待确认');
    expect(handedPage).not.toContain('已发送');

    // A confirmation file with one bad row is refused whole: nothing changes.
    const ids = notices.map((n: { id: number }) => String(n.id));
    const page = await bank.get('/bank/notices');
    expect(page.text).toContain('href="/bank/notices/file.csv"');
    const upload = (body: Buffer, name: string) => bank.post('/bank/notices/confirmations').field('_csrf', csrfFrom(page.text)).attach('file', body, name);
    const bad = await upload(csv([['告知编号', '结果', '失败原因'], [ids[0]!, '已发送', ''], ['999999', '已发送', ''], [ids[1]!, '失败', '']]), 'bad.csv');
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('发送失败须写明原因');
    const unknownId = await upload(csv([['告知编号', '结果', '失败原因'], [ids[0]!, '已发送', ''], ['999999', '已发送', '']]), 'unknown.csv');
    expect(unknownId.status).toBe(422);
    expect(unknownId.text).toContain('告知 999999 不存在或不是本机构的告知');
    expect(new Set(await t.core.db('bank_notice').where({ round_id: roundId }).pluck('state'))).toEqual(new Set(['handed']));
    const missing = await bank.post('/bank/notices/confirmations').field('_csrf', csrfFrom(page.text));
    expect(missing.status).toBe(422);

    // The bank's confirmations (the simulator's: one failed): sent ones are sent, the failed one says why.
    const confirmations = await simulateNoticeConfirmations(file.body as Buffer, { failRate: 0, seed: 1 });
    const lines = confirmations.csv.toString('utf8').replace(/^\ufeff/, '').trim().split('\r\n').map((r) => r.split(','));
    lines[1] = [lines[1]![0]!, '失败', '手机号码停机'];
    const good = csv(lines);
    const ok = await upload(good, 'confirm.csv');
    expect(ok.status).toBe(303);
    const states = await t.core.db('bank_notice').where({ round_id: roundId }).orderBy('id').select('state', 'failure_reason', 'sent_at');
    expect(states[0]).toMatchObject({ state: 'failed', failure_reason: '手机号码停机', sent_at: null });
    expect(states.slice(1).every((s: { state: string; sent_at: string | null }) => s.state === 'sent' && s.sent_at)).toBe(true);
    expect(await personPage(t, paidLineIds[1]!)).toContain('已发送（代发银行确认');
    expect(await personPage(t, paidLineIds[0]!)).toContain('代发银行发送失败：手机号码停机');

    // The same file again changes nothing; a confirmation that contradicts one recorded is refused.
    const again = await upload(good, 'confirm-again.csv');
    expect(again.status).toBe(303);
    expect((await bank.get(again.headers.location!)).text).toContain('该发送结果文件已导入过');
    expect(Number((await t.core.db('bank_notice_confirmation').count({ n: '*' }).first())!.n)).toBe(1);
    const contradict = await upload(csv([['告知编号', '结果', '失败原因'], [ids[1]!, '失败', '空号']]), 'contradict.csv');
    expect(contradict.status).toBe(422);
    expect(contradict.text).toContain('已确认发送，不能改为失败');
    // A failed notice sent after a retry may be confirmed sent.
    expect((await upload(csv([['告知编号', '结果', '失败原因'], [ids[0]!, '已发送', '']]), 'retry.csv')).status).toBe(303);
    expect(new Set(await t.core.db('bank_notice').where({ round_id: roundId }).pluck('state'))).toEqual(new Set(['sent']));
    expect((await auditRows(t.core, 'bank.notices.confirm')).length).toBe(2);
    // Confirmed, the notice file is empty of them.
    const after = await bank.get('/bank/notices/file.csv').buffer(true).parse(binaryParser);
    expect((after.body as Buffer).toString('utf8').trim().split('\r\n').length).toBe(1);
  });

  it('lets the bank fetch notices and post confirmations through the API, checked whole at the edge, the same body twice changing nothing', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    await t.core.db('agreement_contract').update({ notice_channel: 'api' });
    const admin = await asAdmin(t);
    const bankOrg = await t.core.db('core_org').where({ kind: 'bank' }).first('id');
    const token = await approvedToken(t, await submit(admin, '/admin/api-tokens', '/admin/api-tokens', { name: '信用社代发系统', purpose: 'bank', regionId: String(await regionId(t, '青禾县')), orgId: String(bankOrg.id) }));
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const { roundId, paidLineIds } = await payRound(t, bank);
    const api = agentFor(t.core);
    const get = (query = '') => api.get(`/api/v1/notices${query}`).set('Authorization', `Bearer ${token}`);
    const post = (confirmations: unknown) => api.post('/api/v1/notices/confirmations').set('Authorization', `Bearer ${token}`).send({ confirmations });

    expect((await get('?limit=0')).status).toBe(422);
    const first = await get('?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.notices).toHaveLength(2);
    expect(first.body.notices[0]).toMatchObject({ ref: `R${roundId}-${paidLineIds[0]}`, roundId });
    const fetched = await get();
    const ids: number[] = fetched.body.notices.map((n: { noticeId: number }) => n.noticeId);
    expect(ids.length).toBe(paidLineIds.length);
    // The file channel is not this bank's: the page offers no notice file.
    expect((await bank.get('/bank/notices')).text).not.toContain('href="/bank/notices/file.csv"');

    // Refused at the edge, row by row; then refused whole against the notices; nothing changes.
    const malformed = await post([{ noticeId: ids[0], result: 'ok' }, { noticeId: ids[1], result: 'failed' }]);
    expect(malformed.status).toBe(422);
    expect(malformed.body.errors).toEqual([
      { row: 1, field: 'result', message: '结果应为 sent 或 failed' },
      { row: 2, field: 'reason', message: '发送失败须写明原因' },
    ]);
    expect((await post([])).status).toBe(422);
    const foreign = await post([{ noticeId: ids[0], result: 'sent' }, { noticeId: 999999, result: 'sent' }]);
    expect(foreign.status).toBe(422);
    expect(foreign.body.errors).toEqual([{ row: 2, field: 'noticeId', message: '告知 999999 不存在或不是本机构的告知' }]);
    expect(new Set(await t.core.db('bank_notice').where({ round_id: roundId }).pluck('state'))).toEqual(new Set(['handed']));

    const body = ids.map((noticeId, i) => (i === 0 ? { noticeId, result: 'failed', reason: '未预留手机号码' } : { noticeId, result: 'sent' }));
    const ok = await post(body);
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ sent: ids.length - 1, failed: 1, unchanged: 0 });
    const repeated = await post(body);
    expect(repeated.status).toBe(200);
    expect(repeated.body).toMatchObject({ repeated: true });
    // The same confirmations in another call: recorded already, nothing changes.
    const overlapping = await post(body.slice(1));
    expect(overlapping.status).toBe(201);
    expect(overlapping.body).toMatchObject({ sent: 0, failed: 0, unchanged: ids.length - 1 });
    // Confirmed (sent or failed), none is offered again.
    expect((await get()).body.notices).toEqual([]);

    // The OpenAPI document lists the notice endpoints.
    const doc = await agentFor(t.core).get('/api/v1/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/notices', '/notices/confirmations']));
    expect(doc.body.paths['/notices/confirmations'].post.requestBody.content['application/json'].schema.required).toEqual(['confirmations']);
  });

  it('labels the log sender as what it is: in production not sent (in the demo 演示); its log lines hold no ID or account number', async () => {
    // Production (not the demo), where no agreement names a channel: the demo's label is checked in test/http/bank.test.ts.
    t = await createSeededDb({}, { people: true });
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const { roundId, paidLineIds } = await payRound(t, bank);
    expect(new Set(await t.core.db('bank_notice').where({ round_id: roundId }).pluck('channel'))).toEqual(new Set(['log']));
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const { logged } = await sendQueuedNotices(t.core.db, logSender);
    vi.restoreAllMocks();
    expect(logged).toBeGreaterThanOrEqual(paidLineIds.length);
    expect(new Set(await t.core.db('bank_notice').where({ round_id: roundId }).pluck('state'))).toEqual(new Set(['logged']));
    const logText = written.join('');
    expect(logText).toContain('not sent');
    for (const s of await secretsOf(t, paidLineIds)) expect(logText).not.toContain(s);

    const page = await personPage(t, paidLineIds[0]!);
    expect(page).toContain('未实际发送：代发协议未约定短信告知渠道，仅写入日志');
    expect(page).not.toContain('演示');
    expect(page).not.toContain('已发送');
    // Nothing for the bank to confirm: a confirmation of a logged notice is refused.
    const [noticeId] = await t.core.db('bank_notice').where({ round_id: roundId }).pluck('id');
    const notices = await bank.get('/bank/notices');
    expect(notices.text).toContain('未约定经告知文件或接口发送短信告知');
    const refused = await bank.post('/bank/notices/confirmations').field('_csrf', csrfFrom(notices.text)).attach('file', csv([['告知编号', '结果', '失败原因'], [String(noticeId), '已发送', '']]), 'c.csv');
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('未约定经银行发送');

    // In the demo the same notice says 演示.
    expect(noticeStateLabel({ state: 'logged', channel: 'log', sent_at: null, handed_at: new Date().toISOString(), failure_reason: null }, true)).toBe('演示：仅写入日志，未实际发送');
  });
});

describe('the notice file samples (docs/samples)', () => {
  it('answers the sample notice file with a confirmation file of the documented shape', async () => {
    const fs = await import('node:fs');
    const sample = fs.readFileSync(new URL('../../docs/samples/notice-sample.csv', import.meta.url));
    const { csv: answer, notices, failed } = await simulateNoticeConfirmations(sample, { failRate: 0, seed: 1 });
    expect({ notices, failed }).toEqual({ notices: 3, failed: 0 });
    expect(answer.toString('utf8')).toBe('\ufeff告知编号,结果,失败原因\r\n1201,已发送,\r\n1202,已发送,\r\n1203,已发送,\r\n');
    const confirmation = fs.readFileSync(new URL('../../docs/samples/notice-confirmation-sample.csv', import.meta.url), 'utf8');
    expect(confirmation.replace(/^\ufeff/, '').split('\r\n')[0]).toBe('告知编号,结果,失败原因');
  });
});
