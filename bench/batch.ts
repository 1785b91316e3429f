import fs from 'node:fs';
import { loadActor } from '../src/core/auth/actor.ts';
import type { Actor } from '../src/core/auth/roles.ts';
import type { Core } from '../src/core/context.ts';
import { bulkInsert, inTransaction, nowIso, reserveIds } from '../src/core/db.ts';
import { payoutFile } from '../src/modules/bank/commands.ts';
import { resultFileCsv } from '../src/modules/bank/simulator.ts';
import { createRound, lineRow } from '../src/modules/batch/commands.ts';
import { recordPaymentPlan, releaseRound, roundMoney } from '../src/modules/batch/round-workflow.ts';
import { fen } from '../src/core/money.ts';
import { actOnRoster } from '../src/modules/batch/workflow.ts';
import { registryFactsById } from '../src/modules/beneficiary/index.ts';
import { versionsById } from '../src/modules/policy/index.ts';
import { payoutFloor } from './floors.ts';
import { withPeakRss } from './memory.ts';
import { BenchClient, homePagesDuring, startServer } from './http.ts';

/**
 * The batch figures of `npm run bench`, on the demo county the registry import left behind:
 * - roster_check_submit_50k_s: the station submits a 50,000-line roster (all checks run inside the step);
 * - roster_page_50k_ms: the first page of that roster over HTTP, as the station sees it (median of 5);
 * - round_release_500k_s: the finance section's procedural review and release of a 500,000-line round;
 * - payout_file_200k_s: the agent bank's payout file (CSV) of a 200,000-line round, accounts decrypted (the better of
 *   two downloads, and its floor likewise); its result
 *   file (2 % failed) is written to `resultFile` for the result import's child process.
 * The people are synthetic rows inserted in bulk (the registry import has its own figure): valid-looking but
 * not encrypted, each with their own account, so that every check passes and the steps go through.
 */
const SMALL = 50_000;
const LARGE = 225_000; // × 2 townships + 50,000 = 500,000 lines
const PAYOUT = 200_000;

async function syntheticPeople(core: Core, townshipId: number, count: number, tag: string): Promise<number[]> {
  const villages = ((await core.db('core_region').where({ parent_id: townshipId }).orderBy('id').select('id')) as { id: number }[]).map((v) => Number(v.id));
  return inTransaction(core.db, async (trx) => {
    const ids = await reserveIds(trx, 'beneficiary_person', count);
    const households = await reserveIds(trx, 'beneficiary_household', count);
    const now = nowIso();
    const indexes = ids.map((_, i) => i);
    await bulkInsert(trx, 'beneficiary_household', indexes, (i) => ({ id: households[i], village_id: villages[i % villages.length], head_person_id: ids[i], created_at: now, updated_at: now }));
    await bulkInsert(trx, 'beneficiary_person', indexes, (i) => ({
      id: ids[i],
      name: `测试${tag}${i}`,
      id_enc: 'bench',
      id_index: `${tag}-${i}`,
      id_masked: '990102********0000',
      birth_date: '1960-01-01',
      sex: 'male',
      village_id: villages[i % villages.length],
      household_id: households[i],
      relation: 'head',
      status: 'active',
      created_at: now,
      updated_at: now,
    }));
    await bulkInsert(trx, 'beneficiary_account', indexes, (i) => ({
      person_id: ids[i],
      kind: 'sscard',
      bank_name: '青禾县农村信用合作联社',
      account_enc: core.crypto.encrypt(`623999${String(i).padStart(12, '0')}${tag.length}`), // the payout file decrypts it
      account_index: `${tag}-account-${i}`,
      account_last4: String(i % 10_000).padStart(4, '0'),
      holder_name: `测试${tag}${i}`,
      luhn_warning: false,
      status: 'active',
      active_person_id: ids[i],
      opened_at: now,
    }));
    return ids;
  });
}

