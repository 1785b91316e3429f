import type { Core } from '../src/core/context.ts';
import { recordAudit } from '../src/core/audit.ts';
import { hashPassword } from '../src/core/auth/password.ts';
import { ROLE_LABELS, type Role } from '../src/core/auth/roles.ts';
import { inTransaction, insertReturningId, nowIso } from '../src/core/db.ts';
import { type Region, insertRegion } from '../src/core/regions.ts';
import { sealedSettlementAccount } from '../src/modules/agreement/index.ts';
import { SUPERVISION_PHONE_KEY } from '../src/modules/publicity/index.ts';
import { seedDemoPeople } from './demo-people.ts';
import { DEMO_SETTLEMENT_ACCOUNT, seedDemoBatch } from './demo-batch.ts';
import { seedDemoReference } from './demo-reference.ts';
import { seedDemoPolicies } from './demo-policy.ts';

/**
 * The demo county: 江川省 › 临山市 › 青禾县 with three townships and their villages, two competent departments,
 * one agent bank, and one login per role. Fictional names throughout; no real person's data.
 */
export const DEFAULT_DEMO_PASSWORD = 'Ykt#Demo2026';

const TOWNSHIPS: Record<string, string[]> = {
  城关镇: ['东关社区', '西街村', '南河村'],
  石桥镇: ['石桥村', '上坪村', '下坪村'],
  柳河乡: ['柳河村', '杨树村', '红旗村'],
};

const ORGS = [
  { key: 'agri', kind: 'department', name: '青禾县农业农村局' },
  { key: 'civil', kind: 'department', name: '青禾县民政局' },
  { key: 'bank', kind: 'bank', name: '青禾县农村信用合作联社' },
] as const;

interface DemoUser {
  username: string;
  displayName: string;
  role: Role;
  /** Township name for township roles; the county otherwise. */
  township?: string;
  org?: (typeof ORGS)[number]['key'];
  label: string;
}

export const DEMO_USERS: DemoUser[] = [
  { username: 'admin', displayName: '王建国', role: 'admin', label: ROLE_LABELS.admin },
  { username: 'station1', displayName: '李春梅', role: 'township_station', township: '城关镇', label: `${ROLE_LABELS.township_station}（城关镇）` },
  { username: 'finance1', displayName: '赵立新', role: 'township_finance', township: '城关镇', label: `${ROLE_LABELS.township_finance}（城关镇）` },
  { username: 'dept_agri', displayName: '孙志强', role: 'department', org: 'agri', label: '业务主管部门（农业农村局）' },
  { username: 'dept_civil', displayName: '周丽华', role: 'department', org: 'civil', label: '业务主管部门（民政局）' },
  { username: 'finance', displayName: '吴国平', role: 'finance_section', label: ROLE_LABELS.finance_section },
  { username: 'treasury', displayName: '郑海燕', role: 'treasury', label: ROLE_LABELS.treasury },
  { username: 'bank', displayName: '冯晓东', role: 'bank', org: 'bank', label: `${ROLE_LABELS.bank}（农村信用合作联社）` },
  { username: 'supervisor', displayName: '陈卫东', role: 'supervisor', label: ROLE_LABELS.supervisor },
  { username: 'auditor', displayName: '褚文静', role: 'auditor', label: ROLE_LABELS.auditor },
];

/**
 * Seed the demo county once; a second run finds the admin and changes nothing. `people` adds the registry's
 * ~2,000 fake people (the demo has them; most tests do not need them).
 */
