import type request from 'supertest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterEach, describe, expect, it } from 'vitest';
import { sm3Hex } from '../../src/core/crypto.ts';
import { requestAccountCheck } from '../../src/modules/bank/account-checks.ts';
import { buildReport, reportParams } from '../../src/modules/supervision/reports.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, approvedToken, asAdmin, binaryParser, createSeededDb, idNumberFrom, regionId, submit } from '../factories.ts';

// The machine API against its own OpenAPI document (/api/v1/openapi.json): every answer the platform gives, success
// or error, is one the document lists for that operation, with a body of the listed schema; and the document itself
// holds what a client generator needs.
let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

interface Response {
  $ref?: string;
  description: string;
  headers?: Record<string, { required?: boolean; schema: { pattern?: string } }>;
  content?: Record<string, { schema: unknown }>;
}
interface Operation {
  operationId: string;
  tags: string[];
  summary: string;
  parameters?: { name: string; in: string; required?: boolean }[];
  responses: Record<string, Response>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, Response> };
}

/** A JSON pointer to a part of the document, as a fragment of its URI. */
const pointer = (...parts: string[]) => `#${parts.map((p) => `/${encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))}`).join('')}`;

/** The document's response (its $ref followed) and where it is. */
function responseOf(doc: Document, template: string, method: string, status: number): { response: Response; at: string[] } | undefined {
  const listed = doc.paths[template]?.[method]?.responses[String(status)];
  if (!listed?.$ref) return listed && { response: listed, at: ['paths', template, method, 'responses', String(status)] };
  const name = listed.$ref.split('/').pop()!;
  return { response: doc.components.responses[name]!, at: ['components', 'responses', name] };
}

