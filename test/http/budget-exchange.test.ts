import { afterEach, describe, expect, it } from 'vitest';
import { addCalendarDays, businessDate } from '../../src/core/dates.ts';
import { lastEndedQuarter } from '../../src/modules/bank/reconcile.ts';
import { TEST_DB, type TestDb, agentFor, approvedToken, asAdmin, auditRows, createSeededDb, csrfFrom, login, personalNumbers, regionId, submit } from '../factories.ts';

// The exchange with the budget system (预算管理一体化, issue 20 item 3): allocation documents received by file or API,
// payment vouchers and payment plans handed out as CSV files and JSON (docs/budget-exchange-format.md).
let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const HEADER = '补贴项目编码,年度,金额（分）,指标文件文号,指标文件名称,发文日期';
const csv = (...lines: string[]) => Buffer.from(`\ufeff${[HEADER, ...lines].join('\r\n')}\r\n`, 'utf8');
/** A demo allocation exactly as the seed recorded it (seeds/demo-policy.ts). */
const DEMO_JC02 = 'JC-02,2026,62000000,青财农〔2026〕02号,关于下达2026年农机购置补贴资金的通知,2026-02-10';

async function allocationCount(db: TestDb): Promise<number> {
  const [{ n }] = (await db.core.db('policy_allocation').count({ n: '*' })) as { n: number | string }[];
  return Number(n);
}

/** A budget token (and others) of the demo county, approved. */
async function tokens(db: TestDb) {
  const admin = await asAdmin(db);
  const county = String(await regionId(db, '青禾县'));
  const make = async (name: string, purpose: string, orgId = '') => approvedToken(db, await submit(admin, '/admin/api-tokens', '/admin/api-tokens', { name, purpose, regionId: county, orgId }));
  const bankOrg = await db.core.db('core_org').where({ kind: 'bank' }).first('id');
  return { admin, budget: await make('县预算管理一体化系统', 'budget'), platform: await make('市一卡通监管平台', 'platform'), bank: await make('信用社代发系统', 'bank', String(bankOrg.id)) };
}

