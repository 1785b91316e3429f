import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { PUBLIC_MASK_KEYS } from '../../core/public-mask.ts';
import { type Region, findRegion } from '../../core/regions.ts';
import { saveRegionSettings } from '../../core/settings.ts';
import { validate } from '../../core/http/validate.ts';
import { addCalendarDays, businessDate } from '../../core/dates.ts';
import { beginPublicity, rosterInScope, villageTotals } from '../batch/index.ts';
import { OBJECTION_NOTE_KEY, SUPERVISION_PHONE_KEY, type SheetContent, newSheetCode, sheetDigest } from './model.ts';
import { can } from './policy.ts';
import { latestNotice, noticeOfRoster, rosterSheets, supervisionPhones } from './queries.ts';
import { type PostingInput, publicitySettingsSchema, townshipPhone } from './schemas.ts';
import { type PrintedSheet, writeSheetsPdf } from './sheets.ts';

/**
 * The sheet row of a content: the one already printed with the same content keeps its code, a new content gets a
 * new code. Two users printing the same sheet at once get the same row (the unique key decides).
 */
async function sheetFor(trx: Conn, actor: Actor, countyId: number, villageId: number, content: SheetContent, noticeId: number | null): Promise<{ code: string; digest: string }> {
  const digest = sheetDigest(content);
  const key = { roster_id: content.rosterId, kind: content.kind, village_id: villageId, digest };
  await trx('publicity_sheet')
    .insert({ ...key, code: newSheetCode(), county_id: countyId, notice_id: noticeId, content: JSON.stringify(content), lines: content.lines.length, total_fen: content.total.amountFen, created_by: actor.userId, created_at: nowIso() })
    .onConflict(['roster_id', 'kind', 'village_id', 'digest'])
    .ignore();
  const row: { code: string } = await trx('publicity_sheet').where(key).first('code');
  return { code: row.code, digest };
}

/** The sheets print the county's and the township's supervision telephones (Qinghai 二(四)11): both must be set. */
function assertPhonesSet(phones: { county: string; township: string }, township: string): void {
  if (!phones.county || !phones.township) throw new ConflictError(`公示表须印有县、乡两级监督电话：请系统管理员先在“公示设置”中填写${!phones.county ? '县（区）' : ''}${!phones.county && !phones.township ? '和' : ''}${!phones.township ? township : ''}的监督电话`);
}

/**
 * Publish a roster's notice, which begins its publicity (Qinghai 二(四)11): the period runs from today, the day of
 * publication, for the days chosen. In one transaction the roster's step (batch's beginPublicity: before payment it
 * moves to 公示中; a paid 应急救助 roster records its publicity after payment), the notice on the portal, and the sheets
 * of every village and the township summary with their codes, ready to print and post. A roster returned for changes
 * and approved again is published again: a new notice and a new period; the old notice stays as it was shown.
 */
export async function publishNotice(core: Core, actor: Actor, rosterId: number, input: { version: number; days: number }): Promise<{ noticeId: number; start: string; end: string }> {
  const { roster, round } = await rosterInScope(core.db, actor, rosterId);
  await authorize(core.db, actor, can(actor, 'publish_notice', { round, roster }), { objectType: 'roster', objectId: roster.id });
  assertPhonesSet(await supervisionPhones(core.db, round.county_id, roster.township_id), roster.township_name);
  const start = businessDate();
  const end = addCalendarDays(start, input.days - 1);
  return inTransaction(core.db, async (trx) => {
    await beginPublicity(trx, actor, { roster, round, version: input.version }, { start, end });
    const sheets = await rosterSheets(trx, { ...roster, publicity_start: start, publicity_end: end }, round);
    if (sheets.villages.length === 0) throw new ConflictError('本清册没有发放明细，不能发布公示');
    const noticeId = await insertReturningId(trx, 'publicity_notice', {
        county_id: round.county_id,
        township_id: roster.township_id,
        roster_id: roster.id,
        round_id: round.id,
        kind: round.expedited ? 'after' : 'before',
        title: `${round.title}（${roster.township_name}）`,
        publicity_start: start,
        publicity_end: end,
        lines: sheets.summary.total.people,
        total_fen: sheets.summary.total.amountFen,
        digest: sheetDigest(sheets.summary),
        published_by: actor.userId,
        published_at: nowIso(),
    });
    for (const { villageId, content } of [...sheets.villages, { villageId: 0, content: sheets.summary }]) await sheetFor(trx, actor, round.county_id, villageId, content, noticeId);
    await recordAudit(trx, actor, { action: 'publicity.notice.publish', objectType: 'roster', objectId: roster.id, summary: { notice: noticeId, start, end, villages: sheets.villages.length, lines: sheets.summary.total.people, totalFen: sheets.summary.total.amountFen } });
    return { noticeId, start, end };
  });
}

/**
 * Record where and when a notice's paper was posted: a village board (one of the roster's villages), the township
 * board, or another place described. On or after the publication and by today. The same posting recorded twice is
 * kept once (the unique key decides), and says so.
 */
