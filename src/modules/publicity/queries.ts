import { type Conn, countRows } from '../../core/db.ts';
import { type Fen, addFen, fen, formatYuan } from '../../core/money.ts';
import { maskPersonForPublic, publicMaskRule } from '../../core/public-mask.ts';
import { findRegion } from '../../core/regions.ts';
import { settingFor, settingsAt } from '../../core/settings.ts';
import { businessDate } from '../../core/dates.ts';
import { NotFoundError } from '../../core/errors.ts';
import { type PrintedLine, type RosterRow, type RoundRow, formatQuantity, parsePeriod, printedLines, rosterAndRound, rosterStates } from '../batch/index.ts';
import { standardText, versionsById } from '../policy/index.ts';
import { PUBLICISED_STATES } from './policy.ts';
import { DEFAULT_OBJECTION_NOTE, type NoticeKind, type NoticeStatus, OBJECTION_NOTE_KEY, type PostingPlace, SUPERVISION_PHONE_KEY, type SheetContent, type SheetKind, type SheetLine, type SummaryLine, sheetDigest } from './model.ts';

const collator = new Intl.Collator('zh-Hans-CN', { numeric: true });

/** The supervision telephones a township's sheets print: the county's and the township's own (none inherited). */
export async function supervisionPhones(db: Conn, countyId: number, townshipId: number): Promise<{ county: string; township: string }> {
  const county = await settingsAt(db, countyId, [SUPERVISION_PHONE_KEY]);
  const township = await settingsAt(db, townshipId, [SUPERVISION_PHONE_KEY]);
  return { county: county.get(SUPERVISION_PHONE_KEY) ?? '', township: township.get(SUPERVISION_PHONE_KEY) ?? '' };
}

export interface RosterSheets {
  villages: { villageId: number; content: SheetContent }[];
  summary: SheetContent;
}

/**
 * The sheets of a roster as they would print now: one per village (Chinese collation order, lines numbered in line
 * order) and the township summary. Everything as printed: the county's public masking rule applied to names and ID
 * numbers (core/public-mask.ts), money in 元 from integer fen, no account data.
 */
export async function rosterSheets(db: Conn, roster: RosterRow, round: RoundRow): Promise<RosterSheets> {
  // One query after another: `db` may be a transaction (publication), whose one connection takes one query at a time.
  const [version] = await versionsById(db, [round.policy_version_id]);
  const lines = await printedLines(db, roster.id);
  const county = await findRegion(db, round.county_id);
  const rule = await publicMaskRule(db, roster.township_id);
  const phones = await supervisionPhones(db, round.county_id, roster.township_id);
  const objection = await settingFor(db, roster.township_id, OBJECTION_NOTE_KEY);
  const period = parsePeriod(version!.frequency, round.period);
  const base = {
    rosterId: roster.id,
    title: `${round.title}公示表`,
    county: county!.name,
    township: roster.township_name,
    subsidy: version!.name,
    basis: `《${version!.legalBasisTitle.replace(/^《(.*)》$/, '$1')}》（${version!.legalBasisNumber}）`,
    department: round.department_name,
    period: 'label' in period ? period.label : round.period,
    standard: standardText(version!.tiers, round.unit, '；'),
    unit: round.unit,
    publicityStart: roster.publicity_start ?? '',
    publicityEnd: roster.publicity_end ?? '',
    afterPayment: round.expedited,
    phones,
    objection: objection ?? DEFAULT_OBJECTION_NOTE,
  };
  const byVillage = new Map<number, PrintedLine[]>();
  for (const line of lines) {
    const village = byVillage.get(line.village_id);
    if (village) village.push(line);
    else byVillage.set(line.village_id, [line]);
  }
  const villageIds = [...byVillage.keys()].sort((a, b) => collator.compare(byVillage.get(a)![0]!.village_name, byVillage.get(b)![0]!.village_name));
  const totals = (ls: PrintedLine[]) => {
    const quantity = ls.reduce((s, l) => s + l.quantity_milli, 0);
    const amountFen = ls.reduce((s, l) => addFen(s, l.amount_fen), fen(0)) as Fen;
    return { people: ls.length, quantity: formatQuantity(quantity), amount: formatYuan(amountFen), amountFen };
  };
  const villages = villageIds.map((villageId) => {
    const ls = byVillage.get(villageId)!;
    const sheetLines: SheetLine[] = ls.map((l, i) => {
      const person = maskPersonForPublic(rule, { name: l.person_name, idNumber: l.id_masked });
      return { no: i + 1, name: person.name, id: person.id, tier: l.tier_name, standard: formatYuan(l.standard_fen), quantity: formatQuantity(l.quantity_milli), amount: formatYuan(l.amount_fen) };
    });
    return { villageId, content: { kind: 'village' as SheetKind, ...base, village: ls[0]!.village_name, lines: sheetLines, total: totals(ls) } };
  });
  const summaryLines: SummaryLine[] = villageIds.map((id, i) => {
    const t = totals(byVillage.get(id)!);
    return { no: i + 1, village: byVillage.get(id)![0]!.village_name, people: t.people, quantity: t.quantity, amount: t.amount };
  });
  return { villages, summary: { kind: 'township', ...base, village: '', lines: summaryLines, total: totals(lines) } };
}

