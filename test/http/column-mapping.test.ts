import { afterEach, describe, expect, it } from 'vitest';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { createUser } from '../../src/core/users.ts';
import { createRound } from '../../src/modules/batch/commands.ts';
import { importRosterFile } from '../../src/modules/batch/roster-import.ts';
import { registerPerson } from '../../src/modules/beneficiary/commands.ts';
import { importRegistry } from '../../src/modules/beneficiary/registry-import.ts';
import { REGISTRY_FILE_HEADER, fakeHouseholds, registryFileRows } from '../../seeds/fake-people.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, auditRows, confirmNewAccounts, createSeededDb, csrfFrom, idNumberFrom, login, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** A township's registry file whose village column is headed 村组名称 (no alias knows it), with a column 备注. */
async function registryFile(villages: string[], seed: number): Promise<Buffer> {
  const rows = registryFileRows(fakeHouseholds({ households: 2, villages, seed, sharedAccounts: 0, secondAccounts: 0, deceasedShare: 0, movedShare: 0 }));
  return writeTableXlsx('花名册', ['村组名称', ...REGISTRY_FILE_HEADER.slice(1), '备注'], rows.map((r) => [...r, '']));
}

/** A second township station (石桥镇), for the mapping that must stay with 城关镇. */
async function otherStation(t: TestDb) {
  await createUser(t.core, await actorFor(t, 'admin'), { username: 'station2', displayName: '石桥经办', roles: ['township_station'], regionId: await regionId(t, '石桥镇'), orgId: null });
  return actorFor(t, 'station2');
}

