import { loadActor } from '../src/core/auth/actor.ts';
import type { Actor } from '../src/core/auth/roles.ts';
import { loadCalendar } from '../src/core/calendar.ts';
import type { Core } from '../src/core/context.ts';
import { addCalendarDays, businessDate } from '../src/core/dates.ts';
import { writeTableXlsx } from '../src/core/spreadsheet.ts';
import { checkRoster, createRound } from '../src/modules/batch/commands.ts';
import { MIN_PUBLICITY_DAYS } from '../src/modules/batch/model.ts';
import { importRosterFile } from '../src/modules/batch/roster-import.ts';
import { recordPaymentPlan, recordTransfer, releaseRound, roundMoney, submitRound } from '../src/modules/batch/round-workflow.ts';
import { actOnRoster } from '../src/modules/batch/workflow.ts';
import { publishNotice } from '../src/modules/publicity/commands.ts';
import { movePublication } from './demo-publicity.ts';
import { seedDemoBank, seedDemoReconciliation } from './demo-bank.ts';

/**
 * The demo's payment rounds, made through the same commands the pages use, so that every role finds work:
 * - 2026年耕地地力保护补贴 (农业农村局): 城关镇's roster checked and submitted, waiting for the department's review;
 * - 2026年青禾县粮食生产规模经营补贴 (农业农村局): 城关镇's roster at the finance office's cross-check, two people
 *   the police report dead on it;
 * - 2026年11月城乡低保 (民政局, a means-tested policy): 城关镇's roster being compiled by the station, public employees on it;
 * - 经济困难高龄失能养老服务补贴 (民政局) for 2026-08, paid and answered by the bank with failures at every step
 *   (demo-bank.ts), 2026-09, transferred with no answer yet, and 2026-10, released to the bank and waiting for the
 *   treasury; 困难残疾人生活补贴 2026-10 submitted, waiting for the finance section's review;
 *   重度残疾人护理补贴 2026-10 reported by the township, waiting for the department to submit it, and 2026-11 in
 *   publicity that has already ended, waiting for the finance office's confirmation (then the station reports it).
 * The 2026-08 round was transferred in the last quarter that ended, whose reconciliation with the bank is open.
 * Demo time: a publicity starts on the day its notice is published, so the seed publishes today and then moves the
 * seven days into the past (endedPublicity), so that the steps after it can be taken on the day the demo is seeded.
 */
const HEADER = ['村（社区）', '姓名', '身份证号码', '档次', '数量'];

/** The demo agent bank's settlement account in its agreement (a made-up number; demo.ts records the agreement). */
export const DEMO_SETTLEMENT_ACCOUNT = '990102000100200301';

/** A publicity period of the shortest length allowed that began eight days before `today` and ended two days before it. */
function endedPublicity(today: string): { start: string; end: string } {
  const start = addCalendarDays(today, -(MIN_PUBLICITY_DAYS + 1));
  return { start, end: addCalendarDays(start, MIN_PUBLICITY_DAYS - 1) };
}

interface DemoPerson {
  relation: string;
  status: string;
  id: number;
  name: string;
  idNumber: string;
  village: string;
}

