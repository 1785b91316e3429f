import type { Knex } from 'knex';
import type { Actor } from '../../core/auth/roles.ts';
import { type Conn, countRows, idChunks, rowsWithIds, selectInChunks, whereIds } from '../../core/db.ts';
import { giveWay } from '../../core/give-way.ts';
import { defineList } from '../../core/lists.ts';
import { type Fen, fen } from '../../core/money.ts';
import { allocatedFen, versionsById } from '../policy/index.ts';
import { DECIDED_AT_RELEASE } from './checks/engine.ts';
import { ROUND_STATES } from './model.ts';
import { type LineRow, type RosterRow, type RoundRow, asLine, asRound, roundQuery, rosterQuery } from './repo.ts';
import { roundFilters } from './schemas.ts';
import { can, confinedToDepartment, rosterSteps } from './policy.ts';

/** Reads for the batch pages and queues; plain rows, money in fen. */

/**
 * A query over rounds (`batch_round as r`) narrowed to the actor's department's rounds when policy.ts confines
 * them to those (confinedToDepartment; a single round is refused by roundInScope, rosterInScope).
 */
function ofOwnDepartment<Q extends Knex.QueryBuilder>(q: Q, actor: Actor): Q {
  if (confinedToDepartment(actor)) q.where('r.department_org_id', actor.orgId ?? -1);
  return q;
}

/** The rounds list (发放批次, core/lists.ts): the most recently changed first; states sort in the workflow's order. */
export const roundList = defineList({
  path: '/rounds',
  filters: roundFilters,
  sorts: {
    period: { label: '期间', by: ['r.period'], first: 'desc' },
    title: { label: '批次名称', by: ['r.title'] },
    state: { label: '状态', by: [{ column: 'r.state', order: Object.keys(ROUND_STATES) }] },
    total: { label: '总金额', by: ['total_fen'], first: 'desc' },
    updated: { label: '更新时间', by: ['r.updated_at'], first: 'desc' },
  },
  defaultSort: 'updated',
  defaultDir: 'desc',
  id: 'r.id',
});

export type RoundFilter = ReturnType<typeof roundList.parse>['filters'];
/** A round of the list: its row and the total of its active lines. */
export type RoundListRow = RoundRow & { total_fen: Fen };

/**
 * The rounds the actor sees, narrowed by the list's filters, with their totals: their county's (township users see
 * the county's rounds, with their own roster; a department its own). A period of four digits is a year: every
 * period of that year.
 */
export function roundsQuery(db: Conn, actor: Actor, filter: RoundFilter) {
  const q = ofOwnDepartment(roundQuery(db), actor)
    .select(db.raw("coalesce((select sum(l.amount_fen) from batch_line l where l.round_id = r.id and l.state = 'active'), 0) as total_fen"))
    .where((w) => w.where('c.path', 'like', `${actor.regionPath}%`).orWhereRaw('? like ' + "c.path || '%'", [actor.regionPath]));
  if (filter.policy !== null) q.where('r.policy_item_id', filter.policy);
  if (filter.period !== null) {
    if (/^\d{4}$/.test(filter.period)) q.where('r.period_year', Number(filter.period));
    else q.where('r.period', filter.period);
  }
  if (filter.state !== null) q.where('r.state', filter.state);
  if (filter.department !== null) q.where('r.department_org_id', filter.department);
  return q;
}

/** The choices of the list's policy and department filters: those of the rounds the actor sees. */
export async function roundFilterChoices(db: Conn, actor: Actor): Promise<{ policies: { value: number; label: string }[]; departments: { value: number; label: string }[] }> {
  const visible = () => roundsQuery(db, actor, { policy: null, period: null, state: null, department: null }).clearSelect();
  const items = (await visible().groupBy('r.policy_item_id').select('r.policy_item_id').max({ version_id: 'r.policy_version_id' })) as { policy_item_id: number; version_id: number }[];
  const versions = await versionsById(db, items.map((i) => i.version_id));
  const departments = (await visible().distinct('o.id', 'o.name').orderBy('o.name')) as { id: number; name: string }[];
  return {
    policies: versions.map((v) => ({ value: v.itemId, label: `${v.code} ${v.name}` })).sort((a, b) => a.label.localeCompare(b.label, 'zh-CN')),
    departments: departments.map((d) => ({ value: d.id, label: d.name })),
  };
}

export interface RosterSummary extends RosterRow {
  lines: number;
  total_fen: Fen;
  blocking: number;
  warnings: number;
}

/** A round's rosters with their line counts, totals and open findings. */
export async function roundRosters(db: Conn, roundId: number): Promise<RosterSummary[]> {
  const rosters = (await rosterQuery(db).where('s.round_id', roundId).orderBy('t.id')) as RosterRow[];
  const totals = new Map<number, { n: number; total: Fen }>();
  const sums = (await db('batch_line').where({ round_id: roundId, state: 'active' }).groupBy('roster_id').select('roster_id').count({ n: '*' }).sum({ total: 'amount_fen' })) as { roster_id: number; n: number; total: Fen }[];
  for (const r of sums) {
    totals.set(r.roster_id, { n: r.n, total: r.total });
  }
  const findings = new Map<string, number>();
  const open = (await db('batch_finding as f')
    .join('batch_roster as s', 's.id', 'f.roster_id')
    .where({ 's.round_id': roundId, 'f.state': 'open' })
    .whereNotIn('f.rule', DECIDED_AT_RELEASE)
    .groupBy('f.roster_id', 'f.severity')
    .select('f.roster_id', 'f.severity')
    .count({ n: '*' })) as { roster_id: number; severity: string; n: number }[];
  for (const f of open) {
    findings.set(`${f.roster_id}|${f.severity}`, f.n);
  }
  return rosters.map((r) => ({
    ...r,
    lines: totals.get(r.id)?.n ?? 0,
    total_fen: totals.get(r.id)?.total ?? fen(0),
    blocking: findings.get(`${r.id}|blocking`) ?? 0,
    warnings: findings.get(`${r.id}|warning`) ?? 0,
  }));
}