export async function recordPosting(core: Core, actor: Actor, rosterId: number, noticeId: number, input: PostingInput): Promise<{ repeated: boolean }> {
  const { roster } = await rosterInScope(core.db, actor, rosterId);
  const notice = await noticeOfRoster(core.db, roster, noticeId);
  await authorize(core.db, actor, can(actor, 'record_posting', { status: notice.status }), { objectType: 'roster', objectId: roster.id });
  const fieldErrors: Record<string, string> = {};
  if (input.postedOn < notice.publicity_start) fieldErrors.postedOn = `张贴日期不能早于公示发布日期（${notice.publicity_start}）`;
  if (input.place === 'village_board') {
    const villages = (await villageTotals(core.db, roster.id)).map((v) => Number(v.village_id));
    if (!villages.includes(input.villageId!)) fieldErrors.villageId = '请选择本清册有发放明细的村（社区）';
  }
  if (Object.keys(fieldErrors).length) throw new ValidationError(fieldErrors);
  const key = { notice_id: notice.id, place: input.place, village_id: input.place === 'village_board' ? input.villageId! : 0, location: input.location ?? '' };
  return inTransaction(core.db, async (trx) => {
    const inserted = await trx('publicity_posting')
      .insert({ ...key, posted_on: input.postedOn, recorded_by: actor.userId, recorded_at: nowIso() })
      .onConflict(['notice_id', 'place', 'village_id', 'location'])
      .ignore()
      .returning('id');
    if (inserted.length === 0) return { repeated: true };
    await recordAudit(trx, actor, { action: 'publicity.posting.record', objectType: 'roster', objectId: roster.id, summary: { notice: notice.id, ...key, postedOn: input.postedOn } });
    return { repeated: false };
  });
}

/**
 * Print a roster's publicity sheets: one village's, every village's (one PDF, each sheet numbered on its own) or the
 * township summary. The sheets print the county's and the township's supervision telephones, so both must be set.
 * Each sheet printed keeps its code, digest and content (publicity_sheet); the print is audited.
 */
export async function printSheets(core: Core, actor: Actor, rosterId: number, which: { village: number | null } | 'summary', portal: string): Promise<{ fileName: string; body: Buffer }> {
  const { roster, round } = await rosterInScope(core.db, actor, rosterId);
  await authorize(core.db, actor, can(actor, 'print_sheets', roster), { objectType: 'roster', objectId: rosterId });
  const sheets = await rosterSheets(core.db, roster, round);
  assertPhonesSet(sheets.summary.phones, roster.township_name);
  const notice = await latestNotice(core.db, roster.id);
  const chosen: { villageId: number; content: SheetContent }[] =
    which === 'summary' ? [{ villageId: 0, content: sheets.summary }] : which.village === null ? sheets.villages : sheets.villages.filter((v) => v.villageId === which.village);
  if (chosen.length === 0) throw new NotFoundError(which !== 'summary' && which.village !== null ? '本清册在该村（社区）没有发放明细' : '本清册没有发放明细');
  const printed: PrintedSheet[] = await inTransaction(core.db, async (trx) => {
    const out: PrintedSheet[] = [];
    for (const { villageId, content } of chosen) {
      const { code, digest } = await sheetFor(trx, actor, round.county_id, villageId, content, notice?.id ?? null);
      out.push({ content, code, digest, verifyUrl: `${portal}/public/verify/${code}` });
    }
    await recordAudit(trx, actor, {
      action: 'publicity.sheet.print',
      objectType: 'roster',
      objectId: rosterId,
      summary: { kind: which === 'summary' ? 'township' : 'village', sheets: out.length, lines: out.reduce((s, p) => s + p.content.lines.length, 0), totalFen: out.reduce((s, p) => s + p.content.total.amountFen, 0), codes: out.map((p) => p.code).join(' ') },
    });
    return out;
  });
  const body = await writeSheetsPdf(printed);
  const first = printed[0]!.content;
  const where = which === 'summary' ? `${first.township}汇总` : printed.length === 1 ? `${first.township}${first.village}` : `${first.township}各村`;
  return { fileName: `${round.title}公示表-${where}.pdf`, body };
}

/** The county an administrator sets the publicity of: their own region, if it is a county. */
export async function settingsCounty(core: Core, actor: Actor): Promise<Region | null> {
  const region = await findRegion(core.db, actor.regionId);
  return region?.level === 'county' ? region : null;
}

/**
 * The county's publicity settings, saved together in one transaction (core settings, audited per region): the
 * masking rule of every public output, the objection note, the county's and each township's supervision telephone.
 */
export async function savePublicitySettings(core: Core, actor: Actor, body: Record<string, unknown>, townships: Region[]): Promise<void> {
  await authorize(core.db, actor, can(actor, 'set_publicity_settings', null), { objectType: 'region', objectId: actor.regionId });
  const county = await settingsCounty(core, actor);
  if (!county) throw new ConflictError('公示设置由县级系统管理员按县（区）填写');
  const errors: Record<string, string> = {};
  let input: ReturnType<typeof publicitySettingsSchema.parse> | null = null;
  try {
    input = validate(publicitySettingsSchema, body);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    Object.assign(errors, err.fieldErrors);
  }
  const phones = new Map<number, string>();
  for (const t of townships) {
    const parsed = townshipPhone(t.name).safeParse(body[`phone_${t.id}`] ?? '');
    if (parsed.success) phones.set(t.id, parsed.data);
    else errors[`phone_${t.id}`] = parsed.error.issues[0]!.message;
  }
  if (Object.keys(errors).length || !input) throw new ValidationError(errors);
  await saveRegionSettings(core.db, actor, [
    { regionId: county.id, values: { [PUBLIC_MASK_KEYS.id]: input.idMask, [PUBLIC_MASK_KEYS.name]: input.nameMask, [OBJECTION_NOTE_KEY]: input.objectionNote, [SUPERVISION_PHONE_KEY]: input.countyPhone } },
    ...townships.map((t) => ({ regionId: t.id, values: { [SUPERVISION_PHONE_KEY]: phones.get(t.id)! } })),
  ]);
}
