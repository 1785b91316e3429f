import { afterEach, describe, expect, it } from 'vitest';
import { addCalendarDays, businessDate } from '../../src/core/dates.ts';
import { ConflictError, ForbiddenError, ValidationError } from '../../src/core/errors.ts';
import { fen } from '../../src/core/money.ts';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { correctPerson, registerPerson } from '../../src/modules/beneficiary/commands.ts';
import { loadReferenceSnapshot } from '../../src/modules/beneficiary/reference.ts';
import { addLine, checkRoster, createRound, recordObjection, removeLine, resolveFinding, resolveObjection, returnLines } from '../../src/modules/batch/commands.ts';
import { importRosterFile } from '../../src/modules/batch/roster-import.ts';
import { rosterFindings } from '../../src/modules/batch/queries.ts';
import { recordPaymentPlan, recordTransfer, releaseRound, returnRound, roundMoney, submitRound } from '../../src/modules/batch/round-workflow.ts';
import type { RosterAction } from '../../src/modules/batch/model.ts';
import { actOnRoster } from '../../src/modules/batch/workflow.ts';
import { actSchema, returnLinesSchema } from '../../src/modules/batch/schemas.ts';
import { publishSchema } from '../../src/modules/publicity/schemas.ts';
import { validate } from '../../src/core/http/validate.ts';
import type { Actor } from '../../src/core/auth/roles.ts';
import { DEMO_SETTLEMENT_ACCOUNT } from '../../seeds/demo-batch.ts';
import { TEST_DB, type TestDb, actorFor, confirmNewAccounts, createSeededDb, farmlandRound, idNumberFrom, publishRoster, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const ROSTER_HEADER = ['村（社区）', '姓名', '身份证号码', '档次', '数量'];

const rosterFile = (lines: string[][]) => writeTableXlsx('清册', ROSTER_HEADER, lines);
const openFindings = (db: TestDb, rosterId: number) => db.core.db('batch_finding').where({ roster_id: rosterId, state: 'open' }).orderBy('id').select('rule', 'severity', 'message', 'line_id', 'id');
const version = async (db: TestDb, rosterId: number) => Number((await db.core.db('batch_roster').where({ id: rosterId }).first('version')).version);
/** One step on a roster from its current version, as the page would send it. */
const step = async (db: TestDb, who: Actor, rosterId: number, action: RosterAction, extra = {}) => actOnRoster(db.core, who, rosterId, action, { version: await version(db, rosterId), ...extra });

describe(`payment rounds and rosters (${TEST_DB})`, () => {
  it('opens a round of a county policy for a period with one draft roster per township; refuses a second one and a bad period', async () => {
    t = await createSeededDb();
    const dept = await actorFor(t, 'dept_agri');
    const item = Number((await t.core.db('policy_item').where({ code: 'JC-01' }).first('id')).id);
    const roundId = await createRound(t.core, dept, { policyItemId: item, period: '2026' });
    const round = await t.core.db('batch_round').where({ id: roundId }).first();
    expect(round).toMatchObject({ title: '2026年耕地地力保护补贴资金', period: '2026', period_end: '2026-12-31', payee: 'household', unit: '亩', state: 'compiling' });
    expect(await t.core.db('batch_roster').where({ round_id: roundId }).count({ n: '*' })).toEqual([{ n: 3 }]);
    await expect(createRound(t.core, dept, { policyItemId: item, period: '2026' })).rejects.toMatchObject({ fieldErrors: { period: '已有“2026年耕地地力保护补贴资金”发放批次' } });
    const monthly = Number((await t.core.db('policy_item').where({ code: 'JC-09' }).first('id')).id);
    await expect(createRound(t.core, dept, { policyItemId: monthly, period: '2026' })).rejects.toMatchObject({ fieldErrors: { period: '按月发放的补贴，期间应为年月，如 2026-11' } });
    await expect(createRound(t.core, await actorFor(t, 'station1'), { policyItemId: item, period: '2027' })).rejects.toThrow(ForbiddenError);
  });

  it('compiles a roster from a file: amounts are standard × quantity in fen, 到户 pays heads only, the whole file or nothing, twice changes nothing', async () => {
    t = await createSeededDb();
    const { station, rows, heads, rosterId } = await farmlandRound(t, 6, 5);
    const member = rows.find((r) => r[3] !== '户主')!;
    const bad = await importRosterFile(t.core, station, rosterId, {
      name: 'bad.xlsx',
      buffer: await rosterFile([
        [heads[0]![0]!, heads[0]![1]!, heads[0]![2]!, '', '12.5'],
        [member[0]!, member[1]!, member[2]!, '', '3'],
        ['西街村', '查无此人', idNumberFrom('99010219700101009'), '', '1'],
        [heads[1]![0]!, '别的名字', heads[1]![2]!, '', '1.0001'],
      ]),
    });
    if (bad.ok) throw new Error('expected the file to be refused');
    expect(bad.errors.map((e) => `${e.rowNumber}|${e.field}|${e.message}`)).toEqual([
      '3|身份证号码|到户补贴发给户主：请填写户主的身份证号码',
      '4|身份证号码|此人不在受益对象档案中：请先由经办站所登记',
      '5|数量|数量应为不超过三位小数的正数，如 12.5',
    ]);
    expect(await t.core.db('batch_line').count({ n: '*' })).toEqual([{ n: 0 }]);

    const file = await rosterFile(heads.map((h, i) => [h[0]!, h[1]!, h[2]!, '标准', i === 0 ? '12.5' : String(i + 1)]));
    const first = await importRosterFile(t.core, station, rosterId, { name: '城关镇清册.xlsx', buffer: file });
    expect(first).toMatchObject({ ok: true, repeated: false, added: heads.length });
    const line = await t.core.db('batch_line').where({ roster_id: rosterId }).orderBy('id').first();
    // 12.5 亩 × 105.50 元/亩 (the 2024 revision in force in 2026) = 1318.75 元
    expect(line).toMatchObject({ standard_fen: 10550, quantity_milli: 12500, amount_fen: 131875, tier_name: '标准', source: 'import', person_name: heads[0]![1] });
    expect(await importRosterFile(t.core, station, rosterId, { name: 'again.xlsx', buffer: file })).toMatchObject({ ok: true, repeated: true });
    expect(await t.core.db('batch_line').where({ roster_id: rosterId }).count({ n: '*' })).toEqual([{ n: heads.length }]);
  });

  it('cross-checks every line: no account and a death in the police data block; a later change in the registry is raised; warnings are accepted with a reason', async () => {
    t = await createSeededDb();
    const { station, heads, rosterId } = await farmlandRound(t, 6, 5);
    await importRosterFile(t.core, station, rosterId, { name: 'r.xlsx', buffer: await rosterFile(heads.map((h) => [h[0]!, h[1]!, h[2]!, '标准', '10'])) });
    // A head registered without a card, and a death reported by the police for the first head.
    const noCard = idNumberFrom('99010219600101005');
    await registerPerson(t.core, station, { name: '孙无卡', idNumber: noCard, villageId: await regionId(t, '西街村'), relation: 'head', headPersonId: null, phone: null, account: null });
    await addLine(t.core, station, rosterId, { idNumber: noCard, tierName: null, quantity: '3' });
    await loadReferenceSnapshot(t.core, await actorFor(t, 'finance'), { source: 'police_death', takenOn: '2026-11-01', file: { name: 'd.csv', buffer: Buffer.from(`姓名,身份证号码,死亡日期\n${heads[0]![1]},${heads[0]![2]},2026-08-01\n`) } });

    const summary = await checkRoster(t.core, await actorFor(t, 'finance1'), rosterId);
    expect(summary).toEqual({ blocking: 2, warnings: 0, resolved: 0 });
    const findings = await openFindings(t, rosterId);
    expect(findings.map((f) => f.rule).sort()).toEqual(['deceased-or-moved', 'no-account']);
    expect(findings.find((f) => f.rule === 'deceased-or-moved')!.message).toBe('公安数据（截至 2026-11-01）显示此人已死亡（2026-08-01），请核实');
    const blocking = findings[0]!;
    await expect(resolveFinding(t.core, await actorFor(t, 'finance1'), Number(blocking.id), '已核实')).rejects.toMatchObject({ fieldErrors: { reason: '阻断性问题必须改正，不能说明后放行' } });

    // Fixed by taking the two lines out: the findings are cleared at the next check.
    for (const f of findings) await removeLine(t.core, station, Number(f.line_id), '核实后不予发放');
    expect(await checkRoster(t.core, station, rosterId)).toEqual({ blocking: 0, warnings: 0, resolved: 0 });
    expect(await t.core.db('batch_finding').where({ roster_id: rosterId, state: 'cleared' }).count({ n: '*' })).toEqual([{ n: 2 }]);

    // The registry corrects a name after compiling: the line keeps what was compiled and a warning says so.
    const renamed = await t.core.db('batch_line').where({ roster_id: rosterId, state: 'active' }).orderBy('id').first();
    const person = await t.core.db('beneficiary_person').where({ id: renamed.person_id }).first();
    await correctPerson(t.core, station, Number(person.id), { name: `${person.name}·新`, phone: null, relation: 'head', version: Number(person.version) });
    expect(await checkRoster(t.core, station, rosterId)).toEqual({ blocking: 0, warnings: 1, resolved: 0 });
    const [warning] = await openFindings(t, rosterId);
    expect(warning).toMatchObject({ rule: 'registry-renamed', severity: 'warning', line_id: renamed.id });
    await resolveFinding(t.core, await actorFor(t, 'finance1'), Number(warning!.id), '身份证已换发，核实为同一人');
    expect(await checkRoster(t.core, station, rosterId)).toEqual({ blocking: 0, warnings: 0, resolved: 1 });
  });

  it('moves a roster through its steps by role, refuses an illegal step, keeps four eyes, and lets only one of two simultaneous steps succeed', async () => {
    t = await createSeededDb();
    const { station, heads, rosterId } = await farmlandRound(t, 6, 5);
    const office = await actorFor(t, 'finance1');
    const dept = await actorFor(t, 'dept_agri');
    await importRosterFile(t.core, station, rosterId, { name: 'r.xlsx', buffer: await rosterFile(heads.map((h) => [h[0]!, h[1]!, h[2]!, '标准', '10'])) });

    await expect(actOnRoster(t.core, station, rosterId, 'submit', { version: await version(t, rosterId) })).rejects.toThrow('不能“上报主管部门”');
    await expect(actOnRoster(t.core, office, rosterId, 'send_check', { version: await version(t, rosterId) })).rejects.toThrow(ForbiddenError);
    expect(await actOnRoster(t.core, station, rosterId, 'send_check', { version: await version(t, rosterId) })).toBe('checking');
    await expect(addLine(t.core, station, rosterId, { idNumber: heads[0]![2]!, tierName: null, quantity: '1' })).rejects.toThrow(ConflictError);

    // Someone who both compiles and checks may not check what they changed.
    const both = { ...office, userId: station.userId, roles: [...office.roles, ...station.roles] };
    await expect(actOnRoster(t.core, both, rosterId, 'confirm_check', { version: await version(t, rosterId) })).rejects.toThrow('四眼原则');
    // A return without its reason is refused at the edge, by the step's schema (the same one every route uses).
    expect(() => validate(actSchema, { action: 'return_check', version: '1', reason: ' ' })).toThrow(ValidationError);

    // Two finance office users confirm at the same moment from the same version: one wins.
    const v = await version(t, rosterId);
    const colleague = { ...office, userId: office.userId + 1000 };
    const results = await Promise.allSettled([actOnRoster(t.core, office, rosterId, 'confirm_check', { version: v }), actOnRoster(t.core, colleague, rosterId, 'confirm_check', { version: v })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);

    expect(await actOnRoster(t.core, station, rosterId, 'submit', { version: await version(t, rosterId) })).toBe('submitted');
    // Another department does not see the roster at all: refused as out of its scope.
    await expect(actOnRoster(t.core, await actorFor(t, 'dept_civil'), rosterId, 'approve', { version: await version(t, rosterId) })).rejects.toThrow('该发放批次不属于本部门的补贴项目');
    expect(await actOnRoster(t.core, dept, rosterId, 'approve', { version: await version(t, rosterId) })).toBe('approved');
    // Publicity starts by publishing its notice: the period counts from today, at least seven days with both ends.
    expect(() => validate(publishSchema, { version: '1', days: '6' })).toThrow(expect.objectContaining({ fieldErrors: { days: '公示期不得少于 7 天（含首尾两天）' } }));
    await expect(actOnRoster(t.core, station, rosterId, 'start_publicity', { version: await version(t, rosterId) })).rejects.toThrow('开始公示即发布公示');
    const { start, end } = await publishRoster(t, station, rosterId);
    expect([start, end]).toEqual([businessDate(), addCalendarDays(businessDate(), 6)]);
    expect((await t.core.db('batch_roster').where({ id: rosterId }).first()).state).toBe('publicity');
    await expect(actOnRoster(t.core, office, rosterId, 'confirm_publicity', { version: await version(t, rosterId) })).rejects.toThrow(`公示期至 ${end} 结束`);

    const history = await t.core.db('batch_history').where({ roster_id: rosterId }).orderBy('id').pluck('action');
    expect(history).toEqual(['roster.import', 'send_check', 'confirm_check', 'submit', 'approve', 'start_publicity']);
    // Each waiting step runs a clock for the role it waits on.
    const open = await t.core.db('core_deadline').where({ object_type: 'roster', object_id: String(rosterId), state: 'open' }).pluck('rule');
    expect(open).toEqual(['batch_confirm']);
  });

  it('seeds the demo with rounds in several states, so that the station, the finance office and the departments have work', async () => {
    t = await createSeededDb({}, { people: true });
    const rosters = await t.core.db('batch_roster as s').join('batch_round as r', 'r.id', 's.round_id').join('core_region as t', 't.id', 's.township_id').where('t.name', '城关镇').orderBy('r.id').select('r.title', 's.state', 's.id');
    expect(rosters.map((r) => [r.title, r.state])).toEqual([
      ['2026年耕地地力保护补贴资金', 'submitted'],
      ['2026年青禾县粮食生产规模经营补贴', 'checking'],
      ['2026年8月经济困难高龄失能养老服务补贴资金', 'reported'],
      ['2026年9月经济困难高龄失能养老服务补贴资金', 'reported'],
      ['2026年10月经济困难高龄失能养老服务补贴资金', 'reported'],
      ['2026年10月残疾人两项补贴——困难残疾人生活补贴资金', 'reported'],
      ['2026年10月残疾人两项补贴——重度残疾人护理补贴资金', 'reported'],
      ['2026年11月困难群众救助补助——城乡居民最低生活保障金', 'draft'],
      ['2026年11月残疾人两项补贴——重度残疾人护理补贴资金', 'publicity'],
    ]);
    expect(await t.core.db('batch_round').orderBy('id').pluck('state')).toEqual(['compiling', 'compiling', 'transferred', 'transferred', 'released', 'submitted', 'compiling', 'compiling', 'compiling']);
    const open = async (rosterId: number) => (await openFindings(t!, rosterId)).map((f) => f.rule);
    expect(await open(rosters[0].id)).toEqual([]);
    const grain = await open(rosters[1].id);
    expect(grain.filter((r) => r === 'deceased-or-moved')).toHaveLength(2);
    expect(grain).not.toContain('budget');
    expect((await open(rosters[7].id)).filter((r) => r === 'public-employee').length).toBeGreaterThan(0);
    const paid = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
    const money = await roundMoney(t.core.db, Number(paid.id));
    expect(money.transferredFen).toBe(money.linesFen);
  });

  it('takes a round from reported rosters through the finance section\'s review to the treasury\'s transfer of exactly its total to the agent bank', async () => {
    t = await createSeededDb();
    const { station, heads, roundId, rosterId } = await farmlandRound(t, 6, 5);
    const office = await actorFor(t, 'finance1');
    const dept = await actorFor(t, 'dept_agri');
    const finance = await actorFor(t, 'finance');
    const treasury = await actorFor(t, 'treasury');
    const roundVersion = async () => Number((await t!.core.db('batch_round').where({ id: roundId }).first('version')).version);
    await importRosterFile(t.core, station, rosterId, { name: 'r.xlsx', buffer: await rosterFile(heads.map((h, i) => [h[0]!, h[1]!, h[2]!, '标准', `${i + 1}.5`])) });

    const go = (who: Actor, action: RosterAction, extra = {}) => step(t!, who, rosterId, action, extra);
    await go(station, 'send_check');
    await go(office, 'confirm_check');
    await go(station, 'submit');
    await go(dept, 'approve');
    await expect(submitRound(t.core, dept, roundId, await roundVersion())).rejects.toThrow('城关镇（审核通过，待公示）');
    await publishRoster(t, station, rosterId);
    // Seven days later: the publicity period is over.
    await t.core.db('batch_roster').where({ id: rosterId }).update({ publicity_start: '2026-01-05', publicity_end: '2026-01-11' });
    await go(office, 'confirm_publicity');
    await go(station, 'report');

    await expect(submitRound(t.core, await actorFor(t, 'dept_civil'), roundId, await roundVersion())).rejects.toThrow(ForbiddenError);
    await recordPaymentPlan(t.core, dept, roundId, { version: await roundVersion(), planNo: '农用款〔2026〕7号', planFen: (await roundMoney(t.core.db, roundId)).linesFen, planDate: '2026-03-01' });
    await submitRound(t.core, dept, roundId, await roundVersion());
    const bank = await t.core.db('core_org').where({ kind: 'bank' }).first('id');
    const department = await t.core.db('core_org').where({ kind: 'department' }).first('id');
    await expect(releaseRound(t.core, finance, roundId, { version: await roundVersion(), bankOrgId: Number(department.id) })).rejects.toMatchObject({ fieldErrors: { bankOrgId: '请选择代发金融机构' } });
    // Only to a bank whose agreement is in force today and serves the round's townships.
    await t.core.db('agreement_contract').update({ ends_on: '2025-12-31' });
    await expect(releaseRound(t.core, finance, roundId, { version: await roundVersion(), bankOrgId: Number(bank.id) })).rejects.toMatchObject({ fieldErrors: { bankOrgId: '该金融机构在本县没有有效的代发协议' } });
    await t.core.db('agreement_contract').update({ ends_on: '2028-12-31' });
    await t.core.db('agreement_township').where({ township_id: await regionId(t, '城关镇') }).delete();
    await expect(releaseRound(t.core, finance, roundId, { version: await roundVersion(), bankOrgId: Number(bank.id) })).rejects.toMatchObject({ fieldErrors: { bankOrgId: '该金融机构的代发协议没有覆盖本批次的全部乡镇' } });
    const agreement = await t.core.db('agreement_contract').first('id');
    await t.core.db('agreement_township').insert({ agreement_id: agreement.id, township_id: await regionId(t, '城关镇') });
    await releaseRound(t.core, finance, roundId, { version: await roundVersion(), bankOrgId: Number(bank.id) });

    const { linesFen, transferredFen } = await roundMoney(t.core.db, roundId);
    expect(transferredFen).toBe(0);
    // At release the lines' count and total are kept on the round, equal to its lines (they no longer change).
    const lines = await t.core.db('batch_line').where({ round_id: roundId, state: 'active' }).count({ n: '*' }).sum({ total: 'amount_fen' }).first();
    expect(await t.core.db('batch_round').where({ id: roundId }).first('released_lines', 'released_fen')).toEqual({ released_lines: Number(lines!.n), released_fen: Number(lines!.total) });
    expect(linesFen).toBe(Number(lines!.total));
    const transfer = { voucherNo: '国库拨〔2026〕118号', destinationAccount: DEMO_SETTLEMENT_ACCOUNT, bankOrgId: Number(bank.id) };
    await expect(recordTransfer(t.core, treasury, roundId, { ...transfer, version: await roundVersion(), amountFen: linesFen, destinationAccount: '6222000000000000' })).rejects.toMatchObject({
      fieldErrors: { destinationAccount: `只能拨付到代发协议（青财代发〔2024〕1号）约定的资金清算账户 ${DEMO_SETTLEMENT_ACCOUNT}` },
    });
    await expect(recordTransfer(t.core, treasury, roundId, { ...transfer, version: await roundVersion(), amountFen: linesFen - 1 })).rejects.toThrow('拨付金额应与下达金额一致');
    await expect(recordTransfer(t.core, treasury, roundId, { ...transfer, version: await roundVersion(), amountFen: linesFen, bankOrgId: Number(department.id) })).rejects.toMatchObject({ fieldErrors: { bankOrgId: '资金只能直接拨付到本批次的代发金融机构，不得拨付到单位账户或乡镇' } });
    expect(await t.core.db('batch_transfer').count({ n: '*' })).toEqual([{ n: 0 }]);
    await recordTransfer(t.core, treasury, roundId, { ...transfer, version: await roundVersion(), amountFen: linesFen });
    // The money invariant: released total = sum of its lines = what the treasury transferred.
    expect(await roundMoney(t.core.db, roundId)).toMatchObject({ linesFen, transferredFen: linesFen });
    expect((await t.core.db('batch_round').where({ id: roundId }).first()).state).toBe('transferred');
    expect(await t.core.db('batch_history').where({ round_id: roundId }).whereNull('roster_id').orderBy('id').pluck('action')).toEqual(['round.create', 'payment_plan', 'submit', 'release', 'transfer']);
  });

  it('warns of a missing or exceeded allocation while the townships and the department prepare a round, and refuses its release beyond the allocation or without a payment plan covering its total', async () => {
    t = await createSeededDb();
    const { station, heads, roundId, rosterId } = await farmlandRound(t, 6, 5);
    const office = await actorFor(t, 'finance1');
    const dept = await actorFor(t, 'dept_agri');
    const finance = await actorFor(t, 'finance');
    const round = await t.core.db('batch_round').where({ id: roundId }).first('policy_item_id', 'county_id');
    // No allocation (指标) recorded yet for the policy and year.
    await t.core.db('policy_allocation').where({ item_id: round.policy_item_id }).delete();
    const roundVersion = async () => Number((await t!.core.db('batch_round').where({ id: roundId }).first('version')).version);
    await importRosterFile(t.core, station, rosterId, { name: 'r.xlsx', buffer: await rosterFile(heads.map((h) => [h[0]!, h[1]!, h[2]!, '标准', '10'])) });
    const go = (who: Actor, action: RosterAction, extra = {}) => step(t!, who, rosterId, action, extra);

    // The township check passes: the budget is a warning there, not one the finance office must explain.
    await go(station, 'send_check');
    expect(await go(office, 'confirm_check')).toBe('checked');
    expect((await openFindings(t, rosterId)).map((f) => [f.rule, f.severity, f.message.slice(0, 13)])).toEqual([['budget', 'warning', '2026年资金指标尚未登记']]);
    // Shown on the roster page, not counted among the warnings the finance office must explain.
    expect(await rosterFindings(t.core.db, rosterId)).toMatchObject({ blocking: 0, warnings: 0, general: [{ rule: 'budget' }] });
    await go(station, 'submit');
    await go(dept, 'approve');
    await publishRoster(t, station, rosterId);
    await t.core.db('batch_roster').where({ id: rosterId }).update({ publicity_start: '2026-01-05', publicity_end: '2026-01-11' }); // the week has passed
    await go(office, 'confirm_publicity');
    expect(await go(station, 'report')).toBe('reported');
    // The department aggregates and submits with the warning standing.
    const { linesFen } = await roundMoney(t.core.db, roundId);
    const total = (fen: number) => (fen / 100).toLocaleString('en-US', { minimumFractionDigits: 2 });
    await recordPaymentPlan(t.core, dept, roundId, { version: await roundVersion(), planNo: '农用款〔2026〕8号', planFen: fen(linesFen - 1), planDate: '2026-03-01' });
    await submitRound(t.core, dept, roundId, await roundVersion());
    const bank = Number((await t.core.db('core_org').where({ kind: 'bank' }).first('id')).id);
    const release = async () => releaseRound(t!.core, finance, roundId, { version: await roundVersion(), bankOrgId: bank });

    // At the finance section's release the allocation blocks: none recorded, then one too small.
    await expect(release()).rejects.toThrow(`2026年资金指标尚未下达（未登记指标文件），不能下达：指标 0.00 元，本批次 ${total(linesFen)} 元，已下达的其他批次已用 0.00 元，缺 ${total(linesFen)} 元`);
    const allocation = { county_id: round.county_id, item_id: round.policy_item_id, year: 2026, doc_title: '关于下达2026年耕地地力保护补贴资金的通知', doc_date: '2026-02-10', recorded_by: finance.userId, recorded_at: new Date().toISOString() };
    await t.core.db('policy_allocation').insert({ ...allocation, amount_fen: linesFen - 100, doc_number: '青财农〔2026〕1号' });
    await expect(release()).rejects.toThrow(`超出2026年资金指标，不能下达：指标 ${total(linesFen - 100)} 元，本批次 ${total(linesFen)} 元，已下达的其他批次已用 0.00 元，缺 1.00 元`);
    await t.core.db('policy_allocation').insert({ ...allocation, amount_fen: 100, doc_number: '青财农〔2026〕2号' });
    // Within the allocation, the payment plan must cover the round's total.
    await expect(release()).rejects.toThrow(`用款计划 农用款〔2026〕8号 的金额 ${total(linesFen - 1)} 元小于本批次合计 ${total(linesFen)} 元，不能下达`);
    await t.core.db('batch_round').where({ id: roundId }).update({ payment_plan_no: null, payment_plan_fen: null, payment_plan_date: null });
    await expect(release()).rejects.toThrow('主管部门尚未录入本批次的用款计划（编号、金额、日期），不能下达');
    expect((await t.core.db('batch_round').where({ id: roundId }).first('state')).state).toBe('submitted');

    // Only the round's department enters the plan, and only before it submits: the finance section returns the round for it.
    await expect(recordPaymentPlan(t.core, dept, roundId, { version: await roundVersion(), planNo: '农用款〔2026〕9号', planFen: linesFen, planDate: '2026-03-02' })).rejects.toThrow('批次现为“待财政复核”，不能办理此步骤');
    await returnRound(t.core, finance, roundId, await roundVersion(), '请补录用款计划');
    await expect(recordPaymentPlan(t.core, await actorFor(t, 'dept_civil'), roundId, { version: await roundVersion(), planNo: '农用款〔2026〕9号', planFen: linesFen, planDate: '2026-03-02' })).rejects.toThrow(ForbiddenError);
    await recordPaymentPlan(t.core, dept, roundId, { version: await roundVersion(), planNo: '农用款〔2026〕9号', planFen: linesFen, planDate: '2026-03-02' });
    await submitRound(t.core, dept, roundId, await roundVersion());
    await release();
    expect(await t.core.db('batch_round').where({ id: roundId }).first('state', 'payment_plan_no', 'payment_plan_fen', 'payment_plan_date')).toEqual({ state: 'released', payment_plan_no: '农用款〔2026〕9号', payment_plan_fen: linesFen, payment_plan_date: '2026-03-02' });
    const audit = await t.core.db('core_audit').where({ action: 'batch.round.release', object_id: String(roundId) }).first('summary');
    expect(JSON.parse(audit.summary)).toMatchObject({ reason: '用款计划 农用款〔2026〕9号', paymentPlan: { no: '农用款〔2026〕9号', amountFen: linesFen, date: '2026-03-02' } });
    expect(await t.core.db('batch_history').where({ round_id: roundId, action: 'release' }).first('reason')).toEqual({ reason: '用款计划 农用款〔2026〕9号' });
  });

  it('returns single lines with a reason, records and resolves publicity objections, and marks lines changed after publicity', async () => {
    t = await createSeededDb();
    const { station, heads, rosterId } = await farmlandRound(t, 6, 5);
    const office = await actorFor(t, 'finance1');
    const dept = await actorFor(t, 'dept_agri');
    await importRosterFile(t.core, station, rosterId, { name: 'r.xlsx', buffer: await rosterFile(heads.map((h) => [h[0]!, h[1]!, h[2]!, '标准', '10'])) });
    const go = (who: Actor, action: RosterAction, extra = {}) => step(t!, who, rosterId, action, extra);
    await go(station, 'send_check');
    await go(office, 'confirm_check');
    await go(station, 'submit');

    const [first, second] = await t.core.db('batch_line').where({ roster_id: rosterId }).orderBy('id').pluck('id');
    expect(() => validate(returnLinesSchema, { lineIds: String(first), reason: '' })).toThrow(expect.objectContaining({ fieldErrors: { reason: '请填写退回原因' } }));
    expect(() => validate(returnLinesSchema, { reason: '面积不符' })).toThrow(expect.objectContaining({ fieldErrors: { lineIds: '请勾选要退回的发放明细' } }));
    expect(await returnLines(t.core, dept, rosterId, [first], '承包面积与确权数据不符')).toBe(1);
    expect(await t.core.db('batch_line').where({ id: first }).first()).toMatchObject({ state: 'returned', return_reason: '承包面积与确权数据不符' });
    await go(dept, 'approve');
    const today = businessDate();
    await publishRoster(t, station, rosterId);

    const objection = await recordObjection(t.core, station, rosterId, { lineId: Number(second), raisedOn: today, content: '村民反映该户实际承包面积为 9 亩' });
    await t.core.db('batch_roster').where({ id: rosterId }).update({ publicity_start: '2026-01-05', publicity_end: '2026-01-11' }); // the week has passed
    await expect(go(office, 'confirm_publicity')).rejects.toThrow('还有未处理的公示异议');
    await expect(resolveObjection(t.core, station, objection, '已核实')).rejects.toThrow(ForbiddenError);
    await resolveObjection(t.core, office, objection, '核实确为 9 亩，退回修改后重新公示');
    // The finding leads to a change: back to the station; the changed line is marked and goes through review again.
    await go(office, 'return_publicity', { reason: '公示异议核实，需修改面积' });
    const secondName = (await t.core.db('batch_line').where({ id: second }).first('person_name')).person_name;
    const person = heads.find((h) => h[1] === secondName)!;
    await importRosterFile(t.core, station, rosterId, { name: 'fixed.xlsx', buffer: await rosterFile([[person[0]!, person[1]!, person[2]!, '标准', '9']]) });
    const fixed = await t.core.db('batch_line').where({ id: second }).first();
    expect(fixed).toMatchObject({ quantity_milli: 9000, amount_fen: 94950 }); // 9 亩 × 105.50 元
    expect(Boolean(fixed.changed_after_publicity)).toBe(true);
  });

  it('warns when one card is the payout account of two people, and counts three as three', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const village = await regionId(t, '西街村');
    const card = { kind: 'sscard' as const, bankName: '青禾县农村信用合作联社', number: '6239990000000000018', holderName: '' };
    for (const [name, body] of [['周甲', '99010219700101001'], ['周乙', '99010219700201002']] as const) {
      await registerPerson(t.core, station, { name, idNumber: idNumberFrom(body), villageId: village, relation: 'head', headPersonId: null, phone: null, account: { ...card, holderName: name } });
    }
    await confirmNewAccounts(t);
    const item = await t.core.db('policy_item').where({ code: 'JC-01' }).first('id');
    const roundId = await createRound(t.core, await actorFor(t, 'dept_agri'), { policyItemId: Number(item.id), period: '2026' });
    const roster = await t.core.db('batch_roster').where({ round_id: roundId, township_id: await regionId(t, '城关镇') }).first('id');
    for (const body of ['99010219700101001', '99010219700201002']) await addLine(t.core, station, Number(roster.id), { idNumber: idNumberFrom(body), tierName: null, quantity: '5' });
    expect(await checkRoster(t.core, station, Number(roster.id))).toEqual({ blocking: 0, warnings: 2, resolved: 0 });
    expect((await openFindings(t, Number(roster.id))).map((f) => f.message)).toEqual(Array(2).fill('该账户（尾号 0018）同时是另外 1 人的发放账户，请核实'));
    // A third holder of the same card on the round: each line names the two others (the round's lines counted by person).
    await registerPerson(t.core, station, { name: '周丙', idNumber: idNumberFrom('99010219700301003'), villageId: village, relation: 'head', headPersonId: null, phone: null, account: { ...card, holderName: '周丙' } });
    await confirmNewAccounts(t);
    await addLine(t.core, station, Number(roster.id), { idNumber: idNumberFrom('99010219700301003'), tierName: null, quantity: '5' });
    expect(await checkRoster(t.core, station, Number(roster.id))).toEqual({ blocking: 0, warnings: 3, resolved: 0 });
    expect((await openFindings(t, Number(roster.id))).map((f) => f.message)).toEqual(Array(3).fill('该账户（尾号 0018）同时是另外 2 人的发放账户，请核实'));
  });

  it('lets only one of two simultaneous releases of a round succeed', async () => {
    t = await createSeededDb({}, { people: true });
    const round = await t.core.db('batch_round').where({ state: 'submitted' }).first('id', 'version');
    const bank = await t.core.db('core_org').where({ kind: 'bank' }).first('id');
    const finance = await actorFor(t, 'finance');
    const colleague = { ...finance, userId: finance.userId + 1000 };
    const input = { version: Number(round.version), bankOrgId: Number(bank.id) };
    const results = await Promise.allSettled([releaseRound(t.core, finance, Number(round.id), input), releaseRound(t.core, colleague, Number(round.id), input)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    expect(await t.core.db('batch_history').where({ round_id: round.id, action: 'release' }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });
});
