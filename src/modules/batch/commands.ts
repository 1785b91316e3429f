import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, type Tx, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { multiplyFen } from '../../core/money.ts';
import { findRegion } from '../../core/regions.ts';
import { type RegistryFacts, parseIdNumber, registryFactsByIdNumberIndex } from '../beneficiary/index.ts';
import { type PolicyVersion, listRegionFor, policyList, versionsById } from '../policy/index.ts';
import { type CheckSummary, runChecks } from './checks/engine.ts';
import { parsePeriod, parseQuantity } from './model.ts';
import { type LineRow, type RosterRow, type RoundRow, rosterAndRound, rosterInScope } from './repo.ts';
import { authorize } from '../../core/authz.ts';
import { acceptsObjections, can } from './policy.ts';

/**
 * Rounds, rosters and lines (steps 1–3 of the flow): the department opens a round of one policy and period for
 * its county, with one roster per township; the township station compiles its roster (entry, file, or the
 * previous period's paid roster); the township finance office runs the cross-checks and accepts warnings with a
 * reason. Every command checks role and scope, runs in one transaction and writes its audit row.
 */

export async function recordHistory(trx: Tx, actor: Pick<Actor, 'userId'>, entry: { roundId: number; rosterId?: number | null; action: string; from?: string | null; to?: string | null; reason?: string | null }): Promise<void> {
  await trx('batch_history').insert({
    round_id: entry.roundId,
    roster_id: entry.rosterId ?? null,
    action: entry.action,
    from_state: entry.from ?? null,
    to_state: entry.to ?? null,
    reason: entry.reason ?? null,
    actor_id: actor.userId,
    at: nowIso(),
  });
}

export interface NewRound {
  policyItemId: number;
  period: string;
  /** Open it as 应急救助（事后公示）: only a 突发灾害应急救助 policy's round (policy.ts create_expedited_round). */
  expedited?: boolean;
}

/**
 * The department opens a round of one of the county's policies for a period, with a draft roster per township. The
 * round keeps what its policy version says of payee, unit and 救助类 (means_tested: the public-employee check runs).
 * Opened as 应急救助（事后公示）(expedited), its rosters are paid before their publicity: only under a version marked
 * 突发灾害应急救助 (Qinghai 二(一)2); for any other policy the option is refused on the form (422).
 */
