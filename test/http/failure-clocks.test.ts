import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/core/auth/roles.ts';
import { businessDate } from '../../src/core/dates.ts';
import { csvLine } from '../../src/core/spreadsheet.ts';
import { verifyFailure } from '../../src/modules/bank/failures.ts';
import { roundLedger } from '../../src/modules/bank/ledger.ts';
import { resultFileCsv } from '../../src/modules/bank/simulator.ts';
import { DEMO_SETTLEMENT_ACCOUNT } from '../../seeds/demo-batch.ts';
import { PUBLIC_PAYMENT_STATUS, publicPaymentsOf } from '../../src/modules/bank/public-payments.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, binaryParser, createSeededDb, csrfFrom, login, loginWithTotp } from '../factories.ts';

/**
 * Failed payments as Qinghai 二(一)4 and Haicheng 三 say (issue 15): the department pays again after the second
 * failure and returns the money early only for a person no longer entitled (a listed ground and its document); the
 * correction clock ends when the corrected lines reach the bank, the repayment clock when the bank reports them paid;
 * each case page says which clock runs; the township finance office imports the corrected lines of its township as
 * a file, refused or applied whole, once, and verified by someone else.
 */
let t: TestDb;
let roundId: number;
type Line = { id: number; fen: number; name: string };
let lines: Line[];
type Agent = ReturnType<typeof agentFor>;
const agents: Record<string, Agent> = {};

