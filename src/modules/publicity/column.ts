import type { Conn } from '../../core/db.ts';
import { formatDateTime, isoWithOffset } from '../../core/dates.ts';
import { NotFoundError } from '../../core/errors.ts';
import { type Fen, formatYuan } from '../../core/money.ts';
import { type Region, inTreeOrder } from '../../core/regions.ts';
import { settingsAt } from '../../core/settings.ts';
import { computePerformance, paidResultsOfRounds, performanceFacts, publicFailedPayments } from '../bank/index.ts';
import { lineFacts, transferredRounds } from '../batch/index.ts';
import { INDICATORS, policyList, presentVersion, yearAllocations } from '../policy/index.ts';
import { NOTICE_KINDS, NOTICE_STATUSES, SUPERVISION_PHONE_KEY } from './model.ts';
import { noticesOfYear } from './queries.ts';
import { publishedViolations, recoveriesOf, recoveryTotals } from './violations.ts';

/**
 * 公开专栏 (一个专栏管公开): what the portal shows per county without login, read here so that the pages and the
 * open data (machine-readable copies for the upper-level portal) are the same figures: the fund ledgers (三级台账),
 * the published violations, the supervision telephones, and the registry of datasets.
 */

// --- regions of a county ----------------------------------------------------------------------------------

export interface CountyPlaces {
  townships: Region[];
  villages: Region[];
}

/** The county's townships and villages, in the order of their codes (core/regions.ts inTreeOrder). */
export async function countyPlaces(db: Conn, county: Region): Promise<CountyPlaces> {
  const rows = inTreeOrder<Region>(await db('core_region').where('path', 'like', `${county.path}%`).whereIn('level', ['township', 'village']));
  return { townships: rows.filter((r) => r.level === 'township'), villages: rows.filter((r) => r.level === 'village') };
}

// --- 三级台账 -----------------------------------------------------------------------------------------------

/** Paid money and the people it reached, at one place. */
export interface LedgerFigures {
  paidFen: Fen;
  /** People paid (distinct persons) in the place; a township's and the county's are the sums of their villages'. */
  people: number;
}

/** One public policy's ledger of a year: the county's allocation and what was paid, per township and village. */
export interface PolicyLedger extends LedgerFigures {
  itemId: number;
  code: string;
  name: string;
  level: string;
  department: string;
  allocatedFen: Fen;
  townships: Map<number, LedgerFigures>;
  villages: Map<number, LedgerFigures>;
}

export interface FundLedger {
  county: Region;
  year: number;
  places: CountyPlaces;
  policies: PolicyLedger[];
}

const blank = (): LedgerFigures => ({ paidFen: 0 as Fen, people: 0 });
const add = (into: LedgerFigures, from: LedgerFigures) => {
  into.paidFen = (into.paidFen + from.paidFen) as Fen;
  into.people += from.people;
};

/**
 * The county's fund ledgers of a year (三级台账, Qinghai 二(二)5: 县、乡、村三级台账), for each policy of its public list
 * (the same rule as the policy list: confidential ones are not shown): the allocation recorded for the county
 * (指标, policy module), and what the bank reported paid on the lines of the year's transferred rounds (bank module),
 * by village; the township's and the county's figures are the sums of their villages', so the three levels always
 * reconcile. A failed line's money is never "paid" (what went back to the treasury is not counted).
 */
export async function fundLedger(db: Conn, county: Region, year: number): Promise<FundLedger> {
  const [list, allocations, rounds, places] = await Promise.all([policyList(db, county, year, { publicOnly: true }), yearAllocations(db, county.id, year), transferredRounds(db, { countyId: county.id, year }), countyPlaces(db, county)]);
  const allocated = new Map(allocations.map((a) => [a.itemId, a.allocatedFen]));
  const policies = new Map<number, PolicyLedger>(
    list.map((v) => {
      const p = presentVersion(v);
      return [v.itemId, { itemId: v.itemId, code: p.code, name: p.name, level: p.level, department: p.department, allocatedFen: allocated.get(v.itemId) ?? (0 as Fen), ...blank(), townships: new Map(), villages: new Map() }];
    }),
  );
  const publicRounds = rounds.filter((r) => policies.has(r.policy_item_id));
  const paid = await paidResultsOfRounds(db, publicRounds.map((r) => r.id));
  const facts = new Map((await lineFacts(db, paid.map((p) => p.line_id))).map((f) => [f.line_id, f]));
  // Per policy and village: the money and the distinct persons.
  const perVillage = new Map<string, { itemId: number; townshipId: number; villageId: number; paidFen: number; persons: Set<number> }>();
  for (const p of paid) {
    const f = facts.get(p.line_id);
    if (!f) continue;
    const key = `${f.policy_item_id}:${f.village_id}`;
    const cell = perVillage.get(key) ?? { itemId: f.policy_item_id, townshipId: f.township_id, villageId: f.village_id, paidFen: 0, persons: new Set<number>() };
    cell.paidFen += p.amount_fen;
    cell.persons.add(f.person_id);
    perVillage.set(key, cell);
  }
  for (const cell of perVillage.values()) {
    const policy = policies.get(cell.itemId)!;
    const figures = { paidFen: cell.paidFen as Fen, people: cell.persons.size };
    policy.villages.set(cell.villageId, figures);
    const township = policy.townships.get(cell.townshipId) ?? blank();
    add(township, figures);
    policy.townships.set(cell.townshipId, township);
    add(policy, figures);
  }
  return { county, year, places, policies: [...policies.values()] };
}