/** The budget picture of a round: its allocation, this round's total, the year's other rounds of the policy. */
export async function roundBudget(db: Conn, round: RoundRow): Promise<{ allocatedFen: Fen; roundFen: Fen; otherRoundsFen: Fen }> {
  const lines = () => db('batch_line as l').join('batch_round as r', 'r.id', 'l.round_id').where({ 'l.state': 'active', 'l.reissue': false });
  const roundRow = (await lines().where('r.id', round.id).sum({ total: 'l.amount_fen' }).first()) as { total: Fen | null } | undefined;
  const others = (await lines().where({ 'r.county_id': round.county_id, 'r.policy_item_id': round.policy_item_id, 'r.period_year': round.period_year }).whereNot('r.id', round.id).sum({ total: 'l.amount_fen' }).first()) as { total: Fen | null } | undefined;
  // sum() over no lines is null: nothing yet.
  return { allocatedFen: await allocatedFen(db, round.county_id, round.policy_item_id, round.period_year), roundFen: roundRow?.total ?? fen(0), otherRoundsFen: others?.total ?? fen(0) };
}

export interface LineFilter {
  villageId?: number | null;
  /** Lines with an open finding of this severity, or any. */
  finding?: 'any' | 'blocking' | 'warning' | null;
  page: number;
  pageSize: number;
  /** The roster's count of active lines when the caller reads it anyway (its village totals): not counted again unless filtered. */
  total?: number | Promise<number>;
}

export interface LineWithFindings extends LineRow {
  village_name: string;
  findings: { id: number; rule: string; severity: string; message: string; state: string; resolution: string | null }[];
}

/** One page of a roster's active lines, filtered by village and finding, each with its findings. */
export async function rosterLines(db: Conn, rosterId: number, filter: LineFilter): Promise<{ rows: LineWithFindings[]; total: number }> {
  // Every line has its village (village_id is not null and references core_region): the count and the page order
  // read batch_line alone, and only the page's lines are joined with their village.
  const q = db('batch_line as l').where({ 'l.roster_id': rosterId, 'l.state': 'active' });
  if (filter.villageId) q.where('l.village_id', filter.villageId);
  if (filter.finding) {
    q.whereExists(function () {
      this.select(db.raw('1')).from('batch_finding as f').whereRaw('f.line_id = l.id').where('f.state', 'open');
      if (filter.finding !== 'any') this.where('f.severity', filter.finding);
    });
  }
  // Lines with an open blocking finding first, then those with an open warning, then the rest, each in line order:
  // what must be fixed is on the first page. The lines with an open finding are few and ranked apart; the rest are
  // read in line order from the index, only as far as the page goes (no sort of the whole roster).
  const offset = (filter.page - 1) * filter.pageSize;
  const ranks = db('batch_finding').where({ roster_id: rosterId, state: 'open' }).whereNotNull('line_id').groupBy('line_id').select('line_id', db.raw("min(case when severity = 'blocking' then 0 else 1 end) as finding_rank")).as('fr');
  const rankedRead = q.clone().join(ranks, 'fr.line_id', 'l.id').select('l.id').orderByRaw('fr.finding_rank, l.id').limit(offset + filter.pageSize);
  const rest = (skip: number, take: number) =>
    q
      .clone()
      .whereNotExists(db('batch_finding as o').select(db.raw('1')).whereRaw('o.line_id = l.id').where({ 'o.roster_id': rosterId, 'o.state': 'open' }))
      .select('l.id')
      .orderBy('l.id')
      .limit(take)
      .offset(skip);
  const idsOf = (rows: { id: number }[]) => rows.map((r) => r.id);
  const pageIds = async (): Promise<number[]> => {
    if (offset === 0) {
      // The first page: both parts read together, the ranked lines first.
      const [ranked, others] = await Promise.all([rankedRead, rest(0, filter.pageSize)]);
      return [...idsOf(ranked), ...idsOf(others)].slice(0, filter.pageSize);
    }
    const ranked = idsOf(await rankedRead);
    const ids = ranked.slice(offset);
    // Fewer ranked lines than reach the page's end: all of them were read, and the rest fill the page.
    if (ranked.length < offset + filter.pageSize) ids.push(...idsOf(await rest(Math.max(0, offset - ranked.length), filter.pageSize - ids.length)));
    return ids;
  };
  // The page's lines with their villages and findings, read as soon as their ids are known (the count meanwhile).
  const pageRows = async (): Promise<LineWithFindings[]> => {
    const ids = await pageIds();
    if (ids.length === 0) return [];
    const [lines, findings] = (await Promise.all([
      db('batch_line as l').join('core_region as v', 'v.id', 'l.village_id').whereIn('l.id', ids).select('l.*', 'v.name as village_name'),
      db('batch_finding').whereIn('line_id', ids).whereIn('state', ['open', 'resolved']).orderBy('id').select('id', 'line_id', 'rule', 'severity', 'message', 'state', 'resolution'),
    ])) as [(LineRow & { village_name: string })[], (LineWithFindings['findings'][number] & { line_id: number })[]];
    const byId = new Map(lines.map((r) => [r.id, asLine(r) as LineRow & { village_name: string }]));
    return ids.map((id) => ({ ...byId.get(id)!, findings: findings.filter((f) => f.line_id === id) }));
  };
  const [rows, total] = await Promise.all([pageRows(), filter.villageId || filter.finding || filter.total === undefined ? countRows(q) : filter.total]);
  return { rows, total };
}

