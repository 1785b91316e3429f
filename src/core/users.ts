import crypto from 'node:crypto';
import type { Core } from './context.ts';
import { type AuditRow, recordAudit, refuse, requireAuditor } from './audit.ts';
import { hashPassword } from './auth/password.ts';
import { type Actor, type Role, ROLE_LABELS, THREE_OFFICER_ROLES, hasRole, roleCombinationError } from './auth/roles.ts';
import { invalidateUserSessions } from './auth/session.ts';
import { forgetUsernameFailures, usernamesWaiting } from './auth/throttle.ts';
import { type Conn, type Db, type Tx, countRows, inTransaction, insertReturningId, nowIso } from './db.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from './errors.ts';
import type { WorkQueue } from './module.ts';
import { type Org, type Region, findRegion, insertRegion, isPathInScope, regionInScope, whereRegionInScope } from './regions.ts';

/** User administration: only the system administrator, only inside their own region subtree. */
export interface UserInput {
  username: string;
  displayName: string;
  roles: Role[];
  regionId: number;
  orgId: number | null;
}

export interface UserListRow {
  id: number;
  username: string;
  display_name: string;
  region_name: string;
  org_name: string | null;
  roles: Role[];
  disabled: boolean;
  locked: boolean;
  totp_enabled: boolean;
  last_login_at: string | null;
}

export interface UserDetail extends UserListRow {
  region_id: number;
  org_id: number | null;
  version: number;
  must_change_password: boolean;
}

function requireAdmin(actor: Actor): void {
  if (!hasRole(actor, 'admin')) throw new ForbiddenError('只有系统管理员可以管理用户');
}

