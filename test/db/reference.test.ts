import { afterEach, describe, expect, it } from 'vitest';
import { ForbiddenError, ValidationError } from '../../src/core/errors.ts';
import { registerPerson } from '../../src/modules/beneficiary/commands.ts';
import { referenceHitsOf, snapshotHits } from '../../src/modules/beneficiary/queries.ts';
import { loadReferenceSnapshot, parseLooseDate } from '../../src/modules/beneficiary/reference.ts';
import { TEST_DB, type TestDb, actorFor, auditRows, createSeededDb, idNumberFrom, personalNumbers, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const A = idNumberFrom('99010219500101001');
const B = idNumberFrom('99010219600101002');
const C = idNumberFrom('99010219700101003');
const STRANGER = idNumberFrom('99010219800101004');
const csv = (lines: string[]) => Buffer.from(`\ufeff${lines.join('\r\n')}\r\n`);

async function registerThree(db: TestDb) {
  const station = await actorFor(db, 'station1');
  const village = await regionId(db, '西街村');
  const ids: number[] = [];
  for (const [name, idNumber] of [['张大山', A], ['李小河', B], ['王春花', C]] as const) {
    ids.push(await registerPerson(db.core, station, { name, idNumber, villageId: village, relation: 'head', headPersonId: null, phone: null, account: null }));
  }
  return ids;
}

const count = async (db: TestDb, table: string) => Number((await db.core.db(table).count({ n: '*' }).first())!.n);

describe(`reference data from other departments (${TEST_DB})`, () => {
  it('marks the registered people a death list names, keeps nothing about anyone else, and changes nothing when loaded twice', async () => {
    t = await createSeededDb();
    const [a, b] = await registerThree(t);
    const finance = await actorFor(t, 'finance');
    const file = csv(['姓名,身份证号码,死亡日期', `张大山,${A},2026-10-03`, `李晓河,${B},2026/9/1`, `赵外人,${STRANGER},20260801`]);

    const outcome = await loadReferenceSnapshot(t.core, finance, { source: 'police_death', takenOn: '2026-11-01', file: { name: '公安死亡人员.csv', buffer: file } });
    expect(outcome).toMatchObject({ ok: true, repeated: false, rows: 3, matched: 2 });
    const hits = await referenceHitsOf(t.core.db, [a!, b!]);
    expect(hits.map((h) => [h.person_id, h.kind, h.event_date, h.detail, h.current])).toEqual(
      expect.arrayContaining([
        [a, 'deceased', '2026-10-03', '', true],
        [b, 'deceased', '2026-09-01', '数据中姓名为“李晓河”，与档案不一致', true],
      ]),
    );
    // The person not in the registry left no trace: no hit, and the audit row holds counts only.
    expect(await count(t, 'beneficiary_reference_hit')).toBe(2);
    const [audit] = await auditRows(t.core, 'beneficiary.reference.load');
    expect(audit.summary).toContain('"matched":2');
    expect(personalNumbers(audit.summary)).toEqual([]);
    expect(audit.summary).not.toContain('赵外人');
    // Statuses are the station's to change, with the finance office's confirmation: nothing changed here.
    expect((await t.core.db('beneficiary_person').where({ id: a }).first()).status).toBe('active');

    const again = await loadReferenceSnapshot(t.core, finance, { source: 'police_death', takenOn: '2026-11-02', file: { name: 'again.csv', buffer: file } });
    expect(again).toMatchObject({ ok: true, repeated: true, matched: 2, takenOn: '2026-11-01' });
    expect(await count(t, 'beneficiary_reference_snapshot')).toBe(1);
    expect(await count(t, 'beneficiary_reference_hit')).toBe(2);
  });

  it('refuses a file with a bad ID number, date or duplicate, whole, with every row named', async () => {
    t = await createSeededDb();
    const finance = await actorFor(t, 'finance');
    const file = csv(['姓名,身份证号码,迁出日期,迁往地', `张大山,${A},2026-10-03,外省`, `李小河,${B.slice(0, 17)}0,2026-10-01,`, `王春花,${C},2026-13-01,`, `张大山,${A},2026-10-05,`, `,${STRANGER},2099-01-01,`]);
    const outcome = await loadReferenceSnapshot(t.core, finance, { source: 'police_move', takenOn: '2026-11-01', file: { name: 'bad.csv', buffer: file } });
    if (outcome.ok) throw new Error('expected the file to be refused');
    expect(outcome.errors.map((e) => `${e.rowNumber}|${e.field}|${e.message}`)).toEqual([
      '3|身份证号码|身份证号码校验位不正确（可能有数字录入错误）',
      '4|迁出日期|应为有效日期，如 2026-11-01',
      '5|身份证号码|与第 2 行重复',
      '6|姓名|不能为空',
      '6|迁出日期|不能晚于今天',
    ]);
    expect(await count(t, 'beneficiary_reference_snapshot')).toBe(0);
    await expect(loadReferenceSnapshot(t.core, finance, { source: 'police_move', takenOn: '2026-99-01', file: { name: 'x.csv', buffer: file } })).rejects.toThrow(ValidationError);
  });

  it('treats rosters (other programs, public employees) as of their date: a newer roster without a person ends their mark', async () => {
    t = await createSeededDb();
    const [a, b] = await registerThree(t);
    const finance = await actorFor(t, 'finance');
    const load = (takenOn: string, lines: string[]) => loadReferenceSnapshot(t!.core, finance, { source: 'public_employee', takenOn, file: { name: `${takenOn}.csv`, buffer: csv(['姓名,身份证号码,入职日期,工作单位', ...lines]) } });
    await load('2026-06-30', [`张大山,${A},,青禾县水利局`]);
    await load('2026-09-30', [`李小河,${B},2019-09-01,青禾县第一中学`]);
    const hits = await referenceHitsOf(t.core.db, [a!, b!]);
    expect(hits.map((h) => [h.person_id, h.detail, h.current])).toEqual([
      [b, '青禾县第一中学', true],
      [a, '青禾县水利局', false],
    ]);
  });

  it('is loaded by the county finance section only, and a township sees only its own people in a snapshot', async () => {
    t = await createSeededDb();
    await registerThree(t);
    const file = csv(['姓名,身份证号码,享受起始日期,救助项目', `张大山,${A},2025-01-01,城乡低保`]);
    for (const who of ['station1', 'finance1', 'supervisor']) {
      await expect(loadReferenceSnapshot(t.core, await actorFor(t, who), { source: 'civil_program', takenOn: '2026-11-01', file: { name: 'x.csv', buffer: file } })).rejects.toThrow(ForbiddenError);
    }
    const outcome = await loadReferenceSnapshot(t.core, await actorFor(t, 'finance'), { source: 'civil_program', takenOn: '2026-11-01', file: { name: 'x.csv', buffer: file } });
    if (!outcome.ok) throw new Error('expected the file to load');
    expect((await snapshotHits(t.core.db, await actorFor(t, 'finance1'), outcome.snapshotId, 1)).total).toBe(1);
    const shiqiao = await regionId(t, '石桥镇');
    const otherTownship = { ...(await actorFor(t, 'finance1')), regionId: shiqiao, regionPath: (await t.core.db('core_region').where({ id: shiqiao }).first()).path };
    expect((await snapshotHits(t.core.db, otherTownship, outcome.snapshotId, 1)).total).toBe(0);
  });
});

describe('dates in other departments\' files', () => {
  it('reads the usual spellings and Excel serial dates, and refuses impossible ones', () => {
    expect(['2026-11-01', '2026/11/1', '20261101', '2026年11月1日', '2026.11.01', '46327'].map(parseLooseDate)).toEqual(Array(6).fill('2026-11-01'));
    expect(['2026-02-30', '11/01/2026', '2026-11', ''].map(parseLooseDate)).toEqual([null, null, null, null]);
  });
});
