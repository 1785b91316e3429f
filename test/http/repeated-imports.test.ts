import { afterEach, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../src/core/api.ts';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { answerCardRequest, sendCardRequest, uploadReceipt } from '../../src/modules/bank/cards.ts';
import { enterConfirmedTotals, importConfirmation, openReconciliations } from '../../src/modules/bank/reconcile.ts';
import { postResults } from '../../src/modules/bank/results.ts';
import { resultFileCsv } from '../../src/modules/bank/simulator.ts';
import { createRound } from '../../src/modules/batch/commands.ts';
import { importRosterFile } from '../../src/modules/batch/roster-import.ts';
import { luhnCheckDigit } from '../../src/modules/beneficiary/account-number.ts';
import { registerPerson } from '../../src/modules/beneficiary/commands.ts';
import { loadReferenceSnapshot, pushReferenceSnapshot } from '../../src/modules/beneficiary/reference.ts';
import { importRegistry } from '../../src/modules/beneficiary/registry-import.ts';
import { importPolicies } from '../../src/modules/policy/commands.ts';
import { importAllocationFile, pushAllocations } from '../../src/modules/policy/allocation-import.ts';
import { REGISTRY_FILE_HEADER, fakeHouseholds, registryFileRows } from '../../seeds/fake-people.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, confirmNewAccounts, createSeededDb, csrfFrom, idNumberFrom, login, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/**
 * The same import started four times at once (a double click, two tabs): every call answers (none fails), exactly one
 * imports and the three others answer that the file was imported already.
 */
async function fourAtOnce(send: () => Promise<{ ok: boolean; repeated?: boolean }>): Promise<void> {
  const outcomes = await Promise.allSettled([send(), send(), send(), send()]);
  expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason))).toEqual([]);
  const answers = outcomes.map((o) => (o as PromiseFulfilledResult<{ ok: boolean; repeated?: boolean; errors?: unknown[] }>).value);
  expect(answers.map((a) => a.errors ?? []).flat(), 'refusals').toEqual([]);
  expect(answers.map((a) => (a.ok ? (a.repeated ? 'repeated' : 'imported') : 'refused')).sort()).toEqual(['imported', 'repeated', 'repeated', 'repeated']);
}

/** Rows of a table and audit rows of an action, to compare before and after. */
const rowsOf = async (db: TestDb, table: string) => Number((await db.core.db(table).count({ n: '*' }).first())!.n);
const auditOf = async (db: TestDb, action: string) => Number((await db.core.db('core_audit').where({ action }).count({ n: '*' }).first())!.n);

/** Four clients of one user (four tabs, or four devices), each with the form's page open. */
async function signedIn(db: TestDb, username: string, page: string) {
  const tabs = [];
  for (let i = 0; i < 4; i++) {
    const agent = agentFor(db.core);
    await login(agent, username);
    tabs.push({ agent, csrf: csrfFrom((await agent.get(page)).text) });
  }
  return tabs;
}

async function apiClient(db: TestDb, purpose: ApiClient['purpose'], orgId: number | null): Promise<ApiClient> {
  const county = await db.core.db('core_region').where({ name: '青禾县' }).first('id', 'path');
  return { tokenId: 1, name: purpose === 'bank' ? '信用社代发系统' : '数据共享平台', purpose, regionId: county.id, regionPath: county.path, orgId, ip: null };
}

