import { afterEach, describe, expect, it } from 'vitest';
import { agreementInForce, banksServing } from '../../src/modules/agreement/index.ts';
import { businessDate } from '../../src/core/dates.ts';
import { TEST_DB, type TestDb, agentFor, auditRows, createSeededDb, login, regionId, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const TERMS = {
  procurementProjectNo: 'QH-ZC-2026-002',
  procurementMethod: 'open_tender',
  termPayment: '收到资金后 2 个工作日内足额发放到户',
  termNotice: '每笔发放免费短信告知补贴项目、标准和发放部门',
  termWithdrawal: '每个行政村设助农取款点，跨行取款免费',
  termDataSecurity: '严格实名开卡，持卡人信息仅用于代发',
};

/** The demo county's agreement, as a finance section's agent and the agreement's id and page. */
async function demoAgreement(db: TestDb) {
  const agreement = await db.core.db('agreement_contract').first();
  return { ...agreement, id: Number(agreement.id), version: Number(agreement.version), path: `/agreements/${agreement.id}` };
}

const addDays = (day: string, days: number) => new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

describe(`agent bank agreements (${TEST_DB})`, () => {
  it('lets the county finance section record an agreement with its procurement and terms, checked field by field, and shows it to the money roles only', async () => {
    t = await createSeededDb({ demo: true });
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const bank = await t.core.db('core_org').where({ kind: 'bank' }).first('id', 'name');
    const fields = { bankOrgId: String(bank.id), branch: '石桥分社', agreementNo: '青财代发〔2026〕2号', startsOn: '2026-01-01', endsOn: '2027-12-31', settlementAccountName: '代发清算户', settlementAccountNo: '9901 0200 0100 2003 02', freeSms: 'on', ...TERMS };
    const incomplete = await submit(finance, '/agreements', '/agreements', { ...fields, procurementProjectNo: '', procurementMethod: '', termNotice: '=HYPERLINK("x")' });
    expect(incomplete.status).toBe(422);
    expect(incomplete.text).toContain('请填写政府采购项目编号');
    expect(incomplete.text).toContain('请选择政府采购方式');
    expect(incomplete.text).toContain('补贴通知要求不能以 = + - @ 开头');
    const bad = await submit(finance, '/agreements', '/agreements', { ...fields, endsOn: '2025-01-01', settlementAccountNo: 'abc' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('结束日期不能早于开始日期');
    expect(bad.text).toContain('资金清算账号应为 6–40 位数字');
    expect(bad.text).toContain('请选择本县服务的乡镇');
    expect((await t.core.db('agreement_contract').pluck('agreement_no')).length).toBe(1);
    const ok = await finance.post('/agreements').type('form').send(`${new URLSearchParams({ ...fields, _csrf: /name="_csrf" value="([^"]+)"/.exec(bad.text)![1]! })}&townshipIds=${await regionId(t, '石桥镇')}`);
    expect(ok.status).toBe(303);
    const page = await finance.get('/agreements');
    expect(page.text).toContain('青财代发〔2026〕2号');
    // The settlement account shown masked, as a payee's is; stored encrypted.
    expect(page.text).toContain('代发清算户<br>****0302');
    expect(page.text).not.toContain('990102000100200302');
    expect(JSON.stringify(await t.core.db('agreement_contract').where({ agreement_no: '青财代发〔2026〕2号' }).first())).not.toContain('990102000100200302');
    expect(page.text).toContain('免费短信告知');
    const detail = await finance.get(ok.headers.location!);
    // The list and the agreement's page name the bank.
    const bankName = bank.name as string;
    expect(page.text).toContain(bankName);
    expect(detail.text).toContain(`<dt>金融机构</dt><dd>${bankName}</dd>`);
    expect(detail.text).toContain('公开招标 QH-ZC-2026-002');
    expect(detail.text).toContain('每个行政村设助农取款点，跨行取款免费');
    expect((await auditRows(t.core, 'agreement.record')).length).toBe(1);
    const station = agentFor(t.core);
    await login(station, 'station1');
    expect((await station.get('/agreements')).status).toBe(403);
  });

  it('lets the finance section edit the terms of the version it saw, audited with before and after; a refused or stale form changes nothing', async () => {
    t = await createSeededDb({ demo: true });
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const a = await demoAgreement(t);
    const edit = { version: String(a.version), branch: '城关分社', settlementAccountName: a.settlement_account_name, ...TERMS, freeSms: 'on' };
    const bad = await submit(finance, a.path, `${a.path}/edit`, { ...edit, termPayment: '', termDataSecurity: '<b>承诺</b>' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('请填写资金支付要求');
    expect(bad.text).toContain('数据安全要求不能包含尖括号');
    expect(bad.text).toContain('value="城关分社"'); // what was typed is kept
    expect(await t.core.db('agreement_contract').where({ id: a.id }).first()).toMatchObject({ branch: a.branch, term_payment: a.term_payment });
    const ok = await submit(finance, a.path, `${a.path}/edit`, edit);
    expect(ok.status).toBe(303);
    const row = await t.core.db('agreement_contract').where({ id: a.id }).first();
    expect(row).toMatchObject({ branch: '城关分社', procurement_project_no: 'QH-ZC-2026-002', term_notice: TERMS.termNotice });
    expect(Number(row.version)).toBe(a.version + 1);
    const page = await finance.get(a.path);
    expect(page.text).toContain(TERMS.termDataSecurity);
    const [audit] = await auditRows(t.core, 'agreement.edit');
    expect(JSON.stringify(audit)).toContain(a.branch);
    expect(JSON.stringify(audit)).toContain('城关分社');
    // The same form again is of a version that has gone: refused with a conflict on the page, nothing changed.
    const stale = await submit(finance, a.path, `${a.path}/edit`, { ...edit, branch: '另一网点' });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('已被他人修改');
    expect((await t.core.db('agreement_contract').where({ id: a.id }).first()).branch).toBe('城关分社');
  });

  it('extends the term only to a later end date with the extension document, and lists the extension', async () => {
    t = await createSeededDb({ demo: true });
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const a = await demoAgreement(t);
    const bad = await submit(finance, a.path, `${a.path}/extend`, { version: String(a.version), newEndsOn: a.ends_on, extensionDocNo: '' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('请填写延期文件文号');
    const notLater = await submit(finance, a.path, `${a.path}/extend`, { version: String(a.version), newEndsOn: addDays(a.ends_on, -1), extensionDocNo: '青财代发补〔2028〕1号' });
    expect(notLater.status).toBe(422);
    expect(notLater.text).toContain(`延期后的结束日期应晚于现结束日期 ${a.ends_on}`);
    expect((await t.core.db('agreement_contract').where({ id: a.id }).first()).ends_on).toBe(a.ends_on);
    expect(await t.core.db('agreement_extension').count({ n: '*' }).first()).toMatchObject({ n: 0 });
    const ok = await submit(finance, a.path, `${a.path}/extend`, { version: String(a.version), newEndsOn: '2030-12-31', extensionDocNo: '青财代发补〔2028〕1号' });
    expect(ok.status).toBe(303);
    expect((await t.core.db('agreement_contract').where({ id: a.id }).first()).ends_on).toBe('2030-12-31');
    const page = await finance.get(a.path);
    expect(page.text).toContain('青财代发补〔2028〕1号');
    expect(page.text).toContain('2024-01-01 至 2030-12-31');
    expect((await auditRows(t.core, 'agreement.extend')).length).toBe(1);
  });

  it('terminates with a date and a required reason; from that day the bank gets no new round, and the agreement can no longer be changed', async () => {
    t = await createSeededDb({ demo: true });
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const a = await demoAgreement(t);
    const today = businessDate();
    const townshipIds = (await t.core.db('agreement_township').where({ agreement_id: a.id }).pluck('township_id')).map(Number);
    const release = { countyId: Number(a.county_id), bankOrgId: Number(a.bank_org_id), on: today, townshipIds };
    expect(typeof (await agreementInForce(t.core.db, release))).toBe('object');
    const bad = await submit(finance, a.path, `${a.path}/terminate`, { version: String(a.version), terminatedOn: today, terminationReason: '' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('请填写终止原因');
    const outside = await submit(finance, a.path, `${a.path}/terminate`, { version: String(a.version), terminatedOn: '2023-06-30', terminationReason: '多次延迟发放' });
    expect(outside.status).toBe(422);
    expect(outside.text).toContain('终止日期应在协议期限内');
    expect((await t.core.db('agreement_contract').where({ id: a.id }).first()).terminated_on).toBeNull();
    const ok = await submit(finance, a.path, `${a.path}/terminate`, { version: String(a.version), terminatedOn: today, terminationReason: '多次延迟发放' });
    expect(ok.status).toBe(303);
    // What the release of a round calls (batch releaseRound) now refuses this bank, saying why.
    expect(await agreementInForce(t.core.db, release)).toBe(`该金融机构在本县的代发协议（${a.agreement_no}）已于 ${today} 终止（多次延迟发放），不能再下达新的发放批次`);
    expect(await banksServing(t.core.db, townshipIds[0]!)).toEqual([]);
    // The day before it was still in force (a round released then stays the bank's to pay).
    expect(typeof (await agreementInForce(t.core.db, { ...release, on: addDays(today, -1) }))).toBe('object');
    const page = await finance.get(a.path);
    expect(page.text).toContain(`已于 ${today} 终止`);
    expect(page.text).toContain('原因：多次延迟发放');
    expect(page.text).not.toContain(`action="${a.path}/edit"`);
    expect(page.text).not.toContain(`action="${a.path}/extend"`);
    expect(page.text).not.toContain(`action="${a.path}/terminate"`);
    expect(page.text).toContain(`action="${a.path}/breaches"`);
    const again = await submit(finance, a.path, `${a.path}/extend`, { version: String(a.version + 1), newEndsOn: '2030-12-31', extensionDocNo: '青财代发补〔2028〕1号' });
    expect(again.status).toBe(409);
    expect(again.text).toContain('已登记终止');
    expect((await auditRows(t.core, 'agreement.terminate')).length).toBe(1);
  });

  it('records the bank\'s breaches with what happened and the measure taken, listed on the agreement and audited', async () => {
    t = await createSeededDb({ demo: true });
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const a = await demoAgreement(t);
    const bad = await submit(finance, a.path, `${a.path}/breaches`, { breachOn: '2999-01-01', breachWhat: '', breachMeasure: '约谈' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('违约发生日期不能晚于今天');
    expect(bad.text).toContain('请填写违约情形');
    expect(bad.text).toContain('value="约谈"');
    expect(await t.core.db('agreement_breach').count({ n: '*' }).first()).toMatchObject({ n: 0 });
    const ok = await submit(finance, a.path, `${a.path}/breaches`, { breachOn: '2025-03-10', breachWhat: '春耕补贴未在 2 个工作日内发放到户', breachMeasure: '约谈分管行长，按协议扣减当季代发服务费' });
    expect(ok.status).toBe(303);
    const page = await finance.get(a.path);
    expect(page.text).toContain('春耕补贴未在 2 个工作日内发放到户');
    expect(page.text).toContain('按协议扣减当季代发服务费');
    expect((await auditRows(t.core, 'agreement.breach')).length).toBe(1);
  });

  it('shows other readers the agreement without any step, and refuses their forms with 403', async () => {
    t = await createSeededDb({ demo: true });
    const a = await demoAgreement(t);
    const treasury = agentFor(t.core);
    await login(treasury, 'treasury');
    const page = await treasury.get(a.path);
    expect(page.status).toBe(200);
    expect(page.text).not.toMatch(/action="\/agreements\/\d+\//);
    for (const [step, fields] of [
      ['edit', { version: String(a.version), branch: '城关分社', settlementAccountName: '代发清算户', ...TERMS }],
      ['extend', { version: String(a.version), newEndsOn: '2030-12-31', extensionDocNo: '青财代发补〔2028〕1号' }],
      ['terminate', { version: String(a.version), terminatedOn: businessDate(), terminationReason: '多次延迟发放' }],
      ['breaches', { breachOn: '2025-03-10', breachWhat: '未发放', breachMeasure: '约谈' }],
    ] as const) {
      expect((await submit(treasury, a.path, `${a.path}/${step}`, fields)).status).toBe(403);
    }
    expect(await t.core.db('agreement_contract').where({ id: a.id }).first()).toMatchObject({ branch: a.branch, ends_on: a.ends_on, terminated_on: null });
    const station = agentFor(t.core);
    await login(station, 'station1');
    expect((await station.get(a.path)).status).toBe(403);
  });
});
