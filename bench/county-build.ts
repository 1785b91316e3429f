import { loadActor } from '../src/core/auth/actor.ts';
import type { Actor } from '../src/core/auth/roles.ts';
import type { Core } from '../src/core/context.ts';
import { type Conn, type Tx, bulkInsert, inTransaction, insertReturningId, isPostgres, nowIso, reserveIds } from '../src/core/db.ts';
import { maskIdNumber } from '../src/core/mask.ts';
import { seededRandom } from '../src/core/random.ts';
import { insertRegion, type Region } from '../src/core/regions.ts';
import { createRound } from '../src/modules/batch/commands.ts';
import { luhnCheckDigit } from '../src/modules/beneficiary/account-number.ts';
import { checkCharacter } from '../src/modules/beneficiary/id-number.ts';
import { versionsById } from '../src/modules/policy/index.ts';

/**
 * The county of a million people of `npm run bench` (issue 18, item 4; bench/county.ts measures it): the demo county grown to 20 townships and 300 villages, 1,000,000 people in 300,000 households (an active
 * social security card for every adult, fields encrypted as the registry stores them), and 12 months of rounds of its
 * policies: the monthly policies' January–November rounds and the yearly policies' rounds paid (released, transferred,
 * the bank's results recorded, 0.4 % failed and returned to the treasury), December's rounds being compiled with their
 * rosters at every step — about 3,000,000 lines. Rows are written in bulk (people through the bulk insert, lines and
 * results set-based), not through the steps that have figures of their own.
 */
const HOUSEHOLDS = 300_000;
const PEOPLE = 1_000_000;
/** 城关镇's households: its farmland roster is the 50,000-line roster of the page figure. */
const TOWN_HOUSEHOLDS = 50_000;
const NEW_TOWNSHIPS = 17;
const VILLAGES_PER_TOWNSHIP = 15;

/** Each policy's share of the county: payee kind decides heads or anyone with a card; ids with (id - first) % every = at. */
interface Plan {
  code: string;
  every: number;
  at: number;
  /** Household payee: heads only; else anyone with an active card. */
  heads?: boolean;
  /** Paid per 亩: quantity 3–11 亩 by person; else 1. */
  perMu?: boolean;
}
const MONTHLY: Plan[] = [
  { code: 'JC-08', every: 160, at: 1 },
  { code: 'JC-09', every: 5, at: 0, heads: true },
  { code: 'JC-10', every: 52, at: 3 },
  { code: 'JC-12', every: 55, at: 7 },
  { code: 'JC-13', every: 27, at: 11 },
  { code: 'JC-14', every: 17, at: 5 },
  { code: 'JC-15', every: 400, at: 9 },
  { code: 'QH-01', every: 14, at: 2 },
];
const YEARLY: Plan[] = [
  { code: 'JC-01', every: 1, at: 0, heads: true, perMu: true },
  { code: 'JC-03', every: 27, at: 13 },
  { code: 'JC-04', every: 15, at: 1, heads: true, perMu: true },
  { code: 'JC-05', every: 15, at: 2, heads: true, perMu: true },
  { code: 'JC-06', every: 6, at: 3, heads: true, perMu: true },
  { code: 'JC-07', every: 20, at: 17 },
  { code: 'QH-02', every: 160, at: 50, perMu: true },
];
/** December's rosters, township by township: every step of compiling. */
const OPEN_STATES = ['draft', 'checking', 'checked', 'submitted', 'reported'] as const;

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉梅海燕春林文斌浩宇欣怡子涵佳琪雨萱俊熙梓轩晨阳思远淑珍凤德胜永福金花长青秋菊冬';
const DAY_MS = 86_400_000;
const ADULT_FROM = Date.UTC(1935, 0, 1);
const ADULT_DAYS = (Date.UTC(2006, 11, 31) - ADULT_FROM) / DAY_MS;
const CHILD_FROM = Date.UTC(2007, 0, 1);
const CHILD_DAYS = (Date.UTC(2024, 11, 31) - CHILD_FROM) / DAY_MS;

