import { afterEach, describe, expect, it } from 'vitest';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { createRound } from '../../src/modules/batch/commands.ts';
import { importRosterFile } from '../../src/modules/batch/roster-import.ts';
import { registerPerson } from '../../src/modules/beneficiary/commands.ts';
import { loadReferenceSnapshot } from '../../src/modules/beneficiary/reference.ts';
import { importRegistry } from '../../src/modules/beneficiary/registry-import.ts';
import { REGISTRY_FILE_HEADER, fakeHouseholds, registryFileRows } from '../../seeds/fake-people.ts';
import { TEST_DB, type TestDb, actorFor, confirmNewAccounts, createSeededDb, idNumberFrom, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** Column names other than the template's, as counties' and departments' own sheets have them (the registry's: registry-import.test.ts). */
describe(`roster and reference files under other column names (${TEST_DB})`, () => {
  it('imports a roster whose columns are 户主姓名, 身份证号, 行政村, 补贴档次 and 补贴数量 as the template\'s, and still names the template\'s column in an error', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const rows = registryFileRows(fakeHouseholds({ households: 3, villages: ['西街村'], seed: 5, sharedAccounts: 0, secondAccounts: 0, deceasedShare: 0, movedShare: 0 }));
    const imported = await importRegistry(t.core, station, { name: 'people.xlsx', buffer: await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, rows) });
    if (!imported.ok) throw new Error('registry import failed');
    await confirmNewAccounts(t);
    const heads = rows.filter((r) => r[3] === '户主');
    const item = await t.core.db('policy_item').where({ code: 'JC-01' }).first('id');
    const roundId = await createRound(t.core, await actorFor(t, 'dept_agri'), { policyItemId: Number(item.id), period: '2026' });
    const rosterId = Number((await t.core.db('batch_roster').where({ round_id: roundId, township_id: await regionId(t, '城关镇') }).first('id')).id);
    const header = ['行政村', '户主姓名', '身份证号', '补贴档次', '补贴数量'];

    const bad = await importRosterFile(t.core, station, rosterId, { name: 'bad.xlsx', buffer: await writeTableXlsx('清册', header, [[heads[0]![0]!, heads[0]![1]!, heads[0]![2]!, '标准', '1.0001']]) });
    if (bad.ok) throw new Error('expected the file to be refused');
    expect(bad.errors.map((e) => `${e.rowNumber}|${e.field}|${e.message}`)).toEqual(['2|数量|数量应为不超过三位小数的正数，如 12.5']);

    const outcome = await importRosterFile(t.core, station, rosterId, { name: '清册.xlsx', buffer: await writeTableXlsx('清册', header, heads.map((h) => [h[0]!, h[1]!, h[2]!, '标准', '12.5'])) });
    expect(outcome).toMatchObject({ ok: true, added: heads.length });
    const lines = await t.core.db('batch_line').where({ roster_id: rosterId }).orderBy('id').select('person_name', 'tier_name', 'quantity_milli');
    expect(lines).toEqual(heads.map((h) => ({ person_name: h[1], tier_name: '标准', quantity_milli: 12500 })));
  });

  it('loads a department\'s list whose columns are 公民身份号码 and 死亡时间 as the format\'s 身份证号码 and 死亡日期', async () => {
    t = await createSeededDb();
    const id = idNumberFrom('99010219500101001');
    await registerPerson(t.core, await actorFor(t, 'station1'), { name: '张大山', idNumber: id, villageId: await regionId(t, '西街村'), relation: 'head', headPersonId: null, phone: null, account: null });
    const file = Buffer.from(`序号,人员姓名,公民身份号码,死亡时间,注销原因\r\n1,张大山,${id},2026-10-03,死亡\r\n`);
    const outcome = await loadReferenceSnapshot(t.core, await actorFor(t, 'finance'), { source: 'police_death', takenOn: '2026-11-01', file: { name: '公安死亡人员.csv', buffer: file } });
    expect(outcome).toMatchObject({ ok: true, rows: 1, matched: 1 });
    expect(await t.core.db('beneficiary_reference_hit').select('kind', 'event_date')).toEqual([{ kind: 'deceased', event_date: '2026-10-03' }]);
  });
});