export async function seedDemo(core: Core, password: string, options: { people?: boolean } = {}): Promise<void> {
  if (await core.db('core_user').where({ username: 'admin' }).first('id')) return;
  const hash = await hashPassword(password, core.config.scryptLogN);
  await inTransaction(core.db, async (trx) => {
    const province = await insertRegion(trx, null, 'province', '江川省', '990000');
    const city = await insertRegion(trx, province, 'city', '临山市', '990100');
    const county = await insertRegion(trx, city, 'county', '青禾县', '990102');
    const townships = new Map<string, Region>();
    const villageIds = new Map<string, number>();
    let townshipNo = 0;
    for (const [township, villages] of Object.entries(TOWNSHIPS)) {
      townshipNo++;
      const t = await insertRegion(trx, county, 'township', township, `990102${String(townshipNo * 100).padStart(3, '0')}`);
      townships.set(township, t);
      for (const [i, village] of villages.entries()) {
        const v = await insertRegion(trx, t, 'village', village, `990102${String(townshipNo * 100).padStart(3, '0')}${String(i + 1).padStart(3, '0')}`);
        villageIds.set(village, v.id);
      }
    }
    const orgIds = new Map<string, number>();
    const orgIdsByName = new Map<string, number>();
    for (const org of ORGS) {
      const id = await insertReturningId(trx, 'core_org', { kind: org.kind, region_id: county.id, name: org.name, created_at: nowIso() });
      orgIds.set(org.key, id);
      orgIdsByName.set(org.name, id);
    }
    const now = nowIso();
    const userIds = new Map<string, number>();
    for (const u of DEMO_USERS) {
      const userId = await insertReturningId(trx, 'core_user', {
        username: u.username,
        display_name: u.displayName,
        password_hash: hash,
        region_id: u.township ? townships.get(u.township)!.id : county.id,
        org_id: u.org ? orgIds.get(u.org)! : null,
        must_change_password: false,
        password_changed_at: now,
        created_at: now,
        updated_at: now,
      });
      await trx('core_user_role').insert({ user_id: userId, role: u.role });
      userIds.set(u.username, userId);
    }
    // The county's agent bank agreement (代发协议) with the rural credit cooperative, serving every township.
    const agreementId = await insertReturningId(trx, 'agreement_contract', {
      county_id: county.id,
      bank_org_id: orgIds.get('bank')!,
      branch: '青禾县农村信用合作联社营业部',
      agreement_no: '青财代发〔2024〕1号',
      starts_on: '2024-01-01',
      ends_on: '2028-12-31',
      settlement_account_name: '青禾县农村信用合作联社惠民补贴代发清算户',
      ...sealedSettlementAccount(core.crypto, DEMO_SETTLEMENT_ACCOUNT),
      free_sms: true,
      free_withdrawal: true,
      procurement_project_no: 'QH-ZC-2023-017',
      procurement_method: 'open_tender',
      term_payment: '收到拨付资金后 2 个工作日内发放到账，发放结果 3 个工作日内反馈',
      term_notice: '每笔补贴到账后免费短信告知补贴项目、金额和发放部门',
      term_withdrawal: '每个行政村设助农取款点，跨行取款免费',
      term_data_security: '持卡人信息仅用于代发，加密传输和存储，不得向第三方提供',
      data_security_pledged: true,
      recorded_by: userIds.get('finance')!,
      recorded_at: now,
    });
    for (const t of townships.values()) await trx('agreement_township').insert({ agreement_id: agreementId, township_id: t.id });
    // The supervision telephones the publicity sheets print (Qinghai 二(四)11): the county's and each township's.
    const phone = (regionId: number, value: string) => trx('core_setting').insert({ region_id: regionId, key: SUPERVISION_PHONE_KEY, value, updated_by: userIds.get('admin')!, updated_at: now });
    await phone(county.id, '0990-12345');
    let extension = 0;
    for (const t of townships.values()) await phone(t.id, `0990-82100${++extension}`);
    const policies = await seedDemoPolicies(trx, { province, county, countyOrgs: orgIdsByName, userIds });
    const people = options.people ? await seedDemoPeople(trx, core, { villages: villageIds, bankOrgId: orgIds.get('bank')!, stationUserId: userIds.get('station1')! }) : 0;
    if (options.people) await seedDemoReference(trx, { countyId: county.id, financeUserId: userIds.get('finance')! });
    await recordAudit(trx, { userId: null, username: 'ykt-demo', regionId: county.id, ip: null }, { action: 'demo.seed', summary: { county: county.name, users: DEMO_USERS.length, policies, people } });
  });
  // Rounds are made through the batch commands (each its own transaction), once the registry is in place.
  if (options.people) await seedDemoBatch(core);
}
