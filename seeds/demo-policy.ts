import { type Tx, insertReturningId, nowIso } from '../src/core/db.ts';
import type { Region } from '../src/core/regions.ts';

/**
 * The demo county's policy list: the 17 items of the Chongqing 规定清单 (渝财农〔2021〕61号 附件), set here by the
 * fictional province 江川省 with its departments, plus items of 青禾县's own (自定清单). Standards and
 * document numbers are plausible but fictional (江川省 does not exist); amounts in fen.
 */
interface DemoPolicy {
  code: string;
  name: string;
  dept: string;
  basis: [string, string];
  payee: 'person' | 'household';
  frequency: 'once' | 'monthly' | 'quarterly' | 'yearly';
  unit: string;
  tiers: [string, number][];
  fromYear: number;
  toYear?: number;
  groups?: string[];
  confidential?: boolean;
  /** 救助类: public employees may not receive it (its rounds run that check). */
  meansTested?: boolean;
  /** 突发灾害应急救助: its rounds may be opened as 应急救助（事后公示）. */
  emergencyRelief?: boolean;
  /** Yearly allocation to the demo county for 2026, in fen. */
  allocation: number;
  /** A later published version: [effective year, tiers, change note]. */
  revised?: [number, [string, number][], string];
}

const PROVINCE_DEPTS = ['江川省农业农村厅', '江川省水利厅', '江川省林业局', '江川省卫生健康委员会', '江川省民政厅', '江川省应急管理厅', '江川省住房和城乡建设厅'];