export interface SheetRow {
  id: number;
  code: string;
  roster_id: number;
  county_id: number;
  kind: SheetKind;
  village_id: number;
  digest: string;
  content: string;
  lines: number;
  total_fen: Fen;
  created_by: number;
  created_at: string;
}

export async function sheetByCode(db: Conn, code: string): Promise<SheetRow | undefined> {
  return db('publicity_sheet').where({ code }).first();
}

/** Where a printed sheet stands: still the notice as it is now, changed since it was printed, or withdrawn. */
export type SheetStatus = 'current' | 'updated' | 'withdrawn';

/**
 * A printed sheet as the system holds it, found by its code, and whether that paper is still current: the roster's
 * sheet as it would print now has the same digest ("updated" when the lines, the masking rule or the telephones
 * changed since), and the roster is still publicised ("withdrawn" when it was returned for changes after publicity).
 */
export async function verifySheet(db: Conn, code: string): Promise<{ sheet: SheetRow; content: SheetContent; status: SheetStatus } | null> {
  const sheet = await sheetByCode(db, code);
  if (!sheet) return null;
  const content = JSON.parse(sheet.content) as SheetContent;
  const found = await rosterAndRound(db, sheet.roster_id);
  if (!found || found.roster.publicity_start === null || !PUBLICISED_STATES.includes(found.roster.state)) return { sheet, content, status: 'withdrawn' };
  const now = await rosterSheets(db, found.roster, found.round);
  const current = sheet.kind === 'township' ? now.summary : now.villages.find((v) => v.villageId === sheet.village_id)?.content;
  return { sheet, content, status: current && sheetDigest(current) === sheet.digest ? 'current' : 'updated' };
}

/** The sheets printed for a roster, newest first, for its publicity page. */
export async function sheetsOfRoster(db: Conn, rosterId: number): Promise<Omit<SheetRow, 'content'>[]> {
  return db('publicity_sheet').where({ roster_id: rosterId }).orderBy('id', 'desc').select('id', 'code', 'roster_id', 'county_id', 'kind', 'village_id', 'digest', 'lines', 'total_fen', 'created_by', 'created_at');
}

export interface NoticeRow {
  id: number;
  county_id: number;
  township_id: number;
  roster_id: number;
  round_id: number;
  kind: NoticeKind;
  title: string;
  publicity_start: string;
  publicity_end: string;
  lines: number;
  total_fen: Fen;
  digest: string;
  published_by: number;
  published_at: string;
}
export type Notice = NoticeRow & { status: NoticeStatus };

/**
 * Where each notice stands (model.ts NOTICE_STATUSES), from its roster: a later publication of the roster supersedes
 * it; a publicity before payment is withdrawn once the roster left its publicised states (returned for changes);
 * otherwise it is open until its last day and ended after.
 */
async function withStatus(db: Conn, notices: NoticeRow[]): Promise<Notice[]> {
  const rosterIds = [...new Set(notices.map((n) => n.roster_id))];
  const [latest, rosters] = await Promise.all([
    rosterIds.length ? (db('publicity_notice').whereIn('roster_id', rosterIds).groupBy('roster_id').select('roster_id', db.raw('max(id) as id')) as Promise<{ roster_id: number; id: number }[]>) : Promise.resolve([]),
    rosterStates(db, rosterIds),
  ]);
  const latestOf = new Map(latest.map((l) => [Number(l.roster_id), Number(l.id)]));
  const today = businessDate();
  return notices.map((n) => {
    const roster = rosters.get(n.roster_id);
    const status: NoticeStatus =
      latestOf.get(n.roster_id) !== n.id ? 'superseded' : n.kind === 'before' && (!roster || !PUBLICISED_STATES.includes(roster.state)) ? 'withdrawn' : today <= n.publicity_end ? 'open' : 'ended';
    return { ...n, status };
  });
}