async function fillRoster(core: Core, actor: Actor, roundId: number, townshipId: number, people: number[]): Promise<number> {
  const round = await core.db('batch_round').where({ id: roundId }).first();
  const roster = await core.db('batch_roster').where({ round_id: roundId, township_id: townshipId }).first();
  const [version] = await versionsById(core.db, [Number(round.policy_version_id)]);
  const facts = await registryFactsById(core.db, people);
  await inTransaction(core.db, (trx) => bulkInsert(trx, 'batch_line', facts, (f) => lineRow(round, roster, version!, f, version!.tiers[0]!.name, 1000, actor, 'entry')));
  return Number(roster.id);
}

/** Log in through the real form as a demo user and fetch a page 5 times; the median time in ms. */
async function pageTime(core: Core, username: string, password: string, path: string): Promise<number> {
  const server = await startServer(core);
  try {
    const client = await new BenchClient(server.base).login(username, password);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push(await client.get(path));
    return times.sort((a, b) => a - b)[2]!;
  } finally {
    server.close();
  }
}

const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

export async function batchFigures(core: Core, password: string, resultFile: string): Promise<{ checkSubmit: number; page: number; release: number; homeP95: number; payout: number; payoutFloor: number; payoutRound: number; releasedRound: number; peakRssMb: { checkSubmit: number; release: number; payout: number } }> {
  const actor = async (u: string) => (await loadActor(core.db, { username: u }, null))!.actor;
  const [station, dept, finance] = await Promise.all(['station1', 'dept_agri', 'finance'].map(actor));
  const townships = ((await core.db('core_region').where({ level: 'township' }).orderBy('id').select('id', 'name')) as { id: number; name: string }[]);
  const chengguan = townships.find((t) => t.name === '城关镇')!;
  const others = townships.filter((t) => t.id !== chengguan.id).slice(0, 2);

  // A person-level yearly policy with an allocation large enough for 500,000 lines.
  const item = await core.db('policy_item').where({ code: 'JC-03' }).first('id');
  const county = await core.db('core_region').where({ level: 'county' }).first('id');
  const loadItem = await core.db('policy_item').where({ code: 'JC-08' }).first('id');
  for (const [i, { id }] of [item, loadItem].entries()) {
    await core.db('policy_allocation').insert({ county_id: county.id, item_id: id, year: 2026, amount_fen: 1_000_000_000_00, doc_number: `基准测试${i + 1}`, doc_title: '基准测试指标', doc_date: '2026-01-01', recorded_by: finance.userId, recorded_at: nowIso() });
  }
  const roundId = await createRound(core, dept, { policyItemId: Number(item.id), period: '2026' });

  const smallPeople = await syntheticPeople(core, chengguan.id, SMALL, 'a');
  const small = await fillRoster(core, station, roundId, chengguan.id, smallPeople);
  const large: number[][] = [];
  for (const [i, t] of others.entries()) {
    large.push(await syntheticPeople(core, t.id, LARGE, `b${i}`));
    await fillRoster(core, station, roundId, t.id, large[i]!);
  }

  // roster_check_submit_50k_s: the roster has been cross-checked; the station submits it (the checks run again inside).
  await core.db('batch_roster').where({ id: small }).update({ state: 'checked', last_changed_by: station.userId });
  const version = Number((await core.db('batch_roster').where({ id: small }).first('version')).version);
  let started = process.hrtime.bigint();
  const submitted = await withPeakRss(() => actOnRoster(core, station, small, 'submit', { version }));
  const checkSubmit = seconds(started);

  const page = await pageTime(core, 'station1', password, `/rosters/${small}`);

  // round_release_500k_s: every roster reported after its publicity, the department's payment plan recorded, the round
  // submitted; the finance section releases it.
  await core.db('batch_roster').where({ round_id: roundId }).update({ state: 'reported', publicity_start: '2026-10-01', publicity_end: '2026-10-07' });
  const compilingVersion = (await core.db('batch_round').where({ id: roundId }).first('version')).version as number;
  await recordPaymentPlan(core, dept, roundId, { planNo: '基准测试用款计划', planFen: fen(1_000_000_000_00), planDate: '2026-10-20', version: compilingVersion });
  await core.db('batch_round').where({ id: roundId }).update({ state: 'submitted' });
  const bank = await core.db('core_org').where({ kind: 'bank' }).first('id');
  const roundVersion = Number((await core.db('batch_round').where({ id: roundId }).first('version')).version);
  started = process.hrtime.bigint();
  const released = await withPeakRss(() => releaseRound(core, finance, roundId, { version: roundVersion, bankOrgId: Number(bank.id) }));
  const release = seconds(started);

  // home_page_p95_during_release_ms: the same people's round of another policy, released while 10 browsers ask for
  // their home pages.
  const loaded = await createRound(core, dept, { policyItemId: Number(loadItem.id), period: '2026-01' });
  await fillRoster(core, station, loaded, chengguan.id, smallPeople);
  for (const [i, t] of others.entries()) await fillRoster(core, station, loaded, t.id, large[i]!);
  await core.db('batch_roster').where({ round_id: loaded }).update({ state: 'reported', publicity_start: '2026-10-01', publicity_end: '2026-10-07' });
  const loadedVersion = (await core.db('batch_round').where({ id: loaded }).first('version')).version as number;
  await recordPaymentPlan(core, dept, loaded, { planNo: '基准测试用款计划（二）', planFen: fen(1_000_000_000_00), planDate: '2026-10-20', version: loadedVersion });
  await core.db('batch_round').where({ id: loaded }).update({ state: 'submitted' });
  const loadedRoundVersion = Number((await core.db('batch_round').where({ id: loaded }).first('version')).version);
  const home = await homePagesDuring(core, password, 10, () => releaseRound(core, finance, loaded, { version: loadedRoundVersion, bankOrgId: Number(bank.id) }));

  // payout_file_200k_s: the bank downloads the payout file of a 200,000-line round released to it.
  const other = await core.db('policy_item').where({ code: 'JC-07' }).first('id');
  const payoutRound = await createRound(core, dept, { policyItemId: Number(other.id), period: '2026' });
  await fillRoster(core, station, payoutRound, others[0]!.id, large[0]!.slice(0, PAYOUT));
  // Released as releaseRound leaves a round: its lines counted and summed on it (the bank's pages read them there).
  const money = await roundMoney(core.db, payoutRound);
  await core.db('batch_round').where({ id: payoutRound }).update({ state: 'released', bank_org_id: bank.id, released_lines: money.lines, released_fen: money.linesFen });
  // The better of two downloads (a bank downloads again when a transfer fails), as for its floor: the first pays for
  // compiling the code that builds the file, which says nothing about the file.
  const bankUser = await actor('bank');
  let payout = Number.POSITIVE_INFINITY;
  let payoutRss = 0;
  let file!: Awaited<ReturnType<typeof payoutFile>>;
  for (let i = 0; i < 2; i++) {
    started = process.hrtime.bigint();
    const downloaded = await withPeakRss(() => payoutFile(core, { actor: bankUser }, payoutRound, 'csv'));
    payout = Math.min(payout, seconds(started));
    file = downloaded.result;
    payoutRss = Math.max(payoutRss, downloaded.peakRssMb);
  }
  if (file.lines !== PAYOUT) throw new Error(`payout file has ${file.lines} lines`);
  const floorOfPayout = Math.min(await payoutFloor(core, payoutRound), await payoutFloor(core, payoutRound));
  // The treasury's transfer (results are taken only once the money is at the bank).
  await core.db('batch_round').where({ id: payoutRound }).update({ state: 'transferred' });

  // The bank's result file for it: every line, 2 % failed (account does not exist).
  const details = file.body.toString('utf8').replace(/^\ufeff/, '').split('\r\n').slice(4).filter(Boolean);
  const results = details.map((d, i) => {
    const [ref, , , amount] = d.split(',') as [string, string, string, string];
    return i % 50 === 0 ? { ref, amountFen: amount, result: '失败', code: 'F01' } : { ref, amountFen: amount, result: '成功' };
  });
  fs.writeFileSync(resultFile, resultFileCsv(results));
  return { checkSubmit, page, release, homeP95: home, payout, payoutFloor: floorOfPayout, payoutRound, releasedRound: roundId, peakRssMb: { checkSubmit: submitted.peakRssMb, release: released.peakRssMb, payout: payoutRss } };
}
