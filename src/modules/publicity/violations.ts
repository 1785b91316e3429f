import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { businessYear } from '../../core/dates.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { type Fen, formatYuan } from '../../core/money.ts';
import { type Region, findRegion, regionLineage } from '../../core/regions.ts';
import { checkCharacter, luhnValid } from '../beneficiary/index.ts';
import { policyList } from '../policy/index.ts';
import { can } from './policy.ts';
import type { ViolationInput } from './violation-schemas.ts';

/**
 * Violations made public (违规问题曝光, Chongqing 七: 对虚报冒领等问题的查处情况予以公开): a supervisor publishes what
 * was decided, in their region; a published one may be withdrawn with a reason (it leaves the portal; the record and
 * the audit rows stay). The portal lists those not withdrawn, per county.
 */

export interface ViolationRow {
  id: number;
  county_id: number;
  township_id: number | null;
  village_id: number | null;
  policy_item_id: number | null;
  policy_name: string | null;
  title: string;
  facts: string;
  involved_fen: Fen;
  recovered_fen: Fen;
  handling: string;
  doc_number: string;
  doc_date: string;
  published_by: number;
  published_at: string;
  withdrawn_by: number | null;
  withdrawn_at: string | null;
  withdraw_reason: string | null;
  /** proposed (one supervisor) → published (approved by another). */
  state: 'proposed' | 'published';
  approved_by: number | null;
  approved_at: string | null;
  to_recover_fen: Fen | null;
}

/**
 * The full ID numbers (valid check character) and Luhn-valid card numbers in a text: a supervisor writes the facts
 * by hand, and a public page must never carry one (the same exact test as the portal's own checks).
 */
export function personalNumbersIn(text: string): string[] {
  const ids = (text.match(/(?<![0-9])\d{17}[\dXx](?![0-9A-Za-z])/g) ?? []).filter((n) => checkCharacter(n.slice(0, 17)) === n[17]!.toUpperCase());
  const cards = (text.match(/(?<![0-9])\d{16,19}(?![0-9])/g) ?? []).filter((n) => luhnValid(n));
  return [...ids, ...cards];
}

/** The policies a violation may name: the county's public list of this year and the last (a violation found late). */
export async function violationPolicies(db: Conn, county: Region): Promise<{ value: number; label: string }[]> {
  const year = businessYear();
  const seen = new Map<number, string>();
  for (const y of [year, year - 1]) for (const v of await policyList(db, county, y, { publicOnly: true })) if (!seen.has(v.itemId)) seen.set(v.itemId, `${v.code} ${v.name}`);
  return [...seen].map(([value, label]) => ({ value, label }));
}

/** The county of a region (itself if a county), its township and village as the region's level says. */
async function placeOf(db: Conn, region: Region): Promise<{ county: Region; townshipId: number | null; villageId: number | null } | null> {
  const lineage = await regionLineage(db, region);
  const county = lineage.find((r) => r.level === 'county');
  if (!county) return null;
  return { county, townshipId: lineage.find((r) => r.level === 'township')?.id ?? null, villageId: region.level === 'village' ? region.id : null };
}

/**
 * A supervisor publishes a violation on the portal, in one transaction with its audit row. The region must be theirs
 * (a refusal is audited); the texts must carry no full ID or card number (names masked by the supervisor).
 */