interface County {
  townships: Region[];
  villagesOf: Map<number, number[]>;
  firstPersonId: number;
}

async function growRegions(core: Core): Promise<County> {
  const county = (await core.db('core_region').where({ level: 'county' }).first()) as Region;
  return inTransaction(core.db, async (trx) => {
    const townships = (await trx('core_region').where({ parent_id: county.id, level: 'township' }).orderBy('id')) as Region[];
    for (let t = 0; t < NEW_TOWNSHIPS; t++) townships.push(await insertRegion(trx, county, 'township', `第${t + 1}乡`, `990102${400 + t * 10}`));
    const villagesOf = new Map<number, number[]>();
    for (const township of townships) {
      const existing = ((await trx('core_region').where({ parent_id: township.id }).orderBy('id').select('id')) as { id: number }[]).map((v) => Number(v.id));
      for (let v = existing.length; v < VILLAGES_PER_TOWNSHIP; v++) {
        existing.push((await insertRegion(trx, township, 'village', `${township.name.replace(/[镇乡]$/, '')}第${v + 1}村`, `${township.code}${String(v + 1).padStart(3, '0')}`)).id);
      }
      villagesOf.set(township.id, existing);
    }
    return { townships, villagesOf, firstPersonId: 0 };
  });
}

/** A valid ID number, unique by (adult, serial): the serial picks the birth date and the three-digit sequence. */
function idNumber(adult: boolean, serial: number, male: boolean): { id: string; birthDate: string } {
  const days = adult ? ADULT_DAYS : CHILD_DAYS;
  const birth = new Date((adult ? ADULT_FROM : CHILD_FROM) + (serial % days) * DAY_MS).toISOString().slice(0, 10);
  const seq = 2 * ((adult ? 0 : 250) + Math.floor(serial / days)) + (male ? 1 : 0);
  const body = `990102${birth.replace(/-/g, '')}${String(seq).padStart(3, '0')}`;
  return { id: body + checkCharacter(body), birthDate: birth };
}