export async function seedDemoBatch(core: Core): Promise<void> {
  if (await core.db('batch_round').first('id')) return;
  const actor = async (username: string): Promise<Actor> => (await loadActor(core.db, { username }, null))!.actor;
  const [station, office, agri, civil] = await Promise.all(['station1', 'finance1', 'dept_agri', 'dept_civil'].map(actor));
  const township = await core.db('core_region').where({ name: '城关镇', level: 'township' }).first('id');
  const people: DemoPerson[] = (
    await core.db('beneficiary_person as p')
      .join('core_region as v', 'v.id', 'p.village_id')
      .where({ 'v.parent_id': township.id })
      .orderBy('p.id')
      .select('p.id', 'p.name', 'p.id_enc', 'p.relation', 'p.status', 'v.name as village')
  ).map((p) => ({ id: Number(p.id), name: p.name, idNumber: core.crypto.decrypt(p.id_enc), village: p.village, relation: p.relation, status: p.status }));
  // People every check passes: 在册, their own card, no mark from other departments.
  const clean = new Set(
    (
      await core.db('beneficiary_person as p')
        .join('beneficiary_account as a', 'a.active_person_id', 'p.id')
        .where('p.status', 'active')
        .whereRaw('a.holder_name = p.name')
        .whereNotExists((q) => q.select(core.db.raw('1')).from('beneficiary_account as b').whereRaw('b.account_index = a.account_index').whereRaw('b.id <> a.id'))
        .whereNotExists((q) => q.select(core.db.raw('1')).from('beneficiary_reference_hit as h').whereRaw('h.person_id = p.id'))
        .select('p.id')
    ).map((r: { id: number }) => Number(r.id)),
  );
  const markedAs = async (kind: string) => new Set(((await core.db('beneficiary_reference_hit').where({ kind }).select('person_id')) as { person_id: number }[]).map((r) => Number(r.person_id)));
  const dead = await markedAs('deceased');
  const employees = await markedAs('public_employee');
  const heads = people.filter((p) => p.relation === 'head');
  const cleanHeads = heads.filter((h) => clean.has(h.id));

  const round = async (code: string, period: string, dept: Actor) => {
    const item = await core.db('policy_item').where({ code }).first('id');
    const roundId = await createRound(core, dept, { policyItemId: Number(item.id), period });
    return Number((await core.db('batch_roster').where({ round_id: roundId, township_id: township.id }).first('id')).id);
  };
  const load = async (rosterId: number, people: DemoPerson[], tier: (i: number) => string, quantity: (i: number) => string) => {
    const file = await writeTableXlsx('清册', HEADER, people.map((p, i) => [p.village, p.name, p.idNumber, tier(i), quantity(i)]));
    const outcome = await importRosterFile(core, station, rosterId, { name: '城关镇清册（演示）.xlsx', buffer: file });
    if (!outcome.ok) throw new Error(`demo roster refused: ${outcome.errors[0]?.message}`);
  };
  const step = async (who: Actor, rosterId: number, action: Parameters<typeof actOnRoster>[3]) => {
    const { version } = await core.db('batch_roster').where({ id: rosterId }).first('version');
    await actOnRoster(core, who, rosterId, action, { version: Number(version) });
  };

  const farmland = await round('JC-01', '2026', agri);
  await load(farmland, cleanHeads.slice(0, 100), () => '标准', (i) => `${4 + (i % 9)}.${(i * 3) % 10}`);
  await step(station, farmland, 'send_check');
  await step(office, farmland, 'confirm_check');
  await step(station, farmland, 'submit');

  const grain = await round('QH-02', '2026', agri);
  // 到人: anyone; the two whom the police report dead while the registry still has them 在册 are among them.
  const growers = [...people.filter((p) => clean.has(p.id) && p.relation !== 'head').slice(0, 15), ...people.filter((p) => dead.has(p.id) && p.status === 'active')];
  await load(grain, growers, (i) => (i % 5 === 0 ? '100亩以上' : '50–100亩'), (i) => String(i % 5 === 0 ? 100 + ((i * 7) % 40) : 50 + ((i * 7) % 45)));
  await step(station, grain, 'send_check');
  await checkRoster(core, office, grain);

  // Rounds further on, for the finance section's review, the treasury's transfer, and a paid round (the
  // one-card view shows it; next month's roster can be pre-filled from it).
  const [finance, treasury] = await Promise.all(['finance', 'treasury'].map(actor));
  const bank = await core.db('core_org').where({ kind: 'bank' }).first('id');
  // Checked, reviewed and put up for publicity, whose seven days have ended.
  const publicise = async (rosterId: number) => {
    await step(station, rosterId, 'send_check');
    await step(office, rosterId, 'confirm_check');
    await step(station, rosterId, 'submit');
    await step(civil, rosterId, 'approve');
    const { version } = await core.db('batch_roster').where({ id: rosterId }).first('version');
    const { noticeId } = await publishNotice(core, station, rosterId, { version: Number(version), days: MIN_PUBLICITY_DAYS });
    // Demo time: the seven days of publicity have passed (the notice was published then); the finance office's clock runs from their end.
    const past = endedPublicity(businessDate());
    await core.db('batch_roster').where({ id: rosterId }).update({ publicity_start: past.start, publicity_end: past.end });
    await movePublication(core, noticeId, past);
    const clock = await core.db('core_deadline').where({ open_key: `batch_confirm:roster:${rosterId}` }).first('id', 'days');
    await core.db('core_deadline').where({ id: clock.id }).update({ started_on: past.end, due_on: (await loadCalendar(core.db)).addWorkingDays(past.end, Number(clock.days)).date });
  };
  const throughTownship = async (rosterId: number) => {
    await publicise(rosterId);
    await step(office, rosterId, 'confirm_publicity');
    await step(station, rosterId, 'report');
  };
  const roundOf = async (rosterId: number) => Number((await core.db('batch_roster').where({ id: rosterId }).first('round_id')).round_id);
  const roundVersion = async (roundId: number) => Number((await core.db('batch_round').where({ id: roundId }).first('version')).version);
  const elderly = cleanHeads.slice(120, 150);
  for (const [period, until] of [['2026-08', 'answered'], ['2026-09', 'transferred'], ['2026-10', 'released']] as const) {
    const rosterId = await round('JC-12', period, civil);
    await load(rosterId, elderly, (i) => ['轻度失能', '中度失能', '重度失能'][i % 3]!, () => '1');
    await throughTownship(rosterId);
    const roundId = await roundOf(rosterId);
    await recordPaymentPlan(core, civil, roundId, { version: await roundVersion(roundId), planNo: `青民用款〔2026〕${period.slice(5)}01号（演示）`, planFen: (await roundMoney(core.db, roundId)).linesFen, planDate: `${period}-20` });
    await submitRound(core, civil, roundId, await roundVersion(roundId));
    await releaseRound(core, finance, roundId, { version: await roundVersion(roundId), bankOrgId: Number(bank.id) });
    if (until !== 'released') {
      const { linesFen } = await roundMoney(core.db, roundId);
      await recordTransfer(core, treasury, roundId, { version: await roundVersion(roundId), amountFen: linesFen, voucherNo: `青国库拨〔2026〕${period.slice(5)}15号（演示）`, bankOrgId: Number(bank.id), destinationAccount: DEMO_SETTLEMENT_ACCOUNT });
    }
    if (until === 'answered') {
      await seedDemoBank(core, roundId);
      await seedDemoReconciliation(core, roundId);
    }
  }
  const living = await round('JC-14', '2026-10', civil);
  await load(living, cleanHeads.slice(150, 156), () => '标准', () => '1');
  await throughTownship(living);
  const livingRound = await roundOf(living);
  await recordPaymentPlan(core, civil, livingRound, { version: await roundVersion(livingRound), planNo: '青民用款〔2026〕1002号（演示）', planFen: (await roundMoney(core.db, livingRound)).linesFen, planDate: '2026-10-20' });
  await submitRound(core, civil, livingRound, await roundVersion(livingRound));
  const care = await round('JC-13', '2026-10', civil);
  await load(care, cleanHeads.slice(156, 162), () => '标准', () => '1');
  await throughTownship(care);

  const dibao = await round('JC-09', '2026-11', civil);
  // 到户: heads; public employees among them (the means test excludes them).
  const poor = [...cleanHeads.slice(100, 120), ...heads.filter((h) => employees.has(h.id))];
  await load(dibao, poor, (i) => ['A类', 'B类', 'C类'][i % 3]!, (i) => String(1 + (i % 4)));
  await checkRoster(core, station, dibao);

  const nextCare = await round('JC-13', '2026-11', civil);
  await load(nextCare, cleanHeads.slice(156, 162), () => '标准', () => '1');
  await publicise(nextCare);
}
