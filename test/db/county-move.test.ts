import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeMoves, composeRekeyers } from '../../src/app.ts';
import { deriveAuditKey, useAuditKey } from '../../src/core/audit-key.ts';
import { verifyAuditChain } from '../../src/core/audit.ts';
import { archiveRows, verifyArchives } from '../../src/core/audit-archive.ts';
import { CountyMoveError, moveCounty, type MoveInput } from '../../src/core/county-move.ts';
import { checkFieldKey } from '../../src/core/key-check.ts';
import { openDeadline } from '../../src/core/deadlines.ts';
import { SUPERVISION_DEADLINES } from '../../src/modules/supervision/deadlines.ts';
import { nowIso } from '../../src/core/db.ts';
import { complaintStatus, fileComplaint } from '../../src/modules/publicity/complaints.ts';
import { drawSpotCheck, recheckSample, type SampleRow } from '../../src/modules/supervision/spot-checks.ts';
import { seedDemo } from '../../seeds/demo.ts';
import { ykt } from '../cli/ykt.ts';
import { TEST_DB, TEST_PASSWORD, TEST_SECRET, type TestDb, actorFor, agentFor, binaryParser, createSeededDb, createTestDb, login, loginWithTotp } from '../factories.ts';

/**
 * `ykt migrate-to-postgres` (core/county-move.ts): the demo county, kept on its own SQLite file under its own key, moves
 * into a PostgreSQL deployment that already serves another county of the same province under another key. Afterwards
 * the moved county's rows are all there under new ids, its province, city, provincial departments and provincial
 * policy list are the deployment's, every round's money is what it was, its fields read under the deployment's key, a
 * citizen's complaint code still opens the complaint, a spot check's re-draw still finds the same population, its
 * audit log verifies in the archive, and its staff log in (with the prefix) and work there. The other county is
 * untouched. A second run refuses, changing nothing.
 */
const SOURCE_SECRET = 'c0unty-'.repeat(4) + '0123456789abcdef';
const SOURCE_AUDIT = deriveAuditKey(SOURCE_SECRET);
const RECEIPT = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0x01, 0x5c, 0x22, 0x2c, 0x0a, 0xff, 0xfe]);

