import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, inTransaction, nowIso } from '../../core/db.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { PUBLIC_MASK_KEYS } from '../../core/public-mask.ts';
import { type Region, findRegion } from '../../core/regions.ts';
import { saveRegionSettings } from '../../core/settings.ts';
import { validate } from '../../core/http/validate.ts';
import { rosterInScope } from '../batch/index.ts';
import { OBJECTION_NOTE_KEY, SUPERVISION_PHONE_KEY, type SheetContent, newSheetCode, sheetDigest } from './model.ts';
import { can } from './policy.ts';
import { rosterSheets } from './queries.ts';
import { publicitySettingsSchema, townshipPhone } from './schemas.ts';
import { type PrintedSheet, writeSheetsPdf } from './sheets.ts';

/**
 * The sheet row of a content: the one already printed with the same content keeps its code, a new content gets a
 * new code. Two users printing the same sheet at once get the same row (the unique key decides).
 */
async function sheetFor(trx: Conn, actor: Actor, countyId: number, villageId: number, content: SheetContent): Promise<{ code: string; digest: string }> {
  const digest = sheetDigest(content);
  const key = { roster_id: content.rosterId, kind: content.kind, village_id: villageId, digest };
  await trx('publicity_sheet')
    .insert({ ...key, code: newSheetCode(), county_id: countyId, content: JSON.stringify(content), lines: content.lines.length, total_fen: content.total.amountFen, created_by: actor.userId, created_at: nowIso() })
    .onConflict(['roster_id', 'kind', 'village_id', 'digest'])
    .ignore();
  const row: { code: string } = await trx('publicity_sheet').where(key).first('code');
  return { code: row.code, digest };
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
  const { phones } = sheets.summary;
  if (!phones.county || !phones.township) throw new ConflictError(`公示表须印有县、乡两级监督电话：请系统管理员先在“公示设置”中填写${!phones.county ? '县（区）' : ''}${!phones.county && !phones.township ? '和' : ''}${!phones.township ? roster.township_name : ''}的监督电话`);
  const chosen: { villageId: number; content: SheetContent }[] =
    which === 'summary' ? [{ villageId: 0, content: sheets.summary }] : which.village === null ? sheets.villages : sheets.villages.filter((v) => v.villageId === which.village);
  if (chosen.length === 0) throw new NotFoundError(which !== 'summary' && which.village !== null ? '本清册在该村（社区）没有发放明细' : '本清册没有发放明细');
  const printed: PrintedSheet[] = await inTransaction(core.db, async (trx) => {
    const out: PrintedSheet[] = [];
    for (const { villageId, content } of chosen) {
      const { code, digest } = await sheetFor(trx, actor, round.county_id, villageId, content);
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