function contract(doc: Document) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(doc, 'api');
  const answered = new Set<string>();
  return {
    answered,
    /** The answer is one the document lists for the operation, of its media type, body schema and headers. */
    check(method: string, template: string, res: request.Response): void {
      const what = `${method.toUpperCase()} ${template} → ${res.status}`;
      const listed = responseOf(doc, template, method, res.status);
      expect(listed, `${what}: the document does not list this status`).toBeDefined();
      const { response, at } = listed!;
      const type = String(res.headers['content-type'] ?? '').replace(/\s/g, '');
      const media = Object.keys(response.content ?? {}).find((m) => m.replace(/\s/g, '') === type || (!m.includes(';') && type.split(';')[0] === m));
      expect(media, `${what}: content type ${type} is not listed`).toBeDefined();
      if (media === 'application/json') {
        const validate = ajv.getSchema(`api${pointer(...at, 'content', media, 'schema')}`)!;
        expect(validate(res.body), `${what}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      }
      for (const [name, header] of Object.entries(response.headers ?? {})) {
        const value = res.headers[name.toLowerCase()];
        if (header.required) expect(value, `${what}: header ${name}`).toBeDefined();
        if (value !== undefined && header.schema.pattern) expect(String(value)).toMatch(new RegExp(header.schema.pattern));
      }
      answered.add(`${method} ${template} ${res.status}`);
    },
  };
}

describe(`the machine API against its OpenAPI document (${TEST_DB})`, () => {
  it('lists, for every operation, an operationId, its path parameters, and a schema for every answer', async () => {
    t = await createSeededDb();
    const doc = (await agentFor(t.core).get('/api/v1/openapi.json')).body as Document;
    const ids = new Set<string>();
    for (const [template, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const what = `${method.toUpperCase()} ${template}`;
        expect(op.operationId, what).toMatch(/^[a-z][A-Za-z]+$/);
        expect(ids.has(op.operationId), `${what}: operationId ${op.operationId} twice`).toBe(false);
        ids.add(op.operationId);
        expect(op.tags.length, what).toBeGreaterThan(0);
        expect(op.summary, what).toBeTruthy();
        const inPath = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect((op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name).sort(), what).toEqual(inPath.sort());
        for (const status of Object.keys(op.responses)) {
          const { response } = responseOf(doc, template, method, Number(status))!;
          expect(response, `${what} ${status}`).toBeDefined();
          expect(Object.values(response.content ?? {}).length, `${what} ${status}: no content`).toBeGreaterThan(0);
          for (const media of Object.values(response.content!)) expect(media.schema, `${what} ${status}`).toBeDefined();
        }
        // Every operation that needs a token answers 401 without one.
        expect(Object.keys(op.responses), what).toContain('401');
      }
    }
  });

  it('answers every operation, successes and refusals, as the document says', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const api = agentFor(t.core);
    const doc = (await api.get('/api/v1/openapi.json')).body as Document;
    const { check, answered } = contract(doc);
    const admin = await asAdmin(t);
    const county = String(await regionId(t, '青禾县'));
    const bankOrg = await t.core.db('core_org').where({ kind: 'bank' }).first('id');
    const token = async (fields: Record<string, string>) => approvedToken(t!, await submit(admin, '/admin/api-tokens', '/admin/api-tokens', fields));
    const bank = await token({ name: '信用社代发系统', purpose: 'bank', regionId: county, orgId: String(bankOrg.id) });
    const reference = await token({ name: '数据共享平台', purpose: 'reference', regionId: county, orgId: '' });
    const platform = await token({ name: '市一卡通监管平台', purpose: 'platform', regionId: county, orgId: '' });
    const budget = await token({ name: '县预算管理一体化系统', purpose: 'budget', regionId: county, orgId: '' });
    const as = (bearer: string) => ({
      get: (url: string) => api.get(`/api/v1${url}`).set('Authorization', `Bearer ${bearer}`),
      post: (url: string) => api.post(`/api/v1${url}`).set('Authorization', `Bearer ${bearer}`),
    });

    // The bank's rounds and payout files.
    const list = await as(bank).get('/payouts');
    check('get', '/payouts', list);
    check('get', '/payouts', await api.get('/api/v1/payouts'));
    check('get', '/payouts', await as(reference).get('/payouts'));
    const released = list.body.rounds.find((r: { state: string }) => r.state === 'released');
    const transferred = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
    const file = await as(bank).get(`/payouts/${released.roundId}`).buffer(true).parse(binaryParser);
    check('get', '/payouts/{roundId}', file);
    expect(file.headers['x-checksum-sm3']).toBe(sm3Hex(file.body as Buffer));
    // 生成时间 in Beijing time with its offset, as the screens show it.
    expect((file.body as Buffer).toString('utf8').split('\r\n')[1]).toMatch(/,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
    check('get', '/payouts/{roundId}', await as(bank).get(`/payouts/${released.roundId}?format=pdf`));
    check('get', '/payouts/{roundId}', await as(bank).get('/payouts/999999'));

    // Results: malformed, refused row by row, taken, taken again, and a round whose money is not at the bank yet.
    const line = await t.core.db('batch_line').where({ round_id: transferred.id }).orderBy('id').first('id', 'amount_fen');
    const results = (roundId: number) => as(bank).post(`/payouts/${roundId}/results`);
    const malformed = await results(transferred.id).set('Content-Type', 'application/json').send('{"results": [');
    check('post', '/payouts/{roundId}/results', malformed);
    expect(malformed.body).toEqual({ errors: [{ field: null, message: '请求体不是有效的 JSON' }] });
    const wrong = await results(transferred.id).send({ results: [{ ref: `R${transferred.id}-${line.id}`, amountFen: Number(line.amount_fen) + 1, result: 'paid' }] });
    check('post', '/payouts/{roundId}/results', wrong);
    expect(wrong.body.errors).toEqual([{ row: 1, field: 'amountFen', message: `与代发文件不符：应为 ${line.amount_fen} 分` }]);
    const one = { results: [{ ref: `R${transferred.id}-${line.id}`, amountFen: Number(line.amount_fen), result: 'failed', code: 'F03' }] };
    check('post', '/payouts/{roundId}/results', await results(transferred.id).send(one));
    check('post', '/payouts/{roundId}/results', await results(transferred.id).send(one));
    check('post', '/payouts/{roundId}/results', await results(released.roundId).send({ results: [{ ref: 'R1-1', amountFen: 1, result: 'paid' }] }));
    check('post', '/payouts/{roundId}/results', await results(999999).send(one));
    check('post', '/payouts/{roundId}/results', await as(reference).post(`/payouts/${transferred.id}/results`).send(one));
    check('post', '/payouts/{roundId}/results', await api.post(`/api/v1/payouts/${transferred.id}/results`).send(one));
    // A body over the limit is refused before it is parsed whole.
    const huge = await results(transferred.id).set('Content-Type', 'application/json').send(`{"results": ["${'x'.repeat(21 * 2 ** 20)}"]}`);
    check('post', '/payouts/{roundId}/results', huge);

    // Notices.
    check('get', '/notices', await as(bank).get('/notices'));
    check('get', '/notices', await as(bank).get('/notices?limit=0'));
    check('get', '/notices', await as(reference).get('/notices'));
    const confirmations = (body: unknown) => as(bank).post('/notices/confirmations').send(body as object);
    check('post', '/notices/confirmations', await confirmations({ confirmations: [{ noticeId: 'one', result: 'ok' }] }));
    check('post', '/notices/confirmations', await confirmations({ confirmations: [{ noticeId: 999999, result: 'sent' }] }));

    // Account verification: the bank's list and answers.
    const submitted = await t.core.db('batch_round').where({ state: 'submitted' }).first('id');
    const checkId = await requestAccountCheck(t.core, await actorFor(t, 'finance'), { roundId: submitted.id, bankOrgId: bankOrg.id });
    check('get', '/account-checks', await as(bank).get('/account-checks'));
    check('get', '/account-checks', await as(reference).get('/account-checks'));
    const checkList = await as(bank).get(`/account-checks/${checkId}/list`).buffer(true).parse(binaryParser);
    check('get', '/account-checks/{checkId}/list', checkList);
    check('get', '/account-checks/{checkId}/list', await as(bank).get('/account-checks/999999/list'));
    const refs = (checkList.body as Buffer).toString('utf8').replace(/^\ufeff/, '').trim().split('\r\n').slice(1).map((r) => r.split(',')[0]!);
    const answer = (body: unknown, id = checkId) => as(bank).post(`/account-checks/${id}/answers`).send(body as object);
    const noNote = await answer({ answers: refs.map((ref) => ({ ref, result: 'closed' })) });
    check('post', '/account-checks/{checkId}/answers', noNote);
    expect(noNote.body.errors[0]).toEqual({ row: 1, field: 'note', message: '核验结果不是“一致”的，须写明情况（如 户名应为…、销户日期）' });
    const allFine = { answers: refs.map((ref) => ({ ref, result: 'ok' })) };
    const first = await answer(allFine);
    check('post', '/account-checks/{checkId}/answers', first);
    expect(first.body).toEqual({ ok: true, repeated: false, verified: refs.length, wrong: 0 });
    const again = await answer(allFine);
    check('post', '/account-checks/{checkId}/answers', again);
    expect(again.body).toEqual({ ok: true, repeated: true, verified: refs.length, wrong: 0 });
    check('post', '/account-checks/{checkId}/answers', await answer({ answers: refs.map((ref) => ({ ref, result: 'frozen', note: '冻结' })) }));
    check('post', '/account-checks/{checkId}/answers', await answer(allFine, 999999));

    // Reference data.
    const person = { name: '赵外人', idNumber: idNumberFrom('99010219800101004'), date: '2026-10-04' };
    const push = (body: unknown, bearer = reference) => as(bearer).post('/reference-snapshots').send(body as object);
    const snapshot = { source: 'police_death', takenOn: '2026-11-01', people: [person] };
    check('post', '/reference-snapshots', await push(snapshot));
    check('post', '/reference-snapshots', await push(snapshot));
    const refused = await push({ ...snapshot, people: [{ ...person, name: '' }] });
    check('post', '/reference-snapshots', refused);
    expect(refused.body.errors).toEqual([{ row: 1, field: 'name', message: '不能为空' }]);
    check('post', '/reference-snapshots', await push({ ...snapshot, source: 'nonsense' }));
    check('post', '/reference-snapshots', await push(snapshot, bank));

    // Reporting upward: the supervision report of the token's region, the figures a supervisor there sees.
    const report = await as(platform).get('/reports?group=county&year=2026');
    check('get', '/reports', report);
    const page = await buildReport(t.core.db, await actorFor(t, 'supervisor'), reportParams({ group: 'county', year: 2026, from: null, to: null, days: null }, '2026-12-31'));
    expect(report.body.rows.map((r: { label: string }) => r.label)).toEqual(['青禾县']);
    expect(report.body.totals.planned).toEqual(page.totals.planned);
    expect(report.body.totals.paid.count).toBeGreaterThan(0);
    expect(report.body.rows[0].paid).toEqual(page.totals.paid);
    expect(report.body.totals.timeliness).toEqual(page.totals.timeliness);
    check('get', '/reports', await as(platform).get('/reports?group=town'));
    check('get', '/reports', await as(bank).get('/reports'));
    check('get', '/reports', await api.get('/api/v1/reports'));

    // The budget system: allocation documents pushed; payment vouchers and plans read.
    const allocation = { itemCode: 'JC-01', year: 2026, amountFen: 30000000, docNumber: '青财农〔2026〕31号', docTitle: '关于追加2026年耕地地力保护补贴资金的通知', docDate: '2026-06-01' };
    const allocate = (body: unknown, bearer = budget) => as(bearer).post('/allocations').send(body as object);
    check('post', '/allocations', await allocate({ allocations: [allocation] }));
    check('post', '/allocations', await allocate({ allocations: [allocation] }));
    const badAllocation = await allocate({ allocations: [{ ...allocation, docDate: '2026-6-1' }] });
    check('post', '/allocations', badAllocation);
    expect(badAllocation.body.errors).toEqual([{ row: 1, field: 'docDate', message: '应为 YYYY-MM-DD 格式的有效日期' }]);
    check('post', '/allocations', await as(budget).post('/allocations').set('Content-Type', 'application/json').send('{"allocations": ['));
    check('post', '/allocations', await allocate({ allocations: [allocation] }, platform));
    check('post', '/allocations', await api.post('/api/v1/allocations').send({ allocations: [allocation] }));
    const vouchers = await as(budget).get('/payment-vouchers?from=2026-01-01&to=2026-12-31');
    check('get', '/payment-vouchers', vouchers);
    expect(vouchers.body.vouchers.length).toBeGreaterThan(0);
    check('get', '/payment-vouchers', await as(budget).get('/payment-vouchers?from=2026-01-01'));
    check('get', '/payment-vouchers', await as(platform).get('/payment-vouchers?from=2026-01-01&to=2026-12-31'));
    check('get', '/payment-vouchers', await api.get('/api/v1/payment-vouchers?from=2026-01-01&to=2026-12-31'));
    const plans = await as(budget).get('/payment-plans?year=2026');
    check('get', '/payment-plans', plans);
    expect(plans.body.plans.length).toBeGreaterThan(0);
    check('get', '/payment-plans', await as(budget).get('/payment-plans?year=20x6'));
    check('get', '/payment-plans', await as(bank).get('/payment-plans?year=2026'));
    check('get', '/payment-plans', await api.get('/api/v1/payment-plans?year=2026'));

    // Outside the document: an unknown address and a method an address does not take answer in the same shape.
    const nowhere = await as(bank).get('/nowhere');
    expect([nowhere.status, nowhere.body]).toEqual([404, { errors: [{ field: null, message: '接口不存在' }] }]);
    const method = await as(bank).post('/payouts');
    expect(method.status).toBe(405);
    expect(method.body.errors[0].message).toContain('GET');

    // Every operation was answered with a success and with each error the test could bring about.
    expect([...answered].sort()).toEqual(
      [
        'get /payouts 200',
        'get /payouts 401',
        'get /payouts 403',
        'get /payouts/{roundId} 200',
        'get /payouts/{roundId} 404',
        'get /payouts/{roundId} 422',
        'post /payouts/{roundId}/results 200',
        'post /payouts/{roundId}/results 201',
        'post /payouts/{roundId}/results 400',
        'post /payouts/{roundId}/results 401',
        'post /payouts/{roundId}/results 403',
        'post /payouts/{roundId}/results 404',
        'post /payouts/{roundId}/results 409',
        'post /payouts/{roundId}/results 413',
        'post /payouts/{roundId}/results 422',
        'get /account-checks 200',
        'get /account-checks 403',
        'get /account-checks/{checkId}/list 200',
        'get /account-checks/{checkId}/list 404',
        'post /account-checks/{checkId}/answers 200',
        'post /account-checks/{checkId}/answers 201',
        'post /account-checks/{checkId}/answers 404',
        'post /account-checks/{checkId}/answers 409',
        'post /account-checks/{checkId}/answers 422',
        'get /notices 200',
        'get /notices 403',
        'get /notices 422',
        'post /notices/confirmations 422',
        'post /reference-snapshots 200',
        'post /reference-snapshots 201',
        'post /reference-snapshots 403',
        'post /reference-snapshots 422',
        'get /reports 200',
        'get /reports 401',
        'get /reports 403',
        'get /reports 422',
        'post /allocations 200',
        'post /allocations 201',
        'post /allocations 400',
        'post /allocations 401',
        'post /allocations 403',
        'post /allocations 422',
        'get /payment-vouchers 200',
        'get /payment-vouchers 401',
        'get /payment-vouchers 403',
        'get /payment-vouchers 422',
        'get /payment-plans 200',
        'get /payment-plans 401',
        'get /payment-plans 403',
        'get /payment-plans 422',
      ].sort(),
    );
  });
});
