import type { Knex } from 'knex';

/**
 * The 救助类 flag of the policies in use (issue 15): until now a department ticked it when it opened a round. A policy
 * one of whose rounds was opened as means-tested is marked so, every version of it, so that its next rounds keep
 * running the public-employee check. The rounds themselves keep the flag they were opened with.
 */
export async function up(knex: Knex): Promise<void> {
  await knex('policy_version')
    .whereIn('item_id', knex('batch_round').where('means_tested', true).select('policy_item_id'))
    .update({ means_tested: true });
}

export async function down(): Promise<void> {
  // The flags set here cannot be told from those set later by a department; the column itself goes with the previous migration.
}
