import { afterEach, describe, expect, it } from 'vitest';
import { registerPerson } from '../../src/modules/beneficiary/commands.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, asAdmin, auditRows, createSeededDb, idNumberFrom, login, regionId, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const A = idNumberFrom('99010219500101001');
const STRANGER = idNumberFrom('99010219800101004');

async function makeToken(db: TestDb, fields: Record<string, string>): Promise<string> {
  const admin = await asAdmin(db);
  const created = await submit(admin, '/admin/api-tokens', '/admin/api-tokens', fields);
  expect(created.status).toBe(200);
  return /<code>(ykt_[^<]+)<\/code>/.exec(created.text)![1]!;
}

describe(`the machine API (${TEST_DB})`, () => {
  it('lets the data-sharing platform push a death list with its token: checked whole, matched, idempotent, audited as the token', async () => {
    t = await createSeededDb();
    await registerPerson(t.core, await actorFor(t, 'station1'), { name: '张大山', idNumber: A, villageId: await regionId(t, '西街村'), relation: 'head', headPersonId: null, phone: null, account: null });
    const token = await makeToken(t, { name: '县数据共享平台', purpose: 'reference', regionId: String(await regionId(t, '青禾县')), orgId: '' });
    // Only the hash is kept.
    expect(JSON.stringify(await t.core.db('core_api_token').select())).not.toContain(token);

    const api = agentFor(t.core);
    const push = (body: unknown, bearer = token) => api.post('/api/v1/reference-snapshots').set('Authorization', `Bearer ${bearer}`).send(body as object);
    const body = { source: 'police_death', takenOn: '2026-11-01', people: [{ name: '张大山', idNumber: A, date: '2026-10-03' }, { name: '赵外人', idNumber: STRANGER, date: '2026-10-04' }] };

    const bad = await push({ ...body, people: [{ name: '', idNumber: '123', date: '2026-10-03' }] });
    expect(bad.status).toBe(422);
    expect(bad.body.errors).toEqual([
      { row: 1, field: '姓名', message: '不能为空' },
      { row: 1, field: '身份证号码', message: '身份证号码应为 18 位，当前为 3 位' },
    ]);
    expect((await push({ ...body, source: 'nonsense' })).status).toBe(422);

    const created = await push(body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ repeated: false, rows: 2, matched: 1 });
    const again = await push(body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ repeated: true, snapshotId: created.body.snapshotId });
    const snapshot = await t.core.db('beneficiary_reference_snapshot').where({ id: created.body.snapshotId }).first();
    expect(snapshot).toMatchObject({ channel: 'api', loaded_by: null, file_name: '接口推送（县数据共享平台）' });
    const [audit] = await auditRows(t.core, 'beneficiary.reference.load');
    expect(audit.username).toBe('api:县数据共享平台');

    // No token, a wrong one, or a revoked one: 401 with a JSON error; no session or CSRF is involved.
    expect((await api.post('/api/v1/reference-snapshots').send(body)).status).toBe(401);
    expect((await push(body, 'ykt_wrongwrongwrongwrongwrongwrong')).body).toEqual({ error: '缺少或无效的接口令牌' });
    const admin = await asAdmin(t);
    const page = await admin.get('/admin/api-tokens');
    expect(page.text).not.toContain(token);
    const tokenId = (await t.core.db('core_api_token').first('id')).id;
    expect((await submit(admin, '/admin/api-tokens', `/admin/api-tokens/${tokenId}/revoke`, {})).status).toBe(303);
    expect((await push(body)).status).toBe(401);
  });

  it('refuses a token made for another purpose, and describes itself in an OpenAPI document', async () => {
    t = await createSeededDb();
    const bankToken = await makeToken(t, { name: '信用社', purpose: 'bank', regionId: String(await regionId(t, '青禾县')), orgId: '' });
    const refused = await agentFor(t.core).post('/api/v1/reference-snapshots').set('Authorization', `Bearer ${bankToken}`).send({ source: 'police_death', takenOn: '2026-11-01', people: [{ name: '张大山', idNumber: A, date: '2026-10-03' }] });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toContain('不能推送部门共享数据');
    const doc = await agentFor(t.core).get('/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toContain('/reference-snapshots');
    expect((await agentFor(t.core).get('/api/v1/nothing-here').set('Authorization', `Bearer ${bankToken}`)).body).toEqual({ error: '接口不存在' });
  });

  it('makes reference tokens for a county only, and only the administrator makes them', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const wrong = await submit(admin, '/admin/api-tokens', '/admin/api-tokens', { name: '乡镇', purpose: 'reference', regionId: String(await regionId(t, '城关镇')), orgId: '' });
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain('部门共享数据按县推送：请选择县');
    const station = agentFor(t.core);
    await login(station, 'station1');
    expect((await station.get('/admin/api-tokens')).status).toBe(403);
  });
});
