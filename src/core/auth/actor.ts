import type { Conn } from '../db.ts';
import type { Actor, Role } from './roles.ts';

/** The user behind an Actor, with what the login steps need to know about them. */
export interface ActingUser {
  actor: Actor;
  disabled: boolean;
  mustChangePassword: boolean;
  totpEnabled: boolean;
}

interface UserRow {
  id: number;
  username: string;
  display_name: string;
  region_id: number;
  region_path: string;
  region_name: string;
  region_level: Actor['regionLevel'];
  org_id: number | null;
  org_name: string | null;
  disabled: boolean | number;
  must_change_password: boolean | number;
  totp_enabled: boolean | number;
}

/** Build the Actor of a user (roles, region and its path, organisation): the one place it is assembled. */
export async function loadActor(db: Conn, where: { id: number } | { username: string }, ip: string | null): Promise<ActingUser | null> {
  const user = (await db('core_user')
    .join('core_region', 'core_region.id', 'core_user.region_id')
    .leftJoin('core_org', 'core_org.id', 'core_user.org_id')
    .where('id' in where ? { 'core_user.id': where.id } : { 'core_user.username': where.username })
    .first('core_user.*', 'core_region.path as region_path', 'core_region.name as region_name', 'core_region.level as region_level', 'core_org.name as org_name')) as UserRow | undefined;
  if (!user) return null;
  const roles = ((await db('core_user_role').where({ user_id: user.id }).select('role')) as { role: Role }[]).map((r) => r.role);
  return {
    actor: {
      userId: user.id,
      username: user.username,
      displayName: user.display_name,
      roles,
      regionId: user.region_id,
      regionPath: user.region_path,
      regionName: user.region_name,
      regionLevel: user.region_level,
      orgId: user.org_id,
      orgName: user.org_name ?? null,
      ip,
    },
    disabled: Boolean(user.disabled),
    mustChangePassword: Boolean(user.must_change_password),
    totpEnabled: Boolean(user.totp_enabled),
  };
}
