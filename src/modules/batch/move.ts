import { type ModuleMove, asIs, totalsByRound } from '../../core/county-move.ts';
import type { Conn } from '../../core/db.ts';
import type { IdRange } from '../../core/key-rotation.ts';

/** Per round: its lines, their money and its transfers; and the rounds and the lines' money in all. */
async function roundTotals(db: Conn, range: IdRange): Promise<Record<string, number>> {
  const rounds = range('batch_round');
  const lines = await totalsByRound(db, 'batch_line', 'lines', rounds, 'round_id');
  const transfers = await totalsByRound(db, 'batch_transfer', 'transfers', rounds, 'round_id');
  const count = (await db('batch_round').where('id', '>', rounds.above).where('id', '<=', rounds.upTo).count({ n: '*' }).first()) as { n: number | string };
  const linesFen = Object.entries(lines).reduce((sum, [key, value]) => (key.endsWith(' lines fen') ? sum + value : sum), 0);
  return { rounds: Number(count.n), 'lines fen': linesFen, ...lines, ...transfers };
}

/** How the batch module's rows move to a central deployment (core/county-move.ts). */
export const batchMove: ModuleMove = {
  totals: roundTotals,
  objectIds: { round: 'batch_round', roster: 'batch_roster' },
  tables: {
    batch_round: { refs: { county_id: 'core_region', policy_item_id: 'policy_item', policy_version_id: 'policy_version', department_org_id: 'core_org', bank_org_id: 'core_org', created_by: 'core_user', updated_by: 'core_user' } },
    batch_roster: { refs: { round_id: 'batch_round', township_id: 'core_region', last_changed_by: 'core_user', approved_by: 'core_user' } },
    batch_line: {
      refs: { roster_id: 'batch_roster', round_id: 'batch_round', person_id: 'beneficiary_person', household_id: 'beneficiary_household', village_id: 'core_region', account_id: 'beneficiary_account', policy_version_id: 'policy_version', created_by: 'core_user', updated_by: 'core_user' },
    },
    batch_finding: { refs: { roster_id: 'batch_roster', line_id: 'batch_line', resolved_by: 'core_user' } },
    batch_history: { refs: { round_id: 'batch_round', roster_id: 'batch_roster', actor_id: 'core_user' } },
    batch_import: { refs: { roster_id: 'batch_roster', imported_by: 'core_user' } },
    // public_ref is the tracking number of the portal complaint that raised the objection, not an id.
    batch_objection: { refs: { roster_id: 'batch_roster', line_id: 'batch_line', recorded_by: 'core_user', resolved_by: 'core_user' }, text: { public_ref: asIs } },
    batch_transfer: { refs: { round_id: 'batch_round', bank_org_id: 'core_org', recorded_by: 'core_user' } },
    batch_account_verdict: { refs: { line_id: 'batch_line', account_id: 'beneficiary_account' } },
  },
};
