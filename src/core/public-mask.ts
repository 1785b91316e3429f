import type { Conn } from './db.ts';
import { type IdMaskMode, type NameMaskMode, maskIdNumber, maskName } from './mask.ts';
import { settingFor } from './settings.ts';

/**
 * The one masking rule of every public output — portal pages, publicity sheets, public exports and the public API
 * (PIPL art. 28; DESIGN.md "Publicity and the public"): ID numbers hide the birth date by default
 * (110105********002X), or more where the county says so (110***********002X); names are shown in full or as
 * 张*三, as the county sets; account numbers are never shown. The county's administrator sets it (core_setting,
 * the nearest region up the tree that sets a key wins); the default is the cautious one.
 */
export interface PublicMaskRule {
  id: IdMaskMode;
  name: NameMaskMode;
}

export const PUBLIC_MASK_KEYS = { id: 'public.id_mask', name: 'public.name_mask' } as const;
export const ID_MASK_LABELS: Record<IdMaskMode, string> = { birth: '隐藏出生日期（110105********002X）', strict: '只显示前 3 位和后 4 位（110***********002X）' };
export const NAME_MASK_LABELS: Record<NameMaskMode, string> = { middle: '隐藏姓名中间的字（张*三、李*）', full: '显示全名' };
export const DEFAULT_PUBLIC_MASK: PublicMaskRule = { id: 'birth', name: 'middle' };

export async function publicMaskRule(db: Conn, regionId: number): Promise<PublicMaskRule> {
  const id = await settingFor(db, regionId, PUBLIC_MASK_KEYS.id);
  const name = await settingFor(db, regionId, PUBLIC_MASK_KEYS.name);
  return {
    id: id === 'strict' ? 'strict' : DEFAULT_PUBLIC_MASK.id,
    name: name === 'full' ? 'full' : DEFAULT_PUBLIC_MASK.name,
  };
}

/**
 * A person as a public output shows them. `idNumber` may be the full number or the stored birth-masked one
 * (110105********002X): the first six and last four characters are all either rule keeps.
 */
export function maskPersonForPublic(rule: PublicMaskRule, person: { name: string; idNumber: string }): { name: string; id: string } {
  return { name: maskName(person.name, rule.name), id: maskIdNumber(person.idNumber, rule.id) };
}