/** Lines, people and money by village: the roster's totals as the publicity sheets will show them. */
export async function villageTotals(db: Conn, rosterId: number): Promise<{ village_id: number; village_name: string; lines: number; total_fen: Fen }[]> {
  return (await db('batch_line as l')
    .join('core_region as v', 'v.id', 'l.village_id')
    .where({ 'l.roster_id': rosterId, 'l.state': 'active' })
    .groupBy('l.village_id', 'v.name')
    .select('l.village_id', 'v.name as village_name')
    .count({ lines: '*' })
    .sum({ total_fen: 'l.amount_fen' })
    .orderBy('v.name')) as { village_id: number; village_name: string; lines: number; total_fen: Fen }[];
}

export interface PrintedLine {
  id: number;
  village_id: number;
  village_name: string;
  person_name: string;
  id_masked: string;
  tier_name: string;
  standard_fen: Fen;
  quantity_milli: number;
  amount_fen: Fen;
}

/** Every active line of a roster with its village, in line order: the whole roster as printed (no account data). */
export async function printedLines(db: Conn, rosterId: number): Promise<PrintedLine[]> {
  return db('batch_line as l')
    .join('core_region as v', 'v.id', 'l.village_id')
    .where({ 'l.roster_id': rosterId, 'l.state': 'active' })
    .orderBy('l.id')
    .select('l.id', 'l.village_id', 'v.name as village_name', 'l.person_name', 'l.id_masked', 'l.tier_name', 'l.standard_fen', 'l.quantity_milli', 'l.amount_fen');
}

/** Findings not about a line (the budget) and the counts by state, for the roster page's summary; the counts leave out what the release decides on. */
export async function rosterFindings(db: Conn, rosterId: number): Promise<{ general: { id: number; rule: string; severity: string; message: string }[]; blocking: number; warnings: number; resolved: number }> {
  const general = await db('batch_finding').where({ roster_id: rosterId, state: 'open' }).whereNull('line_id').select('id', 'rule', 'severity', 'message');
  const counts = { blocking: 0, warnings: 0, resolved: 0 };
  for (const row of (await db('batch_finding').where({ roster_id: rosterId }).whereIn('state', ['open', 'resolved']).groupBy('severity', 'state', 'rule').select('severity', 'state', 'rule').count({ n: '*' })) as { severity: string; state: string; rule: string; n: number }[]) {
    if (row.state === 'resolved') counts.resolved += row.n;
    else if (DECIDED_AT_RELEASE.includes(row.rule)) continue;
    else if (row.severity === 'blocking') counts.blocking += row.n;
    else counts.warnings += row.n;
  }
  return { general, ...counts };
}

export async function history(db: Conn, where: { round_id?: number; roster_id?: number }) {
  return db('batch_history as h').leftJoin('core_user as u', 'u.id', 'h.actor_id').where(Object.fromEntries(Object.entries(where).map(([k, v]) => [`h.${k}`, v]))).orderBy('h.id', 'desc').limit(200).select('h.*', db.raw("coalesce(u.display_name, '公众（门户网站）') as actor_name"));
}

/** Rosters waiting for the actor: by state and role, in their scope (the home page's queues). */
/** The rosters of compiling rounds in the actor's scope that are in one of the states, with their round. */
async function rostersInStates(db: Conn, actor: Actor, states: readonly string[]): Promise<{ roster: RosterRow; round: RoundRow; lines: number; total_fen: Fen }[]> {
  const rosters = (await ofOwnDepartment(rosterQuery(db).join('batch_round as r', 'r.id', 's.round_id'), actor).where('r.state', 'compiling').whereIn('s.state', states).where('t.path', 'like', `${actor.regionPath}%`).orderBy('s.id')) as RosterRow[];
  if (rosters.length === 0) return [];
  const rounds = new Map(((await roundQuery(db).whereIn('r.id', [...new Set(rosters.map((s) => s.round_id))])) as RoundRow[]).map((r) => [r.id, asRound(r)]));
  const sums = new Map(
    ((await selectInChunks(rosters.map((s) => s.id), (chunk) => db('batch_line').whereIn('roster_id', chunk).where('state', 'active').groupBy('roster_id').select('roster_id').count({ n: '*' }).sum({ total: 'amount_fen' }))) as { roster_id: number; n: number; total: Fen }[]).map((r) => [r.roster_id, r]),
  );
  return rosters.map((s) => ({ roster: s, round: rounds.get(s.round_id)!, lines: sums.get(s.id)?.n ?? 0, total_fen: sums.get(s.id)?.total ?? fen(0) }));
}

/** Of those, the rosters where policy.ts gives this actor a step now: the to-do line and its list. */
export async function rostersAwaiting(db: Conn, actor: Actor, states: readonly string[]) {
  return (await rostersInStates(db, actor, states)).filter((w) => rosterSteps(actor, w).allowed.length > 0);
}

/**
 * The paid rosters of 应急救助（事后公示）rounds in the actor's scope whose publicity after payment is not recorded yet,
 * where policy.ts lets this actor record it (the station's to-do line; the clock itself is post_payment_publicity).
 */
export async function rostersAwaitingPostPublicity(db: Conn, actor: Actor): Promise<{ id: number; total_fen: Fen }[]> {
  const rosters = (await ofOwnDepartment(rosterQuery(db).join('batch_round as r', 'r.id', 's.round_id'), actor)
    .where('r.expedited', true)
    .whereIn('r.state', ['released', 'transferred'])
    .where('s.state', 'reported')
    .whereNull('s.publicity_start')
    .where('t.path', 'like', `${actor.regionPath}%`)
    .orderBy('s.id')) as RosterRow[];
  if (rosters.length === 0) return [];
  const rounds = new Map(((await roundQuery(db).whereIn('r.id', [...new Set(rosters.map((s) => s.round_id))])) as RoundRow[]).map((r) => [r.id, asRound(r)]));
  const mine = rosters.filter((s) => can(actor, 'record_post_publicity', { round: rounds.get(s.round_id)!, roster: s }).ok);
  const sums = new Map(
    ((await selectInChunks(mine.map((s) => s.id), (chunk) => db('batch_line').whereIn('roster_id', chunk).where('state', 'active').groupBy('roster_id').select('roster_id').sum({ total: 'amount_fen' }))) as { roster_id: number; total: Fen }[]).map((r) => [r.roster_id, r.total]),
  );
  return mine.map((s) => ({ id: s.id, total_fen: sums.get(s.id) ?? fen(0) }));
}

