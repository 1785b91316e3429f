import { afterEach, describe, expect, it } from 'vitest';
import { registerPerson } from '../../src/modules/beneficiary/commands.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, approvedToken, asAdmin, auditRows, createSeededDb, idNumberFrom, login, loginWithTotp, regionId, submit } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const A = idNumberFrom('99010219500101001');
const STRANGER = idNumberFrom('99010219800101004');

/** A token made by the administrator and approved by the finance section. */
async function makeToken(db: TestDb, fields: Record<string, string>): Promise<string> {
  const admin = await asAdmin(db);
  const created = await submit(admin, '/admin/api-tokens', '/admin/api-tokens', fields);
  expect(created.status).toBe(200);
  return approvedToken(db, created);
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
      { row: 1, field: 'name', message: '不能为空' },
      { row: 1, field: 'idNumber', message: '身份证号码应为 18 位，当前为 3 位' },
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
    expect((await push(body, 'ykt_wrongwrongwrongwrongwrongwrong')).body).toEqual({ errors: [{ field: 'Authorization', message: '缺少或无效的接口令牌' }] });
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
    expect(refused.body.errors[0].message).toContain('不能推送部门共享数据');
    const doc = await agentFor(t.core).get('/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toContain('/reference-snapshots');
    expect((await agentFor(t.core).get('/api/v1/nothing-here').set('Authorization', `Bearer ${bankToken}`)).body).toEqual({ errors: [{ field: null, message: '接口不存在' }] });
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

  it('lets a token work only once a finance section user other than its maker approves it, each decision audited', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const bankOrg = await t.core.db('core_org').where({ kind: 'bank' }).first('id');
    const fields = { name: '信用社代发系统', purpose: 'bank', regionId: String(await regionId(t, '青禾县')), orgId: String(bankOrg.id) };
    const created = await submit(admin, '/admin/api-tokens', '/admin/api-tokens', fields);
    expect(created.text).toContain('待财政局业务科室批准后生效');
    const token = /<code>(ykt_[^<]+)<\/code>/.exec(created.text)![1]!;
    const api = agentFor(t.core);
    const payouts = () => api.get('/api/v1/payouts').set('Authorization', `Bearer ${token}`);

    // Pending: the token authenticates nothing, and says why.
    const early = await payouts();
    expect(early.status).toBe(401);
    expect(early.body).toEqual({ errors: [{ field: 'Authorization', message: '该接口令牌尚待财政局业务科室批准，批准后才能使用' }] });
    expect((await admin.get('/admin/api-tokens')).text).toContain('待财政局业务科室批准');

    // The finance section sees it waiting on its home page, and approves it on the tokens page.
    const finance = agentFor(t.core);
    await loginWithTotp(finance, t.core, 'finance');
    const home = await finance.get('/');
    expect(home.text).toContain('待批准的接口令牌');
    expect(home.text).toContain('href="/api-tokens"');
    const { id } = await t.core.db('core_api_token').first('id');
    const approved = await submit(finance, '/api-tokens', `/api-tokens/${id}/approve`, {});
    expect(approved.status).toBe(303);
    expect((await payouts()).status).toBe(200);
    expect(await t.core.db('core_api_token').where({ id }).first('state')).toEqual({ state: 'approved' });
    expect((await admin.get('/admin/api-tokens')).text).toContain('有效：已批准（吴国平');
    expect((await finance.get('/')).text).not.toContain('待批准的接口令牌');
    const [approval] = await auditRows(t.core, 'api.token.approve');
    expect(approval).toMatchObject({ username: 'finance', object_type: 'api_token', object_id: String(id) });

    // Deciding twice is refused on the page, and changes nothing.
    const again = await submit(finance, '/api-tokens', `/api-tokens/${id}/refuse`, {});
    expect(again.status).toBe(409);
    expect(again.text).toContain('该令牌已批准，不能再次处理');
    expect(await t.core.db('core_api_token').where({ id }).first('state')).toEqual({ state: 'approved' });

    // A refused token never works.
    const second = /<code>(ykt_[^<]+)<\/code>/.exec((await submit(admin, '/admin/api-tokens', '/admin/api-tokens', { ...fields, name: '另一个系统' })).text)![1]!;
    const secondId = (await t.core.db('core_api_token').where({ name: '另一个系统' }).first('id')).id;
    expect((await submit(finance, '/api-tokens', `/api-tokens/${secondId}/refuse`, {})).status).toBe(303);
    const refusedCall = await api.get('/api/v1/payouts').set('Authorization', `Bearer ${second}`);
    expect(refusedCall.status).toBe(401);
    expect(refusedCall.body.errors).toEqual([{ field: 'Authorization', message: '该接口令牌未获财政局业务科室批准，不能使用' }]);
    expect(await auditRows(t.core, 'api.token.refuse')).toHaveLength(1);
  });

  it('refuses the approval to its maker (four-eyes) and to anyone outside the finance section', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    await submit(admin, '/admin/api-tokens', '/admin/api-tokens', { name: '县数据共享平台', purpose: 'reference', regionId: String(await regionId(t, '青禾县')), orgId: '' });
    const { id } = await t.core.db('core_api_token').first('id');
    // The administrator cannot approve their own token: the page is the finance section's.
    expect((await submit(admin, '/admin/api-tokens', `/api-tokens/${id}/approve`, {})).status).toBe(403);
    // A finance section user who made the token (say, an administrator who later moved there) may not approve it.
    const finance = await t.core.db('core_user').where({ username: 'finance' }).first('id');
    await t.core.db('core_api_token').where({ id }).update({ created_by: finance.id });
    const agent = agentFor(t.core);
    await loginWithTotp(agent, t.core, 'finance');
    const page = await agent.get('/api-tokens');
    expect(page.text).toContain('您创建了该令牌，须由另一位财政局业务科室人员批准');
    expect(page.text).not.toContain(`/api-tokens/${id}/approve`);
    const own = await submit(agent, '/api-tokens', `/api-tokens/${id}/approve`, {});
    expect(own.status).toBe(403);
    expect(own.text).toContain('您创建了该令牌');
    expect(await t.core.db('core_api_token').where({ id }).first('state')).toEqual({ state: 'pending' });
    const treasury = agentFor(t.core);
    await loginWithTotp(treasury, t.core, 'treasury');
    expect((await treasury.get('/api-tokens')).status).toBe(403);
    expect((await auditRows(t.core, 'access.denied')).map((r) => r.username)).toEqual(['admin', 'finance', 'treasury']);
  });
});