export async function publishViolation(core: Core, actor: Actor, input: ViolationInput): Promise<number> {
  const region = await findRegion(core.db, input.regionId);
  if (!region || !['county', 'township', 'village'].includes(region.level)) throw new ValidationError({ regionId: '请选择发生地（县、乡镇或村）' });
  await authorize(core.db, actor, can(actor, 'publish_violation', region), { objectType: 'region', objectId: region.id });
  const place = await placeOf(core.db, region);
  if (!place) throw new ValidationError({ regionId: '请选择发生地（县、乡镇或村）' });
  const errors: Record<string, string> = {};
  const labels = { title: '标题', facts: '基本事实', handling: '处理结果', docNumber: '处理决定文号' } as const;
  for (const [field, label] of Object.entries(labels)) {
    if (personalNumbersIn(input[field as keyof typeof labels]).length) errors[field] = `${label}中有完整的身份证号码或银行卡号：公开的内容不得含有，请删去（人名只写姓，中间的字以 * 代替）`;
  }
  let policyName: string | null = null;
  if (input.itemId !== null) {
    policyName = (await violationPolicies(core.db, place.county)).find((p) => p.value === input.itemId)?.label ?? null;
    if (policyName === null) errors.itemId = '请从本县公开的补贴项目中选择，或不选';
  }
  if (Object.keys(errors).length) throw new ValidationError(errors);
  return inTransaction(core.db, async (trx) => {
    const id = await insertReturningId(trx, 'publicity_violation', {
      county_id: place.county.id,
      township_id: place.townshipId,
      village_id: place.villageId,
      policy_item_id: input.itemId,
      policy_name: policyName,
      title: input.title,
      facts: input.facts,
      involved_fen: input.involved,
      recovered_fen: input.recovered,
      handling: input.handling,
      doc_number: input.docNumber,
      doc_date: input.docDate,
      published_by: actor.userId,
      published_at: nowIso(),
      state: 'proposed',
      to_recover_fen: input.involved,
    });
    await recordAudit(trx, actor, {
      action: 'publicity.violation.propose',
      objectType: 'violation',
      objectId: id,
      summary: { title: input.title, place: region.name, involvedFen: input.involved, recoveredFen: input.recovered, docNumber: input.docNumber },
    });
    return id;
  });
}

/** A violation of the actor's scope (404 outside it, as for an unknown one), with the path of its place. */
async function violationInScope(db: Conn, actor: Actor, id: number): Promise<ViolationRow & { path: string }> {
  const row = (await db('publicity_violation').where({ id }).first()) as ViolationRow | undefined;
  const place = row ? await findRegion(db, row.village_id ?? row.township_id ?? row.county_id) : undefined;
  if (!row || !place || !place.path.startsWith(actor.regionPath)) throw new NotFoundError('该曝光不存在或不在您的管辖范围内');
  return { ...row, path: place.path };
}

/** A supervisor withdraws a published violation with a reason: it leaves the portal; audited, guarded on its state. */
export async function withdrawViolation(core: Core, actor: Actor, id: number, reason: string): Promise<string> {
  const row = await violationInScope(core.db, actor, id);
  await authorize(core.db, actor, can(actor, 'withdraw_violation', row), { objectType: 'violation', objectId: id });
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('publicity_violation').where({ id }).whereNull('withdrawn_at').update({ withdrawn_by: actor.userId, withdrawn_at: nowIso(), withdraw_reason: reason });
    if (updated !== 1) throw new ConflictError('该曝光刚被撤回，请刷新后查看');
    await recordAudit(trx, actor, { action: 'publicity.violation.withdraw', objectType: 'violation', objectId: id, summary: { title: row.title, reason } });
  });
  return `已撤回“${row.title}”：门户网站不再显示`;
}

/** Staff: the violations published in the actor's region, newest first, withdrawn ones included. */
export async function violationsInScope(db: Conn, actor: Actor): Promise<ViolationRow[]> {
  const inScope = () => db('core_region').select('id').where('path', 'like', `${actor.regionPath}%`);
  return (await db('publicity_violation')
    .where((q) => q.whereIn('county_id', inScope()).orWhereIn('township_id', inScope()).orWhereIn('village_id', inScope()))
    .orderBy('id', 'desc')
    .limit(500)) as ViolationRow[];
}

/**
 * Another supervisor approves a proposed violation (four eyes: the proposer may not, a refusal audited): it is
 * published on the portal; audited, guarded on its state.
 */
