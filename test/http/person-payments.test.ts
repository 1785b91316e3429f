import { afterEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/core/auth/roles.ts';
import { fen, formatYuan } from '../../src/core/money.ts';
import { createUser } from '../../src/core/users.ts';
import { approveReissue, compileReissue, requestReissue, verifyFailure } from '../../src/modules/bank/failures.ts';
import { importResultFile } from '../../src/modules/bank/results.ts';
import { resultFileCsv } from '../../src/modules/bank/simulator.ts';
import type { RosterAction } from '../../src/modules/batch/model.ts';
import { recordPaymentPlan, recordTransfer, releaseRound, submitRound } from '../../src/modules/batch/round-workflow.ts';
import { actOnRoster } from '../../src/modules/batch/workflow.ts';
import { DEMO_SETTLEMENT_ACCOUNT } from '../../seeds/demo-batch.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, createSeededDb, login, publishRoster } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** The row of the bank panel (代发银行发放结果) for a round, as the page writes it: title, period, amount, where the money went. */
const bankRow = (title: string, period: string, amountFen: number, status: string) => `<td>${title}</td><td>${period}</td><td class="num">${formatYuan(fen(amountFen))}</td><td>${status}</td>`;
const paidRow = (title: string, period: string, amountFen: number, status: string) => bankRow(title, period, amountFen, `<strong>${status}</strong>`);

describe(`the one-card view tells where each payment's money went (${TEST_DB})`, () => {
  it('shows a paid line as paid, a line returned to the treasury as 已缴回财政 and, once reissued and paid, the reissue as the one payment; the total counts paid money only, once', async () => {
    t = await createSeededDb({}, { people: true });
    const db = t.core.db;
    const who = async (username: string) => actorFor(t!, username);
    const [station, office, civil, finance, treasury, bank, admin] = await Promise.all(['station1', 'finance1', 'dept_civil', 'finance', 'treasury', 'bank', 'admin'].map(who));

    // The demo's paid round has a line whose money went back to the treasury; its person is paid in the next month's
    // round too, which the bank now answers in full.
    const returned = await db('bank_failure').where({ funds: 'treasury' }).first('id', 'version', 'line_id', 'person_id', 'round_id', 'round_title', 'period', 'amount_fen');
    const personId = Number(returned.person_id);
    const lineOf = (period: string) => db('batch_line as l').join('batch_round as r', 'r.id', 'l.round_id').where({ 'l.person_id': personId, 'r.period': period, 'r.kind': 'regular', 'r.policy_item_id': db('batch_round').where({ id: returned.round_id }).select('policy_item_id') }).first('l.id', 'l.amount_fen', 'r.id as round_id', 'r.title');
    const september = await lineOf('2026-09');
    const october = await lineOf('2026-10');
    const septemberLines: { id: number; amount_fen: number }[] = await db('batch_line').where({ round_id: september.round_id, state: 'active' }).select('id', 'amount_fen');
    const answered = await importResultFile(t.core, bank, Number(september.round_id), { name: '九月回盘.csv', buffer: resultFileCsv(septemberLines.map((l) => ({ ref: `R${september.round_id}-${l.id}`, amountFen: l.amount_fen, result: '成功' }))) });
    expect(answered.ok).toBe(true);

    const page = async () => {
      const agent = agentFor(t!.core);
      await login(agent, 'station1');
      const response = await agent.get(`/beneficiaries/${personId}`);
      expect(response.status).toBe(200);
      return response.text;
    };
    let text = await page();
    expect(text).toContain(bankRow(returned.round_title, returned.period, Number(returned.amount_fen), '已缴回财政'));
    expect(text).toContain(paidRow(september.title, '2026-09', Number(september.amount_fen), '已发放到账'));
    expect(text).toContain(bankRow(october.title, '2026-10', Number(october.amount_fen), '待国库拨付资金'));
    expect(text).toContain(`已拨付合计 ${formatYuan(fen(Number(september.amount_fen)))} 元（1 笔）`);
    // The rounds' own panel claims no money: its lines with the bank say where to look, and it has no total.
    expect(text.match(/已拨付合计/g)).toHaveLength(1);
    expect(text).not.toContain('<td>已拨付</td>');

    // The person comes forward: the reissue is requested, verified, approved and compiled into a reissue round, which
    // goes through the whole flow (a colleague of the department approves its roster: four-eyes) and is paid.
    await requestReissue(t.core, station, Number(returned.id), { version: Number(returned.version), note: '本人已到站报备' });
    const caseVersion = async () => Number((await db('bank_failure').where({ id: returned.id }).first('version')).version);
    await verifyFailure(t.core, civil, Number(returned.id), { version: await caseVersion() });
    await approveReissue(t.core, finance, Number(returned.id), { version: await caseVersion() });
    const reissueRoundId = await compileReissue(t.core, civil, Number(returned.round_id));
    const reissueLine = await db('batch_line').where({ round_id: reissueRoundId, person_id: personId }).first('id', 'amount_fen');
    const reissueTitle = (await db('batch_round').where({ id: reissueRoundId }).first('title')).title;

    text = await page();
    expect(text).toContain(bankRow(returned.round_title, returned.period, Number(returned.amount_fen), '已缴回财政，已编入补发批次'));
    expect(text).toContain(`已拨付合计 ${formatYuan(fen(Number(september.amount_fen)))} 元（1 笔）`);

    await createUser(t.core, admin, { username: 'dept_civil2', displayName: '民政局复核人', roles: ['department'], regionId: civil.regionId, orgId: civil.orgId });
    const colleague = await actorFor(t, 'dept_civil2');
    const roster = await db('batch_roster').where({ round_id: reissueRoundId }).first('id');
    const step = async (actor: Actor, action: RosterAction, extra: Record<string, string> = {}) => {
      const { version } = await db('batch_roster').where({ id: roster.id }).first('version');
      await actOnRoster(t!.core, actor, Number(roster.id), action, { version: Number(version), ...extra });
    };
    await step(station, 'send_check');
    await step(office, 'confirm_check');
    await step(station, 'submit');
    await step(colleague, 'approve');
    await publishRoster(t!, station, roster.id);
    // Test time: the publicity period is over.
    await db('batch_roster').where({ id: roster.id }).update({ publicity_start: '2026-10-08', publicity_end: '2026-10-14' });
    await step(office, 'confirm_publicity');
    await step(station, 'report');
    const roundVersion = async () => Number((await db('batch_round').where({ id: reissueRoundId }).first('version')).version);
    const amountFen = fen(Number(reissueLine.amount_fen));
    await recordPaymentPlan(t.core, civil, reissueRoundId, { version: await roundVersion(), planNo: '民用款〔2026〕补2号', planFen: amountFen, planDate: '2026-11-20' });
    await submitRound(t.core, civil, reissueRoundId, await roundVersion());
    const bankOrg = await db('core_org').where({ kind: 'bank' }).first('id');
    await releaseRound(t.core, finance, reissueRoundId, { version: await roundVersion(), bankOrgId: Number(bankOrg.id) });
    await recordTransfer(t.core, treasury, reissueRoundId, { version: await roundVersion(), amountFen, voucherNo: '补发拨付002', bankOrgId: Number(bankOrg.id), destinationAccount: DEMO_SETTLEMENT_ACCOUNT });
    const paidAgain = await importResultFile(t.core, bank, reissueRoundId, { name: '补发回盘.csv', buffer: resultFileCsv([{ ref: `R${reissueRoundId}-${reissueLine.id}`, amountFen, result: '成功' }]) });
    expect(paidAgain.ok).toBe(true);

    text = await page();
    expect(text).toContain(bankRow(returned.round_title, returned.period, Number(returned.amount_fen), '已缴回财政，已补发到账'));
    expect(text).toContain(paidRow(reissueTitle, returned.period, amountFen, '补发：已发放到账'));
    expect(text).toContain(paidRow(september.title, '2026-09', Number(september.amount_fen), '已发放到账'));
    expect(text).toContain(`已拨付合计 ${formatYuan(fen(Number(september.amount_fen) + amountFen))} 元（2 笔）`);
  });
});