export interface PaymentRow {
  line_id: number;
  round_id: number;
  roster_id: number;
  round_title: string;
  round_state: string;
  period: string;
  tier_name: string;
  quantity_milli: number;
  amount_fen: Fen;
  account_last4: string | null;
  roster_state: string;
}

/**
 * Every line a person is the payee of, in every round of every policy, newest period first (the one-card view);
 * for a reader, in the rounds they see (a department: its own); with no reader (null: the person's own query on
 * the portal), in every round.
 */
export async function paymentsOf(db: Conn, personId: number, reader: Actor | null): Promise<PaymentRow[]> {
  const base = db('batch_line as l').join('batch_round as r', 'r.id', 'l.round_id');
  const q = reader ? ofOwnDepartment(base, reader) : base;
  return q
    .join('batch_roster as s', 's.id', 'l.roster_id')
    .where({ 'l.person_id': personId, 'l.state': 'active' })
    .orderBy([{ column: 'r.period', order: 'desc' }, { column: 'r.id', order: 'desc' }])
    .select('l.id as line_id', 'r.id as round_id', 's.id as roster_id', 'r.title as round_title', 'r.state as round_state', 'r.period', 'l.tier_name', 'l.quantity_milli', 'l.amount_fen', 'l.account_last4', 's.state as roster_state');
}

/** The rounds in a state in the actor's scope, each with its lines' total: the candidates of a to-do line. */
export async function roundsInState(db: Conn, actor: Actor, state: string, options: { readyToSubmit?: boolean } = {}): Promise<{ round: RoundRow; total_fen: Fen }[]> {
  const q = ofOwnDepartment(roundQuery(db), actor).where('r.state', state).where('c.path', 'like', `${actor.regionPath}%`).orderBy('r.id');
  if (options.readyToSubmit) {
    // Every roster with lines reported again after publicity, and at least one line.
    const notReady = db('batch_roster as s').whereRaw('s.round_id = r.id').whereNot('s.state', 'reported').whereExists((w) => w.select(db.raw('1')).from('batch_line as l').whereRaw('l.roster_id = s.id').where('l.state', 'active'));
    q.whereNotExists(notReady).whereExists(db('batch_line as l').whereRaw('l.round_id = r.id').where('l.state', 'active').select(db.raw('1')));
  }
  const rounds = ((await q) as RoundRow[]).map(asRound);
  if (rounds.length === 0) return [];
  const sums = new Map(((await db('batch_line').whereIn('round_id', rounds.map((r) => r.id)).where('state', 'active').groupBy('round_id').select('round_id').sum({ total: 'amount_fen' })) as { round_id: number; total: Fen }[]).map((r) => [r.round_id, r.total]));
  return rounds.map((round) => ({ round, total_fen: sums.get(round.id) ?? fen(0) }));
}

export async function roundTransfers(db: Conn, roundId: number) {
  return db('batch_transfer as t').join('core_org as o', 'o.id', 't.bank_org_id').join('core_user as u', 'u.id', 't.recorded_by').where('t.round_id', roundId).orderBy('t.id').select('t.*', 'o.name as bank_name', 'u.display_name as recorded_by_name');
}

export async function objectionsOf(db: Conn, rosterId: number) {
  return db('batch_objection as o').leftJoin('batch_line as l', 'l.id', 'o.line_id').where('o.roster_id', rosterId).orderBy('o.id').select('o.*', 'l.person_name');
}

/** Lines the department returned (with its reasons), newest first. */
export async function returnedLines(db: Conn, rosterId: number): Promise<LineRow[]> {
  return db('batch_line').where({ roster_id: rosterId, state: 'returned' }).orderBy('updated_at', 'desc').limit(500);
}

export interface PayoutLine {
  line_id: number;
  person_name: string;
  account_id: number | null;
  holder_name: string | null;
  amount_fen: Fen;
}

/** The lines of a released round, in line order, as the agent bank's payout needs them. */
export async function* releasedLines(db: Conn, roundId: number): AsyncGenerator<PayoutLine[]> {
  // The ids first (one narrow read), then the lines by id a chunk at a time, the next chunk read while the caller works
  // on this one, with page views let through between chunks (core/give-way.ts): 200,000 lines read in one piece held
  // the event loop for half a second. Chunks of 20,000: of 5,000, the round trips made a payout file some 10 % slower.
  const ids = (await db('batch_line').where({ round_id: roundId, state: 'active' }).pluck('id')) as number[];
  // A chunk's range holds exactly its ids among the round's active lines.
  const read = (chunk: Float64Array) => whereIds(db('batch_line').where({ round_id: roundId, state: 'active' }), 'id', chunk).orderBy('id').select('id as line_id', 'person_name', 'account_id', 'holder_name', 'amount_fen') as Promise<PayoutLine[]>;
  const chunks = idChunks(ids, RELEASED_LINES_PER_READ);
  let next = chunks.length ? read(chunks[0]!) : null;
  try {
    for (let c = 0; next; c++) {
      const lines = await next;
      next = c + 1 < chunks.length ? read(chunks[c + 1]!) : null;
      yield lines;
      await giveWay();
    }
  } finally {
    // A caller that stops early leaves the chunk read ahead unread: its failure, if any, is nobody's.
    next?.catch(() => undefined);
  }
}

const RELEASED_LINES_PER_READ = 20_000;

/** Rounds released to a bank (and later), newest first: what its users and its API token may fetch. */
export async function roundsOfBank(db: Conn, bankOrgId: number): Promise<RoundRow[]> {
  return ((await roundQuery(db).where('r.bank_org_id', bankOrgId).whereIn('r.state', ['released', 'transferred']).orderBy('r.id', 'desc')) as RoundRow[]).map(asRound);
}