/** A row of a ledger table: a policy's figures at one place, as shown (元) and as data (fen). */
export interface LedgerLine {
  code: string;
  name: string;
  department: string;
  allocatedFen: Fen | null;
  paidFen: Fen;
  people: number;
}

/** The figures of each policy at the county, a township or a village (no allocation below the county: 指标按县下达). */
export function ledgerLines(ledger: FundLedger, at: { township?: number; village?: number } = {}): LedgerLine[] {
  return ledger.policies.map((p) => {
    const f = at.village !== undefined ? (p.villages.get(at.village) ?? blank()) : at.township !== undefined ? (p.townships.get(at.township) ?? blank()) : p;
    return { code: p.code, name: p.name, department: p.department, allocatedFen: at.village === undefined && at.township === undefined ? p.allocatedFen : null, paidFen: f.paidFen, people: f.people };
  });
}

/** The sum of each place's figures over all policies (the township and village tables of a drill-down). */
export function placeTotals(ledger: FundLedger, level: 'township' | 'village', ids: number[]): Map<number, LedgerFigures> {
  const totals = new Map(ids.map((id) => [id, blank()]));
  for (const p of ledger.policies) for (const [id, f] of level === 'township' ? p.townships : p.villages) if (totals.has(id)) add(totals.get(id)!, f);
  return totals;
}

export function sumLines(lines: { allocatedFen: Fen | null; paidFen: Fen; people: number }[]): { allocatedFen: Fen | null; paidFen: Fen; people: number } {
  const allocated = lines.some((l) => l.allocatedFen !== null) ? (lines.reduce((s, l) => s + (l.allocatedFen ?? 0), 0) as Fen) : null;
  return { allocatedFen: allocated, paidFen: lines.reduce((s, l) => s + l.paidFen, 0) as Fen, people: lines.reduce((s, l) => s + l.people, 0) };
}

// --- supervision telephones -----------------------------------------------------------------------------------

/** The supervision telephones set for the county and each of its townships (publicity settings); '' when not set. */
export async function countyPhoneBook(db: Conn, county: Region, townships: Region[]): Promise<{ county: string; townships: { id: number; name: string; phone: string }[] }> {
  const own = (await settingsAt(db, county.id, [SUPERVISION_PHONE_KEY])).get(SUPERVISION_PHONE_KEY) ?? '';
  const phones = await Promise.all(townships.map(async (t) => ({ id: t.id, name: t.name, phone: (await settingsAt(db, t.id, [SUPERVISION_PHONE_KEY])).get(SUPERVISION_PHONE_KEY) ?? '' })));
  return { county: own, townships: phones };
}

// --- violations as shown -----------------------------------------------------------------------------------------

/** A published violation as the portal and the open data show it (where, in words; amounts in 元 and in fen). */
export async function presentedViolations(db: Conn, county: Region) {
  const rows = await publishedViolations(db, county.id);
  const ids = [...new Set(rows.flatMap((r) => [r.township_id, r.village_id]).filter((id): id is number => id !== null))];
  const names = new Map(((await db('core_region').whereIn('id', ids).select('id', 'name')) as { id: number; name: string }[]).map((r) => [r.id, r.name]));
  // Recovered so far: at the decision plus every recovery recorded since.
  const entries = await recoveriesOf(db, rows.map((r) => r.id));
  return rows.map((r) => ({ ...r, recovered_fen: recoveryTotals(r, entries.get(r.id) ?? []).recovered as Fen })).map((r) => ({
    id: r.id,
    township: r.township_id ? (names.get(r.township_id) ?? '') : '',
    village: r.village_id ? (names.get(r.village_id) ?? '') : '',
    policy: r.policy_name ?? '',
    title: r.title,
    facts: r.facts,
    involvedFen: r.involved_fen,
    involved: formatYuan(r.involved_fen),
    recoveredFen: r.recovered_fen,
    recovered: formatYuan(r.recovered_fen),
    handling: r.handling,
    docNumber: r.doc_number,
    docDate: r.doc_date,
    publishedOn: formatDateTime(r.published_at).slice(0, 10),
  }));
}