const PROVINCE_POLICIES: DemoPolicy[] = [
  { code: 'JC-01', name: '耕地地力保护补贴资金', dept: '江川省农业农村厅', basis: ['江川省耕地地力保护补贴实施办法', '江财农〔2021〕21号'], payee: 'household', frequency: 'yearly', unit: '亩', tiers: [['标准', 9800]], fromYear: 2021, allocation: 1_850_000_00, revised: [2024, [['标准', 10550]], '2024 年起标准由每亩 98.00 元调整为 105.50 元'] },
  { code: 'JC-02', name: '农机购置补贴资金', dept: '江川省农业农村厅', basis: ['江川省农机购置与应用补贴实施方案', '江农计财〔2021〕8号'], payee: 'person', frequency: 'once', unit: '台', tiers: [['小型机具', 3000_00], ['中型机具', 15000_00], ['大型机具', 45000_00]], fromYear: 2021, allocation: 620_000_00 },
  { code: 'JC-03', name: '大中型水库移民后期扶持资金', dept: '江川省水利厅', basis: ['江川省大中型水库移民后期扶持资金管理办法', '江水移〔2021〕5号'], payee: 'person', frequency: 'yearly', unit: '人', tiers: [['标准', 600_00]], fromYear: 2021, allocation: 96_000_00 },
  { code: 'JC-04', name: '前一轮退耕还林直补退耕农户资金', dept: '江川省林业局', basis: ['江川省完善退耕还林政策补助资金管理办法', '江林规〔2021〕3号'], payee: 'household', frequency: 'yearly', unit: '亩', tiers: [['标准', 90_00]], fromYear: 2021, toYear: 2027, allocation: 210_000_00 },
  { code: 'JC-05', name: '新一轮退耕还林直补退耕农户资金', dept: '江川省林业局', basis: ['江川省新一轮退耕还林还草实施方案', '江林规〔2021〕4号'], payee: 'household', frequency: 'yearly', unit: '亩', tiers: [['第一年', 500_00], ['第三年', 300_00], ['第五年', 400_00]], fromYear: 2021, allocation: 330_000_00 },
  { code: 'JC-06', name: '集体和个人所有森林生态效益补偿资金', dept: '江川省林业局', basis: ['江川省森林生态效益补偿基金管理办法', '江财农〔2021〕35号'], payee: 'household', frequency: 'yearly', unit: '亩', tiers: [['标准', 15_75]], fromYear: 2021, allocation: 152_000_00 },
  { code: 'JC-07', name: '农村部分计划生育家庭奖励扶助资金', dept: '江川省卫生健康委员会', basis: ['江川省农村部分计划生育家庭奖励扶助制度实施办法', '江卫家庭〔2021〕7号'], payee: 'person', frequency: 'yearly', unit: '人', tiers: [['标准', 960_00]], fromYear: 2021, allocation: 268_800_00 },
  { code: 'JC-08', name: '计划生育家庭特别扶助资金', dept: '江川省卫生健康委员会', basis: ['江川省计划生育家庭特别扶助制度实施方案', '江卫家庭〔2021〕8号'], payee: 'person', frequency: 'monthly', unit: '人·月', tiers: [['伤残', 590_00], ['死亡', 720_00]], fromYear: 2021, allocation: 155_000_00 },
  { code: 'JC-09', name: '困难群众救助补助——城乡居民最低生活保障金', dept: '江川省民政厅', basis: ['江川省最低生活保障审核确认办法', '江民发〔2021〕15号'], payee: 'household', frequency: 'monthly', unit: '人·月', tiers: [['A类', 635_00], ['B类', 500_00], ['C类', 300_00]], fromYear: 2021, groups: ['低保与特困供养'], meansTested: true, allocation: 1_620_000_00 },
  { code: 'JC-10', name: '困难群众救助补助——特困人员救助供养保障金', dept: '江川省民政厅', basis: ['江川省特困人员认定办法', '江民发〔2021〕16号'], payee: 'person', frequency: 'monthly', unit: '人·月', tiers: [['全自理', 826_00], ['半护理', 1026_00], ['全护理', 1226_00]], fromYear: 2021, groups: ['低保与特困供养', '特困供养与困难残疾人生活补贴'], meansTested: true, allocation: 580_000_00 },
  { code: 'JC-11', name: '困难群众救助补助——临时救助金', dept: '江川省民政厅', basis: ['江川省临时救助办法', '江民发〔2021〕17号'], payee: 'person', frequency: 'once', unit: '人次', tiers: [['一般救助', 1000_00], ['急难救助', 3000_00]], fromYear: 2021, meansTested: true, allocation: 120_000_00 },
  { code: 'JC-12', name: '经济困难高龄失能养老服务补贴资金', dept: '江川省民政厅', basis: ['江川省经济困难高龄失能老年人养老服务补贴实施办法', '江民发〔2021〕22号'], payee: 'person', frequency: 'monthly', unit: '人·月', tiers: [['轻度失能', 100_00], ['中度失能', 200_00], ['重度失能', 300_00]], fromYear: 2021, allocation: 86_000_00 },
  { code: 'JC-13', name: '残疾人两项补贴——重度残疾人护理补贴资金', dept: '江川省民政厅', basis: ['江川省困难残疾人生活补贴和重度残疾人护理补贴实施办法', '江民发〔2021〕23号'], payee: 'person', frequency: 'monthly', unit: '人·月', tiers: [['标准', 90_00]], fromYear: 2021, allocation: 140_000_00 },
  { code: 'JC-14', name: '残疾人两项补贴——困难残疾人生活补贴资金', dept: '江川省民政厅', basis: ['江川省困难残疾人生活补贴和重度残疾人护理补贴实施办法', '江民发〔2021〕23号'], payee: 'person', frequency: 'monthly', unit: '人·月', tiers: [['标准', 90_00]], fromYear: 2021, groups: ['特困供养与困难残疾人生活补贴'], allocation: 118_000_00 },
  { code: 'JC-15', name: '困难群众救助补助资金——散居孤儿、事实无人抚养儿童补助', dept: '江川省民政厅', basis: ['江川省孤儿和事实无人抚养儿童基本生活保障办法', '江民发〔2021〕30号'], payee: 'person', frequency: 'monthly', unit: '人·月', tiers: [['标准', 1200_00]], fromYear: 2021, meansTested: true, allocation: 43_200_00 },
  { code: 'JC-16', name: '自然灾害生活补助资金', dept: '江川省应急管理厅', basis: ['江川省自然灾害救助资金管理办法', '江应急〔2021〕11号'], payee: 'person', frequency: 'once', unit: '人', tiers: [['过渡期生活救助', 600_00], ['冬春生活救助', 400_00]], fromYear: 2021, emergencyRelief: true, allocation: 75_000_00 },
  { code: 'JC-17', name: '农村危房改造补助资金', dept: '江川省住房和城乡建设厅', basis: ['江川省农村危房改造补助资金管理办法', '江建村〔2021〕9号'], payee: 'household', frequency: 'once', unit: '户', tiers: [['拆除重建', 30000_00], ['修缮加固', 10000_00]], fromYear: 2021, allocation: 260_000_00 },
];