/** The people, 20,000 households a transaction: households of 1–5 (3.33 on average), adults with a card each. */
async function buildPeople(core: Core, county: County): Promise<void> {
  const rnd = seededRandom(1_000_000);
  const pick = (s: string) => s[Math.floor(rnd() * s.length)]!;
  const sizes = [3, 4, 2, 5, 3, 3];
  const towns = county.townships;
  const serial = { adult: 0, child: 0 };
  let card = 0;
  const CHUNK = 20_000;
  for (let h0 = 0; h0 < HOUSEHOLDS; h0 += CHUNK) {
    await inTransaction(core.db, async (trx) => {
      const n = Math.min(CHUNK, HOUSEHOLDS - h0);
      const householdIds = await reserveIds(trx, 'beneficiary_household', n);
      const members = Array.from({ length: n }, (_, i) => sizes[(h0 + i) % sizes.length]!);
      const personIds = await reserveIds(trx, 'beneficiary_person', members.reduce((a, b) => a + b, 0));
      if (h0 === 0) county.firstPersonId = personIds[0]!;
      const people: { id: number; household: number; village: number; name: string; idNumber: string; birthDate: string; male: boolean; relation: string; card: string | null }[] = [];
      const households: { id: number; village: number; head: number }[] = [];
      for (let i = 0; i < n; i++) {
        const h = h0 + i;
        const township = h < TOWN_HOUSEHOLDS ? towns[0]! : towns[1 + ((h - TOWN_HOUSEHOLDS) % (towns.length - 1))]!;
        const villages = county.villagesOf.get(township.id)!;
        const village = villages[Math.floor(h / towns.length) % villages.length]!;
        const surname = pick(SURNAMES);
        for (let m = 0; m < members[i]!; m++) {
          const relation = m === 0 ? 'head' : m === 1 ? 'spouse' : m === 4 ? 'parent' : 'child';
          const adult = relation !== 'child' || rnd() < 0.5;
          const male = m === 0 ? rnd() < 0.8 : rnd() < 0.5;
          const { id, birthDate } = idNumber(adult, adult ? serial.adult++ : serial.child++, male);
          const name = (relation === 'spouse' ? pick(SURNAMES) : surname) + pick(GIVEN) + (rnd() < 0.6 ? pick(GIVEN) : '');
          let number: string | null = null;
          if (adult) {
            const body = `623999${String(card++).padStart(12, '0')}`;
            number = body + luhnCheckDigit(body);
          }
          people.push({ id: personIds[people.length]!, household: householdIds[i]!, village, name, idNumber: id, birthDate, male, relation, card: number });
        }
        households.push({ id: householdIds[i]!, village, head: people[people.length - members[i]!]!.id });
      }
      const ids = people.map((p) => p.idNumber);
      const idEnc = core.crypto.encryptMany(ids);
      const idIndex = core.crypto.blindIndexMany('id', ids);
      const holders = people.filter((p) => p.card !== null);
      const cards = holders.map((p) => p.card!);
      const cardEnc = core.crypto.encryptMany(cards);
      const cardIndex = core.crypto.blindIndexMany('account', cards);
      const now = nowIso();
      await bulkInsert(trx, 'beneficiary_household', households, (h) => ({ id: h.id, village_id: h.village, head_person_id: h.head, created_at: now, updated_at: now }));
      await bulkInsert(trx, 'beneficiary_person', people.map((p, i) => ({ p, i })), ({ p, i }) => ({
        id: p.id,
        name: p.name,
        id_enc: idEnc[i],
        id_index: idIndex[i],
        id_masked: maskIdNumber(p.idNumber),
        birth_date: p.birthDate,
        sex: p.male ? 'male' : 'female',
        village_id: p.village,
        household_id: p.household,
        relation: p.relation,
        status: 'active',
        created_at: now,
        updated_at: now,
      }));
      await bulkInsert(trx, 'beneficiary_account', holders.map((p, i) => ({ p, i })), ({ p, i }) => ({
        person_id: p.id,
        kind: 'sscard',
        bank_name: '青禾县农村信用合作联社',
        account_enc: cardEnc[i],
        account_index: cardIndex[i],
        account_last4: p.card!.slice(-4),
        holder_name: p.name,
        luhn_warning: false,
        status: 'active',
        active_person_id: p.id,
        opened_at: now,
      }));
    });
  }
}

/** A bound parameter in a SELECT list of INSERT … SELECT: PostgreSQL types it only with a cast. */
const param = (db: Conn, type: 'integer' | 'bigint' | 'timestamptz') => (isPostgres(db) ? `CAST(? AS ${type})` : '?');

/** One round's lines, set-based: the plan's people with a card, each on their township's roster. */
async function fillRound(trx: Tx, county: County, roundId: number, plan: Plan, actor: Actor): Promise<void> {
  const round = await trx('batch_round').where({ id: roundId }).first('policy_version_id');
  const [version] = await versionsById(trx, [Number(round.policy_version_id)]);
  const tier = version!.tiers[0]!;
  const quantity = plan.perMu ? `(p.id % 9 + 3)` : '1';
  const now = nowIso();
  const [int, big, at] = [param(trx, 'integer'), param(trx, 'bigint'), param(trx, 'timestamptz')];
  await trx.raw(
    `INSERT INTO batch_line (roster_id, round_id, person_id, household_id, village_id, person_name, id_masked, id_index, account_id, account_index,
       account_last4, bank_name, holder_name, policy_version_id, tier_name, standard_fen, quantity_milli, amount_fen, state, changed_after_publicity,
       reissue, source, created_by, created_at, updated_by, updated_at)
     SELECT s.id, s.round_id, p.id, p.household_id, p.village_id, p.name, p.id_masked, p.id_index, a.id, a.account_index, a.account_last4, a.bank_name,
       a.holder_name, ${int}, ?, ${big}, ${quantity} * 1000, ${big} * ${quantity}, 'active', FALSE, FALSE, 'entry', ${int}, ${at}, ${int}, ${at}
     FROM beneficiary_person p
     JOIN beneficiary_account a ON a.active_person_id = p.id
     JOIN core_region v ON v.id = p.village_id
     JOIN batch_roster s ON s.round_id = ? AND s.township_id = v.parent_id
     WHERE p.id >= ? AND (p.id - ?) % ? = ?${plan.heads ? " AND p.relation = 'head'" : ''}`,
    [version!.id, tier.name, tier.standardFen, tier.standardFen, actor.userId, now, actor.userId, now, roundId, county.firstPersonId, county.firstPersonId, plan.every, plan.at],
  );
}