describe(`the same file sent four times at once is imported once (${TEST_DB})`, () => {
  it('a township registry file, a reference file and the same data pushed through the API: one import each, one audit row, three repeats', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const finance = await actorFor(t, 'finance');
    const registry = await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, registryFileRows(fakeHouseholds({ households: 4, villages: ['东关社区', '西街村'], seed: 3, sharedAccounts: 0, secondAccounts: 0 })));
    await fourAtOnce(() => importRegistry(t!.core, station, { name: '城关镇花名册.xlsx', buffer: registry }));
    expect(await rowsOf(t, 'beneficiary_import')).toBe(1);
    expect(await auditOf(t, 'beneficiary.import')).toBe(1);

    const dead = idNumberFrom('99010219500101001');
    await registerPerson(t.core, station, { name: '张大山', idNumber: dead, villageId: await regionId(t, '西街村'), relation: 'head', headPersonId: null, phone: null, account: null });
    const deaths = Buffer.from(`\ufeff姓名,身份证号码,死亡日期\r\n张大山,${dead},2026-10-03\r\n`);
    await fourAtOnce(() => loadReferenceSnapshot(t!.core, finance, { source: 'police_death', takenOn: '2026-11-01', file: { name: '公安死亡人员.csv', buffer: deaths } }));
    const client = await apiClient(t, 'reference', null);
    await fourAtOnce(() => pushReferenceSnapshot(t!.core, client, { source: 'police_death', takenOn: '2026-11-02', people: [{ name: '张大山', idNumber: dead, date: '2026-10-03' }] }));
    expect(await rowsOf(t, 'beneficiary_reference_snapshot')).toBe(2);
    expect(await rowsOf(t, 'beneficiary_reference_hit')).toBe(2);
    expect(await auditOf(t, 'beneficiary.reference.load')).toBe(2);
  });

  it('a roster file and a department\'s policy file: one import each, one audit row, three repeats', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const rows = registryFileRows(fakeHouseholds({ households: 4, villages: ['东关社区', '西街村'], seed: 5, sharedAccounts: 0, secondAccounts: 0, deceasedShare: 0, movedShare: 0 }));
    const imported = await importRegistry(t.core, station, { name: 'people.xlsx', buffer: await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, rows) });
    expect(imported.ok).toBe(true);
    await confirmNewAccounts(t);
    const item = await t.core.db('policy_item').where({ code: 'JC-01' }).first('id');
    const roundId = await createRound(t.core, await actorFor(t, 'dept_agri'), { policyItemId: Number(item.id), period: '2026' });
    const roster = await t.core.db('batch_roster').where({ round_id: roundId, township_id: await regionId(t, '城关镇') }).first('id');
    const heads = rows.filter((r) => r[3] === '户主' && r[8] !== '');
    const file = await writeTableXlsx('清册', ['村（社区）', '姓名', '身份证号码', '档次', '数量'], heads.map((h) => [h[0]!, h[1]!, h[2]!, '标准', '10']));
    const audits = await auditOf(t, 'batch.roster.import');
    await fourAtOnce(() => importRosterFile(t!.core, station, Number(roster.id), { name: '城关镇清册.xlsx', buffer: file }));
    expect(await t.core.db('batch_import').where({ roster_id: roster.id }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await t.core.db('batch_line').where({ roster_id: roster.id, state: 'active' }).count({ n: '*' })).toEqual([{ n: heads.length }]);
    expect(await auditOf(t, 'batch.roster.import')).toBe(audits + 1);

    const dept = await actorFor(t, 'dept_civil');
    const policies = await writeTableXlsx(
      '政策清单',
      ['编码', '补贴项目名称', '层级', '制定地区', '主管部门', '政策依据文件名', '文号', '发放方式', '发放频次', '计量单位', '补贴标准', '起始年度', '截止年度', '互斥组'],
      [['QH-30', '青禾县困难家庭取暖补贴', '县级', '青禾县', dept.orgName!, '青禾县困难家庭取暖补贴办法', '青民〔2026〕3号', '到户', '按年', '户', '标准:300.00', '2026', '', '']],
    );
    await fourAtOnce(() => importPolicies(t!.core, dept, { name: '民政局.xlsx', buffer: policies }));
    expect(await t.core.db('policy_item').where({ code: 'QH-30' }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await rowsOf(t, 'policy_import')).toBe(1);
    expect(await auditOf(t, 'policy.import')).toBe(1);
    expect(await auditOf(t, 'policy.create')).toBe(1);
  });

  it('an allocation file (Excel) and the same documents pushed by the budget system: one import each, one audit row, three repeats, each document once', async () => {
    t = await createSeededDb();
    const finance = await actorFor(t, 'finance');
    const before = await rowsOf(t, 'policy_allocation');
    const file = await writeTableXlsx('指标文件', ['补贴项目编码', '年度', '金额（分）', '指标文件文号', '指标文件名称', '发文日期'], [
      ['JC-01', '2026', '30000000', '青财农〔2026〕31号', '关于追加2026年耕地地力保护补贴资金的通知', '2026-06-01'],
      ['JC-12', '2026', '1200000', '青财社〔2026〕9号', '关于追加2026年经济困难高龄失能养老服务补贴资金的通知', '2026-06-02'],
    ]);
    await fourAtOnce(() => importAllocationFile(t!.core, finance, { name: '指标文件.xlsx', buffer: file }));
    expect(await rowsOf(t, 'policy_allocation')).toBe(before + 2);
    const client = { ...(await apiClient(t, 'budget', null)), name: '县预算管理一体化系统' };
    const pushed = [
      { itemCode: 'JC-12', year: 2026, amountFen: 1200000, docNumber: '青财社〔2026〕9号', docTitle: '关于追加2026年经济困难高龄失能养老服务补贴资金的通知', docDate: '2026-06-02' },
      { itemCode: 'JC-13', year: 2026, amountFen: 800000, docNumber: '青财社〔2026〕9号', docTitle: '关于追加2026年经济困难高龄失能养老服务补贴资金的通知', docDate: '2026-06-02' },
    ];
    await fourAtOnce(() => pushAllocations(t!.core, client, pushed));
    // The document already imported from the file is unchanged; the other item of the same document is new.
    expect(await rowsOf(t, 'policy_allocation')).toBe(before + 3);
    expect(await rowsOf(t, 'policy_allocation_import')).toBe(2);
    expect(await auditOf(t, 'policy.allocation.import')).toBe(2);
  });

  it('a bank result file posted from four tabs: one import, the three others told 已导入过; the same results through the API once', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const round = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id', 'bank_org_id');
    const lines: { id: number; amount_fen: number }[] = await t.core.db('batch_line').where({ round_id: round.id, state: 'active' }).orderBy('id').select('id', 'amount_fen');
    const file = resultFileCsv(lines.slice(0, 10).map((l, i) => ({ ref: `R${round.id}-${l.id}`, amountFen: l.amount_fen, ...(i === 0 ? { result: '失败', code: 'F03' } : { result: '成功' }) })));
    const tabs = await signedIn(t, 'bank', '/bank/payouts');
    const posted = await Promise.all(tabs.map(({ agent, csrf }) => agent.post(`/bank/payouts/${round.id}/results`).field('_csrf', csrf).attach('file', file, '回盘.csv')));
    expect(posted.map((p) => p.status)).toEqual([303, 303, 303, 303]);
    const told = await Promise.all(tabs.map(async ({ agent }) => /回盘已导入|该回盘文件已导入过，本次没有做任何更改/.exec((await agent.get('/bank/payouts')).text)?.[0]));
    expect(told.sort()).toEqual(['回盘已导入', '该回盘文件已导入过，本次没有做任何更改', '该回盘文件已导入过，本次没有做任何更改', '该回盘文件已导入过，本次没有做任何更改']);
    expect(await t.core.db('bank_result_file').where({ round_id: round.id }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await t.core.db('bank_line_result').where({ round_id: round.id }).count({ n: '*' })).toEqual([{ n: 10 }]);
    expect(await t.core.db('bank_failure').where({ round_id: round.id }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await t.core.db('core_audit').where({ action: 'bank.results.import', object_id: String(round.id) }).count({ n: '*' })).toEqual([{ n: 1 }]);

    const client = await apiClient(t, 'bank', round.bank_org_id);
    const next = lines.slice(10, 15).map((l) => ({ ref: `R${round.id}-${l.id}`, amountFen: l.amount_fen, result: 'paid' }));
    await fourAtOnce(() => postResults(t!.core, client, round.id, next, { raw: Buffer.from(JSON.stringify({ results: next })), signature: null }));
    expect(await t.core.db('bank_result_file').where({ round_id: round.id }).count({ n: '*' })).toEqual([{ n: 2 }]);
    expect(await t.core.db('bank_line_result').where({ round_id: round.id }).count({ n: '*' })).toEqual([{ n: 15 }]);
    expect(await t.core.db('core_audit').where({ action: 'bank.results.import', object_id: String(round.id) }).count({ n: '*' })).toEqual([{ n: 2 }]);
  });

  it('a card-opening answer, a completion receipt and a reconciliation confirmation (file and totals): each taken once, one audit row, three repeats', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    const [station, bank] = await Promise.all([actorFor(t, 'station1'), actorFor(t, 'bank')]);

    const idNumber = idNumberFrom('99010219600304221');
    const personId = await registerPerson(t.core, station, { name: '钱开卡', idNumber, villageId: await regionId(t, '西街村'), relation: 'head', headPersonId: null, phone: null, account: null });
    const requestId = await sendCardRequest(t.core, station, { bankOrgId: Number(bank.orgId), noAccount: [personId], lostIdNumbers: [] });
    const card = '6239991234567890';
    const answer = await writeTableXlsx('开卡名单', ['序号', '村（社区）', '姓名', '身份证号码', '原因', '开卡结果', '账户类型', '账号', '说明'], [['1', '西街村', '钱开卡', idNumber, '无账户', '已开卡', '社会保障卡', card + luhnCheckDigit(card), '']]);
    await fourAtOnce(() => answerCardRequest(t!.core, bank, requestId, { name: '开卡结果.xlsx', buffer: answer }));
    expect(await db('beneficiary_change_request').where({ person_id: personId }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await auditOf(t, 'bank.card_request.answer')).toBe(1);

    const round = await db('batch_round').where({ state: 'transferred', period: '2026-08' }).first('id');
    const pdf = Buffer.from('%PDF-1.4\n% 发放完成回执单（测试）\n%%EOF\n');
    await fourAtOnce(async () => ({ ok: true, ...(await uploadReceipt(t!.core, bank, round.id, { name: '回执.pdf', buffer: pdf }, '')) }));
    expect(await db('bank_receipt').where({ round_id: round.id }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await auditOf(t, 'bank.receipt.upload')).toBe(1);

    expect(await openReconciliations(db, '2027-01-05')).toBe(1);
    const recId = Number((await db('bank_reconciliation').first('id')).id);
    const line = await db('batch_line').where({ round_id: round.id, state: 'active' }).orderBy('id').first('id', 'amount_fen');
    const confirmation = Buffer.from(`流水号,金额（分）,状态\r\nR${round.id}-${line.id},${line.amount_fen},已发放\r\n`);
    await fourAtOnce(() => importConfirmation(t!.core, bank, recId, { name: '对账确认.csv', buffer: confirmation }));
    expect(await auditOf(t, 'bank.reconciliation.confirm')).toBe(1);
    await fourAtOnce(async () => ({ ...(await enterConfirmedTotals(t!.core, bank, recId, new Map([[Number(round.id), { paidFen: 100, unpaidFen: 0, refundedFen: 0 }]]))) }));
    expect(await auditOf(t, 'bank.reconciliation.confirm')).toBe(2);
    expect(await db('bank_reconciliation_total').where({ reconciliation_id: recId }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });
});

describe(`the same form step sent four times at once changes once (${TEST_DB})`, () => {
  it('a roster sent for checking from four tabs: one step, one audit row and history entry, the three others told it was already handled (409), none failing', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const roster = await t.core.db('batch_roster as s').join('batch_round as r', 'r.id', 's.round_id').where({ 's.state': 'draft', 's.township_id': await regionId(t, '城关镇') }).whereExists((q) => q.select(t!.core.db.raw('1')).from('batch_line as l').whereRaw('l.roster_id = s.id').where('l.state', 'active')).first('s.id', 's.version');
    expect(roster).toBeDefined();
    const tabs = await signedIn(t, 'station1', `/rosters/${roster.id}`);
    const audits = await auditOf(t, 'batch.roster.send_check');
    const posted = await Promise.all(tabs.map(({ agent, csrf }) => agent.post(`/rosters/${roster.id}/act`).type('form').send({ _csrf: csrf, action: 'send_check', version: String(roster.version) })));
    expect(posted.map((p) => p.status).sort()).toEqual([303, 409, 409, 409]);
    // A tab that read the roster before the winner's change loses at the guarded update; one that read it after is
    // refused by the roster's new state. Both say the step was taken already.
    for (const refused of posted.filter((p) => p.status === 409)) expect(refused.text).toMatch(/清册已被他人处理或修改，请刷新后再试|清册现为“待财政所复核比对”，不能“送财政所复核比对”/);
    expect(await t.core.db('batch_roster').where({ id: roster.id }).first('state', 'version')).toEqual({ state: 'checking', version: roster.version + 1 });
    expect(await auditOf(t, 'batch.roster.send_check')).toBe(audits + 1);
    expect(await t.core.db('batch_history').where({ roster_id: roster.id, action: 'send_check' }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await t.core.db('core_deadline').where({ rule: 'batch_check', object_type: 'roster', object_id: String(roster.id), state: 'open' }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });
});
