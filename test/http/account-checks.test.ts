import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/core/errors.ts';
import { simulateAccountCheck } from '../../src/modules/bank/simulator.ts';
import { releaseRound } from '../../src/modules/batch/round-workflow.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, auditRows, binaryParser, createSeededDb, csrfFrom, independentSm2, login, personalNumbers, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** The answer a bank makes of the list: every line 一致 but the given ones. */
async function answerOf(list: Buffer, wrong: Map<number, [string, string]>): Promise<Buffer> {
  const all = (await simulateAccountCheck(list, { failRate: 0, seed: 1 })).csv.toString('utf8').split('\r\n');
  return Buffer.from(
    all.map((row, i) => {
      const verdict = wrong.get(i);
      return verdict ? row.replace(/,一致,$/, `,${verdict[0]},${verdict[1]}`) : row;
    }).join('\r\n'),
    'utf8',
  );
}

describe(`account verification with the bank before money moves (${TEST_DB})`, () => {
  it('the finance section sends a round under review; the bank downloads the list (audited) and answers; a closed account becomes a blocking finding and the round is not released', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const round = await db('batch_round').where({ state: 'submitted' }).first('id', 'version', 'title');
    const bankOrg = await db('core_org').where({ kind: 'bank' }).first('id');
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const form = await finance.get('/bank/account-checks');
    expect(form.text).toContain(round.title);
    // The form's refusal: nothing chosen.
    const empty = await finance.post('/bank/account-checks').type('form').send({ _csrf: csrfFrom(form.text), roundId: '', bankOrgId: '' });
    expect(empty.status).toBe(422);
    expect(empty.text).toContain('请选择发放批次');
    expect(empty.text).toContain('请选择代发金融机构');
    const sent = await submit(finance, '/bank/account-checks', '/bank/account-checks', { roundId: String(round.id), bankOrgId: String(bankOrg.id) });
    expect(sent.status).toBe(303);
    const checkId = Number(/\/bank\/account-checks\/(\d+)/.exec(sent.headers.location!)![1]);
    // One check of a round awaits its answer at a time.
    expect((await submit(finance, '/bank/account-checks', '/bank/account-checks', { roundId: String(round.id), bankOrgId: String(bankOrg.id) })).status).toBe(409);
    const lines = await db('batch_line').where({ round_id: round.id, state: 'active' }).whereNotNull('account_id').orderBy('id').select('id', 'person_id', 'account_id');
    expect((await db('bank_account_check').where({ id: checkId }).first('lines')).lines).toBe(lines.length);

    // The finance section's page shows no ID or account number; the bank's list has them in full.
    const page = await finance.get(`/bank/account-checks/${checkId}`);
    expect(personalNumbers(page.text)).toEqual([]);
    expect(page.text).not.toContain('list.csv');
    expect((await finance.get(`/bank/account-checks/${checkId}/list.csv`)).status).toBe(403);
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const list = await bank.get(`/bank/account-checks/${checkId}/list.csv`).buffer(true).parse(binaryParser);
    expect(list.status).toBe(200);
    const rows = (list.body as Buffer).toString('utf8').replace(/^\ufeff/, '').trim().split('\r\n');
    expect(rows[0]).toBe('核验编号,户名,身份证号码,账号,核验结果,说明');
    const person = await db('beneficiary_person').where({ id: lines[0].person_id }).first('id_enc');
    expect(rows[1]!.split(',')[2]).toBe(t.core.crypto.decrypt(person.id_enc));
    expect(await auditRows(t.core, 'bank.account_check.download')).toHaveLength(1);

    const bankPage = await bank.get(`/bank/account-checks/${checkId}`);
    const upload = (file: Buffer) => bank.post(`/bank/account-checks/${checkId}/answer`).field('_csrf', csrfFrom(bankPage.text)).attach('file', file, '核验结果.csv');
    // Refused whole: an unknown reference and a problem without its explanation; nothing recorded.
    const bad = Buffer.from((await answerOf(list.body as Buffer, new Map([[1, ['已销户', '']]]))).toString('utf8').replace(`V${checkId}-${lines[1].id},`, `V${checkId}-999999,`));
    const refused = await upload(bad);
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('核验结果不是“一致”的，须写明情况');
    expect(refused.text).toContain(`“V${checkId}-999999”不是本次核验名单中的核验编号`);
    expect(await db('batch_account_verdict').count({ n: '*' })).toEqual([{ n: 0 }]);
    const noFile = await bank.post(`/bank/account-checks/${checkId}/answer`).field('_csrf', csrfFrom(bankPage.text));
    expect(noFile.status).toBe(422);
    expect(noFile.text).toContain('请选择填好核验结果的名单');

    const good = await answerOf(list.body as Buffer, new Map([[1, ['已销户', '2026-10-08 本人申请销户']]]));
    expect((await upload(good)).status).toBe(303);
    expect((await upload(good)).status).toBe(303);
    expect(await db('batch_account_verdict').whereNot('outcome', 'ok').select('line_id', 'outcome')).toEqual([{ line_id: lines[0].id, outcome: 'closed' }]);
    expect(await auditRows(t.core, 'bank.account_check.answer')).toHaveLength(1);
    expect((await finance.get(`/bank/account-checks/${checkId}`)).text).toContain('2026-10-08 本人申请销户');

    // The release re-runs the checks: the closed account blocks it, named on the line.
    await expect(releaseRound(t.core, await actorFor(t, 'finance'), round.id, { version: round.version, bankOrgId: bankOrg.id })).rejects.toThrow(ConflictError);
    const finding = await db('batch_finding').where({ line_id: lines[0].id, rule: 'bank-verdict' }).first('severity', 'message', 'state');
    expect(finding).toMatchObject({ severity: 'blocking', state: 'open' });
    expect(finding.message).toContain('已销户，2026-10-08 本人申请销户');
  });

  it('lets the department send its own compiling round, not another department\'s nor a released one; the bank\'s signature is required when agreed', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const bankOrg = await db('core_org').where({ kind: 'bank' }).first('id');
    const civil = await db('batch_round').where({ state: 'compiling', department_org_id: 2 }).first('id', 'title');
    const released = await db('batch_round').where({ state: 'released' }).first('id');
    const agri = agentFor(t.core);
    await login(agri, 'dept_agri');
    expect((await agri.get('/bank/account-checks')).text).not.toContain(civil.title);
    expect((await submit(agri, '/bank/account-checks', '/bank/account-checks', { roundId: String(civil.id), bankOrgId: String(bankOrg.id) })).status).toBe(403);
    const dept = agentFor(t.core);
    await login(dept, 'dept_civil');
    const late = await submit(dept, '/bank/account-checks', '/bank/account-checks', { roundId: String(released.id), bankOrgId: String(bankOrg.id) });
    expect(late.status).toBe(409);
    expect(late.text).toContain('账户核验须在下达之前');
    const sent = await submit(dept, '/bank/account-checks', '/bank/account-checks', { roundId: String(civil.id), bankOrgId: String(bankOrg.id) });
    expect(sent.status).toBe(303);
    const checkId = Number(/\/bank\/account-checks\/(\d+)/.exec(sent.headers.location!)![1]);

    // The agreement requires the bank's signature: an unsigned answer is refused at its field.
    const key = independentSm2.generateKeyPairHex();
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const agreement = await db('agreement_contract').first('id', 'version');
    const agreementPage = await finance.get(`/agreements/${agreement.id}`);
    await finance.post(`/agreements/${agreement.id}/bank-key`).type('form').send({ _csrf: csrfFrom(agreementPage.text), version: String(agreement.version), bankPublicKey: key.publicKey, requireBankSignature: 'on' });
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const list = await bank.get(`/bank/account-checks/${checkId}/list.csv`).buffer(true).parse(binaryParser);
    const answer = await answerOf(list.body as Buffer, new Map());
    const page = await bank.get(`/bank/account-checks/${checkId}`);
    const unsigned = await bank.post(`/bank/account-checks/${checkId}/answer`).field('_csrf', csrfFrom(page.text)).attach('file', answer, '核验结果.csv');
    expect(unsigned.status).toBe(422);
    expect(unsigned.text).toContain('要求账户核验结果文件附银行的 SM2 签名');
    const signature = Buffer.from(independentSm2.doSignature([...answer], key.privateKey, { der: true, hash: true }), 'hex');
    const signed = await bank.post(`/bank/account-checks/${checkId}/answer`).field('_csrf', csrfFrom(page.text)).attach('file', answer, '核验结果.csv').attach('signature', signature, '核验结果.csv.sig');
    expect(signed.status).toBe(303);
    expect((await db('bank_account_check').where({ id: checkId }).first('state')).state).toBe('answered');
  });
});
