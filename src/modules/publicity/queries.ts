import type { Conn } from '../../core/db.ts';
import { type Fen, addFen, fen, formatYuan } from '../../core/money.ts';
import { maskPersonForPublic, publicMaskRule } from '../../core/public-mask.ts';
import { findRegion } from '../../core/regions.ts';
import { settingFor, settingsAt } from '../../core/settings.ts';
import { type PrintedLine, type RosterRow, type RoundRow, formatQuantity, parsePeriod, printedLines, rosterAndRound } from '../batch/index.ts';
import { standardText, versionsById } from '../policy/index.ts';
import { PUBLICISED_STATES } from './policy.ts';
import { DEFAULT_OBJECTION_NOTE, OBJECTION_NOTE_KEY, SUPERVISION_PHONE_KEY, type SheetContent, type SheetKind, type SheetLine, type SummaryLine, sheetDigest } from './model.ts';

const collator = new Intl.Collator('zh-Hans-CN', { numeric: true });

/** The supervision telephones a township's sheets print: the county's and the township's own (none inherited). */
export async function supervisionPhones(db: Conn, countyId: number, townshipId: number): Promise<{ county: string; township: string }> {
  const [county, township] = await Promise.all([settingsAt(db, countyId, [SUPERVISION_PHONE_KEY]), settingsAt(db, townshipId, [SUPERVISION_PHONE_KEY])]);
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
  const [[version], lines, county, rule, phones, objection] = await Promise.all([
    versionsById(db, [round.policy_version_id]),
    printedLines(db, roster.id),
    findRegion(db, round.county_id),
    publicMaskRule(db, roster.township_id),
    supervisionPhones(db, round.county_id, roster.township_id),
    settingFor(db, roster.township_id, OBJECTION_NOTE_KEY),
  ]);
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
