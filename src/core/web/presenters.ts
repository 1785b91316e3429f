import { ROLE_LABELS, REGION_LEVEL_LABELS, type RegionLevel, type Role } from '../auth/roles.ts';
import type { AuditRow } from '../audit.ts';
import type { AuditLexicon } from '../audit-vocabulary.ts';
import { formatDateTime } from '../dates.ts';
import { type Region, pathIds } from '../regions.ts';
import type { UserListRow } from '../users.ts';

// Rows → what the core templates show.

/** The address of one object's whole history in the audit log (core/web/audit-routes.ts). */
export const objectHistoryHref = (type: string, id: string) => `/audit/objects/${encodeURIComponent(type)}/${encodeURIComponent(id)}`;

/**
 * One row of the audit log: the action by its label, the object by its name (looked up for the whole page, see
 * AuditLexicon.names) with a link to every row about it, the summary as a sentence.
 */
export function presentAuditRow(lexicon: AuditLexicon, names: Map<string, string>, row: AuditRow) {
  const type = row.object_type;
  const id = row.object_id;
  return {
    id: row.id,
    at: formatDateTime(row.at),
    who: row.username ?? '（未知）',
    roles: (row.roles ?? '').split(',').filter(Boolean).map((r) => ROLE_LABELS[r as Role] ?? r).join('、'),
    action: lexicon.label(row.action),
    object: type ? (id ? lexicon.objectRef(type, id, names) : lexicon.kindLabel(type)) : '',
    objectHref: type && id ? objectHistoryHref(type, id) : null,
    summary: lexicon.sentence(row.action, row.summary),
    ip: row.ip ?? '',
  };
}

export function presentUser(row: UserListRow) {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    region: row.region_name,
    org: row.org_name ?? '',
    roles: row.roles.map((r) => ROLE_LABELS[r]).join('、'),
    status: row.disabled ? '已停用' : row.locked ? '登录受限（多次登录失败）' : '正常',
    totp: row.totp_enabled ? '已绑定' : '未绑定',
    lastLogin: formatDateTime(row.last_login_at),
  };
}

export function presentRegionOptions(regions: Region[]) {
  const depthOf = (r: Region) => pathIds(r.path).length;
  const base = regions.length ? Math.min(...regions.map(depthOf)) : 0;
  return regions.map((r) => ({
    id: r.id,
    level: r.level,
    levelLabel: REGION_LEVEL_LABELS[r.level as RegionLevel],
    label: `${'　'.repeat(depthOf(r) - base)}${r.name}`,
    name: r.name,
    code: r.code ?? '',
    depth: depthOf(r) - base,
  }));
}

export const roleOptions = (Object.keys(ROLE_LABELS) as Role[]).map((value) => ({ value, label: ROLE_LABELS[value] }));