/** A temporary password that meets the policy, shown once to the administrator. */
export function temporaryPassword(): string {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnpqrstuvwxyz', '23456789', '@#%+=?'];
  const all = sets.join('');
  const chars = sets.map((s) => s[crypto.randomInt(s.length)]!);
  while (chars.length < 12) chars.push(all[crypto.randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

async function rolesByUser(db: Conn, ids: number[]): Promise<Map<number, Role[]>> {
  const rows: { user_id: number; role: Role }[] = ids.length ? await db('core_user_role').whereIn('user_id', ids) : [];
  const map = new Map<number, Role[]>();
  for (const r of rows) map.set(r.user_id, [...(map.get(r.user_id) ?? []), r.role]);
  return map;
}

function userQuery(db: Conn, actor: Actor) {
  const q = db('core_user')
    .join('core_region', 'core_region.id', 'core_user.region_id')
    .leftJoin('core_org', 'core_org.id', 'core_user.org_id')
    .select('core_user.*', 'core_region.name as region_name', 'core_org.name as org_name');
  return whereRegionInScope(q, 'core_user.region_id', actor, db);
}

type UserJoinedRow = Omit<UserDetail, 'roles' | 'locked'>;

/** `locked`: the username's own failed logins make it wait now (src/core/auth/throttle.ts). */
function toDetail(row: UserJoinedRow, roles: Role[], waiting: Map<string, number>): UserDetail {
  return {
    ...row,
    roles,
    disabled: Boolean(row.disabled),
    totp_enabled: Boolean(row.totp_enabled),
    must_change_password: Boolean(row.must_change_password),
    locked: waiting.has(row.username),
  };
}

export async function listUsers(core: Core, actor: Actor, options: { q?: string; page: number; pageSize?: number }): Promise<{ rows: UserListRow[]; total: number }> {
  requireAdmin(actor);
  const pageSize = options.pageSize ?? 50;
  const q = userQuery(core.db, actor);
  if (options.q) q.where((w) => w.where('core_user.username', 'like', `%${options.q}%`).orWhere('core_user.display_name', 'like', `%${options.q}%`));
  const total = await countRows(q);
  const rows: UserJoinedRow[] = await q.orderBy('core_user.username').limit(pageSize).offset((options.page - 1) * pageSize);
  const roles = await rolesByUser(core.db, rows.map((r) => r.id));
  const waiting = await usernamesWaiting(core.db, rows.map((r) => r.username));
  return { rows: rows.map((r) => toDetail(r, roles.get(r.id) ?? [], waiting)), total };
}

export async function getUser(core: Core, actor: Actor, id: number): Promise<UserDetail> {
  requireAdmin(actor);
  const row: UserJoinedRow | undefined = await userQuery(core.db, actor).where('core_user.id', id).first();
  if (!row) {
    const exists = await core.db('core_user').where({ id }).first('id');
    if (exists) await refuse(core.db, actor, { objectType: 'user', objectId: id, summary: { reason: 'out_of_scope' } }, '该用户不在您的管辖范围内');
    throw new NotFoundError('用户不存在');
  }
  return toDetail(row, (await rolesByUser(core.db, [id])).get(id) ?? [], await usernamesWaiting(core.db, [row.username]));
}

/** Checks shared by create and update: scope of the region and organisation, the roles allowed together. */
async function checkAssignment(core: Core, actor: Actor, input: UserInput): Promise<{ region: Region; org: Org | null }> {
  const region = await regionInScope(core.db, actor, input.regionId);
  let org: Org | null = null;
  if (input.orgId !== null) {
    org = (await core.db('core_org').where({ id: input.orgId }).first()) ?? null;
    const orgRegion = org ? await findRegion(core.db, org.region_id) : undefined;
    if (!org || !orgRegion || !isPathInScope(actor, orgRegion.path)) throw new ValidationError({ orgId: '所属单位不存在或不在您的管辖范围内' });
    if (!region.path.startsWith(orgRegion.path)) throw new ValidationError({ orgId: '用户所在地区必须在所属单位的辖区之内' });
  }
  const combination = roleCombinationError(input.roles, org?.kind ?? null);
  if (combination) throw new ValidationError({ roles: combination });
  return { region, org };
}

async function writeRoles(trx: Tx, userId: number, roles: Role[]): Promise<void> {
  await trx('core_user_role').where({ user_id: userId }).delete();
  await trx('core_user_role').insert(roles.map((role) => ({ user_id: userId, role })));
}

function describe(input: UserInput, region: Region, org: Org | null) {
  return { username: input.username, name: input.displayName, roles: input.roles.map((r) => ROLE_LABELS[r]), region: region.name, org: org?.name ?? null };
}

/** Create a user with a temporary password that they must change at first login. */
export async function createUser(core: Core, actor: Actor, input: UserInput): Promise<{ id: number; temporaryPassword: string }> {
  requireAdmin(actor);
  const { region, org } = await checkAssignment(core, actor, input);
  const password = temporaryPassword();
  const hash = await hashPassword(password, core.config.scryptLogN);
  const id = await inTransaction(core.db, async (trx) => {
    if (await trx('core_user').where({ username: input.username }).first('id')) throw new ValidationError({ username: `用户名“${input.username}”已被使用` });
    const now = nowIso();
    const userId = await insertReturningId(trx, 'core_user', {
      username: input.username,
      display_name: input.displayName,
      password_hash: hash,
      region_id: region.id,
      org_id: org?.id ?? null,
      must_change_password: true,
      created_at: now,
      updated_at: now,
    });
    await writeRoles(trx, userId, input.roles);
    await recordAudit(trx, actor, { action: 'user.create', objectType: 'user', objectId: userId, summary: { after: describe(input, region, org) } });
    return userId;
  });
  return { id, temporaryPassword: password };
}

/**
 * Change a user's name, roles, region, organisation or disabled flag. `version` is the one the form was built
 * from: if someone saved in between, the update matches no row and the second save is refused.
 * An administrator cannot change their own roles or region, nor disable themselves.
 */
export async function updateUser(core: Core, actor: Actor, id: number, input: Omit<UserInput, 'username'> & { disabled: boolean; version: number }): Promise<void> {
  const before = await getUser(core, actor, id);
  if (id === actor.userId) {
    const sameRoles = [...input.roles].sort().join() === [...before.roles].sort().join();
    if (!sameRoles || input.regionId !== before.region_id || input.disabled) {
      throw new ForbiddenError('不能修改自己的角色、所属地区或停用自己的账户，请由另一位管理员操作');
    }
  }
  const { region, org } = await checkAssignment(core, actor, { ...input, username: before.username });
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('core_user')
      .where({ id, version: input.version })
      .update({
        display_name: input.displayName,
        region_id: region.id,
        org_id: org?.id ?? null,
        disabled: input.disabled,
        version: input.version + 1,
        updated_at: nowIso(),
      });
    if (updated !== 1) throw new ConflictError('该用户已被他人修改，请刷新后重新编辑');
    await writeRoles(trx, id, input.roles);
    if (input.disabled) await invalidateUserSessions(trx, id);
    await recordAudit(trx, actor, {
      action: 'user.update',
      objectType: 'user',
      objectId: id,
      summary: {
        before: { name: before.display_name, roles: before.roles.map((r) => ROLE_LABELS[r]), region: before.region_name, org: before.org_name, disabled: before.disabled },
        after: { ...describe({ ...input, username: before.username }, region, org), disabled: input.disabled },
      },
    });
  });
}

/** Does this account hold a 三员 role (system or audit administrator)? */
export const isThreeOfficer = (roles: readonly Role[]) => roles.some((r) => THREE_OFFICER_ROLES.includes(r));

/**
 * A new temporary password; the user must change it at next login and their sessions end. The account of a
 * system or audit administrator (三员) also loses its second factor: whoever logs in with the temporary password
 * must enrol a new authenticator, and the audit row, which records the account's roles, is listed to the auditors
 * (threeOfficerAlerts), so that a reset used to enter an auditor's account is seen.
 */
export async function resetUserPassword(core: Core, actor: Actor, id: number): Promise<string> {
  const user = await getUser(core, actor, id);
  if (id === actor.userId) throw new ForbiddenError('请在“账户安全”中修改自己的密码');
  const password = temporaryPassword();
  const hash = await hashPassword(password, core.config.scryptLogN);
  const threeOfficer = isThreeOfficer(user.roles);
  await inTransaction(core.db, async (trx) => {
    await trx('core_user')
      .where({ id })
      .update({ password_hash: hash, must_change_password: true, ...(threeOfficer ? { totp_enabled: false, totp_secret_enc: null, totp_last_step: null } : {}), updated_at: nowIso() });
    await forgetUsernameFailures(trx, user.username);
    await invalidateUserSessions(trx, id);
    await recordAudit(trx, actor, {
      action: 'user.password_reset',
      objectType: 'user',
      objectId: id,
      summary: { username: user.username, roles: user.roles, totp_cleared: threeOfficer },
    });
  });
  return password;
}

/** What an administrator did to a 三员 account, as the auditors' alert lists it. */
export type ThreeOfficerChange = 'password_reset' | 'created' | 'role_granted';

export interface ThreeOfficerAlert {
  at: string;
  /** The administrator who did it (their username; `ykt-cli` for `ykt create-admin`). */
  by: string | null;
  change: ThreeOfficerChange;
  userId: number;
  username: string;
  /** The account's 三员 roles the change concerns. */
  roles: Role[];
}

/** How far back the auditors' alert reaches. */
export const THREE_OFFICER_ALERT_DAYS = 90;

const ROLE_BY_LABEL = new Map(Object.entries(ROLE_LABELS).map(([code, label]) => [label, code as Role]));
const threeOfficerRoles = (roles: readonly Role[]) => roles.filter((r) => THREE_OFFICER_ROLES.includes(r));
/** The roles a user.create or user.update summary names (it records their labels). */
const rolesNamed = (part: unknown): Role[] => {
  const labels = (part as { roles?: unknown } | undefined)?.roles;
  return Array.isArray(labels) ? labels.flatMap((label) => ROLE_BY_LABEL.get(String(label)) ?? []) : [];
};

/**
 * What the auditors must see (三权分立 without back doors): in the last 90 days, every password reset of an
 * account that held or now holds a system or audit administrator's role (a reset lets the administrator log in as
 * that account), every account created with such a role, and every such role given to an account. Newest first;
 * the rows written in the auditor's region subtree or about an account in it (an administrator above the county
 * acting on the county's auditor is listed). Auditors only.
 */
export async function threeOfficerAlerts(db: Db, actor: Actor, now = new Date()): Promise<ThreeOfficerAlert[]> {
  await requireAuditor(db, actor);
  const inScope = db('core_region').select('id').where('path', 'like', `${actor.regionPath}%`);
  const usersInScope = db('core_user').whereIn('region_id', inScope).select(db.raw('CAST(id AS TEXT)'));
  const rows: Pick<AuditRow, 'at' | 'username' | 'action' | 'object_id' | 'summary'>[] = await db('core_audit')
    .whereIn('action', ['user.password_reset', 'user.create', 'user.update'])
    .where('at', '>=', new Date(now.getTime() - THREE_OFFICER_ALERT_DAYS * 86_400_000).toISOString())
    .where((w) => w.whereIn('region_id', inScope).orWhereIn('object_id', usersInScope))
    .orderBy('id', 'desc')
    .select('at', 'username', 'action', 'object_id', 'summary');
  const userIds = [...new Set(rows.map((r) => Number(r.object_id)))];
  const current = await rolesByUser(db, userIds);
  return rows.flatMap((row): ThreeOfficerAlert[] => {
    const userId = Number(row.object_id);
    const summary = JSON.parse(row.summary) as { username?: string; roles?: Role[]; before?: unknown; after?: { username?: string } };
    const alert = (change: ThreeOfficerChange, roles: Role[], username = summary.username ?? '') =>
      roles.length ? [{ at: row.at, by: row.username, change, userId, username, roles }] : [];
    if (row.action === 'user.password_reset') return alert('password_reset', threeOfficerRoles([...new Set([...(summary.roles ?? []), ...(current.get(userId) ?? [])])]));
    if (row.action === 'user.create') return alert('created', threeOfficerRoles(rolesNamed(summary.after)), summary.after?.username ?? '');
    const before = rolesNamed(summary.before);
    return alert('role_granted', threeOfficerRoles(rolesNamed(summary.after)).filter((r) => !before.includes(r)), summary.after?.username ?? '');
  });
}

/** The auditor's home page line: the alert's changes to 三员 accounts, to check with the people concerned. */
export async function threeOfficerAlertQueues(db: Db, actor: Actor): Promise<WorkQueue[]> {
  if (!hasRole(actor, 'auditor')) return [];
  const alerts = await threeOfficerAlerts(db, actor);
  return alerts.length ? [{ title: `近 ${THREE_OFFICER_ALERT_DAYS} 天系统管理员对三员账户的重置密码、新建和授权（须逐一核实）`, count: alerts.length, href: '/audit#three-officer-alerts' }] : [];
}

export async function unlockUser(core: Core, actor: Actor, id: number): Promise<void> {
  const user = await getUser(core, actor, id);
  await inTransaction(core.db, async (trx) => {
    await forgetUsernameFailures(trx, user.username);
    await recordAudit(trx, actor, { action: 'user.unlock', objectType: 'user', objectId: id, summary: { username: user.username } });
  });
}

/** For a lost phone: the user enrols a new authenticator at next login. */
export async function resetUserTotp(core: Core, actor: Actor, id: number): Promise<void> {
  const user = await getUser(core, actor, id);
  if (id === actor.userId) throw new ForbiddenError('不能重置自己的动态口令，请由另一位管理员操作');
  await inTransaction(core.db, async (trx) => {
    await trx('core_user').where({ id }).update({ totp_enabled: false, totp_secret_enc: null, totp_last_step: null, updated_at: nowIso() });
    await invalidateUserSessions(trx, id);
    await recordAudit(trx, actor, { action: 'user.totp_reset', objectType: 'user', objectId: id, summary: { username: user.username } });
  });
}

/**
 * `ykt create-admin`: the first administrator of a fresh installation, at the given region path
 * (e.g. ["江川省", "临山市", "青禾县"]; missing regions are created). Run by county IT on the server itself.
 */
export async function createInitialAdmin(core: Core, input: { username: string; displayName: string; regionNames: string[] }): Promise<string> {
  if (input.regionNames.length === 0 || input.regionNames.length > 3) throw new ValidationError({ region: '地区应为 省/市/县 形式，1 到 3 级' });
  const password = temporaryPassword();
  const hash = await hashPassword(password, core.config.scryptLogN);
  await inTransaction(core.db, async (trx) => {
    if (await trx('core_user').where({ username: input.username }).first('id')) throw new ValidationError({ username: `用户名“${input.username}”已被使用` });
    const levels = ['province', 'city', 'county'] as const;
    let parent = null as Region | null;
    for (const [i, name] of input.regionNames.entries()) {
      const existing: Region | undefined = await trx('core_region').where({ parent_id: parent?.id ?? null, name }).first();
      if (existing) {
        parent = existing;
        continue;
      }
      parent = await insertRegion(trx, parent, levels[i]!, name);
    }
    const now = nowIso();
    const userId = await insertReturningId(trx, 'core_user', {
      username: input.username,
      display_name: input.displayName,
      password_hash: hash,
      region_id: parent!.id,
      must_change_password: true,
      created_at: now,
      updated_at: now,
    });
    await writeRoles(trx, userId, ['admin']);
    await recordAudit(trx, { userId: null, username: 'ykt-cli', regionId: parent!.id, ip: null }, { action: 'user.create', objectType: 'user', objectId: userId, summary: { after: { username: input.username, roles: [ROLE_LABELS.admin], region: parent!.name }, via: 'create-admin' } });
  });
  return password;
}
