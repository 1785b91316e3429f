import { afterEach, describe, expect, it } from 'vitest';
import { login as passwordStep } from '../../src/core/auth/service.ts';
import { LOGIN_THROTTLE } from '../../src/core/auth/throttle.ts';
import { TEST_DB, TEST_PASSWORD, type TestDb, agentFor, auditRows, createSeededDb, csrfFrom, login, loginWithTotp, submit, asAdmin, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe(`administration of users and regions (${TEST_DB})`, () => {
  it('lets the administrator create a user in scope, shown once with a temporary password, and audits it', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const form = await admin.get('/admin/users/new');
    expect(form.status).toBe(200);
    expect(form.text).toContain('乡镇经办站所');
    const res = await submit(admin, '/admin/users/new', '/admin/users', { username: 'dept_water', displayName: '何水生', roles: ['department'], regionId: String(await regionId(t, '青禾县')), orgId: String((await t.core.db('core_org').where({ name: '青禾县农业农村局' }).first()).id) });
    expect(res.status).toBe(200);
    expect(res.text).toContain('临时密码');
    const row = (await auditRows(t.core, 'user.create')).at(-1);
    expect(JSON.parse(row.summary).after).toMatchObject({ username: 'dept_water', roles: ['业务主管部门'], org: '青禾县农业农村局' });
    expect(row.summary).not.toMatch(/临时密码|password/);
    const list = await admin.get('/admin/users?q=dept_water');
    expect(list.text).toContain('何水生');
  });

  it('re-renders a bad user form with 422, an error summary and each field message in Chinese', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const res = await submit(admin, '/admin/users/new', '/admin/users', { username: 'Bad Name', displayName: '', roles: ['admin', 'auditor'], regionId: '', orgId: '' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('请修改以下问题后重新提交');
    expect(res.text).toContain('href="#f-username"');
    expect(res.text).toContain('用户名须以小写字母开头');
    expect(res.text).toContain('请填写姓名');
    expect(res.text).toContain('请选择所属地区');
    const combo = await submit(admin, '/admin/users/new', '/admin/users', { username: 'mixed', displayName: '某某', roles: ['admin', 'auditor'], regionId: String(await regionId(t, '青禾县')), orgId: '' });
    expect(combo.status).toBe(422);
    expect(combo.text).toContain('系统管理员与审计管理员不能由同一账户兼任（三权分立：两者相互监督）');
    expect(await t.core.db('core_user').where({ username: 'mixed' }).first()).toBeUndefined();
  });

  it('refuses incompatible roles on one account, when a user is created and when one is edited, naming the pair, and changes nothing', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const county = String(await regionId(t, '青禾县'));
    const created = await submit(admin, '/admin/users/new', '/admin/users', { username: 'both', displayName: '某某', roles: ['finance_section', 'treasury'], regionId: county, orgId: '' });
    expect(created.status).toBe(422);
    expect(created.text).toContain('财政局业务科室与国库科不能由同一账户兼任（审核下达资金与拨付资金须由不同的人办理）');
    expect(created.text).toContain('href="#f-roles"');
    expect(await t.core.db('core_user').where({ username: 'both' }).first()).toBeUndefined();

    const station = await t.core.db('core_user').where({ username: 'station1' }).first();
    const edit = (roles: string[]) =>
      submit(admin, `/admin/users/${station.id}`, `/admin/users/${station.id}`, { displayName: '李春梅', roles, regionId: String(station.region_id), orgId: '', version: String(station.version) });
    const refusals = [
      [['township_station', 'township_finance'], '乡镇经办站所与乡镇财政所不能由同一账户兼任（编制清册与复核比对须由不同的人办理）'],
      [['township_station', 'auditor'], '审计管理员与乡镇经办站所不能由同一账户兼任（三权分立：审计管理员只查阅审计日志）'],
      [['admin', 'township_station'], '系统管理员与乡镇经办站所不能由同一账户兼任（三权分立：系统管理员不办理业务、不接触资金）'],
    ] as const;
    for (const [roles, message] of refusals) {
      const res = await edit([...roles]);
      expect(res.status, roles.join()).toBe(422);
      expect(res.text).toContain(message);
      // What was ticked is kept on the form.
      expect(res.text).toContain(`value="${roles[1]}" checked`);
    }
    expect(await t.core.db('core_user_role').where({ user_id: station.id }).pluck('role')).toEqual(['township_station']);
    expect((await t.core.db('core_user').where({ id: station.id }).first()).version).toBe(station.version);
    expect(await auditRows(t.core, 'user.update')).toEqual([]);
    // The form lists the pairs.
    expect((await admin.get('/admin/users/new')).text).toContain('财政局业务科室与国库科：审核下达资金与拨付资金须由不同的人办理');
  });

  it('keeps a township administrator inside their township', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    // A township-level administrator, created by the county administrator.
    const created = await submit(admin, '/admin/users/new', '/admin/users', { username: 'admin_cg', displayName: '城关管理员', roles: ['admin'], regionId: String(await regionId(t, '城关镇')), orgId: '' });
    expect(created.status).toBe(200);
    // (Skip the forced password change, which the auth tests cover.)
    await t.core.db('core_user').where({ username: 'admin_cg' }).update({ must_change_password: false });
    const temp = /<code>([^<]+)<\/code>/.exec(created.text)![1]!.replace(/&amp;/g, '&');
    const townAdmin = agentFor(t.core);
    expect((await loginWithTotp(townAdmin, t.core, 'admin_cg', temp)).status).toBe(303);

    const users = await townAdmin.get('/admin/users');
    expect(users.text).toContain('station1');
    expect(users.text).not.toContain('dept_agri');
    const outside = await t.core.db('core_user').where({ username: 'dept_agri' }).first();
    const denied = await townAdmin.get(`/admin/users/${outside.id}`);
    expect(denied.status).toBe(403);
    expect(denied.text).toContain('该用户不在您的管辖范围内');
    const otherTown = await submit(townAdmin, '/admin/users/new', '/admin/users', { username: 'sneaky', displayName: '某某', roles: ['township_station'], regionId: String(await regionId(t, '石桥镇')), orgId: '' });
    expect(otherTown.status).toBe(403);
    expect(otherTown.text).toContain('该地区不在您的管辖范围内');
    expect((await auditRows(t.core, 'access.denied')).map((r) => r.username)).toEqual(['admin_cg', 'admin_cg']);
  });

  it('answers a malformed or unknown URL id with a Chinese 404, not a crash', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    for (const path of ['/admin/users/abc', '/admin/users/0', '/admin/users/99999999999', '/admin/users/1%27%20or%201=1', '/admin/users/424242']) {
      const res = await admin.get(path);
      expect(res.status, path).toBe(404);
      expect(res.text).toContain('用户不存在');
    }
    const nowhere = await admin.get('/no/such/page');
    expect(nowhere.status).toBe(404);
    expect(nowhere.text).toContain('页面不存在');
  });

  it('stops an administrator from changing their own roles, and a stale edit form from overwriting a newer one', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const self = await t.core.db('core_user').where({ username: 'admin' }).first();
    const ownEdit = await submit(admin, `/admin/users/${self.id}`, `/admin/users/${self.id}`, { displayName: '王建国', roles: ['admin', 'finance_section'], regionId: String(self.region_id), orgId: '', version: String(self.version) });
    expect(ownEdit.status).toBe(403);

    const target = await t.core.db('core_user').where({ username: 'supervisor' }).first();
    const page = await admin.get(`/admin/users/${target.id}`);
    const fields = { displayName: '陈卫东', roles: ['supervisor'], regionId: String(target.region_id), orgId: '', version: String(target.version), _csrf: csrfFrom(page.text) };
    expect((await admin.post(`/admin/users/${target.id}`).type('form').send({ ...fields, displayName: '陈卫东（一）' })).status).toBe(303);
    const stale = await admin.post(`/admin/users/${target.id}`).type('form').send({ ...fields, displayName: '陈卫东（二）' });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('该用户已被他人修改');
    expect((await t.core.db('core_user').where({ id: target.id }).first()).display_name).toBe('陈卫东（一）');
  });

  it('shows an account whose failed logins make it wait, lifts the wait, and resets a password and a second factor, each audited', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const station = await t.core.db('core_user').where({ username: 'station1' }).first();
    for (let i = 0; i < LOGIN_THROTTLE.usernameAtAddressFree; i++) {
      expect((await passwordStep(t.core, { username: 'station1', password: 'Wrong#Pass1', ip: '203.0.113.9', userAgent: null })).kind).toBe('invalid');
    }
    expect((await passwordStep(t.core, { username: 'station1', password: TEST_PASSWORD, ip: '203.0.113.9', userAgent: null })).kind).toBe('throttled');
    const page = await admin.get(`/admin/users/${station.id}`);
    expect(page.text).toContain('登录受限');
    expect((await admin.post(`/admin/users/${station.id}/unlock`).type('form').send({ _csrf: csrfFrom(page.text) })).status).toBe(303);
    expect((await admin.get(`/admin/users/${station.id}`)).text).not.toContain('登录受限');
    expect((await passwordStep(t.core, { username: 'station1', password: TEST_PASSWORD, ip: '203.0.113.9', userAgent: null })).kind).toBe('ok');
    const reset = await admin.post(`/admin/users/${station.id}/reset-password`).type('form').send({ _csrf: csrfFrom(page.text) });
    expect(reset.status).toBe(200);
    expect((await t.core.db('core_user').where({ id: station.id }).first()).must_change_password).toBeTruthy();
    expect((await admin.post(`/admin/users/${station.id}/reset-totp`).type('form').send({ _csrf: csrfFrom(page.text) })).status).toBe(303);
    const actions = (await auditRows(t.core)).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['user.unlock', 'user.password_reset', 'user.totp_reset']));
  });

  it('adds regions under the right level and departments at county level', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const ok = await submit(admin, '/admin/regions', '/admin/regions', { parentId: String(await regionId(t, '柳河乡')), name: '新民村', code: '' });
    expect(ok.status).toBe(303);
    expect(await t.core.db('core_region').where({ name: '新民村' }).first()).toMatchObject({ level: 'village' });
    const tooDeep = await submit(admin, '/admin/regions', '/admin/regions', { parentId: String(await regionId(t, '新民村')), name: '一组', code: '' });
    expect(tooDeep.status).toBe(422);
    expect(tooDeep.text).toContain('村（社区）之下不能再设下级地区');
    const org = await submit(admin, '/admin/regions', '/admin/orgs', { kind: 'department', regionId: String(await regionId(t, '青禾县')), name: '青禾县林业局', code: '' });
    expect(org.status).toBe(303);
    const badOrg = await submit(admin, '/admin/regions', '/admin/orgs', { kind: 'department', regionId: String(await regionId(t, '城关镇')), name: '镇林业站', code: '' });
    expect(badOrg.status).toBe(422);
    expect(badOrg.text).toContain('主管部门和代发金融机构应设在县级及以上地区');
    const renamed = await submit(admin, '/admin/regions', `/admin/regions/${await regionId(t, '新民村')}/rename`, { name: '新民社区' });
    expect(renamed.status).toBe(303);
    expect((await auditRows(t.core)).map((r) => r.action)).toEqual(expect.arrayContaining(['region.create', 'org.create', 'region.rename']));
  });
});