export async function approveViolation(core: Core, actor: Actor, id: number): Promise<string> {
  const row = await violationInScope(core.db, actor, id);
  await authorize(core.db, actor, can(actor, 'approve_violation', row), { objectType: 'violation', objectId: id });
  await inTransaction(core.db, async (trx) => {
    const now = nowIso();
    const updated = await trx('publicity_violation').where({ id, state: 'proposed' }).whereNull('withdrawn_at').update({ state: 'published', approved_by: actor.userId, approved_at: now, published_at: now });
    if (updated !== 1) throw new ConflictError('该曝光刚被他人审核或撤回，请刷新后查看');
    await recordAudit(trx, actor, { action: 'publicity.violation.publish', objectType: 'violation', objectId: id, summary: { title: row.title, proposedBy: row.published_by, docNumber: row.doc_number, involvedFen: row.involved_fen, recoveredFen: row.recovered_fen } });
  });
  return `已审核同意，“${row.title}”已在门户网站公开曝光`;
}

export interface RecoveryRow {
  id: number;
  violation_id: number;
  recovered_on: string;
  amount_fen: Fen;
  doc_number: string;
  recorded_by: number;
  recorded_at: string;
}

/** The recoveries recorded for violations, by violation id, oldest first. */
export async function recoveriesOf(db: Conn, ids: number[]): Promise<Map<number, RecoveryRow[]>> {
  const rows = ids.length ? ((await db('publicity_violation_recovery').whereIn('violation_id', ids).orderBy('recovered_on').orderBy('id')) as RecoveryRow[]) : [];
  const by = new Map<number, RecoveryRow[]>();
  for (const r of rows) by.set(r.violation_id, [...(by.get(r.violation_id) ?? []), { ...r, amount_fen: Number(r.amount_fen) as Fen }]);
  return by;
}

/** Recovered so far (at the decision, plus every recovery recorded) and still outstanding, in fen. */
export function recoveryTotals(row: Pick<ViolationRow, 'recovered_fen' | 'to_recover_fen' | 'involved_fen'>, entries: RecoveryRow[]): { recovered: number; toRecover: number; outstanding: number } {
  const recovered = Number(row.recovered_fen) + entries.reduce((sum, e) => sum + Number(e.amount_fen), 0);
  const toRecover = Number(row.to_recover_fen ?? row.involved_fen);
  return { recovered, toRecover, outstanding: Math.max(0, toRecover - recovered) };
}

/** A supervisor records money recovered for a violation (no more than is outstanding); audited. */
export async function recordRecovery(core: Core, actor: Actor, id: number, input: { recoveredOn: string; amount: Fen; recoveryDoc: string }): Promise<string> {
  const row = await violationInScope(core.db, actor, id);
  await authorize(core.db, actor, can(actor, 'record_recovery', row), { objectType: 'violation', objectId: id });
  return inTransaction(core.db, async (trx) => {
    const totals = recoveryTotals(row, (await recoveriesOf(trx, [id])).get(id) ?? []);
    if (input.amount > totals.outstanding) throw new ValidationError({ amount: `追回金额不能超过尚待追回的 ${formatYuan(totals.outstanding as Fen)} 元` });
    const entryId = await insertReturningId(trx, 'publicity_violation_recovery', { violation_id: id, recovered_on: input.recoveredOn, amount_fen: input.amount, doc_number: input.recoveryDoc, recorded_by: actor.userId, recorded_at: nowIso() });
    await recordAudit(trx, actor, { action: 'publicity.violation.recover', objectType: 'violation', objectId: id, summary: { title: row.title, entry: entryId, amountFen: input.amount, recoveredOn: input.recoveredOn, doc: input.recoveryDoc } });
    return `已登记追回 ${formatYuan(input.amount)} 元`;
  });
}

/** The portal: a county's published violations not withdrawn, newest decision first. */
export async function publishedViolations(db: Conn, countyId: number): Promise<ViolationRow[]> {
  return (await db('publicity_violation').where({ county_id: countyId, state: 'published' }).whereNull('withdrawn_at').orderBy('doc_date', 'desc').orderBy('id', 'desc')) as ViolationRow[];
}
