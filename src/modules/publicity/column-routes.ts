import type Router from '@koa/router';
import type { Context } from 'koa';
import { businessDate, businessYear } from '../../core/dates.ts';
import { NotFoundError } from '../../core/errors.ts';
import { validate } from '../../core/http/validate.ts';
import { type Region, publicCounty } from '../../core/regions.ts';
import { csvLine } from '../../core/spreadsheet.ts';
import type { Web } from '../../core/web/web.ts';
import { INDICATOR_NOTES, countyPerformance, presentPerformance } from '../bank/index.ts';
import { DATASETS, type Dataset, countyPhoneBook, countyPlaces, datasetNamed, fundLedger, presentLedger, presentedViolations } from './column.ts';
import { columnQuerySchema, dataFileSchema } from './column-schemas.ts';

/** The pages of the column, in the order its home lists them: the address (with ?county=), the title, what it holds. */
const COLUMN_PAGES = [
  { path: '/public/policies', title: '政策清单', text: '本县（区）执行的惠民惠农财政补贴项目：政策依据、补贴对象、补贴标准、主管部门，可下载打印。', county: true },
  { path: '/public/notices', title: '公示公告', text: '正在公示和已结束公示的补贴发放名单公告。', county: true },
  { path: '/public/ledgers', title: '资金台账', text: '县、乡、村三级资金台账：每个补贴项目下达的指标、已发放到人的金额和人数。', county: true },
  { path: '/public/performance', title: '绩效目标和预算执行', text: '每个补贴项目的年度绩效目标和实际完成情况，以及按月的预算执行进度（汇总数据，不含个人信息）。', county: true },
  { path: '/public/failed-payments', title: '发放失败人员名单', text: '补贴经多次发放未能到账、资金已暂缴回财政的人员，请本人到乡镇核实信息后申请补发。', county: true },
  { path: '/public/violations', title: '违规问题曝光', text: '虚报冒领等违规问题的查处情况。', county: true },
  { path: '/public/supervision', title: '监督举报电话', text: '县（区）和各乡镇（街道）的监督举报电话。', county: true },
  { path: '/public/payments', title: '个人发放查询', text: '凭姓名、身份证号码和账户后四位查询本人的补贴发放结果。', county: false },
  { path: '/public/complaints', title: '异议和投诉举报', text: '对公示名单提出异议，或投诉举报补贴发放中的问题，并查询办理情况。', county: false },
  { path: '/public/verify', title: '公示表核验', text: '输入或扫描张贴的公示表上的验证码，核对公示表是否与平台一致。', county: false },
  { path: '/public/data', title: '公开数据下载', text: '以上公开数据的机器可读版本（CSV、JSON），供上级门户网站汇集。', county: true },
] as const;

/**
 * 公开专栏 (no login): the column's home per county, the fund ledgers (三级台账), the published violations, the
 * supervision telephones and the open data. Small pages, no script needed; every figure read in column.ts.
 */