/** When a round was released to its bank (the payout file is dated by it). */
export async function releasedAt(db: Conn, roundId: number): Promise<string | null> {
  const row = await db('batch_history').where({ round_id: roundId, action: 'release' }).whereNull('roster_id').orderBy('id', 'desc').first('at');
  return row ? new Date(row.at).toISOString() : null;
}

/** The amount of each active line of a round, by line id (what a reconciliation counts). */
export async function lineAmounts(db: Conn, roundId: number): Promise<Map<number, Fen>> {
  const rows: { id: number; amount_fen: Fen }[] = await db('batch_line').where({ round_id: roundId, state: 'active' }).select('id', 'amount_fen');
  return new Map(rows.map((r) => [r.id, r.amount_fen]));
}

/** Of one line: the amount a bank's result is checked against, and what its payment notice says of it (noticeText). */
export type ResultLineFacts = Pick<NoticeLine, 'person_id' | 'amount_fen' | 'account_last4' | 'standard_fen' | 'tier_name'>;

/**
 * Of these lines, the active ones of the round, by line id: read by id a chunk at a time (a 200,000-line round read in
 * one query is held twice at once, as the driver's rows and as their objects), the round and state checked here.
 */
export async function resultLineFacts(db: Conn, roundId: number, lineIds: readonly number[]): Promise<Map<number, ResultLineFacts>> {
  const facts = new Map<number, ResultLineFacts>();
  for (const chunk of idChunks(lineIds)) {
    // By id alone, so that the database looks the lines up by their key.
    const rows = await rowsWithIds<ResultLineFacts & { id: number; round_id: number; state: string }>(db('batch_line').select('id', 'round_id', 'state', 'person_id', 'amount_fen', 'account_last4', 'standard_fen', 'tier_name'), 'id', chunk);
    for (const r of rows) {
      if (r.round_id === roundId && r.state === 'active') facts.set(r.id, { person_id: r.person_id, amount_fen: r.amount_fen, account_last4: r.account_last4, standard_fen: r.standard_fen, tier_name: r.tier_name });
    }
  }
  return facts;
}

/** What every payment notice of a round says of the round, and whose it is (noticeLines gives it line by line). */
export type RoundNoticeFacts = Pick<NoticeLine, 'round_id' | 'round_title' | 'department_name' | 'unit' | 'county_id' | 'bank_org_id'>;

export async function roundNoticeFacts(db: Conn, roundId: number): Promise<RoundNoticeFacts> {
  return db('batch_round as r')
    .join('core_org as o', 'o.id', 'r.department_org_id')
    .where('r.id', roundId)
    .first('r.id as round_id', 'r.title as round_title', 'o.name as department_name', 'r.unit', 'r.county_id', 'r.bank_org_id');
}

export interface NoticeLine {
  line_id: number;
  round_id: number;
  person_id: number;
  amount_fen: Fen;
  account_last4: string | null;
  round_title: string;
  department_name: string;
  /** The line's standard (rate per unit), its tier ('标准' when the policy has one) and the round's unit (亩, 人 …). */
  standard_fen: Fen;
  tier_name: string;
  unit: string;
  /** Whose the round is: its county and the bank it was released to. */
  county_id: number;
  bank_org_id: number | null;
}

/**
 * What a payment notice says about these lines: the round, the amount, the standard and unit, the account's last
 * digits, the department; and the county and bank the round belongs to.
 */
export async function noticeLines(db: Conn, lineIds: number[]): Promise<NoticeLine[]> {
  return selectInChunks(lineIds, (chunk) =>
    db('batch_line as l')
      .join('batch_round as r', 'r.id', 'l.round_id')
      .join('core_org as o', 'o.id', 'r.department_org_id')
      .whereIn('l.id', chunk)
      .select(
        'l.id as line_id', 'l.round_id', 'l.person_id', 'l.amount_fen', 'l.account_last4', 'r.title as round_title', 'o.name as department_name',
        'l.standard_fen', 'l.tier_name', 'r.unit', 'r.county_id', 'r.bank_org_id',
      ),
  );
}

export interface LineFacts {
  line_id: number;
  round_id: number;
  round_title: string;
  county_id: number;
  bank_org_id: number | null;
  department_org_id: number;
  policy_item_id: number;
  period: string;
  payee: string;
  person_id: number;
  person_name: string;
  id_masked: string;
  township_id: number;
  village_id: number;
  amount_fen: Fen;
  account_id: number | null;
  account_last4: string | null;
  holder_name: string | null;
}

/** A line with its round, township and payee facts: what the bank module's failure cases need. */
export async function lineFacts(db: Conn, lineIds: number[]): Promise<LineFacts[]> {
  return selectInChunks(lineIds, (chunk) =>
    db('batch_line as l')
      .join('batch_round as r', 'r.id', 'l.round_id')
      .join('batch_roster as s', 's.id', 'l.roster_id')
      .whereIn('l.id', chunk)
      .select(
        'l.id as line_id', 'l.round_id', 'r.title as round_title', 'r.county_id', 'r.bank_org_id', 'r.department_org_id', 'r.policy_item_id', 'r.period', 'r.payee',
        'l.person_id', 'l.person_name', 'l.id_masked', 's.township_id', 'l.village_id', 'l.amount_fen', 'l.account_id', 'l.account_last4', 'l.holder_name',
      ),
  );
}

export interface TransferredRound {
  id: number;
  title: string;
  kind: string;
  period: string;
  period_year: number;
  policy_item_id: number;
  policy_version_id: number;
  department_org_id: number;
  bank_org_id: number;
  county_id: number;
  transferred_at: string;
}