// --- open data ---------------------------------------------------------------------------------------------------

export type Cell = string | number | null;

/** A column of a dataset: its field name (amounts end in _fen, integers), its Chinese title, its kind. */
export interface DatasetColumn {
  key: string;
  title: string;
  kind: 'text' | 'integer' | 'fen';
}

/**
 * A dataset of the open data (/public/data): what the upper-level portal fetches per county as CSV and JSON, with
 * the same content and masking as the page it copies. `yearly` datasets take ?year= (this year by default).
 */
export interface Dataset {
  name: string;
  title: string;
  page: string;
  yearly: boolean;
  description: string;
  columns: DatasetColumn[];
  rows(db: Conn, county: Region, year: number): Promise<Record<string, Cell>[]>;
}

const col = (key: string, title: string, kind: DatasetColumn['kind'] = 'text'): DatasetColumn => ({ key, title, kind });

/** The datasets, in the order /public/data lists them. A new public page adds its dataset here (one entry). */
export const DATASETS: Dataset[] = [
  {
    name: 'policies',
    title: '惠民惠农财政补贴政策清单',
    page: '/public/policies',
    yearly: true,
    description: '本县（区）该年度执行的补贴项目（涉密项目不公开），与政策清单页面相同。',
    columns: [col('code', '项目编码'), col('name', '补贴项目名称'), col('level', '政策层级'), col('set_by', '制定机关所在地'), col('department', '主管部门'), col('basis', '政策依据'), col('payee', '发放对象'), col('frequency', '发放频次'), col('standard', '补贴标准'), col('years', '执行期限')],
    async rows(db, county, year) {
      return (await policyList(db, county, year, { publicOnly: true })).map(presentVersion).map((v) => ({ code: v.code, name: v.name, level: v.level, set_by: v.setBy, department: v.department, basis: v.basis, payee: v.payee, frequency: v.frequency, standard: v.standard, years: v.years }));
    },
  },
  {
    name: 'ledgers',
    title: '惠民惠农补贴资金三级台账',
    page: '/public/ledgers',
    yearly: true,
    description: '每个公开的补贴项目该年度的资金台账：县级一行（含下达指标），每个有发放的乡镇一行、村（社区）一行（指标按县下达，乡、村两级为空）。乡镇的数等于其各村之和，县的数等于各乡镇之和。',
    columns: [col('level', '层级（county 县 / township 乡镇 / village 村）'), col('township', '乡镇'), col('village', '村（社区）'), col('policy_code', '项目编码'), col('policy_name', '补贴项目名称'), col('department', '主管部门'), col('allocated_fen', '下达指标（分；仅县级行）', 'fen'), col('paid_fen', '已发放到人（分）', 'fen'), col('people', '发放人数', 'integer')],
    async rows(db, county, year) {
      const ledger = await fundLedger(db, county, year);
      const rows: Record<string, Cell>[] = [];
      const base = (p: PolicyLedger) => ({ policy_code: p.code, policy_name: p.name, department: p.department });
      for (const p of ledger.policies) {
        rows.push({ level: 'county', township: '', village: '', ...base(p), allocated_fen: p.allocatedFen, paid_fen: p.paidFen, people: p.people });
        for (const t of ledger.places.townships) {
          const tf = p.townships.get(t.id);
          if (!tf) continue;
          rows.push({ level: 'township', township: t.name, village: '', ...base(p), allocated_fen: null, paid_fen: tf.paidFen, people: tf.people });
          for (const v of ledger.places.villages.filter((v) => v.parent_id === t.id)) {
            const vf = p.villages.get(v.id);
            if (vf) rows.push({ level: 'village', township: t.name, village: v.name, ...base(p), allocated_fen: null, paid_fen: vf.paidFen, people: vf.people });
          }
        }
      }
      return rows;
    },
  },
  {
    name: 'performance',
    title: '惠民惠农补贴资金绩效目标完成情况',
    page: '/public/performance',
    yearly: true,
    description: '每个公开的补贴项目该年度的绩效指标：目标值和平台按发放数据计算的实际完成值（比例以万分之一为单位，人数为人），与绩效目标页面相同，不含个人信息。',
    columns: [col('policy_code', '项目编码'), col('policy_name', '补贴项目名称'), col('department', '主管部门'), col('indicator', '指标代码'), col('indicator_name', '绩效指标'), col('unit', '单位（bp 万分之一 / persons 人）'), col('comparison', '比较（gte 不低于）'), col('target', '目标值', 'integer'), col('achieved', '实际完成值', 'integer'), col('numerator', '分子', 'integer'), col('denominator', '分母', 'integer'), col('met', '是否达成（1 达成 / 0 未达成 / 空 无目标或无数据）', 'integer')],
    async rows(db, county, year) {
      const p = computePerformance(await performanceFacts(db, county, year, { publicOnly: true }));
      return p.policies.flatMap((x) =>
        x.indicators.map((i) => ({
          policy_code: x.code,
          policy_name: x.name,
          department: x.department,
          indicator: i.indicator,
          indicator_name: INDICATORS[i.indicator].label,
          unit: INDICATORS[i.indicator].unit,
          comparison: i.goal?.comparison ?? INDICATORS[i.indicator].comparison,
          target: i.goal?.target ?? null,
          achieved: i.achieved,
          numerator: i.numerator,
          denominator: i.denominator,
          met: i.met === null ? null : i.met ? 1 : 0,
        })),
      );
    },
  },
  {
    name: 'execution',
    title: '惠民惠农补贴资金预算执行进度',
    page: '/public/performance',
    yearly: true,
    description: '每个公开的补贴项目及全部项目合计（项目编码为空的行）该年度各月末的累计下达指标、国库拨付和发放到人金额，执行进度、要求进度（万分之一）和是否预警；尚未开始的月份不列。',
    columns: [col('policy_code', '项目编码（合计行为空）'), col('policy_name', '补贴项目名称'), col('month', '月份', 'integer'), col('allocated_fen', '累计下达指标（分）', 'fen'), col('transferred_fen', '累计国库拨付（分）', 'fen'), col('paid_fen', '累计发放到人（分）', 'fen'), col('execution_bp', '执行进度（万分之一）', 'integer'), col('expected_bp', '要求进度（万分之一）', 'integer'), col('warning', '是否预警（1 是 / 0 否）', 'integer')],
    async rows(db, county, year) {
      const p = computePerformance(await performanceFacts(db, county, year, { publicOnly: true }));
      const rows = (code: string, name: string, months: typeof p.total.months) =>
        months.filter((m) => m.begun).map((m) => ({ policy_code: code, policy_name: name, month: m.month, allocated_fen: m.allocatedFen, transferred_fen: m.transferredFen, paid_fen: m.paidFen, execution_bp: m.executionBp, expected_bp: m.expectedBp, warning: m.warning ? 1 : 0 }));
      return [...p.policies.flatMap((x) => rows(x.code, x.name, x.months)), ...rows('', '全部补贴项目合计', p.total.months)];
    },
  },
  {
    name: 'notices',
    title: '惠民惠农补贴公示公告',
    page: '/public/notices',
    yearly: true,
    description: '该年度开始公示的每份公示公告（按乡镇、批次）：公示期、状态、人数和金额；各村名单见公示表核验页面（姓名、身份证号部分隐藏）。',
    columns: [col('notice_id', '公示编号', 'integer'), col('title', '公示名称'), col('kind', '种类'), col('publicity_start', '公示开始日期'), col('publicity_end', '公示结束日期'), col('status', '状态'), col('people', '人数', 'integer'), col('total_fen', '金额（分）', 'fen'), col('published_at', '发布时间（北京时间）')],
    async rows(db, county, year) {
      return (await noticesOfYear(db, county.id, year)).map((n) => ({ notice_id: n.id, title: n.title, kind: NOTICE_KINDS[n.kind], publicity_start: n.publicity_start, publicity_end: n.publicity_end, status: NOTICE_STATUSES[n.status], people: n.lines, total_fen: n.total_fen, published_at: isoWithOffset(n.published_at) }));
    },
  },
  {
    name: 'failed-payments',
    title: '惠民惠农补贴发放失败人员名单',
    page: '/public/failed-payments',
    yearly: false,
    description: '补贴资金经多次发放未能到账、已暂缴回财政的人员（当前名单），与发放失败人员名单页面相同：姓名和身份证号按本县公开规则部分隐藏，不含账户信息。',
    columns: [col('township', '乡镇'), col('village', '村（社区）'), col('name', '姓名（部分隐藏）'), col('id_masked', '身份证号（部分隐藏）'), col('subsidy', '补贴项目（批次）'), col('amount_fen', '金额（分）', 'fen'), col('department', '主管部门')],
    async rows(db, county) {
      return (await publicFailedPayments(db, county.id)).map((r) => ({ township: r.township, village: r.village, name: r.name, id_masked: r.idMasked, subsidy: r.subsidy, amount_fen: r.amountFen, department: r.department }));
    },
  },
  {
    name: 'violations',
    title: '违规问题曝光',
    page: '/public/violations',
    yearly: false,
    description: '监督人员决定公开的虚报冒领等违规问题及处理情况（已撤回的不含）。',
    columns: [col('township', '乡镇'), col('village', '村（社区）'), col('policy', '补贴项目'), col('title', '标题'), col('facts', '基本事实'), col('involved_fen', '涉及金额（分）', 'fen'), col('recovered_fen', '已追回金额（分）', 'fen'), col('handling', '处理结果'), col('doc_number', '处理决定文号'), col('doc_date', '处理决定日期'), col('published_on', '公开日期')],
    async rows(db, county) {
      return (await presentedViolations(db, county)).map((v) => ({ township: v.township, village: v.village, policy: v.policy, title: v.title, facts: v.facts, involved_fen: v.involvedFen, recovered_fen: v.recoveredFen, handling: v.handling, doc_number: v.docNumber, doc_date: v.docDate, published_on: v.publishedOn }));
    },
  },
];