export function columnRoutes(router: Router, web: Web): void {
  const { db } = web.core;

  /** The county asked for (the only one when there is one) and all counties to choose from; 404 for an unknown one. */
  async function countyOf(ctx: Context): Promise<{ county: Region | undefined; counties: Region[]; query: ReturnType<typeof columnQuerySchema.parse> }> {
    const query = validate(columnQuerySchema, ctx.query);
    return { ...(await publicCounty(db, query.county)), query };
  }

  /** The choice of county for a page of the column, when there are several and none was asked for. */
  const chooseCounty = (ctx: Context, title: string, path: string, counties: Region[]) => web.render(ctx, 'publicity/public-choose.njk', { title, path, counties });

  router.get('/public', async (ctx) => {
    const { county, counties } = await countyOf(ctx);
    if (!county) return chooseCounty(ctx, '惠民惠农财政补贴公开专栏', '/public', counties);
    web.render(ctx, 'publicity/public-home.njk', {
      title: `${county.name}惠民惠农财政补贴公开专栏`,
      county,
      pages: COLUMN_PAGES.map((p) => ({ ...p, href: p.county ? `${p.path}?county=${county.id}` : p.path })),
      otherCounties: counties.length > 1,
    });
  });

  router.get('/public/ledgers', async (ctx) => {
    const { county, counties, query } = await countyOf(ctx);
    if (!county) return chooseCounty(ctx, '惠民惠农补贴资金台账', '/public/ledgers', counties);
    const year = query.year ?? businessYear();
    web.render(ctx, 'publicity/public-ledgers.njk', presentLedger(await fundLedger(db, county, year), county, year, { township: query.township ?? null, village: query.village ?? null }));
  });

  // 推动补贴资金绩效信息向社会公开 (Chongqing 十二): the goals, achieved values and execution, aggregated per policy and county.
  router.get('/public/performance', async (ctx) => {
    const { county, counties, query } = await countyOf(ctx);
    if (!county) return chooseCounty(ctx, '补贴资金绩效目标和预算执行', '/public/performance', counties);
    const year = query.year ?? businessYear();
    web.render(ctx, 'publicity/public-performance.njk', {
      title: `${county.name}${year}年惠民惠农补贴资金绩效目标和预算执行`,
      county,
      year,
      report: presentPerformance(await countyPerformance(db, county, year, { publicOnly: true })),
      notes: INDICATOR_NOTES,
    });
  });

  router.get('/public/violations', async (ctx) => {
    const { county, counties } = await countyOf(ctx);
    if (!county) return chooseCounty(ctx, '违规问题曝光', '/public/violations', counties);
    web.render(ctx, 'publicity/public-violations.njk', { title: `${county.name}惠民惠农补贴违规问题曝光`, county, rows: await presentedViolations(db, county) });
  });

  router.get('/public/supervision', async (ctx) => {
    const { county, counties } = await countyOf(ctx);
    if (!county) return chooseCounty(ctx, '监督举报电话', '/public/supervision', counties);
    const { townships } = await countyPlaces(db, county);
    web.render(ctx, 'publicity/public-supervision.njk', { title: `${county.name}惠民惠农补贴监督举报电话`, county, phones: await countyPhoneBook(db, county, townships) });
  });

  router.get('/public/data', async (ctx) => {
    const { county, counties } = await countyOf(ctx);
    if (!county) return chooseCounty(ctx, '公开数据下载', '/public/data', counties);
    const year = businessYear();
    web.render(ctx, 'publicity/public-data.njk', {
      title: `${county.name}惠民惠农补贴公开数据`,
      county,
      year,
      datasets: DATASETS.map((d) => ({ ...d, query: `county=${county.id}${d.yearly ? `&year=${year}` : ''}` })),
    });
  });

  router.get('/public/data/:file', async (ctx) => {
    const { name, format } = validate(dataFileSchema, { file: ctx.params.file });
    const dataset = datasetNamed(name);
    if (!dataset) throw new NotFoundError('没有这个数据集：可下载的数据集见“公开数据下载”页面');
    const { county, query } = await countyOf(ctx);
    if (!county) throw new NotFoundError('请在地址中指明县（区）：?county=编号（见“公开数据下载”页面）');
    const year = query.year ?? businessYear();
    const rows = await dataset.rows(db, county, year);
    const fileName = `${county.name}-${dataset.name}${dataset.yearly ? `-${year}` : ''}.${format}`;
    if (format === 'json') web.sendFile(ctx, fileName, 'application/json; charset=utf-8', Buffer.from(JSON.stringify(datasetJson(dataset, county, year, rows), null, 1), 'utf8'));
    else web.sendFile(ctx, fileName, 'text/csv; charset=utf-8', datasetCsv(dataset, rows));
  });
}

/** The JSON of a dataset: what it is, for which county (and year), when, its columns, its rows with the same fields as the CSV. */
function datasetJson(dataset: Dataset, county: Region, year: number, rows: Record<string, string | number | null>[]) {
  return {
    dataset: dataset.name,
    title: dataset.title,
    county: { id: county.id, name: county.name, code: county.code ?? null },
    year: dataset.yearly ? year : null,
    generatedOn: businessDate(),
    columns: dataset.columns,
    rows: rows.map((r) => Object.fromEntries(dataset.columns.map((c) => [c.key, r[c.key] ?? null]))),
  };
}

/** The CSV of a dataset: UTF-8 with a byte-order mark, the field names as header, each text cell neutralised (csvLine), CRLF. */
function datasetCsv(dataset: Dataset, rows: Record<string, string | number | null>[]): Buffer {
  const lines = [csvLine(dataset.columns.map((c) => c.key)), ...rows.map((r) => csvLine(dataset.columns.map((c) => r[c.key] ?? null)))];
  return Buffer.from(`\uFEFF${lines.join('\r\n')}\r\n`, 'utf8');
}
