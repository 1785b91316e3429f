import { randomBytes, randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import { recordAudit } from '../../core/audit.ts';
import { type Actor, hasRole } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import { constantTimeEqual, hmacSm3 } from '../../core/crypto.ts';
import { type Conn, type Tx, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { businessDate } from '../../core/dates.ts';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { maskPhone } from '../../core/mask.ts';
import { countyPurpose, purposeKey, storedPurposeKey } from '../../core/wrapped-keys.ts';
import { findRegion, isPathInScope, whereRegionInScope } from '../../core/regions.ts';
import { objectionResolutions, recordPublicObjection } from '../batch/index.ts';
import { COMPLAINT_CHANNELS, COMPLAINT_KINDS, type ComplaintAssignee, type ComplaintInput, type ComplaintKind, type StaffComplaintInput } from './complaint-schemas.ts';
import { closeDeadline, openDeadline } from '../../core/deadlines.ts';
import { PUBLICITY_DEADLINES, complaintAnswerClock } from './deadlines.ts';
import { normaliseSheetCode } from './model.ts';
import { COMPLAINT_ASSIGNEES, COMPLAINT_HANDLERS, COMPLAINT_TRANSITIONS, can } from './policy.ts';
import { sheetByCode } from './queries.ts';

/**
 * Objections and complaints from the public (公示异议、投诉举报, Chongqing 八): filed on the portal without an account,
 * each with a tracking number and a query code given once (only its keyed hash is kept); the status page shows where
 * it stands and the answer. An objection to a notice in publicity becomes an objection on that roster (batch), which
 * the township resolves; a complaint waits in the queue of the supervisors and the finance section, who answer it or
 * assign it to a township or a department (主管部门) of its county, which answers it on a clock.
 */

export const COMPLAINT_STATUSES = { received: '已受理', in_progress: '办理中', assigned: '已交办', answered: '已答复', closed: '已办结' } as const;

/** The same statuses in the public's words on the status page (an assignee's answer shows once the handler closes it). */
export const PUBLIC_COMPLAINT_STATUSES = { received: '已受理', in_progress: '办理中', assigned: '已交承办单位办理', answered: '已答复', closed: '已办结' } as const;
export type ComplaintStatus = keyof typeof COMPLAINT_STATUSES;

/** The portal's limits per client address: filings, and status queries (the query code is guessed no faster). */
export const COMPLAINT_LIMITS = {
  file: { max: 5, windowMs: 60 * 60_000, message: '同一网络地址 1 小时内最多提交 5 件异议或投诉举报，请稍后再试；情况紧急的，请拨打公示表上的监督电话' },
  status: { max: 20, windowMs: 10 * 60_000, message: '查询过于频繁：同一网络地址 10 分钟内最多查询 20 次，请稍后再试' },
} as const;
type Bucket = keyof typeof COMPLAINT_LIMITS;

/** Too many requests from one address (429). */
export class TooManyRequestsError extends AppError {
  constructor(message: string) {
    super(429, message);
  }
}

/**
 * Count a request of the bucket from the address, or refuse it when the window already holds the maximum. The rows
 * older than a day are deleted as it goes. On PostgreSQL a transaction-scoped advisory lock per bucket and address
 * makes parallel requests count one after another (on SQLite every transaction holds the write lock).
 */
async function claimQuota(trx: Tx, bucket: Bucket, address: string | null, now = Date.now()): Promise<void> {
  const key = (address || '-').slice(0, 64);
  const limit = COMPLAINT_LIMITS[bucket];
  if (trx.client.config.client === 'pg') await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`publicity_complaint_throttle:${bucket}:${key}`]);
  const since = new Date(now - limit.windowMs).toISOString();
  const row = (await trx('publicity_complaint_throttle').where({ bucket, address: key }).andWhere('at', '>', since).count({ n: '*' }).first()) as { n: number | string };
  if (Number(row.n) >= limit.max) throw new TooManyRequestsError(limit.message);
  await trx('publicity_complaint_throttle').where({ bucket }).andWhere('at', '<', new Date(now - 86_400_000).toISOString()).delete();
  await trx('publicity_complaint_throttle').insert({ bucket, address: key, at: new Date(now).toISOString() });
}