export const datasetNamed = (name: string) => DATASETS.find((d) => d.name === name);

/**
 * The ledger page of a county, a township or a village (三级台账): the policies' lines of that level with their total,
 * the places one level down with their figures and links, and the page's title. 404 for a place not in the county.
 */
export function presentLedger(ledger: FundLedger, county: Region, year: number, asked: { township: number | null; village: number | null }) {
  const base = `/public/ledgers?county=${county.id}&year=${year}`;
  const money = (l: { allocatedFen: number | null; paidFen: number; people: number }) => ({ allocated: l.allocatedFen === null ? '' : formatYuan(l.allocatedFen), paid: formatYuan(l.paidFen), people: l.people });
  const present = (lines: ReturnType<typeof ledgerLines>) => ({ rows: lines.map((l) => ({ code: l.code, name: l.name, department: l.department, ...money(l) })), total: money(sumLines(lines)) });
  let level: 'county' | 'township' | 'village' = 'county';
  let place: Region | undefined;
  let township: Region | undefined;
  let places: { name: string; href: string; paid: string; people: number }[] = [];
  if (asked.village) {
    place = ledger.places.villages.find((v) => v.id === asked.village);
    if (!place) throw new NotFoundError('本县（区）没有这个村（社区）');
    township = ledger.places.townships.find((t) => t.id === place!.parent_id);
    level = 'village';
  } else if (asked.township) {
    place = township = ledger.places.townships.find((t) => t.id === asked.township);
    if (!place) throw new NotFoundError('本县（区）没有这个乡镇（街道）');
    level = 'township';
  }
  const lines = level === 'village' ? ledgerLines(ledger, { village: place!.id }) : level === 'township' ? ledgerLines(ledger, { township: place!.id }) : ledgerLines(ledger);
  if (level !== 'village') {
    const list = level === 'county' ? ledger.places.townships : ledger.places.villages.filter((v) => v.parent_id === place!.id);
    const totals = placeTotals(ledger, level === 'county' ? 'township' : 'village', list.map((r) => r.id));
    places = list.map((r) => ({ name: r.name, href: `${base}&${level === 'county' ? 'township' : 'village'}=${r.id}`, paid: formatYuan(totals.get(r.id)!.paidFen), people: totals.get(r.id)!.people }));
  }
  const where = level === 'county' ? county.name : level === 'township' ? `${county.name}${place!.name}` : `${county.name}${township?.name ?? ''}${place!.name}`;
  return {
    title: `${where}${year}年惠民惠农补贴资金台账`,
    county,
    year,
    level,
    township,
    place,
    base,
    ...present(lines),
    places,
    placesLabel: level === 'county' ? '乡镇（街道）' : '村（社区）',
  };
}