describe(`the budget system exchange (${TEST_DB})`, () => {
  it('imports a file of allocation documents whole or not at all; a document already recorded alike is unchanged; the same file twice changes nothing', async () => {
    t = await createSeededDb({ demo: true });
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const page = await finance.get('/allocations?year=2026');
    expect(page.status).toBe(200);
    expect(page.text).toContain('青禾县2026年资金指标');
    expect(page.text).toContain('青财农〔2026〕12号');
    const upload = (file: Buffer, name: string) => finance.post('/allocations/import').field('_csrf', csrfFrom(page.text)).attach('file', file, name);
    const before = await allocationCount(t);

    // Refused: every bad row named by its row and column, nothing recorded.
    const bad = await upload(
      csv(
        DEMO_JC02,
        'JC-01,2026,12.5,青财农〔2026〕31号,关于追加耕地地力保护补贴的通知,2026-06-01',
        'XX-99,2026,100,青财农〔2026〕32号,不存在的项目,2026-06-01',
        `JC-03,2026,100,青财农〔2026〕33号,=SUM(1),${addCalendarDays(businessDate(), 1)}`,
        'JC-04,2026,100,青财农〔2026〕04号,关于下达2026年前一轮退耕还林直补退耕农户资金的通知,2026-02-10',
      ),
      '指标文件（有误）.csv',
    );
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('文件未导入：4 行有误');
    expect(bad.text).toContain('第 3 行「金额（分）」：应为以分为单位的整数');
    expect(bad.text).toContain('第 4 行「补贴项目编码」：「XX-99」不在本县政策清单中');
    expect(bad.text).toContain('第 5 行「指标文件名称」：不能以 = + - @ 开头');
    expect(bad.text).toContain('第 5 行「发文日期」：不能晚于今天');
    // The same document number of the same item and year with another amount contradicts what is recorded.
    expect(bad.text).toContain('第 6 行「金额（分）」：与已登记的同一指标文件（2026 年 JC-04，文号 青财农〔2026〕04号）不一致：已登记为「21000000」');
    expect(await allocationCount(t)).toBe(before);
    expect(await t.core.db('policy_allocation_import').count({ n: '*' }).first()).toEqual({ n: 0 });
    expect(await auditRows(t.core, 'policy.allocation.import')).toHaveLength(0);

    // Taken: one new document, the demo's own unchanged.
    const file = csv(DEMO_JC02, 'JC-01,2026,30000000,青财农〔2026〕31号,关于追加2026年耕地地力保护补贴资金的通知,2026-06-01');
    const ok = await upload(file, '指标文件.csv');
    expect(ok.status).toBe(303);
    const after = await finance.get('/allocations?year=2026');
    expect(after.text).toContain('指标文件已导入：新登记 1 条，已登记且相同 1 条');
    expect(after.text).toContain('关于追加2026年耕地地力保护补贴资金的通知');
    expect(await allocationCount(t)).toBe(before + 1);
    const jc01 = await t.core.db('policy_allocation as a').join('policy_item as i', 'i.id', 'a.item_id').where({ 'i.code': 'JC-01', 'a.year': 2026 }).orderBy('a.id').select('a.amount_fen', 'a.doc_number');
    expect(jc01.map((a) => [Number(a.amount_fen), a.doc_number])).toEqual([
      [185000000, '青财农〔2026〕01号'],
      [30000000, '青财农〔2026〕31号'],
    ]);
    const [audit] = await auditRows(t.core, 'policy.allocation.import');
    expect(audit).toMatchObject({ username: 'finance' });
    expect(JSON.parse(audit!.summary)).toMatchObject({ channel: 'file', rows: 2, created: 1, unchanged: 1, amountFen: 30000000, docs: '青财农〔2026〕31号' });

    // The same file again: nothing changes; another file with only known documents: all unchanged.
    const again = await upload(file, '指标文件（再次）.csv');
    expect(again.status).toBe(303);
    expect((await finance.get('/allocations')).text).toContain('该文件已导入过，本次没有做任何更改');
    expect(await allocationCount(t)).toBe(before + 1);
    expect(await auditRows(t.core, 'policy.allocation.import')).toHaveLength(1);

    // No file: the form's own message.
    const none = await finance.post('/allocations/import').field('_csrf', csrfFrom(page.text));
    expect(none.status).toBe(422);
    expect(none.text).toContain('请选择要导入的指标文件');

    // The hand form on a policy's page still records one document.
    const item = await t.core.db('policy_item').where({ code: 'JC-05' }).first('id');
    const hand = await submit(finance, `/policies/${item.id}`, `/policies/${item.id}/allocations`, { year: '2026', amount: '1,000.00', docTitle: '关于追加退耕还林资金的通知', docNumber: '青财农〔2026〕40号', docDate: '2026-07-01' });
    expect(hand.status).toBe(303);
    expect(await allocationCount(t)).toBe(before + 2);
  });

  it('shows the allocations to the treasury without the upload, and refuses the upload and the page to roles that have neither', async () => {
    t = await createSeededDb({ demo: true });
    const treasury = agentFor(t.core);
    await login(treasury, 'treasury');
    const page = await treasury.get('/allocations?year=2026');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('action="/allocations/import"');
    const refused = await treasury.post('/allocations/import').field('_csrf', csrfFrom(page.text)).attach('file', csv(DEMO_JC02), 'x.csv');
    expect(refused.status).toBe(403);
    const station = agentFor(t.core);
    await login(station, 'station1');
    expect((await station.get('/allocations')).status).toBe(403);
    expect((await station.get('/bank/budget')).status).toBe(403);
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    expect((await bank.get('/bank/budget/vouchers.csv')).status).toBe(403);
  });

  it('takes allocation documents from the budget system’s token only, in the one error shape, the same body twice changing nothing', async () => {
    t = await createSeededDb({ demo: true });
    const { budget, platform, admin } = await tokens(t);
    const post = (bearer: string, body: unknown) => agentFor(t!.core).post('/api/v1/allocations').set('Authorization', `Bearer ${bearer}`).send(body as object);
    const doc = { itemCode: 'JC-07', year: 2026, amountFen: 5000000, docNumber: '青财社〔2026〕8号', docTitle: '关于追加2026年计划生育家庭奖励扶助资金的通知', docDate: '2026-05-06' };
    const known = { itemCode: 'JC-02', year: 2026, amountFen: 62000000, docNumber: '青财农〔2026〕02号', docTitle: '关于下达2026年农机购置补贴资金的通知', docDate: '2026-02-10' };
    const before = await allocationCount(t);

    const refused = await post(budget, { allocations: [doc, { ...doc, itemCode: 'JC-08', amountFen: 0 }, { ...known, amountFen: 1 }] });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([
      { row: 2, field: 'amountFen', message: '应大于零' },
      { row: 3, field: 'amountFen', message: '与已登记的同一指标文件（2026 年 JC-02，文号 青财农〔2026〕02号）不一致：已登记为「62000000」；更正已登记的指标请联系财政局业务科室' },
    ]);
    expect(await allocationCount(t)).toBe(before);
    expect((await post(budget, { allocations: [] })).body).toEqual({ errors: [{ field: 'allocations', message: '应为非空数组' }] });

    const created = await post(budget, { allocations: [doc, known] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ repeated: false, rows: 2, created: 1, unchanged: 1 });
    expect(await allocationCount(t)).toBe(before + 1);
    const repeated = await post(budget, { allocations: [doc, known] });
    expect(repeated.status).toBe(200);
    expect(repeated.body).toMatchObject({ repeated: true, importId: created.body.importId });
    // The same document in another body: unchanged, nothing recorded twice.
    const resent = await post(budget, { allocations: [doc] });
    expect([resent.status, resent.body.created, resent.body.unchanged]).toEqual([201, 0, 1]);
    expect(await allocationCount(t)).toBe(before + 1);
    const [audit] = await auditRows(t.core, 'policy.allocation.import');
    expect(audit!.username).toBe('api:县预算管理一体化系统');

    const other = await post(platform, { allocations: [doc] });
    expect(other.status).toBe(403);
    expect(other.body.errors[0].message).toContain('预算管理一体化');

    // A budget token speaks for one county.
    const township = String(await regionId(t, '城关镇'));
    const wide = await submit(admin, '/admin/api-tokens', '/admin/api-tokens', { name: '省一体化', purpose: 'budget', regionId: township, orgId: '' });
    expect(wide.status).toBe(422);
    expect(wide.text).toContain('预算管理一体化系统按县交换数据：请选择县');
    const list = await admin.get('/admin/api-tokens');
    expect(list.text).toContain('<option value="budget">预算管理一体化</option>');
    expect(list.text).toContain('县预算管理一体化系统');
  });

  it('hands out the demo county’s payment vouchers and payment plans, exactly, as CSV and JSON, with no personal number', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const today = businessDate();
    const quarterEnd = lastEndedQuarter(today).end;
    const from = `${quarterEnd.slice(0, 4)}-01-01`;
    const treasury = agentFor(t.core);
    await login(treasury, 'treasury');
    const page = await treasury.get(`/bank/budget?from=${from}&to=${today}&year=2026`);
    expect(page.status).toBe(200);
    for (const href of [`/bank/budget/vouchers.csv?from=${from}&amp;to=${today}&amp;year=2026`, `/bank/budget/plans.csv?from=${from}&amp;to=${today}&amp;year=2026`]) {
      expect(page.text).toContain(`href="${href}" download data-hx-boost="false"`);
    }
    const file = await treasury.get(`/bank/budget/vouchers.csv?from=${from}&to=${today}&year=2026`);
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(file.text.startsWith('\ufeff凭证类型,凭证号,日期,金额（分）,发放批次号,批次名称,期间,补贴项目编码,补贴项目名称,主管部门,代发金融机构,用款计划号,指标文号\r\n')).toBe(true);
    const rounds = (await t.core.db('batch_round').where({ policy_item_id: (await t.core.db('policy_item').where({ code: 'JC-12' }).first('id')).id }).orderBy('id').pluck('id')).map(Number);
    const [august, september] = rounds;
    const tail = (round: number, month: string) => `${round},2026年${Number(month)}月经济困难高龄失能养老服务补贴资金,2026-${month},JC-12,经济困难高龄失能养老服务补贴资金,青禾县民政局,青禾县农村信用合作联社,青民用款〔2026〕${month}01号（演示）,青财农〔2026〕12号`;
    // 30 elderly people a month at 100, 200 and 300 元: 6,000 元 a round; one line of 200 元 of August's paid again, refunded twice and returned.
    expect(file.text.slice(1).split('\r\n').slice(1, -1)).toEqual([
      `拨付,青国库拨〔2026〕0815号（演示）,${quarterEnd},600000,${tail(august!, '08')}`,
      `拨付,青国库拨〔2026〕0915号（演示）,${today},600000,${tail(september!, '09')}`,
      `再次拨付,青国库拨〔2026〕0019号（演示）,${today},20000,${tail(august!, '08')}`,
      `银行退回,信联退〔2026〕0008号（演示）,${today},20000,${tail(august!, '08')}`,
      `银行退回,信联退〔2026〕0011号（演示）,${today},20000,${tail(august!, '08')}`,
      `缴回国库,青国库缴〔2026〕0021号（演示）,${today},20000,${tail(august!, '08')}`,
    ]);
    expect(personalNumbers(file.text)).toEqual([]);
    const [exported] = await auditRows(t.core, 'bank.budget.vouchers');
    expect(JSON.parse(exported!.summary)).toMatchObject({ format: 'csv', from, to: today, rows: 6, amountFen: 1280000 });

    const plans = await treasury.get('/bank/budget/plans.csv?year=2026');
    expect(plans.text.slice(1).split('\r\n').slice(0, -1)).toEqual([
      '用款计划号,计划金额（分）,计划日期,发放批次号,批次名称,期间,补贴项目编码,补贴项目名称,主管部门,批次状态,已下达金额（分）,已拨付金额（分）',
      `青民用款〔2026〕0801号（演示）,600000,2026-08-20,${august},2026年8月经济困难高龄失能养老服务补贴资金,2026-08,JC-12,经济困难高龄失能养老服务补贴资金,青禾县民政局,已拨付,600000,600000`,
      `青民用款〔2026〕0901号（演示）,600000,2026-09-20,${september},2026年9月经济困难高龄失能养老服务补贴资金,2026-09,JC-12,经济困难高龄失能养老服务补贴资金,青禾县民政局,已拨付,600000,600000`,
      `青民用款〔2026〕1001号（演示）,600000,2026-10-20,${rounds[2]},2026年10月经济困难高龄失能养老服务补贴资金,2026-10,JC-12,经济困难高龄失能养老服务补贴资金,青禾县民政局,已下达银行,600000,0`,
      expect.stringMatching(/^青民用款〔2026〕1002号（演示）,54000,2026-10-20,\d+,2026年10月残疾人两项补贴——困难残疾人生活补贴资金,2026-10,JC-14,残疾人两项补贴——困难残疾人生活补贴资金,青禾县民政局,待财政复核,0,0$/),
    ]);
    expect(personalNumbers(plans.text)).toEqual([]);
    expect(await auditRows(t.core, 'bank.budget.plans')).toHaveLength(1);

    // The same through the API, for the budget system's token only.
    const { budget, bank } = await tokens(t);
    const api = agentFor(t.core);
    const json = await api.get(`/api/v1/payment-vouchers?from=${from}&to=${today}`).set('Authorization', `Bearer ${budget}`);
    expect(json.status).toBe(200);
    expect(json.body.vouchers.map((v: { kind: string; amountFen: number }) => [v.kind, v.amountFen])).toEqual([
      ['transfer', 600000],
      ['transfer', 600000],
      ['retransfer', 20000],
      ['refund', 20000],
      ['refund', 20000],
      ['treasury_return', 20000],
    ]);
    expect(json.body.totals).toEqual({ transfer: { count: 2, fen: 1200000 }, retransfer: { count: 1, fen: 20000 }, refund: { count: 2, fen: 40000 }, treasury_return: { count: 1, fen: 20000 } });
    expect(personalNumbers(JSON.stringify(json.body))).toEqual([]);
    // A range that holds only the quarter's end: August's transfer alone.
    const quarter = await api.get(`/api/v1/payment-vouchers?from=${quarterEnd}&to=${quarterEnd}`).set('Authorization', `Bearer ${budget}`);
    expect(quarter.body.vouchers.map((v: { voucherNo: string }) => v.voucherNo)).toEqual(['青国库拨〔2026〕0815号（演示）']);
    const planJson = await api.get('/api/v1/payment-plans?year=2026').set('Authorization', `Bearer ${budget}`);
    expect(planJson.status).toBe(200);
    expect(planJson.body.plans.map((p: { planFen: number; releasedFen: number; transferredFen: number; state: string }) => [p.planFen, p.releasedFen, p.transferredFen, p.state])).toEqual([
      [600000, 600000, 600000, 'transferred'],
      [600000, 600000, 600000, 'transferred'],
      [600000, 600000, 0, 'released'],
      [54000, 0, 0, 'submitted'],
    ]);
    expect((await api.get('/api/v1/payment-plans?year=2025').set('Authorization', `Bearer ${budget}`)).body.plans).toEqual([]);
    expect((await api.get('/api/v1/payment-vouchers?from=2026-01-01&to=2026-12-31').set('Authorization', `Bearer ${bank}`)).status).toBe(403);
    const backwards = await api.get('/api/v1/payment-vouchers?from=2026-12-31&to=2026-01-01').set('Authorization', `Bearer ${budget}`);
    expect([backwards.status, backwards.body]).toEqual([422, { errors: [{ field: 'to', message: '截止日期不能早于起始日期' }] }]);
    expect((await auditRows(t.core, 'bank.budget.vouchers')).map((r) => r.username)).toContain('api:县预算管理一体化系统');

    // A bad filter on the page: 422 with the field's message (the form contract checks the rest).
    const refused = await treasury.get('/bank/budget?month=2026-13');
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('月份应为 YYYY-MM 格式');
    const supervisor = agentFor(t.core);
    await login(supervisor, 'supervisor');
    expect((await supervisor.get('/bank/budget?month=2026-09')).status).toBe(200);
  });
});