/** A county's rounds the treasury transferred (to one bank, in one year, by a date), with the first transfer's time. */
export async function transferredRounds(db: Conn, filter: { countyId?: number; bankOrgId?: number; year?: number }): Promise<TransferredRound[]> {
  const q = db('batch_round as r')
    .join(db('batch_transfer').groupBy('round_id').select('round_id').min({ transferred_at: 'recorded_at' }).as('t'), 't.round_id', 'r.id')
    .where('r.state', 'transferred')
    .orderBy('r.id')
    .select('r.id', 'r.title', 'r.kind', 'r.period', 'r.period_year', 'r.policy_item_id', 'r.policy_version_id', 'r.department_org_id', 'r.bank_org_id', 'r.county_id', 't.transferred_at');
  if (filter.countyId !== undefined) q.where('r.county_id', filter.countyId);
  if (filter.bankOrgId !== undefined) q.where('r.bank_org_id', filter.bankOrgId);
  if (filter.year !== undefined) q.where('r.period_year', filter.year);
  return ((await q) as TransferredRound[]).map((r) => ({ ...r, transferred_at: new Date(r.transferred_at).toISOString() }));
}

/** A round of the actor's scope as the supervisor's overview reads it: its state, its payment plan and its lines' total. */
export interface RoundMoneyRow {
  id: number;
  county_id: number;
  title: string;
  period: string;
  period_year: number;
  state: keyof typeof ROUND_STATES;
  department_name: string;
  payment_plan_fen: Fen | null;
  total_fen: Fen;
}

/** The rounds the actor sees (as the rounds list: roundsQuery) in the given states, oldest first, with their money. */
export async function roundsWithMoney(db: Conn, actor: Actor, states: readonly (keyof typeof ROUND_STATES)[]): Promise<RoundMoneyRow[]> {
  const rows = (await roundsQuery(db, actor, { policy: null, period: null, state: null, department: null })
    .whereIn('r.state', states)
    .orderBy('r.id')) as (RoundRow & { total_fen: Fen | string })[];
  return rows.map((r) => ({
    id: r.id,
    county_id: r.county_id,
    title: r.title,
    period: r.period,
    period_year: r.period_year,
    state: r.state,
    department_name: r.department_name,
    payment_plan_fen: r.payment_plan_fen ?? null,
    total_fen: fen(Number(r.total_fen)),
  }));
}

/**
 * The open findings of the cross-checks (复核比对) of the rosters in the actor's scope, by round, blocking and
 * warnings apart (the rules decided at release left out, as on the round's page).
 */
export async function openFindingsByRound(db: Conn, actor: Actor): Promise<{ round_id: number; round_title: string; blocking: number; warnings: number }[]> {
  const q = db('batch_finding as f')
    .join('batch_roster as s', 's.id', 'f.roster_id')
    .join('core_region as t', 't.id', 's.township_id')
    .join('batch_round as r', 'r.id', 's.round_id')
    .where('f.state', 'open')
    .whereNotIn('f.rule', DECIDED_AT_RELEASE)
    .where('t.path', 'like', `${actor.regionPath}%`);
  const rows = (await ofOwnDepartment(q, actor).groupBy('r.id', 'r.title', 'f.severity').select('r.id as round_id', 'r.title as round_title', 'f.severity').count({ n: '*' }).orderBy('r.id')) as { round_id: number; round_title: string; severity: string; n: number | string }[];
  const byRound = new Map<number, { round_id: number; round_title: string; blocking: number; warnings: number }>();
  for (const r of rows) {
    const entry = byRound.get(r.round_id) ?? { round_id: r.round_id, round_title: r.round_title, blocking: 0, warnings: 0 };
    if (r.severity === 'blocking') entry.blocking += Number(r.n);
    else entry.warnings += Number(r.n);
    byRound.set(r.round_id, entry);
  }
  return [...byRound.values()];
}

/** A released payment line as the supervision reports group it: its round, county, policy, department, township and village. */
export interface ReportLine {
  line_id: number;
  round_id: number;
  county_id: number;
  county_name: string;
  period: string;
  policy_item_id: number;
  policy_version_id: number;
  department_org_id: number;
  department_name: string;
  township_id: number;
  township_name: string;
  village_id: number;
  village_name: string;
  amount_fen: Fen;
}

/**
 * The active lines of the rounds released to a bank (released or transferred) that the actor sees (as the rounds
 * list: their county, a department its own), of the townships in the actor's region, of periods in these years;
 * with when each round was released
 * (batch_history, as releasedAt). The supervision reports narrow the periods further by month.
 */
export async function releasedLinesForReports(db: Conn, actor: Actor, years: { from: number; to: number }): Promise<{ lines: ReportLine[]; releasedAt: Map<number, string> }> {
  const rounds = (await roundsQuery(db, actor, { policy: null, period: null, state: null, department: null })
    .clearSelect()
    .whereIn('r.state', ['released', 'transferred'])
    .whereBetween('r.period_year', [years.from, years.to])
    .select('r.id')) as { id: number }[];
  const ids = rounds.map((r) => r.id);
  const lines = (await selectInChunks(ids, (chunk) =>
    db('batch_line as l')
      .join('batch_round as r', 'r.id', 'l.round_id')
      .join('core_org as o', 'o.id', 'r.department_org_id')
      .join('core_region as c', 'c.id', 'r.county_id')
      .join('batch_roster as s', 's.id', 'l.roster_id')
      .join('core_region as t', 't.id', 's.township_id')
      .join('core_region as v', 'v.id', 'l.village_id')
      .whereIn('l.round_id', chunk)
      .where('l.state', 'active')
      // A township's user sees the county's rounds, but only its own township's lines count for it.
      .where('t.path', 'like', `${actor.regionPath}%`)
      .select('l.id as line_id', 'l.round_id', 'r.county_id', 'c.name as county_name', 'r.period', 'r.policy_item_id', 'r.policy_version_id', 'r.department_org_id', 'o.name as department_name', 's.township_id', 't.name as township_name', 'l.village_id', 'v.name as village_name', 'l.amount_fen'),
  )) as ReportLine[];
  const released = (await selectInChunks(ids, (chunk) => db('batch_history').whereIn('round_id', chunk).where({ action: 'release' }).whereNull('roster_id').groupBy('round_id').select('round_id').max({ at: 'at' }))) as { round_id: number; at: string | Date }[];
  return {
    lines: lines.map((l) => ({ ...l, amount_fen: fen(Number(l.amount_fen)) })).sort((a, b) => a.line_id - b.line_id),
    releasedAt: new Map(released.map((r) => [r.round_id, new Date(r.at).toISOString()])),
  };
}

