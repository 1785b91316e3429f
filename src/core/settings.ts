import type { Actor } from './auth/roles.ts';
import { recordAudit } from './audit.ts';
import { type Conn, type Db, inTransaction, nowIso } from './db.ts';
import { ForbiddenError } from './errors.ts';
import { hasRole } from './auth/roles.ts';
import { findRegion, isPathInScope, pathIds } from './regions.ts';

/**
 * Settings per region (a county's deadline lengths, …): a value set at a region applies to its subtree;
 * the nearest region up the tree that sets a key wins, and the default applies where none does.
 */
export async function settingFor(db: Conn, regionId: number, key: string): Promise<string | null> {
  const region = await findRegion(db, regionId);
  if (!region) return null;
  const lineage = pathIds(region.path);
  const rows: { region_id: number; value: string }[] = await db('core_setting').where({ key }).whereIn('region_id', lineage);
  for (const id of [...lineage].reverse()) {
    const row = rows.find((r) => r.region_id === id);
    if (row) return row.value;
  }
  return null;
}

/** The values set at exactly this region (for the settings page). */
export async function settingsAt(db: Conn, regionId: number, keys: string[]): Promise<Map<string, string>> {
  const rows: { key: string; value: string }[] = keys.length ? await db('core_setting').where({ region_id: regionId }).whereIn('key', keys) : [];
  return new Map(rows.map((r) => [r.key, r.value]));
}

/**
 * Set (or, with null, remove) values at the administrator's own region, or at regions below it (a township's
 * supervision telephone), all in one transaction, audited per region with the values before and after.
 */
export async function saveSettings(db: Db, actor: Actor, values: Record<string, string | null>, regionId: number = actor.regionId): Promise<void> {
  await saveRegionSettings(db, actor, [{ regionId, values }]);
}

export async function saveRegionSettings(db: Db, actor: Actor, entries: { regionId: number; values: Record<string, string | null> }[]): Promise<void> {
  if (!hasRole(actor, 'admin')) throw new ForbiddenError('只有系统管理员可以修改设置');
  for (const { regionId } of entries) {
    const region = await findRegion(db, regionId);
    if (!region || !isPathInScope(actor, region.path)) throw new ForbiddenError('该地区不在您的管辖范围内');
  }
  await inTransaction(db, async (trx) => {
    for (const { regionId, values } of entries) {
      const before = await settingsAt(trx, regionId, Object.keys(values));
      const changed: Record<string, { before: string | null; after: string | null }> = {};
      for (const [key, value] of Object.entries(values)) {
        const old = before.get(key) ?? null;
        if (old === value) continue;
        changed[key] = { before: old, after: value };
        await trx('core_setting').where({ region_id: regionId, key }).delete();
        if (value !== null) await trx('core_setting').insert({ region_id: regionId, key, value, updated_by: actor.userId, updated_at: nowIso() });
      }
      if (Object.keys(changed).length) {
        await recordAudit(trx, actor, { action: 'settings.update', objectType: 'region', objectId: regionId, summary: changed });
      }
    }
  });
}