/** A roster's latest notice, if it was ever published. */
export async function latestNotice(db: Conn, rosterId: number): Promise<NoticeRow | undefined> {
  return db('publicity_notice').where({ roster_id: rosterId }).orderBy('id', 'desc').first();
}

/** A roster's notices, newest first, each with where it stands. */
export async function noticesOfRoster(db: Conn, rosterId: number): Promise<Notice[]> {
  return withStatus(db, await db('publicity_notice').where({ roster_id: rosterId }).orderBy('id', 'desc'));
}

/** One notice of a roster (already read in the actor's scope), or not found. */
export async function noticeOfRoster(db: Conn, roster: RosterRow, noticeId: number): Promise<Notice> {
  const row: NoticeRow | undefined = await db('publicity_notice').where({ id: noticeId, roster_id: roster.id }).first();
  if (!row) throw new NotFoundError('该公示不存在');
  return (await withStatus(db, [row]))[0]!;
}

export interface PostingRow {
  id: number;
  notice_id: number;
  place: PostingPlace;
  village_id: number;
  location: string;
  posted_on: string;
}

/** Where and when the papers of these notices were posted, in date order. */
export async function postingsOf(db: Conn, noticeIds: number[]): Promise<PostingRow[]> {
  if (noticeIds.length === 0) return [];
  return db('publicity_posting').whereIn('notice_id', noticeIds).orderBy(['posted_on', 'id']).select('id', 'notice_id', 'place', 'village_id', 'location', 'posted_on');
}

/** A notice's sheet as its portal page lists it: no content, the village's name from the regions. */
export type NoticeSheet = Omit<SheetRow, 'content'> & { village_name: string | null };

/**
 * The sheets produced when a notice was published (and printed since under it), in order of production, with their
 * villages' names; and the township summary's content as last produced (what the notice page prints). Only the summary
 * is parsed: the village sheets' lines stay in the database until someone opens one.
 */
export async function sheetsOfNotice(db: Conn, noticeId: number): Promise<{ sheets: NoticeSheet[]; summary: { code: string; content: SheetContent } }> {
  const sheets: NoticeSheet[] = await db('publicity_sheet as s')
    .leftJoin('core_region as v', 'v.id', 's.village_id')
    .where('s.notice_id', noticeId)
    .orderBy('s.id')
    .select('s.id', 's.code', 's.roster_id', 's.county_id', 's.kind', 's.village_id', 's.digest', 's.lines', 's.total_fen', 's.created_by', 's.created_at', 'v.name as village_name');
  const summary = sheets.filter((x) => x.kind === 'township').at(-1)!;
  const { content } = (await db('publicity_sheet').where({ id: summary.id }).first('content')) as { content: string };
  return { sheets, summary: { code: summary.code, content: JSON.parse(content) as SheetContent } };
}

/**
 * The portal's list of a county's notices: those in their period now, or the past ones (ended, withdrawn, superseded;
 * newest first), a page at a time. Only notices whose last day has not passed can be open, so that set stays small.
 */
export async function countyNotices(db: Conn, countyId: number, which: 'open' | 'past', page: number, pageSize: number): Promise<{ rows: Notice[]; total: number }> {
  const recent = await withStatus(db, await db('publicity_notice').where({ county_id: countyId }).andWhere('publicity_end', '>=', businessDate()).orderBy('id', 'desc'));
  const open = recent.filter((n) => n.status === 'open');
  if (which === 'open') return { rows: open.slice((page - 1) * pageSize, page * pageSize), total: open.length };
  const past = db('publicity_notice').where({ county_id: countyId }).whereNotIn('id', open.map((n) => n.id));
  const [rows, total] = await Promise.all([past.clone().orderBy('id', 'desc').limit(pageSize).offset((page - 1) * pageSize), countRows(past)]);
  return { rows: await withStatus(db, rows), total };
}

/** A county's notices whose publicity began in a year, in publication order, with where each stands (the open data). */
export async function noticesOfYear(db: Conn, countyId: number, year: number): Promise<Notice[]> {
  return withStatus(db, await db('publicity_notice').where({ county_id: countyId }).whereBetween('publicity_start', [`${year}-01-01`, `${year}-12-31`]).orderBy('id'));
}

/** One published notice for the portal, with where it stands. */
export async function publicNotice(db: Conn, noticeId: number): Promise<Notice | undefined> {
  const row: NoticeRow | undefined = await db('publicity_notice').where({ id: noticeId }).first();
  return row ? (await withStatus(db, [row]))[0] : undefined;
}
