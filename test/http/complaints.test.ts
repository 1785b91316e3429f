import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type TestAgent from 'supertest/lib/agent.js';
import { TEST_DB, type TestDb, agentFor, auditRows, binaryParser, createSeededDb, csrfFrom, login } from '../factories.ts';

const PHONE = '13912345678';

/** Post a portal form from a client at `ip` (the app trusts the test's X-Forwarded-For), with the form page's CSRF token. */
async function postFrom(agent: TestAgent, ip: string, formPath: string, action: string, fields: Record<string, string>) {
  const page = await agent.get(formPath).set('X-Forwarded-For', ip);
  return agent.post(action).set('X-Forwarded-For', ip).type('form').send({ ...fields, _csrf: csrfFrom(page.text) });
}

const receiptOf = (html: string) => {
  const dds = parse(html).querySelectorAll('dl.facts dd').map((d) => d.text.trim());
  return { trackingNo: dds[0]!, code: dds[1]! };
};

describe(`objections and complaints from the public (${TEST_DB})`, () => {
  let t: TestDb;
  let rosterId: number;
  let sheetCode: string;
  beforeAll(async () => {
    t = await createSeededDb({ demo: true, trustProxy: true }, { people: true });
    rosterId = ((await t.core.db('batch_roster').where({ state: 'publicity' }).first('id')) as { id: number }).id;
    const station = agentFor(t.core);
    await login(station, 'station1');
    const pdf = await station.get(`/publicity/rosters/${rosterId}/sheets.pdf`).buffer(true).parse(binaryParser);
    expect(pdf.status).toBe(200);
    sheetCode = ((await t.core.db('publicity_sheet').where({ roster_id: rosterId, kind: 'village' }).first('code')) as { code: string }).code;
  });
  afterAll(async () => t?.cleanup());

  it('files an objection to a notice by its sheet code: it appears on the roster for the township, and its resolution on the status page', async () => {
    const pub = agentFor(t.core);
    const verified = parse((await pub.get(`/public/verify/${sheetCode}`)).text);
    const link = verified.querySelector('a[href^="/public/complaints?code="]')!;
    expect(link.text).toBe('对本公示提出异议');
    const form = parse((await pub.get(link.getAttribute('href')!)).text);
    expect(form.querySelector('#f-sheetCode')!.getAttribute('value')).toBe(`${sheetCode.slice(0, 5)}-${sheetCode.slice(5)}`);

    const res = await postFrom(pub, '10.0.1.1', '/public/complaints', '/public/complaints', { kind: 'objection', sheetCode, content: '公示表第3行的人已于去年迁出本村，不应享受补贴', contactName: '张三', phone: PHONE });
    expect(res.status).toBe(200);
    const { trackingNo, code } = receiptOf(res.text);
    expect(trackingNo).toMatch(/^TS\d{14}$/);
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(res.text).not.toContain(PHONE);
    const stored = await t.core.db('publicity_complaint').where({ tracking_no: trackingNo }).first();
    expect(stored.code_hash).not.toContain(code.replace('-', ''));
    expect(stored.phone_enc).not.toContain(PHONE);
    expect(t.core.crypto.decrypt(stored.phone_enc)).toBe(PHONE);

    // On the roster page, as staff-entered objections, for the township finance office to resolve.
    const office = agentFor(t.core);
    await login(office, 'finance1');
    const roster = parse((await office.get(`/rosters/${rosterId}`)).text);
    const row = roster.querySelectorAll('tr').find((tr) => tr.text.includes('已于去年迁出本村'))!;
    expect(row.text).toContain(trackingNo);
    const resolve = row.querySelector('form[action*="/resolve"]')!;
    expect(resolve).not.toBeNull();
    const audit = (await auditRows(t.core, 'batch.objection.record')).at(-1)!;
    expect(audit.user_id).toBeNull();

    const before = await postFrom(pub, '10.0.1.1', '/public/complaints/status', '/public/complaints/status', { trackingNo, code });
    expect(before.status).toBe(200);
    expect(parse(before.text).querySelector('dl.facts')!.text).toContain('已受理');

    const done = await office.post(resolve.getAttribute('action')!).type('form').send({ resolution: '经核实该户仍在本村居住，维持公示', _csrf: csrfFrom(roster.outerHTML) });
    expect(done.status).toBe(303);
    const after = parse((await postFrom(pub, '10.0.1.1', '/public/complaints/status', '/public/complaints/status', { trackingNo, code: code.toLowerCase() })).text).querySelector('dl.facts')!.text;
    expect(after).toContain('已答复');
    expect(after).toContain('经核实该户仍在本村居住');
    expect(after).not.toContain(PHONE);
    expect(after).not.toContain('张三');
  });

  it('files a complaint: number and code once, 已受理 until the supervisor answers, then the answer; a wrong code is an unknown number', async () => {
    const pub = agentFor(t.core);
    const county = (await t.core.db('core_region').where({ level: 'county' }).first('id')) as { id: number };
    const res = await postFrom(pub, '10.0.2.1', '/public/complaints', '/public/complaints', { kind: 'complaint', countyId: String(county.id), subject: '城关镇耕地地力保护补贴', content: '村干部亲属冒领补贴', phone: PHONE });
    expect(res.status).toBe(200);
    const { trackingNo, code } = receiptOf(res.text);

    const status = await postFrom(pub, '10.0.2.1', '/public/complaints/status', '/public/complaints/status', { trackingNo, code });
    expect(parse(status.text).querySelector('dl.facts')!.text).toContain('已受理');
    expect(status.text).not.toContain(code);

    const wrong = await postFrom(pub, '10.0.2.1', '/public/complaints/status', '/public/complaints/status', { trackingNo, code: 'ABCD-EFGH' });
    const unknown = await postFrom(pub, '10.0.2.1', '/public/complaints/status', '/public/complaints/status', { trackingNo: 'TS20991231000000', code });
    expect(wrong.status).toBe(404);
    expect(unknown.status).toBe(404);
    const answerOf = (html: string) => parse(html).querySelector('main')!.text.replace(/\s+/g, '');
    expect(answerOf(wrong.text).replace(trackingNo, '')).toBe(answerOf(unknown.text).replace('TS20991231000000', ''));
    expect(wrong.text).not.toContain('村干部亲属冒领补贴');
    expect(wrong.text).not.toContain('已受理');

    // The supervisor's home page and queue; the phone masked.
    const supervisor = agentFor(t.core);
    await login(supervisor, 'supervisor');
    const home = (await supervisor.get('/')).text;
    expect(home).toContain('待答复的群众投诉举报');
    const queue = await supervisor.get('/publicity/complaints');
    expect(queue.status).toBe(200);
    expect(queue.text).toContain(trackingNo);
    expect(queue.text).toContain('139****5678');
    expect(queue.text).not.toContain(PHONE);
    const page = parse(queue.text);
    const form = page.querySelectorAll('form[action$="/answer"]').find((f) => f.closest('tr')!.text.includes(trackingNo))!;

    const empty = await supervisor.post(form.getAttribute('action')!).type('form').send({ answer: '', _csrf: csrfFrom(queue.text) });
    expect(empty.status).toBe(422);
    expect(parse(empty.text).querySelector('.error-summary')!.text).toContain('请填写答复内容');

    const progress = page.querySelectorAll('form[action$="/progress"]').find((f) => f.closest('tr')!.text.includes(trackingNo))!;
    expect((await supervisor.post(progress.getAttribute('action')!).type('form').send({ _csrf: csrfFrom(queue.text) })).status).toBe(303);
    expect(parse((await postFrom(pub, '10.0.2.1', '/public/complaints/status', '/public/complaints/status', { trackingNo, code })).text).querySelector('dl.facts')!.text).toContain('办理中');

    const answered = await supervisor.post(form.getAttribute('action')!).type('form').send({ answer: '已立案调查，冒领资金已追回', _csrf: csrfFrom(queue.text) });
    expect(answered.status).toBe(303);
    expect((await auditRows(t.core, 'publicity.complaint.answer')).length).toBe(1);
    const again = await supervisor.post(form.getAttribute('action')!).type('form').send({ answer: '再次答复', _csrf: csrfFrom(queue.text) });
    expect(again.status).toBe(409);

    const after = parse((await postFrom(pub, '10.0.2.1', '/public/complaints/status', '/public/complaints/status', { trackingNo, code })).text).querySelector('dl.facts')!.text;
    expect(after).toContain('已答复');
    expect(after).toContain('已立案调查，冒领资金已追回');
    // No part of the complainant's phone (the tracking number, random, may itself hold such digits).
    const shown = after.replaceAll(trackingNo, '');
    expect(shown).not.toContain('139');
    expect(shown).not.toContain('5678');
  });

  it('refuses a form with what is missing or wrong (422, typed values kept), and an objection to a notice no longer in publicity (409)', async () => {
    const pub = agentFor(t.core);
    const noCode = await postFrom(pub, '10.0.3.1', '/public/complaints', '/public/complaints', { kind: 'objection', sheetCode: '', content: '有异议' });
    expect(noCode.status).toBe(422);
    expect(parse(noCode.text).querySelector('.error-summary')!.text).toContain('请填写公示表上的验证码');
    expect(parse(noCode.text).querySelector('#f-content')!.text).toBe('有异议');

    const unknownSheet = await postFrom(pub, '10.0.3.1', '/public/complaints', '/public/complaints', { kind: 'objection', sheetCode: '00000-00000', content: '有异议' });
    expect(unknownSheet.status).toBe(422);
    expect(unknownSheet.text).toContain('没有这个验证码的公示表');

    const complaint = await postFrom(pub, '10.0.3.1', '/public/complaints', '/public/complaints', { kind: 'complaint', subject: '', content: '', phone: '12ab' });
    expect(complaint.status).toBe(422);
    const summary = parse(complaint.text).querySelector('.error-summary')!.text;
    expect(summary).toContain('请填写具体内容');
    expect(summary).toContain('联系电话应为手机号码');

    const noKind = await postFrom(pub, '10.0.3.1', '/public/complaints', '/public/complaints', { content: 'x' });
    expect(noKind.status).toBe(422);

    const status = await postFrom(pub, '10.0.3.1', '/public/complaints/status', '/public/complaints/status', { trackingNo: '', code: '' });
    expect(status.status).toBe(422);
    expect(status.text).toContain('请填写受理编号');

    // A roster out of publicity takes no objection.
    const other = (await t.core.db('batch_roster').whereNot({ state: 'publicity' }).first('id')) as { id: number };
    const saved = await t.core.db('publicity_sheet').where({ code: sheetCode }).first('roster_id');
    await t.core.db('publicity_sheet').where({ code: sheetCode }).update({ roster_id: other.id });
    try {
      const closed = await postFrom(pub, '10.0.3.1', '/public/complaints', '/public/complaints', { kind: 'objection', sheetCode, content: '有异议' });
      expect(closed.status).toBe(409);
      expect(closed.text).toContain('不在公示期');
      expect(await t.core.db('publicity_complaint').where({ content: '有异议' }).first('id')).toBeUndefined();
    } finally {
      await t.core.db('publicity_sheet').where({ code: sheetCode }).update({ roster_id: saved.roster_id });
    }
  });

  it('limits filings and status queries per client address (429)', async () => {
    const pub = agentFor(t.core);
    const county = (await t.core.db('core_region').where({ level: 'county' }).first('id')) as { id: number };
    const file = () => postFrom(pub, '10.0.4.1', '/public/complaints', '/public/complaints', { kind: 'complaint', countyId: String(county.id), subject: '补贴', content: '测试限流' });
    for (let i = 0; i < 5; i++) expect((await file()).status).toBe(200);
    const sixth = await file();
    expect(sixth.status).toBe(429);
    expect(sixth.text).toContain('1 小时内最多提交 5 件');
    // Another address is not limited.
    expect((await postFrom(pub, '10.0.4.2', '/public/complaints', '/public/complaints', { kind: 'complaint', countyId: String(county.id), subject: '补贴', content: '测试限流' })).status).toBe(200);

    const query = () => postFrom(pub, '10.0.4.3', '/public/complaints/status', '/public/complaints/status', { trackingNo: 'TS20991231000000', code: 'ABCD-EFGH' });
    for (let i = 0; i < 20; i++) expect((await query()).status).toBe(404);
    const over = await query();
    expect(over.status).toBe(429);
    expect(over.text).toContain('10 分钟内最多查询 20 次');
  });

  it('shows the queue to the supervisor and the finance section, not to the township station; no phone in clear on any public page', async () => {
    const station = agentFor(t.core);
    await login(station, 'station1');
    // The station sees only the complaints assigned to its township (none here).
    const stationQueue = await station.get('/publicity/complaints');
    expect(stationQueue.status).toBe(200);
    expect(stationQueue.text).not.toContain('村干部亲属冒领补贴');
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const queue = await finance.get('/publicity/complaints');
    expect(queue.status).toBe(200);
    expect(queue.text).not.toContain(PHONE);

    const pub = agentFor(t.core);
    for (const path of ['/public/complaints', '/public/complaints/status', `/public/verify/${sheetCode}`, '/public/policies', '/public/failed-payments']) {
      const page = await pub.get(path);
      expect(page.status, path).toBeLessThan(400);
      expect(page.text, path).not.toContain(PHONE);
    }
    expect((await pub.get('/public/verify')).text).toContain('href="/public/complaints"');
    expect((await auditRows(t.core, 'publicity.complaint.file')).every((r) => r.user_id === null)).toBe(true);
  });
});