describe(`column mappings of imports (${TEST_DB})`, () => {
  it('offers the mapping on a registry file refused for its header, keeps it for the township, applies it to its next import and not to another township\'s; seen and deleted on a page, audited', async () => {
    t = await createSeededDb({ demo: true });
    const station = agentFor(t.core);
    await login(station, 'station1');
    const file = await registryFile(['西街村'], 11);
    const upload = async () => {
      const page = await station.get('/beneficiaries/import');
      return station.post('/beneficiaries/import').field('_csrf', csrfFrom(page.text)).attach('file', file, '花名册.xlsx');
    };

    const refused = await upload();
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('表头缺少列：「村（社区）」');
    expect(refused.text).toContain('设置列对应关系（受益对象导入）');
    expect(refused.text).toMatch(/<option value="村组名称">村组名称<\/option>/);
    expect(refused.text).toMatch(/<option value="备注">备注<\/option>/);
    const missing = /name="missing" value="([^"]+)"/.exec(refused.text)![1]!.replace(/&quot;/g, '"');
    const headers = /name="headers" value="([^"]+)"/.exec(refused.text)![1]!.replace(/&quot;/g, '"');
    expect(JSON.parse(missing)).toEqual(['村（社区）']);

    const fields = { _csrf: csrfFrom(refused.text), kind: 'beneficiary.registry', missing, headers };
    // Nothing chosen: the form again, with its summary, nothing kept.
    const none = await station.post('/column-mappings').type('form').send({ ...fields, m0: '' });
    expect(none.status).toBe(422);
    expect(none.text).toContain('请至少为一列选择文件中对应的表头');
    expect(none.text).toContain('href="#f-map-m0"');
    // A header the file does not have is not taken either.
    expect((await station.post('/column-mappings').type('form').send({ ...fields, m0: '村名称' })).status).toBe(422);
    expect(await t.core.db('core_column_mapping').first('id')).toBeUndefined();

    const saved = await station.post('/column-mappings').type('form').send({ ...fields, m0: '村组名称' });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe('/beneficiaries/import');
    expect(await t.core.db('core_column_mapping').select('region_id', 'file_kind', 'column_name', 'header_text')).toEqual([
      { region_id: await regionId(t, '城关镇'), file_kind: 'beneficiary.registry', column_name: '村（社区）', header_text: '村组名称' },
    ]);
    expect((await auditRows(t.core, 'column_mapping.save')).length).toBe(1);

    // The same file again: the township's mapping names the column, and the file is imported.
    const imported = await upload();
    expect(imported.status).toBe(303);
    expect(Number((await t.core.db('beneficiary_person').whereNotNull('import_id').count({ n: '*' }).first())?.n)).toBeGreaterThan(0);
    expect(Number((await t.core.db('beneficiary_import').count({ n: '*' }).first())?.n)).toBe(1);

    // Another township's file with the same header is not read with 城关镇's mapping.
    const other = await importRegistry(t.core, await otherStation(t), { name: '石桥花名册.xlsx', buffer: await registryFile(['石桥村'], 12) });
    expect(other.ok).toBe(false);
    if (!other.ok) expect(other.gap).toEqual({ missing: ['村（社区）'], unknown: ['村组名称', '备注'] });

    // The page lists the mapping; deleted, the next such file is refused again.
    const list = await station.get('/column-mappings');
    expect(list.status).toBe(200);
    expect(list.text).toContain('村组名称');
    const id = Number((await t.core.db('core_column_mapping').first('id')).id);
    const deleted = await station.post(`/column-mappings/${id}/delete`).type('form').send({ _csrf: csrfFrom(list.text) });
    expect(deleted.status).toBe(303);
    expect((await auditRows(t.core, 'column_mapping.delete')).length).toBe(1);
    const again = await importRegistry(t.core, await actorFor(t, 'station1'), { name: '另一花名册.xlsx', buffer: await registryFile(['南河村'], 13) });
    expect(again.ok).toBe(false);

    // Not the finance office's to set, nor the bank's.
    const office = agentFor(t.core);
    await login(office, 'finance1');
    expect((await office.get('/column-mappings')).status).toBe(403);
  });

  it('maps a roster file whose ID column is headed 证件号 (so that its header row is not even found) for the township, and the next import of that township reads it', async () => {
    t = await createSeededDb({ demo: true });
    const stationActor = await actorFor(t, 'station1');
    const rows = registryFileRows(fakeHouseholds({ households: 3, villages: ['西街村'], seed: 21, sharedAccounts: 0, secondAccounts: 0, deceasedShare: 0, movedShare: 0 }));
    const people = await importRegistry(t.core, stationActor, { name: 'people.xlsx', buffer: await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, rows) });
    if (!people.ok) throw new Error('registry import failed');
    await confirmNewAccounts(t);
    const heads = rows.filter((r) => r[3] === '户主');
    const item = await t.core.db('policy_item').where({ code: 'JC-01' }).first('id');
    const roundId = await createRound(t.core, await actorFor(t, 'dept_agri'), { policyItemId: Number(item.id), period: '2026' });
    const rosterOf = async (township: string) => Number((await t!.core.db('batch_roster').where({ round_id: roundId, township_id: await regionId(t!, township) }).first('id')).id);
    const rosterId = await rosterOf('城关镇');
    const file = await writeTableXlsx('清册', ['行政村', '户主姓名', '证件号', '补贴档次', '补贴数量'], heads.map((h) => [h[0]!, h[1]!, h[2]!, '标准', '12.5']));

    const station = agentFor(t.core);
    await login(station, 'station1');
    const upload = async () => {
      const page = await station.get(`/rosters/${rosterId}`);
      return station.post(`/rosters/${rosterId}/import`).field('_csrf', csrfFrom(page.text)).attach('file', file, '清册.xlsx');
    };
    const refused = await upload();
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('未找到表头行');
    expect(refused.text).toContain('设置列对应关系（清册导入）');
    expect(refused.text).toContain('「身份证号码」是文件中的哪一列');
    const value = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(refused.text)![1]!.replace(/&quot;/g, '"');
    const saved = await station
      .post('/column-mappings')
      .type('form')
      .send({ _csrf: csrfFrom(refused.text), kind: 'batch.roster', missing: value('missing'), headers: value('headers'), back: value('back'), m0: '证件号' });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe(`/rosters/${rosterId}`);

    const imported = await upload();
    expect(imported.status).toBe(303);
    expect(await t.core.db('batch_line').where({ roster_id: rosterId }).orderBy('id').pluck('person_name')).toEqual(heads.map((h) => h[1]));

    // 石桥镇's roster file with the same header is still refused: the mapping is 城关镇's.
    const other = await importRosterFile(t.core, await otherStation(t), await rosterOf('石桥镇'), { name: '石桥清册.xlsx', buffer: file });
    expect(other.ok).toBe(false);
    if (!other.ok) expect(other.gap?.missing).toEqual(['身份证号码']);
  });

  it('maps a department\'s reference file for the county and that source: the finance section\'s next upload of it is read', async () => {
    t = await createSeededDb({ demo: true });
    const id = idNumberFrom('99010219500101001');
    await registerPerson(t.core, await actorFor(t, 'station1'), { name: '张大山', idNumber: id, villageId: await regionId(t, '西街村'), relation: 'head', headPersonId: null, phone: null, account: null });
    const file = Buffer.from(`序号,人员姓名,公民身份号码,亡故日期\r\n1,张大山,${id},2026-10-03\r\n`);
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const upload = async () => {
      const page = await finance.get('/beneficiaries/reference');
      return finance.post('/beneficiaries/reference').field('_csrf', csrfFrom(page.text)).field('source', 'police_death').field('takenOn', '2026-11-01').attach('file', file, '公安死亡人员.csv');
    };
    const refused = await upload();
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('设置列对应关系（部门共享数据导入（公安：死亡人员））');
    const value = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(refused.text)![1]!.replace(/&quot;/g, '"');
    expect(JSON.parse(value('missing'))).toEqual(['死亡日期']);
    const saved = await finance.post('/column-mappings').type('form').send({ _csrf: csrfFrom(refused.text), kind: value('kind'), missing: value('missing'), headers: value('headers'), m0: '亡故日期' });
    expect(saved.status).toBe(303);
    expect(await t.core.db('core_column_mapping').first('region_id', 'file_kind')).toEqual({ region_id: await regionId(t, '青禾县'), file_kind: 'beneficiary.reference.police_death' });
    expect((await upload()).status).toBe(303);
    expect(await t.core.db('beneficiary_reference_hit').select('kind', 'event_date')).toEqual([{ kind: 'deceased', event_date: '2026-10-03' }]);
  });
});