/** A round as the complete export (supervision, 完整导出) writes it. */
export interface ExportRoundRow {
  id: number;
  county_name: string;
  policy_item_id: number;
  policy_version_id: number;
  department_name: string;
  kind: string;
  title: string;
  period: string;
  period_end: string;
  state: string;
  payment_plan_fen: number | string | null;
  lines: number | string;
  total_fen: number | string;
  created_at: string;
}

/**
 * The rounds of a scope whose period ends within [from, to] (business dates), `limit` at a time in id order after
 * `afterId`: those of the counties in the region subtree, and of the county a township's region lies in. The lines'
 * count and total are the active lines'.
 */
export async function roundsForExport(db: Conn, regionPath: string, from: string, to: string, afterId: number, limit: number): Promise<ExportRoundRow[]> {
  return db('batch_round as r')
    .join('core_region as c', 'c.id', 'r.county_id')
    .join('core_org as o', 'o.id', 'r.department_org_id')
    .where((w) => w.where('c.path', 'like', `${regionPath}%`).orWhereRaw("? like c.path || '%'", [regionPath]))
    .whereBetween('r.period_end', [from, to])
    .where('r.id', '>', afterId)
    .orderBy('r.id')
    .limit(limit)
    .select('r.id', 'c.name as county_name', 'r.policy_item_id', 'r.policy_version_id', 'o.name as department_name', 'r.kind', 'r.title', 'r.period', 'r.period_end', 'r.state', 'r.payment_plan_fen', 'r.created_at')
    .select(db.raw("(select count(*) from batch_line l where l.round_id = r.id and l.state = 'active') as lines"))
    .select(db.raw("coalesce((select sum(l.amount_fen) from batch_line l where l.round_id = r.id and l.state = 'active'), 0) as total_fen"));
}

/** A payment line as the complete export writes it (the ID number masked as the line keeps it). */
export interface ExportLineRow {
  id: number;
  round_id: number;
  roster_id: number;
  person_id: number;
  person_name: string;
  id_masked: string;
  township_name: string;
  village_name: string;
  tier_name: string;
  standard_fen: number | string;
  quantity_milli: number | string;
  amount_fen: number | string;
  state: string;
  reissue: boolean | number;
  source: string;
}

/** The lines of those rounds in villages of the region subtree, `limit` at a time in id order after `afterId`. */
export async function linesForExport(db: Conn, regionPath: string, from: string, to: string, afterId: number, limit: number): Promise<ExportLineRow[]> {
  return db('batch_line as l')
    .join('batch_round as r', 'r.id', 'l.round_id')
    .join('batch_roster as s', 's.id', 'l.roster_id')
    .join('core_region as t', 't.id', 's.township_id')
    .join('core_region as v', 'v.id', 'l.village_id')
    .where('v.path', 'like', `${regionPath}%`)
    .whereBetween('r.period_end', [from, to])
    .where('l.id', '>', afterId)
    .orderBy('l.id')
    .limit(limit)
    .select('l.id', 'l.round_id', 'l.roster_id', 'l.person_id', 'l.person_name', 'l.id_masked', 't.name as township_name', 'v.name as village_name', 'l.tier_name', 'l.standard_fen', 'l.quantity_milli', 'l.amount_fen', 'l.state', 'l.reissue', 'l.source');
}

/**
 * The population a spot check draws from (supervision), in ascending line id order: a round's active lines, or one
 * village's of them, or (samePolicyPeriod) every active line of the rounds of the round's policy item and period in its
 * county; only lines of townships under `regionPath`.
 */
export async function roundLinePopulation(
  db: Conn,
  input: { roundId: number; villageId: number | null; samePolicyPeriod: boolean; regionPath: string },
): Promise<{ line_id: number; person_id: number; township_id: number; village_id: number }[]> {
  const q = db('batch_line as l')
    .join('batch_roster as s', 's.id', 'l.roster_id')
    .join('core_region as t', 't.id', 's.township_id')
    .where('l.state', 'active')
    .where('t.path', 'like', `${input.regionPath}%`);
  if (input.samePolicyPeriod) {
    const round: { policy_item_id: number; period: string; county_id: number } | undefined = await db('batch_round').where({ id: input.roundId }).first('policy_item_id', 'period', 'county_id');
    if (!round) return [];
    q.whereIn('l.round_id', db('batch_round').where({ policy_item_id: round.policy_item_id, period: round.period, county_id: round.county_id }).select('id'));
  } else q.where('l.round_id', input.roundId);
  if (input.villageId !== null) q.where('l.village_id', input.villageId);
  return q.orderBy('l.id').select('l.id as line_id', 'l.person_id', 's.township_id', 'l.village_id');
}

/** What the supervisors' screening (大数据比对筛查) covers: a region's scope and a period (business dates, both ends counted). */
export interface ScreeningScope {
  regionPath: string;
  from: string;
  to: string;
}

/** A query over rosters (`s`, with `r` their round and `t` their township) narrowed to a screening's paid rounds and townships. */
function paidInPeriod(q: Knex.QueryBuilder, scope: ScreeningScope): Knex.QueryBuilder {
  return q.whereIn('r.state', ['released', 'transferred']).whereBetween('r.period_end', [scope.from, scope.to]).where('t.path', 'like', `${scope.regionPath}%`);
}

