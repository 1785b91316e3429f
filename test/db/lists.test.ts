import ExcelJS from 'exceljs';
import { strFromU8, unzipSync } from 'fflate';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import { optional } from '../../src/core/fields.ts';
import { defineList, describeFilters, listWorkbook } from '../../src/core/lists.ts';
import { TEST_DB, type TestDb, createSeededDb } from '../factories.ts';

/** The list mechanism of core/lists.ts over the demo county's regions (1 province, 1 city, 1 county, 3 townships, 9 villages). */
const LEVELS = ['province', 'city', 'county', 'township', 'village'];
const regionList = defineList({
  path: '/regions',
  filters: { level: optional(z.enum(LEVELS as [string, ...string[]], { error: '请选择层级' })), name: optional(z.string().max(10, { error: '名称过长' })) },
  sorts: {
    level: { label: '层级', by: [{ column: 'r.level', order: LEVELS }] },
    name: { label: '名称', by: ['r.name'], first: 'desc' },
  },
  defaultSort: 'level',
  defaultDir: 'asc',
  id: 'r.id',
});

let t: TestDb;
beforeAll(async () => {
  t = await createSeededDb();
});
afterAll(() => t.cleanup());

const regions = (filters: { level?: string | null; name?: string | null }) => {
  const q = t.core.db('core_region as r').select('r.id', 'r.name', 'r.level');
  if (filters.level) q.where('r.level', filters.level);
  if (filters.name) q.where('r.name', 'like', `%${filters.name}%`);
  return q;
};

