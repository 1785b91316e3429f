import type { Actor } from '../../core/auth/roles.ts';
import type { Conn } from '../../core/db.ts';
import type { Region } from '../../core/regions.ts';
import { countyPerformance } from '../bank/index.ts';
import { listRegionFor } from '../policy/index.ts';

/**
 * What the supervision pages read of the performance figures (双监控, bank/performance.ts): the counties of a reader's
 * scope, and the overview's line per county.
 */

/** The counties of the actor's scope: their own county (a township's is the county above it), or those below a city or province. */
export async function countiesOf(db: Conn, actor: Actor): Promise<Region[]> {
  const own = await listRegionFor(db, actor.regionId);
  if (own.level === 'county') return [own];
  return db('core_region').where({ level: 'county' }).where('path', 'like', `${own.path}%`).orderBy('name');
}

/**
 * The overview's line (监督工作台): this year's policies with an execution warning and goals not met, for a county
 * reader; a reader over several counties (a city's, a province's) gets each county's link only, so that the overview
 * does not compute every county's year at each visit.
 */
export async function performanceStanding(db: Conn, actor: Actor, year: number): Promise<{ county: string; href: string; figures: { warnings: number; unmet: number } | null }[]> {
  const counties = await countiesOf(db, actor);
  const out = [];
  for (const county of counties) {
    const href = `/supervision/performance?year=${year}&county=${county.id}`;
    if (counties.length > 1) {
      out.push({ county: county.name, href, figures: null });
      continue;
    }
    const p = await countyPerformance(db, county, year, { publicOnly: false });
    out.push({ county: county.name, href, figures: { warnings: p.policies.filter((x) => x.warning).length, unmet: p.policies.reduce((n, x) => n + x.indicators.filter((i) => i.met === false).length, 0) } });
  }
  return out;
}