/**
 * The paid lines of a screening: active lines of released or transferred rounds whose period ends within the scope's
 * dates, in the scope's townships. Aliases for the rules: `l` (batch_line), `r` (batch_round), `s` (batch_roster),
 * `t` (the roster's township). A fresh query each call, nothing selected yet.
 */
export function paidLinesOfPeriod(db: Conn, scope: ScreeningScope): Knex.QueryBuilder {
  return paidInPeriod(
    db('batch_line as l').join('batch_round as r', 'r.id', 'l.round_id').join('batch_roster as s', 's.id', 'l.roster_id').join('core_region as t', 't.id', 's.township_id').where('l.state', 'active'),
    scope,
  );
}

/** The released rosters of a screening's scope and period with their rounds (for the check rules run again). */
export async function paidRostersOfPeriod(db: Conn, scope: ScreeningScope): Promise<{ round: RoundRow; roster: RosterRow }[]> {
  const pairs = (await paidInPeriod(db('batch_roster as s').join('batch_round as r', 'r.id', 's.round_id').join('core_region as t', 't.id', 's.township_id'), scope)
    .orderBy('s.id')
    .select('s.id as roster_id', 'r.id as round_id')) as { roster_id: number; round_id: number }[];
  const rounds = new Map(((await selectInChunks([...new Set(pairs.map((p) => p.round_id))], (chunk) => roundQuery(db).whereIn('r.id', chunk))) as RoundRow[]).map((r) => [r.id, asRound(r)]));
  const rosters = new Map(((await selectInChunks(pairs.map((p) => p.roster_id), (chunk) => rosterQuery(db).whereIn('s.id', chunk))) as RosterRow[]).map((s) => [s.id, s]));
  return pairs.map((p) => ({ round: rounds.get(p.round_id)!, roster: rosters.get(p.roster_id)! }));
}

/**
 * A round as the exchange with the budget system (预算管理一体化) names it (bank module, budget.ts): its policy,
 * department and bank, the department's payment plan (用款计划), the released total and what the treasury transferred
 * (batch_transfer; the second transfers of corrected lines are the bank module's).
 */
export interface BudgetRoundRow {
  id: number;
  county_id: number;
  title: string;
  period: string;
  period_year: number;
  policy_item_id: number;
  policy_version_id: number;
  department_name: string;
  bank_org_id: number | null;
  bank_name: string | null;
  state: keyof typeof ROUND_STATES;
  payment_plan_no: string | null;
  payment_plan_fen: Fen | null;
  payment_plan_date: string | null;
  released_fen: Fen;
  transferred_fen: Fen;
}

/** Rounds by id, or a county's (of a period year, only those with a payment plan), in id order. */
export async function budgetRounds(db: Conn, filter: { ids?: readonly number[]; countyId?: number; year?: number; withPlan?: boolean }): Promise<BudgetRoundRow[]> {
  const query = (ids: readonly number[] | null) => {
    const q = db('batch_round as r')
      .join('core_org as o', 'o.id', 'r.department_org_id')
      .leftJoin('core_org as b', 'b.id', 'r.bank_org_id')
      .leftJoin(db('batch_transfer').groupBy('round_id').select('round_id').sum({ total: 'amount_fen' }).as('t'), 't.round_id', 'r.id')
      .orderBy('r.id')
      .select(
        'r.id', 'r.county_id', 'r.title', 'r.period', 'r.period_year', 'r.policy_item_id', 'r.policy_version_id', 'o.name as department_name', 'r.bank_org_id', 'b.name as bank_name', 'r.state',
        'r.payment_plan_no', 'r.payment_plan_fen', 'r.payment_plan_date', 'r.released_fen', 't.total as transferred_fen',
      );
    if (ids) q.whereIn('r.id', ids);
    if (filter.countyId !== undefined) q.where('r.county_id', filter.countyId);
    if (filter.year !== undefined) q.where('r.period_year', filter.year);
    if (filter.withPlan) q.whereNotNull('r.payment_plan_no');
    return q as Promise<(Omit<BudgetRoundRow, 'released_fen' | 'transferred_fen' | 'payment_plan_fen'> & { released_fen: unknown; transferred_fen: unknown; payment_plan_fen: unknown })[]>;
  };
  const rows = filter.ids ? (filter.ids.length ? await selectInChunks([...new Set(filter.ids)], (chunk) => query(chunk as number[])) : []) : await query(null);
  return rows
    .map((r) => ({
      ...r,
      payment_plan_fen: r.payment_plan_fen == null ? null : fen(Number(r.payment_plan_fen)),
      released_fen: fen(Number(r.released_fen ?? 0)),
      transferred_fen: fen(Number(r.transferred_fen ?? 0)),
    }))
    .sort((a, b) => a.id - b.id);
}

/** A treasury transfer (拨付) of a round to its bank, with its voucher. */
export interface TreasuryTransferRow {
  id: number;
  round_id: number;
  voucher_no: string;
  amount_fen: Fen;
  /** When it was recorded (UTC, ISO 8601): its business date is the transfer's date. */
  recorded_at: string;
}

/** A county's treasury transfers recorded in [fromIso, toIso) (UTC instants), in the order recorded. */
export async function treasuryTransfers(db: Conn, filter: { countyId: number; fromIso: string; toIso: string }): Promise<TreasuryTransferRow[]> {
  const rows = (await db('batch_transfer as t')
    .join('batch_round as r', 'r.id', 't.round_id')
    .where('r.county_id', filter.countyId)
    .where('t.recorded_at', '>=', filter.fromIso)
    .where('t.recorded_at', '<', filter.toIso)
    .orderBy('t.id')
    .select('t.id', 't.round_id', 't.voucher_no', 't.amount_fen', 't.recorded_at')) as (Omit<TreasuryTransferRow, 'amount_fen' | 'recorded_at'> & { amount_fen: unknown; recorded_at: string | Date })[];
  return rows.map((r) => ({ ...r, amount_fen: fen(Number(r.amount_fen)), recorded_at: new Date(r.recorded_at).toISOString() }));
}
