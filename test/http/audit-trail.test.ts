import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../../src/core/audit.ts';
import { businessDate } from '../../src/core/dates.ts';
import { inTransaction } from '../../src/core/db.ts';
import { registerPerson } from '../../src/modules/beneficiary/commands.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, auditRows, binaryParser, createSeededDb, csrfFrom, idNumberFrom, login, personalNumbers, regionId } from '../factories.ts';

/** The audit trail as the auditor searches it (issue 17): filters, search by person, an object's history, the latest check, exports. */
let t: TestDb;
let auditor: ReturnType<typeof agentFor>;
beforeAll(async () => {
  t = await createSeededDb({ demo: true }, { people: true });
  auditor = agentFor(t.core);
  await login(auditor, 'auditor');
  personId = await registerPerson(t.core, await actorFor(t, 'station1'), { name: '钱审计', idNumber: PERSON_ID_NUMBER, villageId: await regionId(t, '西街村'), relation: 'head', headPersonId: null, phone: null, account: null });
});
afterAll(() => t.cleanup());

interface ShownRow {
  id: number;
  who: string;
  action: string;
  object: string;
  objectHref: string | null;
}

function rowsOf(html: string): ShownRow[] {
  const body = /<table class="data audit">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)]
    .map((m) => [...m[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!))
    .filter((cells) => cells.length === 8)
    .map((cells) => ({
      id: Number(cells[0]),
      who: cells[2]!,
      action: cells[4]!,
      object: cells[5]!.replace(/<[^>]+>/g, ''),
      objectHref: /href="([^"]+)"/.exec(cells[5]!)?.[1]?.replace(/&amp;/g, '&') ?? null,
    }));
}

/** A person registered in the demo county (a row of the log about them), with their full ID number. */
const PERSON_ID_NUMBER = idNumberFrom('99010219800101123');
let personId: number;
async function personWithRows(): Promise<{ personId: number; idNumber: string }> {
  return { personId, idNumber: PERSON_ID_NUMBER };
}

async function searchPerson(agent: ReturnType<typeof agentFor>, idNumber: string, page = '/audit') {
  const form = await agent.get(page);
  return agent.post('/audit/person').type('form').send({ idNumber, _csrf: csrfFrom(form.text) });
}

describe(`the audit trail's filters (${TEST_DB})`, () => {
  it('narrows by user name, by several actions, by a kind of object and one object, and by dates; a refresh keeps them', async () => {
    const all = rowsOf((await auditor.get('/audit')).text);
    expect(all.length).toBeGreaterThan(0);

    const byUser = rowsOf((await auditor.get('/audit?username=finance1')).text);
    expect(byUser.length).toBeGreaterThan(0);
    expect(byUser.every((r) => r.who === 'finance1')).toBe(true);

    const two = await auditor.get('/audit?action=batch.roster.approve&action=login.success');
    expect(two.status).toBe(200);
    expect(two.text).toContain('<option value="batch.roster.approve" selected>');
    expect(two.text).toContain('<option value="login.success" selected>');
    const twoRows = rowsOf(two.text);
    expect(new Set(twoRows.map((r) => r.action))).toEqual(new Set(['清册：审核通过，交乡镇公示', '登录成功']));
    // The pager and the export keep both choices.
    expect(two.text).toContain('/audit/export.xlsx?action=batch.roster.approve&amp;action=login.success');

    const rosters = rowsOf((await auditor.get('/audit?objectType=roster')).text);
    expect(rosters.length).toBeGreaterThan(0);
    expect(rosters.every((r) => r.object.startsWith('清册'))).toBe(true);

    const rosterId = /\/audit\/objects\/roster\/(\d+)/.exec(rosters[0]!.objectHref!)![1]!;
    const one = await auditor.get(`/audit?objectType=roster&objectId=${rosterId}`);
    expect(one.status).toBe(200);
    expect(one.text).toContain(`<option value="roster" selected>`);
    const oneRows = rowsOf(one.text);
    expect(oneRows.length).toBeGreaterThan(0);
    expect(new Set(oneRows.map((r) => r.object)).size).toBe(1);
    // An older link (object=type:id) still reads, and fills the two fields.
    const legacy = await auditor.get(`/audit?object=roster%3A${rosterId}`);
    expect(rowsOf(legacy.text).map((r) => r.id)).toEqual(oneRows.map((r) => r.id));
    expect(legacy.text).toContain(`value="${rosterId}"`);

    const today = businessDate();
    const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    expect(rowsOf((await auditor.get(`/audit?from=${today}&to=${today}`)).text).length).toBeGreaterThan(0);
    expect(rowsOf((await auditor.get(`/audit?from=${tomorrow}`)).text)).toEqual([]);
    expect(rowsOf((await auditor.get(`/audit?to=${yesterday}`)).text)).toEqual([]);
  });

  it('refuses bad values with 422, each message naming its field, what was typed kept', async () => {
    const cases: [string, string, string][] = [
      ['action=batch.roster.approve&action=nonsense', 'f-action', '请从列表中选择操作类型'],
      ['objectType=nonsense', 'f-objectType', '请从列表中选择对象类型'],
      ['objectId=12', 'f-objectType', '填写了对象编号，请同时选择对象类型'],
      ['objectType=roster&objectId=%3Cx%3E', 'f-objectId', '对象编号只能由数字、字母和 _ . : - 组成'],
      ['from=2026-13-01', 'f-from', '起始日期应为 YYYY-MM-DD 格式的有效日期'],
      ['from=2026-03-02&to=2026-03-01', 'f-to', '截止日期不能早于起始日期'],
      ['object=nonsense', 'f-objectType', '对象无效'],
    ];
    for (const [query, target, message] of cases) {
      const res = await auditor.get(`/audit?${query}`);
      expect(res.status, query).toBe(422);
      expect(res.text, query).toContain(`<a href="#${target}">${message}</a>`);
    }
    const kept = await auditor.get('/audit?username=finance1&from=2026-13-01');
    expect(kept.text).toContain('value="finance1"');
    expect(kept.text).toContain('value="2026-13-01"');
    // The export refuses the same values.
    expect((await auditor.get('/audit/export.csv?from=2026-03-02&to=2026-03-01')).status).toBe(422);
  });
});