export async function createRound(core: Core, actor: Actor, input: NewRound): Promise<number> {
  const county = await findRegion(core.db, actor.regionId);
  if (!county) throw new NotFoundError('地区不存在');
  await authorize(core.db, actor, can(actor, 'create_round', null), { objectType: 'round' });
  const year = /^\d{4}/.exec(input.period.trim())?.[0];
  if (!year) throw new ValidationError({ period: '请填写期间，如 2026、2026-11 或 2026-Q4' });
  const version = (await policyList(core.db, await listRegionFor(core.db, county.id), Number(year), { publicOnly: false })).find((v) => v.itemId === input.policyItemId);
  if (!version) throw new ValidationError({ policyItemId: `该补贴项目不在本县${year}年的政策清单中` });
  const period = parsePeriod(version.frequency, input.period);
  if ('error' in period) throw new ValidationError({ period: period.error });
  const title = `${period.label}${version.name}`;
  const expedited = input.expedited === true;
  if (expedited) {
    const decision = can(actor, 'create_expedited_round', { emergencyRelief: version.emergencyRelief });
    if (!decision.ok) throw new ValidationError({ expedited: decision.reason });
  }
  return inTransaction(core.db, async (trx) => {
    if (await trx('batch_round').where({ county_id: county.id, policy_item_id: version.itemId, period: period.period, kind: 'regular' }).first('id')) {
      throw new ValidationError({ period: `已有“${title}”发放批次` });
    }
    const now = nowIso();
    const roundId = await insertReturningId(trx, 'batch_round', {
      county_id: county.id,
      policy_item_id: version.itemId,
      policy_version_id: version.id,
      department_org_id: actor.orgId,
      kind: 'regular',
      title,
      period: period.period,
      period_year: period.year,
      period_end: period.end,
      payee: version.payee,
      unit: version.unit,
      means_tested: version.meansTested,
      expedited,
      state: 'compiling',
      created_by: actor.userId,
      created_at: now,
      updated_by: actor.userId,
      updated_at: now,
    });
    const townships: { id: number }[] = await trx('core_region').where({ parent_id: county.id, level: 'township' }).orderBy('id').select('id');
    for (const t of townships) await trx('batch_roster').insert({ round_id: roundId, township_id: t.id, state: 'draft', created_at: now, updated_at: now });
    await recordHistory(trx, actor, { roundId, action: 'round.create', to: 'compiling', reason: expedited ? '应急救助（事后公示）：先发放，发放后限期公示' : null });
    await recordAudit(trx, actor, { action: 'batch.round.create', objectType: 'round', objectId: roundId, summary: { title, policyVersion: version.id, townships: townships.length, ...(expedited ? { expedited: true } : {}) } });
    return roundId;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Compiling a roster (the township station)

export async function editableRoster(core: Core, actor: Actor, rosterId: number): Promise<{ roster: RosterRow; round: RoundRow; version: PolicyVersion }> {
  const { roster, round } = await rosterInScope(core.db, actor, rosterId);
  await authorize(core.db, actor, can(actor, 'edit_lines', { round, roster }), { objectType: 'roster', objectId: rosterId });
  const [version] = await versionsById(core.db, [round.policy_version_id]);
  return { roster, round, version: version! };
}

export interface LineInput {
  idNumber: string;
  tierName: string | null;
  quantity: string;
}

/** A line as it will be stored: payee and account snapshot from the registry, standard from the policy, amount computed. */
export function lineRow(round: RoundRow, roster: RosterRow, version: PolicyVersion, person: RegistryFacts, tierName: string, quantityMilli: number, actor: Actor, source: string) {
  const standardFen = version.tiers.find((t) => t.name === tierName)!.standardFen;
  const now = nowIso();
  return {
    roster_id: roster.id,
    round_id: round.id,
    person_id: person.personId,
    household_id: person.householdId,
    village_id: person.villageId,
    person_name: person.name,
    id_masked: person.idMasked,
    id_index: person.idIndex,
    account_id: person.account?.id ?? null,
    account_index: person.account?.index ?? null,
    account_last4: person.account?.last4 ?? null,
    bank_name: person.account?.bankName ?? null,
    holder_name: person.account?.holderName ?? null,
    policy_version_id: version.id,
    tier_name: tierName,
    standard_fen: standardFen,
    quantity_milli: quantityMilli,
    amount_fen: multiplyFen(standardFen, quantityMilli),
    state: 'active',
    // A roster publicised before and compiled again: the line must go through review and publicity again.
    changed_after_publicity: roster.publicity_start !== null,
    source,
    created_by: actor.userId,
    created_at: now,
    updated_by: actor.userId,
    updated_at: now,
  };
}

/** Field-level checks of one line's person, tier and quantity against the roster (shared by entry and file). */
export function checkLineInput(round: RoundRow, roster: RosterRow, version: PolicyVersion, person: RegistryFacts | undefined, tierText: string, quantityText: string): { errors: Record<string, string>; tierName: string; quantityMilli: number } {
  const errors: Record<string, string> = {};
  if (!person) errors.idNumber = '此人不在受益对象档案中：请先由经办站所登记';
  else if (person.townshipId !== roster.township_id) errors.idNumber = '此人的档案不在本乡镇';
  else if (round.payee === 'household' && person.headPersonId !== person.personId) errors.idNumber = '到户补贴发给户主：请填写户主的身份证号码';
  const tierName = tierText || (version.tiers.length === 1 ? version.tiers[0]!.name : '');
  if (!tierName) errors.tierName = `请选择档次：${version.tiers.map((t) => t.name).join('、')}`;
  else if (!version.tiers.some((t) => t.name === tierName)) errors.tierName = `档次应为${version.tiers.map((t) => `“${t.name}”`).join('、')}之一`;
  const quantity = parseQuantity(quantityText);
  if (typeof quantity !== 'number') errors.quantity = quantity.error;
  return { errors, tierName, quantityMilli: typeof quantity === 'number' ? quantity : 0 };
}

/** The township station adds one line by the person's ID number. */
export async function addLine(core: Core, actor: Actor, rosterId: number, input: LineInput): Promise<number> {
  const { roster, round, version } = await editableRoster(core, actor, rosterId);
  const id = parseIdNumber(input.idNumber);
  if (!id.ok) throw new ValidationError({ idNumber: id.error });
  const [person] = await registryFactsByIdNumberIndex(core.db, [core.crypto.blindIndex('id', id.value.idNumber)]);
  const checked = checkLineInput(round, roster, version, person, input.tierName ?? '', input.quantity);
  if (Object.keys(checked.errors).length) throw new ValidationError(checked.errors);
  return inTransaction(core.db, async (trx) => {
    if (await trx('batch_line').where({ roster_id: roster.id, person_id: person!.personId, state: 'active' }).first('id')) {
      throw new ValidationError({ idNumber: '此人已在本清册中' });
    }
    const lineId = await insertReturningId(trx, 'batch_line', lineRow(round, roster, version, person!, checked.tierName, checked.quantityMilli, actor, 'entry'));
    await touchRoster(trx, actor, roster);
    await recordAudit(trx, actor, { action: 'batch.line.add', objectType: 'line', objectId: lineId, summary: { roster: roster.id, person: person!.idMasked, tier: checked.tierName, quantityMilli: checked.quantityMilli } });
    return lineId;
  });
}

/** The station takes a line out of its draft roster, with a reason (kept on the line). */
export async function removeLine(core: Core, actor: Actor, lineId: number, reason: string): Promise<void> {
  const line = (await core.db('batch_line').where({ id: lineId }).first()) as LineRow | undefined;
  if (!line) throw new NotFoundError('发放明细不存在');
  if (line.reissue) throw new ConflictError('补发明细经审批编入，不能删除：如有误，请退回整个清册并联系主管部门');
  const { roster } = await editableRoster(core, actor, line.roster_id);
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('batch_line').where({ id: lineId, state: 'active' }).update({ state: 'removed', return_reason: reason, updated_by: actor.userId, updated_at: nowIso(), version: trx.raw('version + 1') });
    if (updated !== 1) throw new ConflictError('该行已被删除');
    await touchRoster(trx, actor, roster);
    await recordAudit(trx, actor, { action: 'batch.line.remove', objectType: 'line', objectId: lineId, summary: { roster: roster.id, person: line.id_masked, reason } });
  });
}

/** Lines changed: the roster's checks are stale, and this actor is now its last editor (four-eyes). */
export async function touchRoster(trx: Tx, actor: Actor, roster: RosterRow): Promise<void> {
  await trx('batch_roster').where({ id: roster.id }).update({ last_changed_by: actor.userId, last_changed_at: nowIso(), checked_at: null, updated_at: nowIso(), version: trx.raw('version + 1') });
}

// ---------------------------------------------------------------------------------------------------------------
// Cross-checks (复核比对)

/** Run the checks over a roster (its station or finance office), recorded in its history and the audit log. */
export async function checkRoster(core: Core, actor: Actor, rosterId: number): Promise<CheckSummary> {
  const { roster, round } = await rosterInScope(core.db, actor, rosterId);
  await authorize(core.db, actor, can(actor, 'check', { round, roster }), { objectType: 'roster', objectId: rosterId });
  return inTransaction(core.db, async (trx) => {
    const summary = await runChecks(trx, round, roster);
    await recordHistory(trx, actor, { roundId: round.id, rosterId, action: 'roster.check', reason: `阻断 ${summary.blocking}，提示 ${summary.warnings}，已说明 ${summary.resolved}` });
    await recordAudit(trx, actor, { action: 'batch.roster.check', objectType: 'roster', objectId: rosterId, summary: { ...summary } });
    return summary;
  });
}

/** The township finance office accepts a warning with a reason; a blocking finding can only be fixed. */
export async function resolveFinding(core: Core, actor: Actor, findingId: number, reason: string): Promise<void> {
  const finding = (await core.db('batch_finding').where({ id: findingId }).first('roster_id', 'rule', 'severity', 'message')) as { roster_id: number; rule: string; severity: 'blocking' | 'warning'; message: string } | undefined;
  if (!finding) throw new NotFoundError('比对结果不存在');
  const { roster, round } = await rosterInScope(core.db, actor, finding.roster_id);
  await authorize(core.db, actor, can(actor, 'resolve_finding', { round, roster }), { objectType: 'finding', objectId: findingId });
  if (finding.severity !== 'warning') throw new ValidationError({ reason: '阻断性问题必须改正，不能说明后放行' });
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('batch_finding').where({ id: findingId, state: 'open' }).update({ state: 'resolved', resolved_by: actor.userId, resolved_at: nowIso(), resolution: reason });
    if (updated !== 1) throw new ConflictError('该提示已处理或已不存在');
    await recordHistory(trx, actor, { roundId: round.id, rosterId: roster.id, action: 'finding.resolve', reason: `${finding.message}：${reason}` });
    await recordAudit(trx, actor, { action: 'batch.finding.resolve', objectType: 'finding', objectId: findingId, summary: { roster: roster.id, rule: finding.rule, reason } });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Publicity objections and single-line returns

/** An objection raised during publicity (公示异议), against the roster or one of its lines; recorded by the township. */
export async function recordObjection(core: Core, actor: Actor, rosterId: number, input: { lineId: number | null; raisedOn: string; content: string }): Promise<number> {
  const { roster, round } = await rosterInScope(core.db, actor, rosterId);
  await authorize(core.db, actor, can(actor, 'record_objection', { round, roster }), { objectType: 'roster', objectId: rosterId });
  if (input.lineId !== null && !(await core.db('batch_line').where({ id: input.lineId, roster_id: rosterId }).first('id'))) throw new ValidationError({ lineId: '该发放明细不在本清册中' });
  return inTransaction(core.db, async (trx) => {
    const id = await insertReturningId(trx, 'batch_objection', { roster_id: rosterId, line_id: input.lineId, raised_on: input.raisedOn, content: input.content, recorded_by: actor.userId, recorded_at: nowIso() });
    await recordHistory(trx, actor, { roundId: round.id, rosterId, action: 'objection.record', reason: input.content });
    await recordAudit(trx, actor, { action: 'batch.objection.record', objectType: 'objection', objectId: id, summary: { roster: rosterId, line: input.lineId } });
    return id;
  });
}

/**
 * An objection filed by the public on the portal (publicity module) against a roster in publicity: written as a
 * staff-entered one (objection, history, audit) so that the township resolves it on the roster page, with its
 * tracking number; no user recorded it (recorded_by and the history's actor 0, the audit row's user null).
 */
export async function recordPublicObjection(trx: Tx, input: { rosterId: number; content: string; raisedOn: string; ref: string; ip: string | null }): Promise<number> {
  const found = await rosterAndRound(trx, input.rosterId);
  if (!found || !acceptsObjections(found.round, found.roster)) throw new ConflictError('这份公示已不在公示期（或已退回修改），不能再提出公示异议；如有问题，请选择“投诉举报”或拨打公示表上的监督电话');
  const { roster, round } = found;
  const id = await insertReturningId(trx, 'batch_objection', { roster_id: roster.id, line_id: null, raised_on: input.raisedOn, content: input.content, recorded_by: 0, recorded_at: nowIso(), public_ref: input.ref });
  await recordHistory(trx, { userId: 0 }, { roundId: round.id, rosterId: roster.id, action: 'objection.record', reason: `群众网上提出（受理编号 ${input.ref}）：${input.content}`.slice(0, 300) });
  await recordAudit(trx, { userId: null, username: null, regionId: roster.township_id, ip: input.ip }, { action: 'batch.objection.record', objectType: 'objection', objectId: id, summary: { roster: roster.id, line: null, source: 'public', ref: input.ref } });
  return id;
}

/** Objections' resolutions by id, as the portal shows them to whoever filed them (by tracking number) and staff's queue lists them. */
export async function objectionResolutions(db: Conn, objectionIds: number[]): Promise<Map<number, { resolution: string | null; resolvedAt: string | null }>> {
  const rows: { id: number; resolution: string | null; resolved_at: string | null }[] = objectionIds.length ? await db('batch_objection').whereIn('id', objectionIds).select('id', 'resolution', 'resolved_at') : [];
  return new Map(rows.map((r) => [Number(r.id), { resolution: r.resolution, resolvedAt: r.resolved_at }]));
}

/** The township finance office records how an objection was resolved (a line to change goes back through review). */
export async function resolveObjection(core: Core, actor: Actor, objectionId: number, resolution: string): Promise<void> {
  const objection = (await core.db('batch_objection').where({ id: objectionId }).first('roster_id')) as { roster_id: number } | undefined;
  if (!objection) throw new NotFoundError('异议不存在');
  const { roster, round } = await rosterInScope(core.db, actor, objection.roster_id);
  await authorize(core.db, actor, can(actor, 'resolve_objection', { round, roster }), { objectType: 'objection', objectId: objectionId });
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('batch_objection').where({ id: objectionId }).whereNull('resolved_at').update({ resolution, resolved_by: actor.userId, resolved_at: nowIso() });
    if (updated !== 1) throw new ConflictError('该异议已处理');
    await recordHistory(trx, actor, { roundId: round.id, rosterId: objection.roster_id, action: 'objection.resolve', reason: resolution });
    await recordAudit(trx, actor, { action: 'batch.objection.resolve', objectType: 'objection', objectId: objectionId, summary: { resolution } });
  });
}