/** Crockford's base32, as the sheets' codes: no I, L, O or U. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A new query code: 8 random characters (40 bits), shown once as XXXX-XXXX. */
function newQueryCode(): string {
  return Array.from(randomBytes(8), (b) => ALPHABET[b & 31]).join('');
}
export const formatQueryCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`;

/** A query code as typed (any case, spaces, dashes, O for 0, I or L for 1), or null if it cannot be one. */
export function normaliseQueryCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return code.length === 8 && [...code].every((c) => ALPHABET.includes(c)) ? code : null;
}

/**
 * The keyed hash a query code is kept as (HMAC-SM3; the code itself is never stored), under a key of its own kept in
 * the database (core/wrapped-keys.ts), so that a change of the field key keeps every code valid.
 */
export const COMPLAINT_CODE_KEY = 'publicity-complaint-code';
const codeHash = async (core: Pick<Core, 'crypto'> & { db: Conn }, code: string) => hmacSm3(await purposeKey(core, COMPLAINT_CODE_KEY), code).toString('hex');

/**
 * Whether the code is the complaint's: under the deployment's key, or, for a complaint filed before its county moved
 * to this deployment, under the county's own key, which came with it (core/county-move.ts).
 */
async function codeMatches(core: Core, row: ComplaintRow, code: string): Promise<boolean> {
  const stored = Buffer.from(row.code_hash);
  if (constantTimeEqual(Buffer.from(await codeHash(core, code)), stored)) return true;
  const countyKey = await storedPurposeKey(core, countyPurpose(COMPLAINT_CODE_KEY, row.county_id));
  return countyKey !== undefined && constantTimeEqual(Buffer.from(hmacSm3(countyKey, code).toString('hex')), stored);
}

/** A tracking number: TS, the filing date and 6 random digits (TS20261206123456). */
function newTrackingNo(filedOn: string): string {
  return `TS${filedOn.replace(/-/g, '')}${String(randomInt(0, 1_000_000)).padStart(6, '0')}`;
}

export interface ComplaintRow {
  id: number;
  tracking_no: string;
  code_hash: string;
  kind: ComplaintKind;
  county_id: number;
  roster_id: number | null;
  sheet_code: string | null;
  objection_id: number | null;
  subject: string | null;
  content: string;
  contact_name: string | null;
  phone_enc: string | null;
  phone_masked: string | null;
  status: ComplaintStatus;
  answer: string | null;
  answered_by: number | null;
  answered_at: string | null;
  filed_on: string;
  created_at: string;
  channel: keyof typeof COMPLAINT_CHANNELS;
  received_on: string | null;
  entered_by: number | null;
  assignee_region_id: number | null;
  /** The department (core_org) it is assigned to: a complaint is assigned to a township or to a department, not both. */
  assignee_org_id: number | null;
  assigned_by: number | null;
  assigned_at: string | null;
  closed_by: number | null;
  closed_at: string | null;
}

/**
 * File an objection or a complaint from the portal, in one transaction: the address's filing quota, the complaint
 * row (the phone encrypted and masked), for an objection the roster's objection (batch), the audit row (no user).
 * Returns the tracking number and the query code, which is shown once and kept only as its hash.
 */
export async function fileComplaint(core: Core, input: ComplaintInput, ip: string | null): Promise<{ trackingNo: string; code: string; kind: ComplaintKind }> {
  const filedOn = businessDate();
  return inTransaction(core.db, async (trx) => {
    await claimQuota(trx, 'file', ip);
    let where: { countyId: number; rosterId: number | null; sheetCode: string | null };
    if (input.kind === 'objection') {
      const sheet = await sheetByCode(trx, normaliseSheetCode(input.sheetCode ?? '') ?? '');
      if (!sheet) throw new ValidationError({ sheetCode: '没有这个验证码的公示表：请核对公示表上的验证码（10 位字母和数字）' });
      where = { countyId: sheet.county_id, rosterId: sheet.roster_id, sheetCode: sheet.code };
    } else {
      const county = await findRegion(trx, input.countyId!);
      if (!county || county.level !== 'county') throw new ValidationError({ countyId: '请选择所在县（区）' });
      where = { countyId: county.id, rosterId: null, sheetCode: null };
    }
    const { id, trackingNo, code } = await insertComplaint(core, trx, filedOn, input, {
      kind: input.kind,
      county_id: where.countyId,
      roster_id: where.rosterId,
      sheet_code: where.sheetCode,
      subject: input.kind === 'complaint' ? input.subject : null,
    });
    if (input.kind === 'objection') {
      const objectionId = await recordPublicObjection(trx, { rosterId: where.rosterId!, content: input.content, raisedOn: filedOn, ref: trackingNo, ip });
      await trx('publicity_complaint').where({ id }).update({ objection_id: objectionId });
    }
    await recordAudit(trx, { userId: null, username: null, regionId: where.countyId, ip }, { action: 'publicity.complaint.file', objectType: 'complaint', objectId: id, summary: { kind: input.kind, trackingNo, roster: where.rosterId } });
    return { trackingNo, code, kind: input.kind };
  });
}

/** What the status page shows: where it stands, the answer and the dates, nothing else. */
export interface ComplaintStatusView {
  trackingNo: string;
  kind: string;
  filedOn: string;
  status: string;
  answer: string | null;
  answeredAt: string | null;
}

type Resolution = { resolution: string | null; resolvedAt: string | null };

/** Where a complaint's status and answer come from: its own row, or for an objection the roster's objection (batch). */
function standing(row: ComplaintRow, objections: Map<number, Resolution>): { status: ComplaintStatus; answer: string | null; answeredAt: string | null } {
  if (row.kind === 'objection' && row.objection_id !== null) {
    const o = objections.get(Number(row.objection_id));
    if (o?.resolvedAt) return { status: 'answered', answer: o.resolution, answeredAt: o.resolvedAt };
    return { status: 'received', answer: null, answeredAt: null };
  }
  // An assignee's answer waits for the handler's review: the public sees it once closed.
  if (row.status === 'answered' && isAssigned(row)) return { status: 'assigned', answer: null, answeredAt: null };
  return { status: row.status, answer: row.answer, answeredAt: row.answered_at };
}

/** Whether a township or a department answers the complaint (the handler then reviews the answer). */
const isAssigned = (row: Pick<ComplaintRow, 'assignee_region_id' | 'assignee_org_id'>) => row.assignee_region_id !== null || row.assignee_org_id !== null;

/** The batch objections these objections became, read at once. */
const objectionsOf = (db: Conn, rows: ComplaintRow[]) => objectionResolutions(db, rows.flatMap((r) => (r.kind === 'objection' && r.objection_id !== null ? [Number(r.objection_id)] : [])));

/**
 * The status query (counted against the address's quota): the complaint if the number exists and the code is its
 * code, else null — the same answer for an unknown number and a wrong code.
 */
export async function complaintStatus(core: Core, trackingNo: string, typedCode: string, ip: string | null): Promise<ComplaintStatusView | null> {
  const row = await inTransaction(core.db, async (trx) => {
    await claimQuota(trx, 'status', ip);
    return (await trx('publicity_complaint').where({ tracking_no: trackingNo }).first()) as ComplaintRow | undefined;
  });
  const code = normaliseQueryCode(typedCode) ?? typedCode;
  if (!row || !(await codeMatches(core, row, code))) return null;
  const s = standing(row, await objectionsOf(core.db, [row]));
  return { trackingNo: row.tracking_no, kind: COMPLAINT_KINDS[row.kind], filedOn: row.filed_on, status: PUBLIC_COMPLAINT_STATUSES[s.status], answer: s.answer, answeredAt: s.answeredAt };
}

/** A department's user who is none of the handlers: sees only what is assigned to their department. */
const departmentOnly = (actor: Actor) => hasRole(actor, 'department') && !hasRole(actor, ...COMPLAINT_HANDLERS);

/**
 * The queue for staff, newest first, with where each stands: what the public filed in the actor's county scope; for
 * a township's staff what is assigned to their township, for a department's users what is assigned to their department.
 */
export async function complaintQueue(db: Conn, actor: Actor): Promise<(ComplaintRow & { standing: ComplaintStatus; shownAnswer: string | null; shownAnsweredAt: string | null })[]> {
  const q = db('publicity_complaint').orderBy('id', 'desc').limit(500);
  if (actor.regionLevel === 'township') whereRegionInScope(q.whereNotNull('assignee_region_id'), 'assignee_region_id', actor, db);
  else if (departmentOnly(actor)) whereRegionInScope(q.where('assignee_org_id', actor.orgId ?? 0), 'county_id', actor, db);
  else whereRegionInScope(q, 'county_id', actor, db);
  const rows = (await q) as ComplaintRow[];
  const objections = await objectionsOf(db, rows);
  return rows.map((r) => {
    // Staff see a complaint as it stands (a township's answer included, for review); an objection as the roster's.
    const s = r.kind === 'complaint' ? { status: r.status, answer: r.answer, answeredAt: r.answered_at } : standing(r, objections);
    return { ...r, standing: s.status, shownAnswer: s.answer, shownAnsweredAt: s.answeredAt };
  });
}

/** Complaints (not objections, which the township resolves on the roster) still to answer in the actor's scope, or an assignee's answer to review. */
export async function unansweredComplaints(db: Conn, actor: Actor): Promise<number> {
  const answeredByAssignee = (a: Knex.QueryBuilder) => a.where({ status: 'answered' }).where((w) => w.whereNotNull('assignee_region_id').orWhereNotNull('assignee_org_id'));
  const row = (await whereRegionInScope(db('publicity_complaint').where({ kind: 'complaint' }).where((q) => q.whereIn('status', ['received', 'in_progress']).orWhere(answeredByAssignee)), 'county_id', actor, db).count({ n: '*' }).first()) as { n: number | string };
  return Number(row.n);
}

/** Complaints assigned to the actor's township, or to their department, and not yet answered. */
export async function assignedComplaints(db: Conn, actor: Actor): Promise<number> {
  const q = db('publicity_complaint').where({ kind: 'complaint', status: 'assigned' });
  if (hasRole(actor, ...COMPLAINT_ASSIGNEES)) whereRegionInScope(q, 'assignee_region_id', actor, db);
  else whereRegionInScope(q.where('assignee_org_id', actor.orgId ?? 0), 'county_id', actor, db);
  const row = (await q.count({ n: '*' }).first()) as { n: number | string };
  return Number(row.n);
}

/**
 * A complaint of the actor's scope: its county lies in the scope, or the actor works in its county (a township's
 * staff, a department's users), for can() to decide what they may do with it; 404 otherwise, as for an unknown one.
 */
async function complaintInScope(db: Conn, actor: Actor, id: number): Promise<ComplaintRow & { assignee_path: string | null }> {
  const row = (await db('publicity_complaint').where({ id }).first()) as ComplaintRow | undefined;
  const county = row ? await findRegion(db, row.county_id) : undefined;
  const assignee = row?.assignee_region_id ? await findRegion(db, row.assignee_region_id) : undefined;
  if (!row || !county || !(isPathInScope(actor, county.path) || actor.regionPath.startsWith(county.path))) throw new NotFoundError('该投诉举报不存在或不在您的管辖范围内');
  return { ...row, assignee_path: assignee?.path ?? null };
}

/**
 * Staff move a complaint: 'progress' marks it 办理中, 'answer' records the answer (已答复), which the status page
 * shows. Guarded on the status read, audited.
 */
export async function handleComplaint(core: Core, actor: Actor, id: number, step: { kind: 'progress' } | { kind: 'answer'; answer: string }): Promise<string> {
  const row = await complaintInScope(core.db, actor, id);
  await authorize(core.db, actor, can(actor, 'answer_complaint', row), { objectType: 'complaint', objectId: id });
  if (step.kind === 'progress' && !COMPLAINT_TRANSITIONS.progress.includes(row.status)) throw new ConflictError('该投诉举报已在办理中');
  await inTransaction(core.db, async (trx) => {
    if (step.kind === 'answer') await closeDeadline(trx, actor, { rule: PUBLICITY_DEADLINES.complaint_answer.code, objectType: 'complaint', objectId: id, outcome: 'done' });
    const change = step.kind === 'answer' ? { status: 'answered', answer: step.answer, answered_by: actor.userId, answered_at: nowIso() } : { status: 'in_progress' };
    const updated = await trx('publicity_complaint').where({ id, status: row.status }).update(change);
    if (updated !== 1) throw new ConflictError('该投诉举报刚被他人处理，请刷新后查看');
    await recordAudit(trx, actor, {
      action: step.kind === 'answer' ? 'publicity.complaint.answer' : 'publicity.complaint.progress',
      objectType: 'complaint',
      objectId: id,
      summary: { trackingNo: row.tracking_no, ...(step.kind === 'answer' ? { answer: step.answer } : {}), ...(row.assignee_org_id !== null ? { assignee: actor.orgName } : {}) },
    });
  });
  if (step.kind === 'answer' && row.status === 'assigned') return `已答复 ${row.tracking_no}：待监督人员或财政局业务科室审核办结`;
  return step.kind === 'answer' ? `已答复 ${row.tracking_no}：群众凭受理编号和查询码可查看答复` : `${row.tracking_no} 已转为办理中`;
}

/** The contact's phone, masked, for staff (never decrypted on a page). */
export const contactOf = (row: Pick<ComplaintRow, 'contact_name' | 'phone_masked'>) => [row.contact_name, row.phone_masked].filter(Boolean).join('，') || '未留';

/**
 * A new complaint row, from the portal or entered by staff: a tracking number not yet taken, a query code (kept only as
 * its HMAC), the content and contact, the phone encrypted and masked; `where` says what kind, where and how it came.
 */
async function insertComplaint(core: Core, trx: Tx, filedOn: string, input: { content: string; contactName: string | null; phone: string | null }, where: Record<string, unknown>): Promise<{ id: number; trackingNo: string; code: string }> {
  let trackingNo = newTrackingNo(filedOn);
  while (await trx('publicity_complaint').where({ tracking_no: trackingNo }).first('id')) trackingNo = newTrackingNo(filedOn);
  const code = newQueryCode();
  const id = await insertReturningId(trx, 'publicity_complaint', {
    ...where,
    tracking_no: trackingNo,
    code_hash: await codeHash({ crypto: core.crypto, db: trx }, code),
    content: input.content,
    contact_name: input.contactName,
    phone_enc: input.phone ? core.crypto.encrypt(input.phone) : null,
    phone_masked: input.phone ? maskPhone(input.phone) : null,
    status: 'received',
    filed_on: filedOn,
    created_at: nowIso(),
  });
  return { id, trackingNo, code };
}

/**
 * Register a complaint received by phone, letter or visit (staff): a tracking number and a query code as a portal
 * filing (the code shown once, for staff to pass on), the phone encrypted and masked; audited in the transaction.
 */
export async function enterComplaint(core: Core, actor: Actor, input: StaffComplaintInput): Promise<{ trackingNo: string; code: string }> {
  await authorize(core.db, actor, can(actor, 'enter_complaint', null), { objectType: 'complaint', objectId: null });
  const county = await findRegion(core.db, input.countyId);
  if (!county || county.level !== 'county' || !isPathInScope(actor, county.path)) throw new ValidationError({ countyId: '请选择您管辖范围内的县（区）' });
  const filedOn = businessDate();
  return inTransaction(core.db, async (trx) => {
    const { id, trackingNo, code } = await insertComplaint(core, trx, filedOn, input, {
      kind: 'complaint',
      county_id: county.id,
      subject: input.subject,
      channel: input.channel,
      received_on: input.receivedOn,
      entered_by: actor.userId,
    });
    await recordAudit(trx, actor, { action: 'publicity.complaint.enter', objectType: 'complaint', objectId: id, summary: { trackingNo, channel: input.channel, receivedOn: input.receivedOn } });
    return { trackingNo, code };
  });
}

/** The departments (主管部门) of a county, by name: those a complaint of the county may be assigned to. */
export async function countyDepartments(db: Conn, countyId: number): Promise<{ id: number; name: string }[]> {
  return db('core_org').where({ kind: 'department', region_id: countyId }).orderBy('name').select('id', 'name');
}

/**
 * Assign a complaint to a township of its county (its station and finance office answer it) or to a department of
 * its county (its users answer it): the clock opens, in the township or, for a department, in the county.
 */
export async function assignComplaint(core: Core, actor: Actor, id: number, to: ComplaintAssignee): Promise<string> {
  const row = await complaintInScope(core.db, actor, id);
  await authorize(core.db, actor, can(actor, 'assign_complaint', row), { objectType: 'complaint', objectId: id });
  const county = await findRegion(core.db, row.county_id);
  if (!county) throw new NotFoundError('该投诉举报不存在或不在您的管辖范围内');
  let assignee: { kind: 'township' | 'department'; name: string; regionId: number; change: Record<string, number>; summary: Record<string, number> };
  if (to.townshipId !== null) {
    const township = await findRegion(core.db, to.townshipId);
    if (!township || township.level !== 'township' || !township.path.startsWith(county.path)) throw new ValidationError({ townshipId: '请选择该县（区）的承办乡镇' });
    assignee = { kind: 'township', name: township.name, regionId: township.id, change: { assignee_region_id: township.id }, summary: { township: township.id } };
  } else {
    const department = (await core.db('core_org').where({ id: to.departmentId, kind: 'department', region_id: county.id }).first('id', 'name')) as { id: number; name: string } | undefined;
    if (!department) throw new ValidationError({ departmentId: '请选择该县（区）的主管部门' });
    assignee = { kind: 'department', name: department.name, regionId: county.id, change: { assignee_org_id: department.id }, summary: { department: department.id } };
  }
  const due = await inTransaction(core.db, async (trx) => {
    const updated = await trx('publicity_complaint').where({ id, status: row.status }).update({ status: 'assigned', ...assignee.change, assigned_by: actor.userId, assigned_at: nowIso() });
    if (updated !== 1) throw new ConflictError('该投诉举报刚被他人处理，请刷新后查看');
    const clock = await openDeadline(trx, actor, { rule: complaintAnswerClock(assignee.kind), objectType: 'complaint', objectId: id, regionId: assignee.regionId, title: `投诉举报 ${row.tracking_no} 答复` });
    await recordAudit(trx, actor, { action: 'publicity.complaint.assign', objectType: 'complaint', objectId: id, summary: { trackingNo: row.tracking_no, ...assignee.summary, assignee: assignee.name, dueOn: clock.dueOn } });
    return clock.dueOn;
  });
  return `${row.tracking_no} 已交办${assignee.name}，请于 ${due} 前答复`;
}

/** The handler closes an answered complaint (the public then sees the answer), or sends it back to the assignee (the clock reopens). */
export async function reviewComplaint(core: Core, actor: Actor, id: number, step: { kind: 'close' } | { kind: 'return'; note: string }): Promise<string> {
  const row = await complaintInScope(core.db, actor, id);
  await authorize(core.db, actor, step.kind === 'close' ? can(actor, 'close_complaint', row) : can(actor, 'return_complaint', row), { objectType: 'complaint', objectId: id });
  await inTransaction(core.db, async (trx) => {
    const change = step.kind === 'close' ? { status: 'closed', closed_by: actor.userId, closed_at: nowIso() } : { status: 'assigned', answer: null, answered_by: null, answered_at: null };
    const updated = await trx('publicity_complaint').where({ id, status: row.status }).update(change);
    if (updated !== 1) throw new ConflictError('该投诉举报刚被他人处理，请刷新后查看');
    if (step.kind === 'return') {
      const clock = row.assignee_org_id !== null ? { rule: complaintAnswerClock('department'), regionId: row.county_id } : { rule: complaintAnswerClock('township'), regionId: row.assignee_region_id! };
      await openDeadline(trx, actor, { ...clock, objectType: 'complaint', objectId: id, title: `投诉举报 ${row.tracking_no} 重新答复` });
    }
    await recordAudit(trx, actor, {
      action: step.kind === 'close' ? 'publicity.complaint.close' : 'publicity.complaint.return',
      objectType: 'complaint',
      objectId: id,
      summary: { trackingNo: row.tracking_no, ...(step.kind === 'return' ? { note: step.note, previousAnswer: row.answer } : {}) },
    });
  });
  return step.kind === 'close' ? `${row.tracking_no} 已办结：群众凭受理编号和查询码可查看答复` : `${row.tracking_no} 已退回${row.assignee_org_id !== null ? '承办部门' : '承办乡镇'}重新答复`;
}
