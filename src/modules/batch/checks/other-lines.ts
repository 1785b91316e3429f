import type { Knex } from 'knex';
import { type Conn, selectInChunks } from '../../../core/db.ts';
import type { LineRow } from '../repo.ts';

export interface OtherLine {
  id: number;
  person_id: number;
  round_id: number;
  round_title: string;
  round_state: string;
  policy_item_id: number;
  policy_version_id: number;
  period: string;
  period_year: number;
  township_name: string;
  reissue: boolean;
}

/** Active lines for the same people elsewhere, narrowed by `where`, by person id (read in chunks). */
export async function otherLinesOf(db: Conn, lines: LineRow[], where: (q: Knex.QueryBuilder) => Knex.QueryBuilder): Promise<Map<number, OtherLine[]>> {
  const rows = await selectInChunks(
    lines.map((l) => l.person_id),
    async (chunk) =>
      (await where(
        db('batch_line as l')
          .join('batch_round as r', 'r.id', 'l.round_id')
          .join('batch_roster as s', 's.id', 'l.roster_id')
          .join('core_region as t', 't.id', 's.township_id')
          .where('l.state', 'active')
          .whereIn('l.person_id', chunk)
          .select('l.id', 'l.person_id', 'l.round_id', 'r.title as round_title', 'r.state as round_state', 'r.policy_item_id', 'r.policy_version_id', 'r.period', 'r.period_year', 't.name as township_name', 'l.reissue'),
      )) as OtherLine[],
  );
  const byPerson = new Map<number, OtherLine[]>();
  for (const row of rows) byPerson.set(row.person_id, [...(byPerson.get(row.person_id) ?? []), { ...row, reissue: Boolean(row.reissue) }]);
  return byPerson;
}