describe.skipIf(TEST_DB !== 'pg')('moving a county onto the central PostgreSQL', () => {
  let source: TestDb;
  let target: TestDb;
  let input: MoveInput;
  let dataDir = '';
  const before: { complaint?: { trackingNo: string; code: string }; idNumber?: string; personId?: number; sampleId?: number; rosterId?: number; villageId?: number; findingId?: number; roundId?: number; accountNumber?: string; itemCode?: string; counts: Record<string, number>; otherCounty: Record<string, number> } = { counts: {}, otherCounty: {} };

  const count = async (t: TestDb, table: string) => Number(((await t.core.db(table).count({ n: '*' }).first()) as { n: number | string }).n);

  beforeAll(async () => {
    // The county on its own SQLite file, with its own key (and so its own audit key), a complaint, findings of every
    // subject form and a spot check.
    source = await createSeededDb({ secretKey: SOURCE_SECRET }, { people: true, dialect: 'sqlite' });
    useAuditKey(SOURCE_AUDIT);
    const s = source.core;
    await checkFieldKey(s);
    const county = (await s.db('core_region').where({ level: 'county' }).first('id')) as { id: number };
    before.complaint = await fileComplaint(s, { kind: 'complaint', sheetCode: null, countyId: county.id, subject: '补贴未到账', content: '今年的补贴还没有收到。', contactName: null, phone: '13800001234' }, '192.0.2.1');
    const line = (await s.db('batch_line as l').join('batch_round as r', 'r.id', 'l.round_id').where('r.state', 'transferred').whereNotNull('l.account_index').orderBy('l.id').first('l.id', 'l.person_id', 'l.roster_id', 'l.round_id', 'l.village_id', 'l.account_index', 'r.policy_item_id')) as Record<string, number | string>;
    const person = (await s.db('beneficiary_person').where({ id: line.person_id }).first('id_enc')) as { id_enc: string };
    before.idNumber = s.crypto.decrypt(person.id_enc);
    before.personId = Number(line.person_id);
    before.rosterId = Number(line.roster_id);
    before.roundId = Number(line.round_id);
    const account = (await s.db('batch_line as l').join('beneficiary_account as a', 'a.id', 'l.account_id').where('l.id', line.id).first('a.account_enc')) as { account_enc: string };
    before.accountNumber = s.crypto.decrypt(account.account_enc);
    before.villageId = Number(line.village_id);
    before.itemCode = ((await s.db('policy_item').where({ id: line.policy_item_id }).first('code')) as { code: string }).code;
    const township = (await s.db('core_region').where({ level: 'township' }).orderBy('id').first('id', 'path')) as { id: number; path: string };
    const subjects = [
      `changed_after_publicity:roster:${line.roster_id}`,
      `round_checks:over_standard:roster:${line.roster_id}`,
      `paid_after_death:person:${line.person_id}`,
      `several_townships:person:${line.person_id}:${line.policy_item_id}:2026`,
      `exclusive_policies:person:${line.person_id}:2026:0123456789ab`,
      `village_jump:village:${line.village_id}:${line.policy_item_id}:2026-06-30`,
      `shared_account:account:${String(line.account_index).slice(0, 32)}`,
    ];
    for (const ref of subjects) {
      const [finding] = await s.db('supervision_finding').insert({
        source: 'screening',
        source_ref: ref,
        region_id: township.id,
        region_path: township.path,
        title: '（测试）',
        evidence: '（测试）',
        evidence_json: JSON.stringify({ screening: 1, rule: ref.split(':')[0], lines: [line.id], line_count: 1, amount_fen: 100 }),
        state: 'open',
        opened_by: 1,
        opened_at: nowIso(),
      }, ['id']);
      before.findingId ??= Number(finding.id);
    }
    // A bank's receipt, kept as bytes (bytea on PostgreSQL).
    const bank = (await s.db('core_org').where({ kind: 'bank' }).first('id')) as { id: number };
    await s.db('bank_receipt').insert({ round_id: line.round_id, bank_org_id: bank.id, file_name: '回单.pdf', content_type: 'application/pdf', body: RECEIPT, sha256: 'a'.repeat(64), uploaded_by: 1, uploaded_at: nowIso() });
    // The first finding's clock, as screenings open it: its title names the finding by number.
    const supervisor = await actorFor(source, 'supervisor');
    await s.db.transaction((trx) => openDeadline(trx, supervisor, { rule: SUPERVISION_DEADLINES.supervision_finding, objectType: 'supervision_finding', objectId: before.findingId!, regionId: township.id, title: `答复问题线索 ${before.findingId}（城关镇）` }));
    const sample = await drawSpotCheck(s, await actorFor(source, 'supervisor'), { roundId: Number(line.round_id), scope: 'round', villageId: null, unit: 'line', phase: 'after', size: 3, seed: 'abcdef12' });
    before.sampleId = sample.id;
    for (const table of ['beneficiary_person', 'beneficiary_account', 'batch_line', 'batch_round', 'bank_failure', 'core_audit', 'core_user', 'publicity_sheet', 'supervision_finding']) before.counts[table] = await count(source, table);

    // The deployment: another county (白石县) of the same province and city, under the deployment's key.
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-central-'));
    target = await createTestDb({ dialect: 'pg', config: { dataDir } });
    useAuditKey(target.core.config.auditKey);
    await seedDemo(target.core, TEST_PASSWORD, { people: false });
    const t = target.core.db;
    await t('core_region').where({ level: 'county' }).update({ name: '白石县', code: '990103' });
    await t.raw("UPDATE core_region SET code = replace(code, '990102', '990103') WHERE level IN ('township', 'village')");
    await t.raw("UPDATE core_region SET name = '白石' || name WHERE level IN ('township', 'village')");
    await t.raw("UPDATE core_org SET name = replace(name, '青禾县', '白石县')");
    await t.raw("UPDATE policy_item SET code = replace(code, 'QH-', 'BS-') WHERE level = 'county'");
    await checkFieldKey(target.core);
    for (const table of ['core_region', 'core_user', 'policy_item', 'policy_version', 'core_org', 'core_audit']) before.otherCounty[table] = await count(target, table);

    input = {
      source: s.db,
      sourceFile: source.url,
      sourceCrypto: s.crypto,
      sourceAuditKey: SOURCE_AUDIT,
      target: target.core.db,
      targetCrypto: target.core.crypto,
      targetAuditKey: target.core.config.auditKey,
      modules: composeMoves(target.core),
      rekeyers: composeRekeyers(target.core),
      options: { usernamePrefix: '' },
    };
  }, 240_000);

  afterAll(async () => {
    await source?.cleanup();
    await target?.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("refuses with an audit key that is not the deployment's: the move's own row would break the chain", async () => {
    const refused = await moveCounty({ ...input, targetAuditKey: SOURCE_AUDIT }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CountyMoveError);
    expect((refused as Error).message).toMatch(/^中心部署的审计日志校验不通过（.+）：若中心部署设置了 YKT_AUDIT_KEY，请用 --target-audit-key-file 给出它；否则请先查明原因。未做任何更改。$/);
    for (const [table, n] of Object.entries(before.otherCounty)) expect(await count(target, table)).toBe(n);
  });

  it('refuses colliding usernames and a sheet code another county holds, and changes nothing', async () => {
    const sheet = (await source.core.db('publicity_sheet').first()) as Record<string, unknown>;
    await target.core.db('publicity_sheet').insert({ ...sheet, id: undefined });
    const refused = await moveCounty(input).catch((e: unknown) => e);
    await target.core.db('publicity_sheet').where({ code: sheet.code }).delete();
    expect(refused).toBeInstanceOf(CountyMoveError);
    expect((refused as Error).message).toContain(`公示表验证码 ${String(sheet.code)} 已被中心部署中的其他县使用`);
    expect((refused as Error).message).toContain('中心部署中已有这些用户名：admin、');
    expect((refused as Error).message).toContain('--username-prefix');
    for (const [table, n] of Object.entries(before.otherCounty)) expect(await count(target, table)).toBe(n);
  });

  it('refuses, after copying everything, when a figure differs from the county\'s, and leaves nothing behind', async () => {
    // A module whose totals read differently in the deployment: the check that runs before the commit stops the move.
    let call = 0;
    const skewed = [...input.modules, { tables: {}, totals: async () => ({ 'round 1 lines fen': call++ === 0 ? 100 : 101 }) }];
    const refused = await moveCounty({ ...input, modules: skewed, options: { usernamePrefix: 'qh_' } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CountyMoveError);
    expect((refused as Error).message).toBe('迁入后的合计与县的数据库不一致：round 1 lines fen 应为 100，实为 101。未做任何更改。');
    for (const [table, n] of Object.entries(before.otherCounty)) expect(await count(target, table)).toBe(n);
    expect(await count(target, 'beneficiary_person')).toBe(0);
    expect(await count(target, 'core_audit_archive')).toBe(0);
  });

  it('moves the county whole: new ids, shared province and policies, same money, the deployment key, both audit chains', async () => {
    // Other counties' instances go on working meanwhile: the move takes no lock on a whole table of the deployment.
    const statements: string[] = [];
    const listen = (q: { sql: string }) => statements.push(q.sql);
    target.core.db.on('query', listen);
    const report = await moveCounty({ ...input, options: { usernamePrefix: 'qh_' } }).finally(() => target.core.db.off('query', listen));
    expect(statements.length).toBeGreaterThan(100);
    expect(statements.filter((sql) => /\b(alter table|drop index|create index|truncate|lock table|vacuum)\b/i.test(sql))).toEqual([]);
    const db = target.core.db;
    const offset = report.offset;
    expect(offset).toBeGreaterThan(0);
    expect(report.reencrypted).toBe(true);
    expect(report.rounds).toBe(before.counts.batch_round);
    expect(report.figures).toBeGreaterThan(before.counts.batch_round * 2);
    // Rows per table, under new ids.
    for (const [table, n] of Object.entries(before.counts)) {
      if (table === 'core_audit') continue;
      expect(Number(((await db(table).where('id', '>', offset).count({ n: '*' }).first()) as { n: string }).n)).toBe(n);
    }
    // The province, the city and the provincial departments and policy list are the deployment's own.
    expect(report.shared.map((s) => s.table)).toEqual(expect.arrayContaining(['core_region', 'core_org', 'policy_item', 'policy_version', 'policy_tier']));
    expect(await db('core_region').where({ level: 'province' }).count({ n: '*' }).first()).toEqual({ n: 1 });
    expect(((await db('policy_item').where({ code: 'JC-01' }).pluck('id')) as number[]).length).toBe(1);
    const county = (await db('core_region').where({ id: report.countyId }).first('name', 'path', 'parent_id')) as { name: string; path: string; parent_id: number };
    expect(county.name).toBe('青禾县');
    const city = (await db('core_region').where({ level: 'city' }).first('id', 'path')) as { id: number; path: string };
    expect(county.parent_id).toBe(city.id);
    expect(county.path).toBe(`${city.path}${report.countyId}/`);
    // A moved round points at the deployment's version of a provincial policy.
    const round = (await db('batch_round as r').join('policy_item as i', 'i.id', 'r.policy_item_id').where('r.county_id', report.countyId).where('i.code', 'JC-01').first('r.id')) as { id: number } | undefined;
    expect(round).toBeDefined();
    // Fields under the deployment's key: the person is found by ID number with the deployment's index.
    const crypto = target.core.crypto;
    const person = (await db('beneficiary_person').where({ id_index: crypto.blindIndex('id', before.idNumber!) }).first('id', 'id_enc')) as { id: number; id_enc: string };
    expect(person.id).toBe(before.personId! + offset);
    expect(crypto.decrypt(person.id_enc)).toBe(before.idNumber);
    const strays = await db('batch_line as l').where('l.id', '>', offset).leftJoin('beneficiary_person as p', 'p.id_index', 'l.id_index').whereNotNull('l.id_index').whereNull('p.id').count({ n: '*' }).first();
    expect(Number((strays as { n: string }).n)).toBe(0);
    // Findings name the moved rows; the shared-account one names the account by its new index.
    const refs = (await db('supervision_finding').where('id', '>', offset).orderBy('id').pluck('source_ref')) as string[];
    const item = ((await db('policy_item').where({ code: before.itemCode }).first('id')) as { id: number }).id;
    expect(item).toBeLessThan(offset);
    expect(refs.slice(0, 6)).toEqual([
      `changed_after_publicity:roster:${before.rosterId! + offset}`,
      `round_checks:over_standard:roster:${before.rosterId! + offset}`,
      `paid_after_death:person:${person.id}`,
      `several_townships:person:${person.id}:${item}:2026`,
      `exclusive_policies:person:${person.id}:2026:0123456789ab`,
      `village_jump:village:${before.villageId! + offset}:${item}:2026-06-30`,
    ]);
    const account = refs[6]!.split(':').at(-1)!;
    expect(await db('beneficiary_account').where('account_index', 'like', `${account}%`).first('id')).toBeDefined();
    const evidence = JSON.parse(((await db('supervision_finding').where('id', '>', offset).first('evidence_json')) as { evidence_json: string }).evidence_json) as { lines: number[] };
    expect(await db('batch_line').where({ id: evidence.lines[0] }).first('id')).toBeDefined();
    const receipt = (await db('bank_receipt').where('id', '>', offset).first('body', 'bank_org_id')) as { body: Buffer; bank_org_id: number };
    expect(Buffer.compare(receipt.body, RECEIPT)).toBe(0);
    // Open deadlines name the moved objects: a failure group by its result file and township, a round by its id.
    const deadlines = (await db('core_deadline').where('id', '>', offset).select('object_type', 'object_id', 'open_key')) as { object_type: string; object_id: string; open_key: string | null }[];
    expect(deadlines.length).toBeGreaterThan(0);
    for (const d of deadlines) {
      if (d.open_key) expect(d.open_key.endsWith(`:${d.object_type}:${d.object_id}`)).toBe(true);
      for (const n of d.object_id.match(/\d+/g)!) expect(Number(n)).toBeGreaterThan(offset);
    }
    const group = deadlines.find((d) => d.object_type === 'bank_failure_group' && d.open_key);
    if (group) expect(await db('bank_failure').where({ deadline_key: group.object_id }).first('id')).toBeDefined();
    const clock = (await db('core_deadline').where({ object_type: 'supervision_finding' }).where('id', '>', offset).first('title', 'open_key')) as { title: string; open_key: string };
    expect(clock).toEqual({ title: `答复问题线索 ${before.findingId! + offset}（城关镇）`, open_key: `supervision_finding:supervision_finding:${before.findingId! + offset}` });
    // A citizen's code opens the complaint filed before the move.
    const status = await complaintStatus(target.core, before.complaint!.trackingNo, before.complaint!.code, '192.0.2.9');
    expect(status?.trackingNo).toBe(before.complaint!.trackingNo);
    // The spot check's re-draw finds the same population and the same items.
    const sample = (await db('supervision_sample').where({ id: before.sampleId! + offset }).first()) as SampleRow;
    const items = (await db('supervision_sample_item').where({ sample_id: sample.id }).orderBy('position').pluck('line_id')) as number[];
    const recheck = await recheckSample(target.core, sample, items.map(Number));
    expect(recheck).toMatchObject({ populationSame: true, itemsSame: true });
    // The county's audit log verifies in the archive with its own key; the deployment's chain records the move.
    const archived = await verifyAuditChain(db, { key: SOURCE_AUDIT, rows: archiveRows(report.moveId) });
    expect(archived).toMatchObject({ ok: true, checked: before.counts.core_audit });
    // …and with nothing but the deployment's audit key, as `ykt verify-audit` and the auditor's page do.
    expect(await verifyArchives(db, target.core.config.auditKey)).toMatchObject([{ moveId: report.moveId, county: '青禾县', ok: true, checked: before.counts.core_audit }]);
    expect((await verifyArchives(db, SOURCE_AUDIT))[0]).toMatchObject({ ok: false, checked: 0 });
    const chain = await verifyAuditChain(db, { key: target.core.config.auditKey });
    expect(chain.ok).toBe(true);
    const moved = (await db('core_audit').orderBy('id', 'desc').first('action', 'summary')) as { action: string; summary: string };
    expect(moved.action).toBe('county.move');
    expect(JSON.parse(moved.summary)).toMatchObject({ county: '青禾县', auditRows: before.counts.core_audit, reencrypted: true });
    // The other county is as it was.
    expect(await db('core_user').where('username', 'station1').first('id')).toBeDefined();
    expect(await db('core_region').where({ name: '白石县' }).first('id')).toBeDefined();
  });

  it("lets the county's staff log in with the prefix and work: the station opens its moved roster, the supervisor its finding", async () => {
    const agent = agentFor(target.core);
    await login(agent, 'qh_station1');
    const roster = (await target.core.db('batch_roster as s').join('core_region as g', 'g.id', 's.township_id').join('core_user as u', 'u.region_id', 'g.id').where('u.username', 'qh_station1').orderBy('s.id').first('s.id')) as { id: number };
    const page = await agent.get(`/rosters/${roster.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('青禾县');
    const supervisor = agentFor(target.core);
    await login(supervisor, 'qh_supervisor');
    const findings = await supervisor.get('/supervision/findings');
    expect(findings.status).toBe(200);
    expect(findings.text).toContain('（测试）');
    // The department opens a new round of a provincial policy for the moved county: one roster per township of it.
    const { createRound } = await import('../../src/modules/batch/commands.ts');
    const countyId = ((await target.core.db('core_region').where({ name: '青禾县' }).first('id')) as { id: number }).id;
    const jc = ((await target.core.db('policy_item').where({ code: 'JC-01' }).first('id')) as { id: number }).id;
    const roundId = await createRound(target.core, await actorFor(target, 'qh_dept_agri'), { policyItemId: jc, period: '2027' });
    const round = (await target.core.db('batch_round').where({ id: roundId }).first('county_id')) as { county_id: number };
    expect(round.county_id).toBe(countyId);
    const townships = await target.core.db('core_region').where({ parent_id: countyId }).count({ n: '*' }).first();
    expect(await target.core.db('batch_roster').where({ round_id: roundId }).count({ n: '*' }).first()).toEqual(townships);
    // The deployment's auditor verifies the moved county's archived log with the deployment's key alone.
    const auditor = agentFor(target.core);
    await loginWithTotp(auditor, target.core, 'auditor');
    const verify = await auditor.get('/audit/verify');
    expect(verify.status).toBe(200);
    expect(verify.text).toContain('迁入县的原审计日志');
    expect(verify.text).toMatch(/<td>青禾县<\/td><td>[^<]+<\/td><td>\d+<\/td><td>第 \d+ 号 <code>[0-9a-f]{64}<\/code><\/td><td>完整<\/td>/);
    // The moved county's auditor reads its log from before the move, filtered as the deployment's own; the other
    // county's auditor does not find it.
    const own = agentFor(target.core);
    await loginWithTotp(own, target.core, 'qh_auditor');
    const moveId = ((await target.core.db('core_county_move').first('id')) as { id: number }).id;
    const log = await own.get('/audit');
    expect(log.text).toContain(`<a href="/audit/archives/${moveId}">青禾县</a>`);
    const archived = await own.get(`/audit/archives/${moveId}`);
    expect(archived.status).toBe(200);
    expect(archived.text).toContain('青禾县迁入前的审计日志');
    const users = (html: string) => [...html.matchAll(/<tr><td class="num">\d+<\/td><td>[^<]*<\/td><td>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(new Set(users(archived.text)).size).toBeGreaterThan(1);
    expect(archived.text).toContain(`迁入时县的记录编号统一加了 ${(await target.core.db('core_county_move').first('id_offset')).id_offset}`);
    expect(archived.text).not.toContain('元 元');
    const filtered = await own.get(`/audit/archives/${moveId}?username=station1`);
    expect(filtered.status).toBe(200);
    expect(users(filtered.text).length).toBeGreaterThan(0);
    expect(new Set(users(filtered.text))).toEqual(new Set(['station1']));
    const refused = await own.get(`/audit/archives/${moveId}?from=2026-12-31&to=2026-01-01`);
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('截止日期不能早于起始日期');
    expect((await auditor.get(`/audit/archives/${moveId}`)).status).toBe(404);
    // The agent bank downloads a moved round's payout file: the accounts, re-encrypted under the deployment's key, read.
    const bank = agentFor(target.core);
    await login(bank, 'qh_bank');
    const payout = await bank.get(`/bank/payouts/${before.roundId! + (await target.core.db('core_county_move').first('id_offset')).id_offset}/csv`).buffer(true).parse(binaryParser);
    expect(payout.status).toBe(200);
    expect((payout.body as Buffer).toString('utf8')).toContain(before.accountNumber!);
    // The other county's station does not see the moved county's roster.
    const other = agentFor(target.core);
    await login(other, 'station1');
    expect((await other.get(`/rosters/${roster.id}`)).status).toBe(403);
  });

  it('refuses a second move of the same county, changing nothing', async () => {
    const users = await count(target, 'core_user');
    const refused = await moveCounty({ ...input, options: { usernamePrefix: 'qh2_' } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CountyMoveError);
    expect((refused as Error).message).toContain('中心部署中已有青禾县（990102）');
    expect(await count(target, 'core_user')).toBe(users);
  });
});

describe.skipIf(TEST_DB !== 'pg')('ykt migrate-to-postgres, as county IT runs it', () => {
  let dir = '';
  let target: TestDb;
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await target?.cleanup();
  });

  it('refuses while the county serves, then moves it into an empty deployment, which verify-audit finds whole', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-move-'));
    const env = { YKT_DATA_DIR: dir, YKT_SECRET_KEY: TEST_SECRET };
    expect(ykt(['create-admin', '--username', 'itadmin', '--name', '县信息中心', '--region', '江川省/临山市/青禾县'], env).code).toBe(0);
    target = await createTestDb({ dialect: 'pg', migrate: false });
    const url = `${target.url}?options=${encodeURIComponent(`-c search_path=${target.schema}`)}`;

    const usage = ykt(['migrate-to-postgres', 'data.sqlite'], env);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('用法：ykt migrate-to-postgres postgres://');
    const file = path.join(dir, 'ykt.sqlite');
    fs.writeFileSync(`${file}.serving`, String(process.pid));
    const serving = ykt(['migrate-to-postgres', url], env);
    expect(serving.code).toBe(1);
    expect(serving.err).toContain('请先停止县的服务。未做任何更改。');
    fs.rmSync(`${file}.serving`);

    const centralKey = path.join(dir, 'central.key');
    fs.writeFileSync(centralKey, 'b2'.repeat(32), { mode: 0o600 });
    const moved = ykt(['migrate-to-postgres', url, '--target-key-file', centralKey], env);
    expect(moved.err).toBe('');
    expect(moved.code).toBe(0);
    expect(moved.out).toContain('中心数据库是空的：已按本版本建表');
    expect(moved.out).toContain('已迁入：青禾县');
    expect(moved.out).toContain('加密字段已改用中心部署的密钥。');
    const verified = ykt(['verify-audit'], { YKT_DATA_DIR: dir, DATABASE_URL: url, YKT_SECRET_KEY: 'b2'.repeat(32) });
    expect(verified.code).toBe(0);
    expect(verified.out).toContain('审计日志完整：已校验 1 条记录');
    expect(verified.out).toMatch(/迁入的青禾县原审计日志完整：已校验 \d+ 条记录/);
    // The county's file is as it was: a second run meets the county already there.
    const again = ykt(['migrate-to-postgres', url, '--target-key-file', centralKey], env);
    expect(again.code).toBe(1);
    expect(again.err).toContain('中心部署中已有青禾县');
  });
});