const COUNTY_POLICIES: DemoPolicy[] = [
  { code: 'QH-01', name: '青禾县高龄老人津贴', dept: '青禾县民政局', basis: ['青禾县高龄老人津贴发放办法', '青民发〔2022〕6号'], payee: 'person', frequency: 'monthly', unit: '人·月', tiers: [['80–89岁', 50_00], ['90–99岁', 100_00], ['100岁以上', 300_00]], fromYear: 2022, allocation: 210_000_00 },
  { code: 'QH-02', name: '青禾县粮食生产规模经营补贴', dept: '青禾县农业农村局', basis: ['青禾县粮食适度规模经营补贴实施方案', '青农发〔2023〕3号'], payee: 'person', frequency: 'yearly', unit: '亩', tiers: [['50–100亩', 50_00], ['100亩以上', 80_00]], fromYear: 2023, toYear: 2027, allocation: 90_000_00 },
  { code: 'QH-03', name: '青禾县特殊困难群体临时生活补助', dept: '青禾县民政局', basis: ['青禾县特殊困难群体临时生活补助办法', '青民发〔2024〕2号'], payee: 'person', frequency: 'once', unit: '人', tiers: [['标准', 2000_00]], fromYear: 2024, confidential: true, meansTested: true, allocation: 20_000_00 },
];

export async function seedDemoPolicies(
  trx: Tx,
  at: { province: Region; county: Region; countyOrgs: Map<string, number>; userIds: Map<string, number> },
): Promise<number> {
  const now = nowIso();
  const orgs = new Map(at.countyOrgs);
  for (const name of PROVINCE_DEPTS) orgs.set(name, await insertReturningId(trx, 'core_org', { kind: 'department', region_id: at.province.id, name, created_at: now }));
  const finance = at.userIds.get('finance')!;

  async function addVersion(itemId: number, p: DemoPolicy, versionNo: number, effectiveYear: number, tiers: [string, number][], note: string | null, state: 'published' | 'draft', editor: number) {
    const versionId = await insertReturningId(trx, 'policy_version', {
      item_id: itemId,
      version_no: versionNo,
      state,
      effective_year: effectiveYear,
      name: p.name,
      legal_basis_title: p.basis[0],
      legal_basis_number: p.basis[1],
      payee: p.payee,
      frequency: p.frequency,
      unit: p.unit,
      from_year: p.fromYear,
      to_year: p.toYear ?? null,
      confidential: p.confidential ?? false,
      means_tested: p.meansTested ?? false,
      emergency_relief: p.emergencyRelief ?? false,
      change_note: note,
      edited_by: editor,
      edited_at: now,
      published_by: state === 'published' ? finance : null,
      published_at: state === 'published' ? now : null,
    });
    await trx('policy_tier').insert(tiers.map(([name, standard_fen], position) => ({ version_id: versionId, position, name, standard_fen })));
    if (p.groups?.length) await trx('policy_exclusion').insert(p.groups.map((group_name) => ({ version_id: versionId, group_name })));
  }

  for (const [list, region, level] of [
    [PROVINCE_POLICIES, at.province, 'province'],
    [COUNTY_POLICIES, at.county, 'county'],
  ] as const) {
    for (const p of list) {
      const editor = p.dept === '青禾县民政局' ? at.userIds.get('dept_civil')! : at.userIds.get('dept_agri')!;
      const itemId = await insertReturningId(trx, 'policy_item', { code: p.code, level, region_id: region.id, department_org_id: orgs.get(p.dept)!, created_by: editor, created_at: now });
      await addVersion(itemId, p, 1, p.fromYear, p.tiers, null, 'published', editor);
      if (p.revised) await addVersion(itemId, p, 2, p.revised[0], p.revised[1], p.revised[2], 'published', editor);
      await trx('policy_allocation').insert({
        county_id: at.county.id,
        item_id: itemId,
        year: 2026,
        amount_fen: p.allocation,
        doc_number: `青财农〔2026〕${p.code.replace(/\D/g, '')}号`,
        doc_title: `关于下达2026年${p.name}的通知`,
        doc_date: '2026-02-10',
        recorded_by: finance,
        recorded_at: now,
      });
      // One adjustment waits for the finance section: 高龄老人津贴 raised from 2027.
      if (p.code === 'QH-01') {
        await addVersion(itemId, p, 2, 2027, [['80–89岁', 60_00], ['90–99岁', 120_00], ['100岁以上', 400_00]], '2027 年起提高高龄津贴标准', 'draft', editor);
      }
    }
  }
  return PROVINCE_POLICIES.length + COUNTY_POLICIES.length;
}
