import fs from 'node:fs';
import iconv from 'iconv-lite';
import { afterEach, describe, expect, it } from 'vitest';
import { importRegions } from '../../src/core/region-import.ts';
import { inTreeOrder, readRegionCode } from '../../src/core/regions.ts';
import { createInitialAdmin } from '../../src/core/users.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, asAdmin, auditRows, createSeededDb, csrfFrom, login, regionId } from '../factories.ts';

const SAMPLE = fs.readFileSync(new URL('../../docs/samples/region-import-sample.csv', import.meta.url));

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const regionCount = async (t: TestDb) => Number(((await t.core.db('core_region').count({ n: '*' }).first()) as { n: number | string }).n);

async function upload(agent: ReturnType<typeof agentFor>, countyId: number | string, file: Buffer | null, name = '区划代码.csv') {
  const page = await agent.get('/admin/regions');
  const req = agent.post('/admin/regions/import').field('_csrf', csrfFrom(page.text)).field('countyId', String(countyId));
  return file ? req.attach('file', file, name) : req;
}

describe(`the county's regions from the statistics bureau's codes (${TEST_DB})`, () => {
  it('reads a code at each level, padded to 12 digits or not, and refuses codes of no level', () => {
    expect(readRegionCode('990102')).toEqual({ code: '990102', level: 'county' });
    expect(readRegionCode('990102000000')).toEqual({ code: '990102', level: 'county' });
    expect(readRegionCode('990102100000')).toEqual({ code: '990102100', level: 'township' });
    expect(readRegionCode('990102100')).toEqual({ code: '990102100', level: 'township' });
    expect(readRegionCode('990102100001')).toEqual({ code: '990102100001', level: 'village' });
    expect(readRegionCode('99')).toEqual({ code: '990000', level: 'province' });
    expect(readRegionCode('9901')).toEqual({ code: '990100', level: 'city' });
    expect(readRegionCode('990102000')).toMatch(/末 3 位不能为 000/);
    expect(readRegionCode('9901021')).toMatch(/位数不对（7 位）/);
    expect(readRegionCode('99010210000A')).toMatch(/应为数字/);
  });

  it('adds the sample file\'s new township and villages to the demo county, lists them in code order, and changes nothing the second time', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const county = await regionId(t, '青禾县');
    const page = await admin.get('/admin/regions');
    expect(page.text).toContain('按统计用区划代码导入乡镇和村（社区）');
    expect(page.text).toContain('href="/help/formats/region-import-format"');
    const before = await regionCount(t);

    const first = await upload(admin, county, SAMPLE, 'region-import-sample.csv');
    expect(first.status).toBe(303);
    const after = await admin.get('/admin/regions');
    expect(after.text).toContain('地区导入完成：新增 4 个，设置代码 0 个，更名 0 个，未变化 13 个');
    expect(await regionCount(t)).toBe(before + 4);
    const qingshui = await t.core.db('core_region').where({ code: '990102400' }).first();
    expect(qingshui).toMatchObject({ name: '清水乡', level: 'township', parent_id: county });
    expect(await t.core.db('core_region').where({ code: '990102400002' }).first()).toMatchObject({ name: '龙潭村', parent_id: qingshui.id });
    // The table lists each township's villages under it, in code order: 白沙村 (…004) after 下坪村 (…003).
    const names = [...after.text.matchAll(/<td>(?:　)*([^<　]+)<\/td><td>(?:乡镇|村)/g)].map((m) => m[1]);
    expect(names.indexOf('下坪村')).toBeLessThan(names.indexOf('白沙村'));
    expect(names.indexOf('白沙村')).toBeLessThan(names.indexOf('柳河乡'));
    expect(names.indexOf('红旗村')).toBeLessThan(names.indexOf('清水乡'));
    const imported = (await auditRows(t.core, 'region.import')).at(-1);
    expect(JSON.parse(imported.summary)).toMatchObject({ county: '青禾县', rows: 17, created: 4, coded: 0, renamed: 0, unchanged: 13 });
    expect((await auditRows(t.core, 'region.create')).filter((r) => JSON.parse(r.summary).via === 'import')).toHaveLength(4);

    const auditBefore = (await auditRows(t.core)).length;
    const again = await upload(admin, county, SAMPLE, 'region-import-sample.csv');
    expect(again.status).toBe(303);
    expect((await admin.get('/admin/regions')).text).toContain('地区表已与文件一致，本次没有做任何更改');
    expect(await regionCount(t)).toBe(before + 4);
    expect((await auditRows(t.core)).length).toBe(auditBefore);
  });

  it('imports the same file twice at once once: the second finds the first\'s regions and changes nothing', async () => {
    t = await createSeededDb();
    const county = await regionId(t, '青禾县');
    const actor = await actorFor(t, 'admin');
    const before = await regionCount(t);
    const file = { name: 'region-import-sample.csv', buffer: SAMPLE };
    const outcomes = await Promise.all([importRegions(t.core.db, actor, county, file), importRegions(t.core.db, actor, county, file)]);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(outcomes.map((o) => o.created).sort()).toEqual([0, 4]);
    expect(await regionCount(t)).toBe(before + 4);
    expect(await auditRows(t.core, 'region.import')).toHaveLength(1);
  });

  it('sets the codes of a county that create-admin made, and of its province and city, from a GB18030 file in any order', async () => {
    t = await createSeededDb();
    await createInitialAdmin(t.core, { username: 'admin_hc', displayName: '管理员', regionNames: ['北岭省', '临川市', '安平县'] });
    const actor = await actorFor(t, 'admin_hc');
    const county = await regionId(t, '安平县');
    // Rows in no order, with the level column instead of the parent code, as a county's own table may have them.
    const csv = ['统计用区划代码,级别,名称', '980304202001,村,北沟村', '980304202000,乡,北沟乡', '980304101002,社区,新华社区', '980304101000,镇,安平镇', '980304101001,村,城东村', '980304000000,县,安平县'].join('\r\n');
    const outcome = await importRegions(t.core.db, actor, county, { name: '安平县.csv', buffer: iconv.encode(csv, 'gb18030') });
    expect(outcome).toMatchObject({ ok: true, created: 5, coded: 3, renamed: 0 });
    const lineage = await t.core.db('core_region').whereIn('name', ['北岭省', '临川市', '安平县']).orderBy('id').select('name', 'code');
    expect(lineage).toEqual([
      { name: '北岭省', code: '980000' },
      { name: '临川市', code: '980300' },
      { name: '安平县', code: '980304' },
    ]);
    const tree = inTreeOrder(await t.core.db('core_region').where('path', 'like', `${(await t.core.db('core_region').where({ id: county }).first()).path}%`));
    expect(tree.map((r) => r.name)).toEqual(['安平县', '安平镇', '城东村', '新华社区', '北沟乡', '北沟村']);

    // The bureau renames a township: the next file renames it, by its code.
    const renamed = await importRegions(t.core.db, actor, county, { name: '安平县2.csv', buffer: Buffer.from(`\ufeff统计用区划代码,名称\n980304,安平县\n980304202,北沟镇\n`) });
    expect(renamed).toMatchObject({ ok: true, created: 0, coded: 0, renamed: 1, unchanged: 1, notInFile: 4 });
    expect(await t.core.db('core_region').where({ code: '980304202' }).first()).toMatchObject({ name: '北沟镇' });
  });

  it('refuses a file whole with each bad row and field named, and saves nothing', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const county = await regionId(t, '青禾县');
    const before = await regionCount(t);
    const csv = [
      '统计用区划代码,名称,上级代码,级别',
      '990102500000,新河乡,990102000000,乡', // fine on its own
      '990102500001,新河村,990102500000,', // fine
      '9901025000,坏代码,,', // row 4: 10 digits
      '990103100001,外县村,,', // row 5: another county's code
      '990102500001,重复村,,', // row 6: the code of row 3 again
      '990102500002,级别不符,,乡', // row 7: a village code said to be a township
      '990102500003,上级不符,990102100000,', // row 8: parent code not its prefix
      '990102600001,孤村,,', // row 9: its township is nowhere
      '990102100001,西街村,,', // row 10: 东关社区's code under another name is a rename … but 西街村 is its sibling: refused
      ',无代码,,', // row 11
    ].join('\n');
    const res = await upload(admin, county, Buffer.from(csv), '青禾县.csv');
    expect(res.status).toBe(422);
    expect(res.text).toContain('文件未导入');
    for (const message of [
      '第 4 行「统计用区划代码」：位数不对（10 位）',
      '第 5 行「统计用区划代码」：不属于“青禾县”：本县（区）的代码以 990102 开头',
      '第 6 行「统计用区划代码」：与第 3 行的代码重复',
      '第 7 行「统计用区划代码」：与级别“乡”不符',
      '第 8 行「上级代码」：应为本行代码的前 9 位（990102500）',
      '第 9 行「统计用区划代码」：上级乡镇（990102600）既不在文件中，也不在本县（区）的地区表中',
      '第 10 行「名称」：同一上级下已有名为“西街村”的地区',
      '第 11 行「统计用区划代码」：请填写统计用区划代码',
    ]) {
      expect(res.text).toContain(message);
    }
    expect(res.text).toMatch(/href="\/downloads\/[^"]+" download/);
    expect(await regionCount(t)).toBe(before);
    expect(await auditRows(t.core, 'region.import')).toHaveLength(0);
  });

  it('answers a form without its county or file with 422, an error summary linking to both fields, and keeps the choice', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const none = await upload(admin, '', null);
    expect(none.status).toBe(422);
    expect(none.text).toContain('href="#f-imp-countyId"');
    expect(none.text).toContain('href="#f-imp-file"');
    expect(none.text).toContain('请选择要导入的区划代码文件（Excel 或 CSV）');
    const county = await regionId(t, '青禾县');
    const noFile = await upload(admin, county, null);
    expect(noFile.status).toBe(422);
    expect(noFile.text).toContain(`<option value="${county}" selected>`);
    // A picture is not a table: refused whole, with the reason.
    const picture = await upload(admin, county, Buffer.from('89504e470d0a1a0a0000', 'hex'), 'map.png');
    expect(picture.status).toBe(422);
    expect(picture.text).toContain('文件不是 Excel 或 CSV：看起来是 PNG 图片');
  });

  it('checks a code typed in the new-region form by the same rules: its length says its level, and it starts with its parent\'s', async () => {
    t = await createSeededDb();
    const admin = await asAdmin(t);
    const page = await admin.get('/admin/regions');
    const add = (code: string) => admin.post('/admin/regions').type('form').send({ _csrf: csrfFrom(page.text), parentId: String(page.text.match(/<option value="(\d+)">　+柳河乡/)![1]), name: '新民村', code });
    const township = await add('990102400');
    expect(township.status).toBe(422);
    expect(township.text).toContain('这是乡镇（街道）的代码，而新地区是村（社区）');
    expect(township.text).toContain('value="990102400"');
    const elsewhere = await add('990102200009');
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.text).toContain('应以上级“柳河乡”的代码 990102300 开头');
    expect((await add('990102300004')).status).toBe(303);
    expect(await t.core.db('core_region').where({ code: '990102300004' }).first()).toMatchObject({ name: '新民村', level: 'village' });
  });

  it('lets only an administrator import regions, and only into a county of their scope', async () => {
    t = await createSeededDb();
    const station = agentFor(t.core);
    await login(station, 'station1');
    const page = await station.get('/');
    const res = await station.post('/admin/regions/import').field('_csrf', csrfFrom(page.text)).field('countyId', String(await regionId(t, '青禾县'))).attach('file', SAMPLE, 'x.csv');
    expect(res.status).toBe(403);
    await createInitialAdmin(t.core, { username: 'admin_hc', displayName: '管理员', regionNames: ['北岭省', '临川市', '安平县'] });
    const other = await actorFor(t, 'admin_hc');
    await expect(importRegions(t.core.db, other, await regionId(t, '青禾县'), { name: 'x.csv', buffer: SAMPLE })).rejects.toThrow('不在您的管辖范围');
  });
});
