import { afterEach, describe, expect, it } from 'vitest';
import { TEST_DB, type TestDb, agentFor, auditRows, createSeededDb, login, regionId, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe(`agent bank agreements (${TEST_DB})`, () => {
  it('lets the county finance section record an agreement, checked field by field, and shows it to the money roles only', async () => {
    t = await createSeededDb({ demo: true });
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const bank = await t.core.db('core_org').where({ kind: 'bank' }).first('id');
    const fields = { bankOrgId: String(bank.id), branch: '石桥分社', agreementNo: '青财代发〔2026〕2号', startsOn: '2026-01-01', endsOn: '2027-12-31', settlementAccountName: '代发清算户', settlementAccountNo: '9901 0200 0100 2003 02', freeSms: 'on' };
    const bad = await submit(finance, '/agreements', '/agreements', { ...fields, endsOn: '2025-01-01', settlementAccountNo: 'abc' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('结束日期不能早于开始日期');
    expect(bad.text).toContain('资金清算账号应为 6–40 位数字');
    expect(bad.text).toContain('请选择本县服务的乡镇');
    const ok = await finance.post('/agreements').type('form').send(`${new URLSearchParams({ ...fields, _csrf: /name="_csrf" value="([^"]+)"/.exec(bad.text)![1]! })}&townshipIds=${await regionId(t, '石桥镇')}`);
    expect(ok.status).toBe(303);
    const page = await finance.get('/agreements');
    expect(page.text).toContain('青财代发〔2026〕2号');
    // The settlement account shown masked, as a payee's is; stored encrypted.
    expect(page.text).toContain('代发清算户<br>****0302');
    expect(page.text).not.toContain('990102000100200302');
    expect(JSON.stringify(await t.core.db('agreement_contract').where({ agreement_no: '青财代发〔2026〕2号' }).first())).not.toContain('990102000100200302');
    expect(page.text).toContain('免费短信告知');
    expect((await auditRows(t.core, 'agreement.record')).length).toBe(1);
    const station = agentFor(t.core);
    await login(station, 'station1');
    expect((await station.get('/agreements')).status).toBe(403);
  });
});