describe(`lists: query strings, order, pages, links and exports (${TEST_DB})`, () => {
  it('reads a query string: defaults, and a Chinese message for each bad field', () => {
    expect(regionList.parse({})).toEqual({ filters: { level: null, name: null }, sort: 'level', dir: 'asc', page: 1 });
    expect(regionList.parse({ level: 'village', sort: 'name', dir: 'asc', page: '3' })).toEqual({ filters: { level: 'village', name: null }, sort: 'name', dir: 'asc', page: 3 });
    // A sort without a direction goes the way of a first click on its header.
    expect(regionList.parse({ sort: 'name' })).toMatchObject({ sort: 'name', dir: 'desc' });
    expect(regionList.parse({ sort: 'level' })).toMatchObject({ sort: 'level', dir: 'asc' });
    let refused: unknown;
    try {
      regionList.parse({ sort: 'r.id; drop table core_region', dir: 'sideways', page: 'x', level: 'planet' });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).fieldErrors).toEqual({
      sort: '排序无效：只能按层级、名称排序，请点击表头',
      dir: '排序方向无效：只能是升序（asc）或降序（desc），请点击表头',
      page: '页码无效',
      level: '请选择层级',
    });
  });

  it('orders a column of codes by its vocabulary, ties by id, the other way round in descending order', async () => {
    const ascending = await regionList.all<{ id: number; level: string }>(regions({}), regionList.parse({}));
    expect(ascending.map((r) => r.level)).toEqual(['province', 'city', 'county', 'township', 'township', 'township', ...Array(9).fill('village')]);
    const villages = ascending.filter((r) => r.level === 'village').map((r) => Number(r.id));
    expect(villages).toEqual([...villages].sort((a, b) => a - b));
    const descending = await regionList.all<{ id: number }>(regions({}), regionList.parse({ dir: 'desc' }));
    expect(descending.map((r) => Number(r.id))).toEqual(ascending.map((r) => Number(r.id)).reverse());
  });

  it('pages the selection and counts all of it; an export over its cap is refused with the count', async () => {
    const query = regionList.parse({ level: 'village', sort: 'name', dir: 'asc' });
    const { rows, total } = await regionList.page<{ name: string }>(regions(query.filters), query);
    expect(total).toBe(9);
    expect(rows).toHaveLength(9);
    const byDb = (await t.core.db('core_region').where({ level: 'village' }).orderBy('name').orderBy('id').select('name')).map((r: { name: string }) => r.name);
    expect(rows.map((r) => r.name)).toEqual(byDb);
    expect((await regionList.page(regions(query.filters), { ...query, page: 2 })).rows).toEqual([]);
    await expect(regionList.all(regions({}), regionList.parse({}), 10)).rejects.toMatchObject({ status: 422, fieldErrors: { export: '按当前筛选共有 15 条，超过单次导出的上限 10 条：请增加筛选条件，分批导出' } });
    expect(await regionList.all(regions({}), regionList.parse({}), 15)).toHaveLength(15);
  });

  it('builds links that keep the filters, the sort and the page of each other', () => {
    const query = regionList.parse({ level: 'village', name: '河', sort: 'name', dir: 'asc', page: '2' });
    const links = regionList.links(query, 120);
    const filters = 'level=village&name=%E6%B2%B3';
    expect(links.sort.name).toEqual({ href: `/regions?${filters}&sort=name&dir=desc`, ariaSort: 'ascending' });
    // The default order needs no sort in the address; a header sorts from page 1.
    expect(links.sort.level).toEqual({ href: `/regions?${filters}`, ariaSort: null });
    expect(links.pager).toEqual({ page: 2, pages: 3, total: 120, base: `${filters}&sort=name&dir=asc` });
    expect(links.exportHref).toBe(`/regions/export.xlsx?${filters}&sort=name&dir=asc`);
    expect(links.keep).toEqual([{ name: 'sort', value: 'name' }, { name: 'dir', value: 'asc' }]);
    expect(regionList.filterHref(query, { level: 'township' })).toBe('/regions?level=township&name=%E6%B2%B3&sort=name&dir=asc');
    // A header not sorted by starts in its own first direction.
    expect(regionList.links(regionList.parse({}), 0).sort.name.href).toBe('/regions?sort=name&dir=desc');
    expect(regionList.describeSort(query)).toBe('按名称升序');
    expect(describeFilters([['层级', '村'], ['名称', null], ['逾期', false]])).toBe('层级：村');
    expect(describeFilters([['名称', '']])).toBe('全部');
  });

  it('writes an export as text cells: a heading row, formulas neutralised, ID numbers masked', async () => {
    const rows = [['=HYPERLINK("http://x","y")', '+1', '-2', '@SUM(A1)', '11010519491231002X', '1,234.50', null]];
    const file = await listWorkbook({ title: '测试清单', filter: '全部', sort: '按名称升序', by: '张三' }, ['甲', '乙', '丙', '丁', '戊', '己', '庚'].map((header, i) => ({ header, width: 10, value: (r: (string | null)[]) => r[i]! })), rows);
    expect(file.fileName).toMatch(/^测试清单-\d{4}-\d{2}-\d{2}\.xlsx$/);
    expect(file.summary).toEqual({ rows: 1, filter: '全部', sort: '按名称升序' });
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(file.body as never);
    const sheet = workbook.worksheets[0]!;
    expect(String(sheet.getCell(1, 1).value)).toMatch(/^测试清单（筛选：全部；按名称升序），共 1 条。张三 导出于 \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    expect((sheet.getRow(2).values as unknown[]).slice(1)).toEqual(['甲', '乙', '丙', '丁', '戊', '己', '庚']);
    expect((sheet.getRow(3).values as unknown[]).slice(1)).toEqual([`'=HYPERLINK("http://x","y")`, "'+1", "'-2", "'@SUM(A1)", '110***********002X', '1,234.50', '']);
    const parts = unzipSync(new Uint8Array(file.body));
    const sheetXml = strFromU8(parts['xl/worksheets/sheet1.xml']!);
    expect(sheetXml).not.toContain('<f>');
    expect(sheetXml).not.toMatch(/t="(str|n)"/);
    expect(Object.values(parts).map((p) => strFromU8(p)).join('')).not.toContain('11010519491231002X');
  });
});