/** A round paid: released to the bank, transferred, the bank's results recorded (every 250th line failed and returned to the treasury). */
async function payRound(trx: Tx, roundId: number, bankOrgId: number, actor: Actor): Promise<void> {
  const now = nowIso();
  const { lines, fen } = (await trx('batch_line').where({ round_id: roundId, state: 'active' }).first(trx.raw('count(*) as lines'), trx.raw('coalesce(sum(amount_fen), 0) as fen'))) as { lines: number; fen: number };
  await trx('batch_roster').where({ round_id: roundId }).update({ state: 'reported', publicity_start: '2026-11-02', publicity_end: '2026-11-10', approved_by: actor.userId });
  await trx('batch_round')
    .where({ id: roundId })
    .update({ state: 'transferred', bank_org_id: bankOrgId, released_lines: Number(lines), released_fen: Number(fen), payment_plan_no: `用款计划${roundId}`, payment_plan_fen: Number(fen), payment_plan_date: '2026-11-12' });
  await trx('batch_transfer').insert({ round_id: roundId, amount_fen: Number(fen), voucher_no: `支付凭证${roundId}`, bank_org_id: bankOrgId, destination_account: '青禾县农村信用合作联社惠民补贴代发清算户', recorded_by: actor.userId, recorded_at: now });
  const fileId = await insertReturningId(trx, 'bank_result_file', { round_id: roundId, bank_org_id: bankOrgId, file_sha256: `${roundId}`.padStart(64, '0'), file_name: `回盘${roundId}.csv`, channel: 'upload', rows: Number(lines), paid: Number(lines), failed: 0, uploaded_by: null, uploaded_at: now });
  const [int, at] = [param(trx, 'integer'), param(trx, 'timestamptz')];
  await trx.raw(
    `INSERT INTO bank_line_result (line_id, round_id, attempt, result, amount_fen, failure_code, failure_reason, result_file_id, recorded_at)
     SELECT l.id, l.round_id, 1, CASE WHEN l.id % 250 = 0 THEN 'failed' ELSE 'paid' END, l.amount_fen,
       CASE WHEN l.id % 250 = 0 THEN 'F01' END, CASE WHEN l.id % 250 = 0 THEN '账户不存在' END, ${int}, ${at}
     FROM batch_line l WHERE l.round_id = ?`,
    [fileId, now, roundId],
  );
  await trx.raw(
    `INSERT INTO bank_failure (line_id, round_id, round_title, period, county_id, department_org_id, bank_org_id, person_id, person_name, id_masked,
       township_id, village_id, amount_fen, state, funds, attempt, failure_code, failure_reason, account_id, account_last4, holder_name, opened_at, updated_at)
     SELECT l.id, r.id, r.title, r.period, r.county_id, r.department_org_id, ${int}, l.person_id, l.person_name, l.id_masked, s.township_id, l.village_id,
       l.amount_fen, 'returned', 'treasury', 3, 'F01', '账户不存在', l.account_id, l.account_last4, l.holder_name, ${at}, ${at}
     FROM batch_line l JOIN batch_round r ON r.id = l.round_id JOIN batch_roster s ON s.id = l.roster_id
     WHERE l.round_id = ? AND l.id % 250 = 0`,
    [bankOrgId, now, now, roundId],
  );
}