describe(`the audit trail's search by person (${TEST_DB})`, () => {
  it('takes the full ID number by POST only, finds the person through the blind index and answers at an address without it', async () => {
    const { personId, idNumber } = await personWithRows();
    const res = await searchPerson(auditor, idNumber);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/audit/objects/person/${personId}`);
    expect(personalNumbers(res.headers.location!)).toEqual([]);
    const history = await auditor.get(res.headers.location!);
    expect(history.status).toBe(200);
    expect(personalNumbers(history.text)).toEqual([]);
    expect(history.text).not.toContain(idNumber);
    const rows = rowsOf(history.text);
    expect(rows.map((r) => r.action)).toEqual(['登记受益对象', '按身份证号码查询审计日志']);
    expect(rows.every((r) => r.object.startsWith('受益对象'))).toBe(true);
    // The search itself is in the person's history, by the person's id only.
    expect(rows.at(-1)!.action).toBe('按身份证号码查询审计日志');
    const searches = await auditRows(t.core, 'audit.person_search');
    expect(searches.at(-1)).toMatchObject({ username: 'auditor', object_type: 'person', object_id: String(personId) });
    const everything = JSON.stringify(await t.core.db('core_audit').select('summary', 'object_id'));
    expect(everything).not.toContain(idNumber);
  });

  it('refuses an ID number with a wrong check character with 422 naming the field, and says so when nobody has the number', async () => {
    const { idNumber } = await personWithRows();
    const wrong = idNumber.slice(0, 17) + (idNumber[17] === '0' ? '1' : '0');
    const res = await searchPerson(auditor, wrong);
    expect(res.status).toBe(422);
    expect(res.text).toContain('<a href="#f-idNumber">身份证号码校验位不正确（可能有数字录入错误）</a>');
    expect(res.text).toMatch(/<input id="f-idNumber" name="idNumber" type="text" value="\d{17}[\dX]"/);

    const empty = await searchPerson(auditor, '');
    expect(empty.status).toBe(422);
    expect(empty.text).toContain('<a href="#f-idNumber">请填写身份证号码</a>');

    // A valid number nobody in the registry has (the fictional region 990102, a sequence the demo does not use).
    const nobody = idNumberFrom('99010219700101999');
    const none = await searchPerson(auditor, nobody);
    expect(none.status).toBe(200);
    expect(none.text).toContain('在您的管辖范围内没有登记该身份证号码的受益对象');
    expect(none.text).not.toContain(nobody);
  });

  it('is refused to anyone but the auditor', async () => {
    const { idNumber } = await personWithRows();
    const supervisor = agentFor(t.core);
    await login(supervisor, 'supervisor');
    const res = await searchPerson(supervisor, idNumber, '/');
    expect(res.status).toBe(403);
    expect(res.text).not.toContain(idNumber);
  });
});

describe(`an object's history and the latest check (${TEST_DB})`, () => {
  it('shows an object its whole history oldest first, linked from the list; unknown kinds are 404', async () => {
    const list = rowsOf((await auditor.get('/audit?action=batch.roster.approve')).text);
    const href = list[0]!.objectHref!;
    expect(href).toMatch(/^\/audit\/objects\/roster\/\d+$/);
    const res = await auditor.get(href);
    expect(res.status).toBe(200);
    expect(res.text).toContain(`<h1>${list[0]!.object}的审计记录</h1>`);
    const rows = rowsOf(res.text);
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.map((r) => r.id)).toEqual([...rows.map((r) => r.id)].sort((a, b) => a - b));
    expect(rows.every((r) => r.object === list[0]!.object)).toBe(true);
    expect(rows.map((r) => r.action)).toContain('清册：审核通过，交乡镇公示');
    expect((await auditor.get('/audit/objects/nonsense/1')).status).toBe(404);
  });

  it('shows on the log who last checked the chain, when, the result and the rows it covered', async () => {
    const verify = await auditor.get('/audit/verify');
    expect(verify.status).toBe(200);
    const res = await auditor.get('/audit');
    const section = /<section id="latest-verification"[\s\S]*?<\/section>/.exec(res.text)![0];
    expect(section).toMatch(/auditor：完整：已校验 \d+ 条记录（至第 \d+ 号记录）/);
  });
});

describe(`the audit trail's exports (${TEST_DB})`, () => {
  it('exports the filtered period as CSV (UTF-8 BOM, formulas neutralised) and as Excel, both audited as exports', async () => {
    const today = businessDate();
    // A row naming a user whose name is a formula (the forms refuse one; this reached the database another way): text in the export.
    await inTransaction(t.core.db, (trx) => recordAudit(trx, { userId: null, username: '=1+2', ip: null }, { action: 'login.failure', summary: { reason: 'unknown_user' } }));
    const failures = (await auditor.get('/audit/export.csv?action=login.failure&username=%3D1%2B2').buffer(true).parse(binaryParser)).body.toString('utf8');
    expect(failures).toContain(`,'=1+2,`);
    expect(failures).not.toMatch(/(^|,)=1\+2/m);
    const res = await auditor.get(`/audit/export.csv?action=batch.roster.approve&from=${today}&to=${today}`).buffer(true).parse(binaryParser);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename\*=UTF-8''/);
    expect(decodeURIComponent(res.headers['content-disposition']!)).toContain(`审计日志-${today}至${today}.csv`);
    const body = res.body as Buffer;
    expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = body.toString('utf8').slice(1).trim().split('\r\n');
    expect(lines[0]).toBe('序号,时间,用户,角色,操作,对象,内容摘要,IP');
    expect(lines.length - 1).toBe((await auditRows(t.core, 'batch.roster.approve')).length);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((l) => l.includes('清册：审核通过，交乡镇公示'))).toBe(true);
    expect(lines.slice(1).every((l) => !/(^|,)[=+\-@]/.test(l))).toBe(true);
    expect(personalNumbers(body.toString('utf8'))).toEqual([]);
    const exported = (await auditRows(t.core, 'audit.export')).at(-1)!;
    expect(JSON.parse(exported.summary)).toMatchObject({ rows: lines.length - 1, format: 'csv' });
    expect(JSON.parse(exported.summary).filter).toContain('操作类型：清册：审核通过，交乡镇公示');

    const xlsx = await auditor.get('/audit/export.xlsx?username=finance1').buffer(true).parse(binaryParser);
    expect(xlsx.status).toBe(200);
    expect(xlsx.headers['content-disposition']).toMatch(/^attachment;/);
    const again = (await auditRows(t.core, 'audit.export')).at(-1)!;
    expect(JSON.parse(again.summary).filter).toBe('用户名：finance1');
  });

  it('refuses the exports and the history to anyone but the auditor (403)', async () => {
    const finance = agentFor(t.core);
    await login(finance, 'finance1');
    expect((await finance.get('/audit/export.csv')).status).toBe(403);
    expect((await finance.get('/audit/objects/roster/1')).status).toBe(403);
    expect((await finance.get('/audit?username=finance1')).status).toBe(403);
  });
});