describe(`separation of duties (${TEST_DB})`, () => {
  it('refuses the audit log to the system administrator, and logs the refusal', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const res = await admin.get('/audit');
    expect(res.status).toBe(403);
    expect(res.text).toContain('审计日志仅审计管理员可以查看（三权分立）');
    expect((await auditRows(t.core, 'access.denied')).at(-1)).toMatchObject({ username: 'admin', object_type: 'audit_log' });
  });

  it('shows the audit log and its verification to the auditor, who cannot manage users', async () => {
    t = await createSeededDb();
    const auditor = agentFor(t.core);
    await loginWithTotp(auditor, t.core, 'auditor');
    const log = await auditor.get('/audit?action=login.success');
    expect(log.status).toBe(200);
    expect(log.text).toContain('登录成功');
    const verify = await auditor.get('/audit/verify');
    expect(verify.text).toContain('完整：已逐条重新计算');
    const bad = await auditor.get('/audit?from=2026-02-30&page=x');
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('起始日期应为 YYYY-MM-DD 格式的有效日期');
    expect((await auditor.get('/admin/users')).status).toBe(403);
  });

  it('makes the auditor whose password the administrator reset enrol a new second factor, and shows the reset to the auditors', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const auditor = await t.core.db('core_user').where({ username: 'auditor' }).first();
    const first = agentFor(t.core);
    expect((await loginWithTotp(first, t.core, 'auditor')).status).toBe(303);
    const page = await admin.get(`/admin/users/${auditor.id}`);
    const reset = await admin.post(`/admin/users/${auditor.id}/reset-password`).type('form').send({ _csrf: csrfFrom(page.text) });
    expect(reset.status).toBe(200);
    expect(reset.text).toContain('原动态口令已清除，登录时须重新绑定');
    const stored = await t.core.db('core_user').where({ id: auditor.id }).first();
    expect(stored.totp_secret_enc).toBeNull();
    expect(Boolean(stored.totp_enabled)).toBe(false);
    expect(Boolean(stored.must_change_password)).toBe(true);
    expect(JSON.parse((await auditRows(t.core, 'user.password_reset')).at(-1).summary)).toEqual({ username: 'auditor', roles: ['auditor'], totp_cleared: true });
    expect((await first.get('/')).status).toBe(303); // the auditor's session ended

    // Whoever logs in with the temporary password changes it, then must enrol an authenticator before anything else.
    const temp = /<code>([^<]+)<\/code>/.exec(reset.text)![1]!.replace(/&amp;/g, '&').replace(/&#39;/g, "'");
    const next = agentFor(t.core);
    expect((await login(next, 'auditor', temp)).status).toBe(303);
    expect((await next.get('/audit')).headers.location).toBe('/account/password');
    expect((await submit(next, '/account/password', '/account/password', { current: temp, next: 'Shenji#2026', confirm: 'Shenji#2026' })).status).toBe(303);
    expect((await next.get('/audit')).headers.location).toBe('/account/totp');

    // The auditors see the reset at the top of the log and on their home page.
    const reader = agentFor(t.core);
    expect((await loginWithTotp(reader, t.core, 'auditor', 'Shenji#2026')).status).toBe(303);
    const log = await reader.get('/audit');
    expect(log.text).toContain('三员账户变动提醒（近 90 天）');
    expect(log.text).toMatch(/系统管理员 admin 重置了密码：<a href="\/audit\?object=user%3A\d+"[^>]*>审计管理员 auditor<\/a>/);
    expect((await reader.get('/')).text).toContain('系统管理员对三员账户的重置密码、新建和授权');
    expect((await reader.get('/audit?action=user.password_reset')).text).toContain('三员账户，动态口令已清除、须重新绑定');
  });

  it('keeps the second factor of a business account whose password is reset, and lists a new 三员 account and a 三员 role given to the auditors', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const treasury = await t.core.db('core_user').where({ username: 'treasury' }).first();
    await t.core.db('core_user').where({ id: treasury.id }).update({ totp_enabled: true, totp_secret_enc: t.core.crypto.encrypt('JBSWY3DPEHPK3PXP') });
    const page = await admin.get(`/admin/users/${treasury.id}`);
    const reset = await admin.post(`/admin/users/${treasury.id}/reset-password`).type('form').send({ _csrf: csrfFrom(page.text) });
    expect(reset.text).not.toContain('原动态口令已清除');
    expect(Boolean((await t.core.db('core_user').where({ id: treasury.id }).first()).totp_enabled)).toBe(true);

    const created = await submit(admin, '/admin/users/new', '/admin/users', { username: 'auditor2', displayName: '钱审计', roles: ['auditor'], regionId: String(await regionId(t, '青禾县')), orgId: '' });
    expect(created.status).toBe(200);
    const supervisor = await t.core.db('core_user').where({ username: 'supervisor' }).first();
    const granted = await submit(admin, `/admin/users/${supervisor.id}`, `/admin/users/${supervisor.id}`, { displayName: '陈卫东', roles: ['auditor'], regionId: String(supervisor.region_id), orgId: '', version: String(supervisor.version) });
    expect(granted.status).toBe(303);
    const auditor = agentFor(t.core);
    await loginWithTotp(auditor, t.core, 'auditor');
    const log = await auditor.get('/audit');
    expect(log.text).toMatch(/系统管理员 admin 新建了账户：<a [^>]*>审计管理员 auditor2<\/a>/);
    expect(log.text).toMatch(/系统管理员 admin 授予了角色：<a [^>]*>审计管理员 supervisor<\/a>/);
    expect(log.text).not.toContain('国库科 treasury');
  });

  it('lets no business role into the administration or audit pages', async () => {
    t = await createSeededDb({ demo: true });
    for (const username of ['station1', 'finance1', 'dept_agri', 'finance', 'treasury', 'bank', 'supervisor']) {
      const agent = agentFor(t.core);
      await login(agent, username);
      for (const path of ['/admin/users', '/admin/regions', '/audit']) expect((await agent.get(path)).status, `${username} ${path}`).toBe(403);
    }
  });
});