async function buildRounds(core: Core, county: County): Promise<{ bigRoster: number }> {
  const actor = async (u: string) => (await loadActor(core.db, { username: u }, null))!.actor;
  const [agri, civil, finance] = await Promise.all(['dept_agri', 'dept_civil', 'finance'].map(actor));
  const bank = Number((await core.db('core_org').where({ kind: 'bank' }).first('id')).id);
  const countyId = Number((await core.db('core_region').where({ level: 'county' }).first('id')).id);
  const items = new Map(((await core.db('policy_item').select('id', 'code')) as { id: number; code: string }[]).map((i) => [i.code, Number(i.id)]));
  const departmentOf = (code: string) => (['JC-01', 'JC-02', 'JC-04', 'JC-05', 'JC-06', 'QH-02'].includes(code) ? agri! : civil!);
  // Allocations large enough for a year of every policy.
  for (const code of [...MONTHLY, ...YEARLY].map((p) => p.code)) {
    await core.db('policy_allocation').insert({ county_id: countyId, item_id: items.get(code), year: 2026, amount_fen: 100_000_000_000_00, doc_number: `基准测试指标${code}`, doc_title: '基准测试指标', doc_date: '2026-01-01', recorded_by: finance!.userId, recorded_at: nowIso() });
  }
  let bigRoster = 0;
  const rounds: { plan: Plan; period: string }[] = [...YEARLY.map((plan) => ({ plan, period: '2026' })), ...MONTHLY.flatMap((plan) => Array.from({ length: 12 }, (_, m) => ({ plan, period: `2026-${String(m + 1).padStart(2, '0')}` })))];
  for (const { plan, period } of rounds) {
    const dept = departmentOf(plan.code);
    const roundId = await createRound(core, dept, { policyItemId: items.get(plan.code)!, period });
    await inTransaction(core.db, async (trx) => {
      await fillRound(trx, county, roundId, plan, dept);
      if (period === '2026-12') {
        const rosters = (await trx('batch_roster').where({ round_id: roundId }).orderBy('id').select('id')) as { id: number }[];
        for (const [i, r] of rosters.entries()) await trx('batch_roster').where({ id: r.id }).update({ state: OPEN_STATES[i % OPEN_STATES.length], last_changed_by: dept.userId, last_changed_at: nowIso() });
      } else {
        await payRound(trx, roundId, bank, finance!);
      }
    });
    if (plan.code === 'JC-01') bigRoster = Number((await core.db('batch_roster').where({ round_id: roundId, township_id: county.townships[0]!.id }).first('id')).id);
  }
  return { bigRoster };
}

/** What the measurements need of the built county. */
export interface BuiltCounty {
  /** The farmland subsidy's 50,000-line roster of 城关镇. */
  bigRoster: number;
  /** 城关镇, whose people every reader of the load may open. */
  townId: number;
}

/** Build the county on a migrated database with the demo county seeded. */
export async function buildCounty(core: Core): Promise<BuiltCounty> {
  const county = await growRegions(core);
  await buildPeople(core, county);
  const people = Number((await core.db('beneficiary_person').where('id', '>=', county.firstPersonId).count({ n: '*' }).first())!.n);
  if (people !== PEOPLE) throw new Error(`the county has ${people} people`);
  // The rounds' lines are selected from the people: PostgreSQL plans that by its statistics of them (autovacuum would
  // gather them within minutes of the load).
  if (isPostgres(core.db)) await core.db.raw('ANALYZE');
  const { bigRoster } = await buildRounds(core, county);
  return { bigRoster, townId: county.townships[0]!.id };
}