beforeAll(async () => {
  t = await createSeededDb({ demo: true }, { people: true });
  const db = t.core.db;
  roundId = Number((await db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id')).id);
  const finance1 = await actorFor(t, 'finance1');
  // Lines of the finance office's township, as the station compiled them.
  lines = (
    await db('batch_line as l').join('batch_roster as r', 'r.id', 'l.roster_id').where({ 'l.round_id': roundId, 'l.state': 'active', 'r.township_id': finance1.regionId }).orderBy('l.id').limit(6).select('l.id', 'l.amount_fen', 'l.person_name')
  ).map((l: { id: number; amount_fen: number; person_name: string }) => ({ id: Number(l.id), fen: Number(l.amount_fen), name: l.person_name }));
  for (const username of ['bank', 'station1', 'finance1', 'dept_civil', 'finance', 'treasury']) {
    const agent = agentFor(t.core);
    if (['finance', 'treasury'].includes(username)) await loginWithTotp(agent, t.core, username);
    else await login(agent, username);
    agents[username] = agent;
  }
});
afterAll(async () => t?.cleanup());

const yuan = (fen: number) => (fen / 100).toFixed(2);
const post = async (agent: Agent, page: string, action: string, fields: Record<string, string | string[]>) => {
  const csrf = csrfFrom((await agent.get(page)).text);
  return agent.post(action).type('form').send({ _csrf: csrf, ...fields });
};
const caseOf = async (line: Line) => t.core.db('bank_failure').where({ line_id: line.id }).first();
const version = async (line: Line) => String((await caseOf(line)).version);
const clock = async (rule: string, objectId: string | number) => t.core.db('core_deadline').where({ rule, object_id: String(objectId) }).orderBy('id', 'desc').first('state', 'started_on', 'due_on');
/** The bank's result file for these lines at this attempt. */
const results = async (rows: { line: Line; attempt: number; paid: boolean }[], name: string) => {
  const bank = agents.bank!;
  const csv = resultFileCsv(rows.map((r) => ({ ref: `R${roundId}-${r.line.id}${r.attempt > 1 ? `-${r.attempt}` : ''}`, amountFen: r.line.fen, ...(r.paid ? { result: '成功' } : { result: '失败', code: 'F03' }) })));
  const page = await bank.get('/bank/payouts');
  const res = await bank.post(`/bank/payouts/${roundId}/results`).field('_csrf', csrfFrom(page.text)).attach('file', csv, name);
  expect(res.status, res.text.slice(0, 500)).toBe(303);
};
/** The text of a case page's 当前计时 section. */
const clockText = async (agent: Agent, line: Line) => {
  const html = (await agent.get(`/bank/failures/${(await caseOf(line)).id}`)).text;
  const start = html.indexOf('当前计时');
  return html.slice(start, html.indexOf('</section>', start));
};

describe(`failed payments: the clocks and the early return (${TEST_DB})`, () => {
  it('runs the correction clock until the bank fetches the corrected lines, the repayment clock until it reports them paid, shows it on each case page, and returns early only with a listed ground and its document', async () => {
    const db = t.core.db;
    const [a, b] = lines as [Line, Line];
    const { bank, station1: station, dept_civil: dept, finance, treasury } = agents as Record<string, Agent>;
    await results([{ line: a, attempt: 1, paid: false }, { line: b, attempt: 1, paid: false }], '回盘-时限.csv');
    const group = (await caseOf(a)).deadline_key as string;
    const correction = await clock('failure_correction', group);
    expect(correction.state).toBe('open');
    // The case page says which clock runs, since when, until when.
    let shown = await clockText(station, a);
    expect(shown).toContain('发放失败核实修正');
    expect(shown).toContain(`自 ${correction.started_on} 起计时，${correction.due_on} 到期`);
    expect(shown).not.toContain('已逾期');

    // Corrected, verified and re-reviewed: not at the bank yet, the clock still runs.
    for (const line of [a, b]) {
      const id = (await caseOf(line)).id;
      expect((await post(station, `/bank/failures/${id}`, `/bank/failures/${id}/correct`, { version: await version(line), note: '账户已解冻' })).status).toBe(303);
      expect((await post(dept, `/bank/failures/${id}`, `/bank/failures/${id}/verify`, { version: await version(line) })).status).toBe(303);
    }
    expect((await clock('failure_correction', group)).state).toBe('open');
    const ids = [String((await caseOf(a)).id), String((await caseOf(b)).id)];
    expect((await post(finance, `/bank/rounds/${roundId}`, `/bank/rounds/${roundId}/approve`, { failureIds: ids })).status).toBe(303);
    expect((await clock('failure_correction', group)).state).toBe('open');
    expect(await clockText(dept, a)).toContain('修正后的明细送达代发银行（银行下载补充代发文件）时办结');
    // The checksum alone is not the file; the file itself reaches the bank and ends the clock.
    expect((await bank.get(`/bank/payouts/${roundId}/csv/sm3?supplement=1`)).status).toBe(200);
    expect((await clock('failure_correction', group)).state).toBe('open');
    const file = await bank.get(`/bank/payouts/${roundId}/csv?supplement=1`).buffer(true).parse(binaryParser);
    expect(file.status).toBe(200);
    expect((await clock('failure_correction', group)).state).toBe('done');
    shown = await clockText(station, a);
    expect(shown).toContain('无计时');
    expect(shown).toContain('随补充代发文件 1 送达代发银行');

    // Failed a second time: the bank's refund clock, then, refunded, the department's repayment clock.
    await results([{ line: a, attempt: 2, paid: false }, { line: b, attempt: 2, paid: false }], '补充回盘-时限.csv');
    expect(await clockText(bank, a)).toContain('二次发放失败资金退回');
    expect((await post(bank, `/bank/rounds/${roundId}`, `/bank/rounds/${roundId}/refund`, { failureIds: ids, amount: yuan(a.fen + b.fen), voucherNo: 'TK-时限-1', refundedOn: businessDate() })).status).toBe(303);
    const refundId = (await caseOf(a)).refund_id as number;
    expect((await clock('repayment', refundId)).state).toBe('open');
    shown = await clockText(dept, a);
    expect(shown).toContain('退回后重新发放');
    expect(shown).toContain('代发银行回盘发放成功时办结');

    // After a plain second failure the department pays again: no free-form return. The early return needs a listed
    // ground and its document; without them it is refused and nothing changes.
    const aId = String((await caseOf(a)).id);
    const page = (await dept.get(`/bank/failures/${aId}`)).text;
    expect(page).not.toContain('不再发放的原因');
    expect(page).toContain('只有收款人已死亡、已迁出或已取消资格的');
    const plain = await post(dept, `/bank/failures/${aId}`, `/bank/failures/${aId}/decide-return`, { version: await version(a), reason: '多次联系不上本人' });
    expect(plain.status).toBe(422);
    expect(plain.text).toContain('请选择不再发放的理由');
    expect(plain.text).toContain('请填写证明材料（证明名称及编号）');
    const noEvidence = await post(dept, `/bank/failures/${aId}`, `/bank/failures/${aId}/decide-return`, { version: await version(a), ground: 'deceased', evidence: '' });
    expect(noEvidence.status).toBe(422);
    expect(noEvidence.text).toContain('请填写证明材料（证明名称及编号）');
    const unlisted = await post(dept, `/bank/failures/${aId}`, `/bank/failures/${aId}/decide-return`, { version: await version(a), ground: 'unreachable', evidence: '村委会证明' });
    expect(unlisted.status).toBe(422);
    expect(unlisted.text).toContain('请选择不再发放的理由');
    expect((await caseOf(a)).state).toBe('refunded');
    expect((await post(dept, `/bank/failures/${aId}`, `/bank/failures/${aId}/decide-return`, { version: await version(a), ground: 'deceased', evidence: '死亡证明 No.2026-0917' })).status).toBe(303);
    const returned = await caseOf(a);
    expect([returned.state, returned.return_ground, returned.return_evidence]).toEqual(['return_due', 'deceased', '死亡证明 No.2026-0917']);
    expect((await dept.get(`/bank/failures/${aId}`)).text).toContain('收款人已死亡；证明材料：死亡证明 No.2026-0917');
    // b still waits for its payment: the repayment clock runs.
    expect((await clock('repayment', refundId)).state).toBe('open');

    // b is paid again: corrected, verified, re-reviewed, the treasury sends the money, the bank fetches and pays.
    const bId = String((await caseOf(b)).id);
    expect((await post(station, `/bank/failures/${bId}`, `/bank/failures/${bId}/correct`, { version: await version(b), note: '已补办社保卡' })).status).toBe(303);
    expect((await post(dept, `/bank/failures/${bId}`, `/bank/failures/${bId}/verify`, { version: await version(b) })).status).toBe(303);
    expect((await post(finance, `/bank/rounds/${roundId}`, `/bank/rounds/${roundId}/approve`, { failureIds: [bId] })).status).toBe(303);
    const supplement = await db('bank_supplement').where({ round_id: roundId, seq: 2 }).first('id');
    expect((await post(treasury, `/bank/rounds/${roundId}`, `/bank/rounds/${roundId}/retransfer`, { supplementId: String(supplement.id), amount: yuan(b.fen), voucherNo: 'ZF-时限-2', destinationAccount: DEMO_SETTLEMENT_ACCOUNT })).status).toBe(303);
    expect((await bank.get(`/bank/payouts/${roundId}/csv?supplement=2`)).status).toBe(200);
    // The money and the lines are at the bank again; the clock ends only when the bank reports them paid.
    expect((await clock('repayment', refundId)).state).toBe('open');
    expect(await clockText(dept, b)).toContain('退回后重新发放');
    await results([{ line: b, attempt: 3, paid: true }], '第三次-时限.csv');
    expect((await clock('repayment', refundId)).state).toBe('done');
    shown = await clockText(dept, b);
    expect(shown).toContain('无计时');
    expect(shown).toContain('再次发放成功');

    // a's money goes back to the treasury: not on the public list, no reissue offered; the ledger balances.
    expect((await post(treasury, `/bank/rounds/${roundId}`, `/bank/rounds/${roundId}/treasury-return`, { failureIds: [aId], amount: yuan(a.fen), voucherNo: 'JK-时限-3', returnedOn: businessDate() })).status).toBe(303);
    const aPage = (await station.get(`/bank/failures/${aId}`)).text;
    expect(aPage).not.toContain('/request-reissue');
    expect(aPage).toContain('不予补发');
    expect((await station.get('/bank/failed-list')).text).not.toContain(returned.id_masked);
    // The person's own query and their page say the money is not to be asked for again.
    const { person_id: personId } = await db('batch_line').where({ id: returned.line_id }).first('person_id');
    expect((await publicPaymentsOf(db, Number(personId))).map((p) => p.status)).toContain(PUBLIC_PAYMENT_STATUS.treasuryNotEntitled);
    expect((await station.get(`/beneficiaries/${personId}`)).text).toContain('已缴回财政（提前缴回：收款人已死亡，不再补发）');
    expect((await roundLedger(db, roundId)).balanced).toBe(true);
  });
});

describe(`failed payments: the township finance office's corrections (${TEST_DB})`, () => {
  it('sees its township\'s failures, imports the corrected lines as a file refused or applied whole and once, and cannot verify what it imported', async () => {
    const db = t.core.db;
    const [, , c, d, e] = lines as Line[] as [Line, Line, Line, Line, Line];
    const { finance1: office, station1: station, dept_civil: dept } = agents as Record<string, Agent>;
    await results([c, d, e].map((line) => ({ line, attempt: 1, paid: false })), '回盘-财政所.csv');

    // The failures reach the finance office: its home page, the list of its township's cases, the import page.
    expect((await office.get('/')).text).toContain('本乡镇发放失败、待导入修正信息的明细');
    const list = await office.get('/bank/failures?state=correcting');
    expect(list.text).toContain(c.name);
    expect(list.text).toContain('/bank/failures/corrections');
    const importPage = await office.get('/bank/failures/corrections');
    expect(importPage.text).toContain('href="/bank/failures/corrections/template.csv" download data-hx-boost="false"');
    const template = await office.get('/bank/failures/corrections/template.csv').buffer(true).parse(binaryParser);
    expect(template.status).toBe(200);
    const templateText = (template.body as Buffer).toString('utf8');
    expect(templateText).toContain('发放明细编号,姓名,修正说明');
    expect(templateText).toContain(`R${roundId}-${c.id},${c.name},`);
    // The station does not import files (the page is the finance office's).
    expect((await station.get('/bank/failures/corrections')).status).toBe(403);

    const upload = async (rows: (string | number)[][], name: string) => {
      const csv = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([['发放明细编号', '姓名', '修正说明'], ...rows].map(csvLine).join('\r\n') + '\r\n', 'utf8')]);
      const page = await office.get('/bank/failures/corrections');
      return office.post('/bank/failures/corrections').field('_csrf', csrfFrom(page.text)).attach('file', csv, name);
    };
    const before = await Promise.all([c, d].map(caseOf));

    // Refused whole: each bad row named with its column; nothing saved, not even the good row.
    const bad = await upload([[`R${roundId}-${c.id}`, c.name, '账户已解冻'], [`R${roundId}-${d.id}`, '王某某', '户名已更正'], [`R${roundId}-99999999`, e.name, '已核实'], [`R${roundId}-${e.id}`, e.name, '']], '修正-有误.csv');
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('文件未导入');
    expect(bad.text).toContain('第 3 行「姓名」：与该笔收款人的姓名不符');
    expect(bad.text).toContain(`第 4 行「发放明细编号」：“R${roundId}-99999999”不是本乡镇的发放失败明细`);
    expect(bad.text).toContain('第 5 行「修正说明」：请填写核实情况和修正内容');
    expect((await Promise.all([c, d].map(caseOf))).map((f) => [f.state, f.version])).toEqual(before.map((f) => [f.state, f.version]));
    expect(Number((await db('bank_correction_file').count({ n: '*' }).first())!.n)).toBe(0);
    // No file chosen: the form's own refusal.
    const page = await office.get('/bank/failures/corrections');
    const none = await office.post('/bank/failures/corrections').type('form').send({ _csrf: csrfFrom(page.text) });
    expect(none.status).toBe(422);
    expect(none.text).toContain('请选择修正信息文件');

    // The documented sample is read as the format says (its lines are not this township's: refused, row by row).
    const sample = await office.post('/bank/failures/corrections').field('_csrf', csrfFrom(page.text)).attach('file', readFileSync(new URL('../../docs/samples/failure-correction-sample.csv', import.meta.url)), 'failure-correction-sample.csv');
    expect(sample.status).toBe(422);
    expect(sample.text).toContain('第 2 行「发放明细编号」：“R12-3402”不是本乡镇的发放失败明细');
    expect(sample.text).toContain('第 3 行「发放明细编号」：“R12-3417-2”不是本乡镇的发放失败明细');

    // Accepted whole: both lines to the department's verification, paying the registry account as it stands.
    const good: (string | number)[][] = [[`R${roundId}-${c.id}`, c.name, '账户已解冻（站所核实）'], [`R${roundId}-${d.id}-1`, d.name, '已补办社保卡并完成账户变更']];
    const ok = await upload(good, '修正-城关镇.csv');
    expect(ok.status).toBe(303);
    const financeUser = await actorFor(t, 'finance1');
    const imported = await Promise.all([c, d].map(caseOf));
    for (const f of imported) {
      expect([f.state, Number(f.corrected_by), f.account_id === null]).toEqual(['verifying', financeUser.userId, false]);
    }
    expect(imported[0].correction_note).toBe('账户已解冻（站所核实）');
    expect((await office.get(ok.headers.location!)).text).toContain('修正信息已导入：2 笔');

    // The same file twice changes nothing.
    const again = await upload(good, '修正-城关镇（副本）.csv');
    expect(again.status).toBe(303);
    expect((await office.get(again.headers.location!)).text).toContain('该文件已导入过，本次没有做任何更改');
    expect((await Promise.all([c, d].map(caseOf))).map((f) => f.version)).toEqual(imported.map((f) => f.version));
    expect(Number((await db('bank_correction_file').count({ n: '*' }).first())!.n)).toBe(1);
    // A line already imported is not imported again by another file (its state has moved on).
    const moved = await upload([[`R${roundId}-${c.id}`, c.name, '再次修正']], '修正-重复一笔.csv');
    expect(moved.status).toBe(422);
    expect(moved.text).toContain('第 2 行「发放明细编号」：该笔现为“待主管部门核实”');

    // The station still corrects by entry: the same state the file's lines reach.
    const eId = (await caseOf(e)).id;
    expect((await post(station, `/bank/failures/${eId}`, `/bank/failures/${eId}/correct`, { version: await version(e), note: '户名已按身份证更正' })).status).toBe(303);
    expect((await caseOf(e)).state).toBe('verifying');

    // Four-eyes: whoever imported a line does not verify it, whatever roles they hold; a colleague of the department does.
    const deptActor = await actorFor(t, 'dept_civil');
    const both: Actor = { ...financeUser, roles: ['township_finance', 'department'], orgId: deptActor.orgId };
    const cCase = await caseOf(c);
    await expect(verifyFailure(t.core, both, Number(cCase.id), { version: Number(cCase.version) })).rejects.toThrow('另一人核实');
    expect((await caseOf(c)).state).toBe('verifying');
    expect((await dept.get('/')).text).toContain('乡镇已修正、待核实的失败明细');
    expect((await post(dept, `/bank/failures/${cCase.id}`, `/bank/failures/${cCase.id}/verify`, { version: await version(c) })).status).toBe(303);
    expect((await caseOf(c)).state).toBe('reviewing');
    // The finance office's own page of a case points to the import, and shows the clock that runs.
    const dCase = await caseOf(d);
    expect(await clockText(office, d)).toContain('发放失败核实修正');
    expect(dCase.state).toBe('verifying');
  });
});