/**
 * The department returns single lines of a roster under review, each with the reason; the rest goes on. A returned
 * line is out of the roster (not paid); the station may compile it again after the roster comes back.
 */
export async function returnLines(core: Core, actor: Actor, rosterId: number, lineIds: number[], reason: string): Promise<number> {
  const { roster, round } = await rosterInScope(core.db, actor, rosterId);
  await authorize(core.db, actor, can(actor, 'return_lines', { round, roster }), { objectType: 'roster', objectId: rosterId });
  return inTransaction(core.db, async (trx) => {
    if (await trx('batch_line').where({ roster_id: rosterId, reissue: true }).whereIn('id', lineIds).first('id')) throw new ConflictError('补发明细经审批编入，不能逐行退回：如有误，请退回整个清册');
    const updated = await trx('batch_line').where({ roster_id: rosterId, state: 'active' }).whereIn('id', lineIds).update({ state: 'returned', return_reason: reason, updated_by: actor.userId, updated_at: nowIso(), version: trx.raw('version + 1') });
    if (updated !== lineIds.length) throw new ConflictError('部分明细已不在清册中，请刷新后重选');
    await trx('batch_roster').where({ id: rosterId }).update({ updated_at: nowIso(), version: trx.raw('version + 1') });
    await recordHistory(trx, actor, { roundId: round.id, rosterId, action: 'lines.return', reason: `退回 ${updated} 行：${reason}` });
    await recordAudit(trx, actor, { action: 'batch.lines.return', objectType: 'roster', objectId: rosterId, summary: { lines: lineIds, reason } });
    return updated;
  });
}
