import type { Knex } from 'knex';

/**
 * Whether a policy is a means-tested programme (救助类, issue 15): its recipients must not be public employees
 * (财政供养人员), so the cross-check of a round under it runs the public-employee rule. A property of each version of
 * the policy, set by its department and published with it, no longer a checkbox when a round is opened.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('policy_version', (t) => {
    t.boolean('means_tested').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('policy_version', (t) => {
    t.dropColumn('means_tested');
  });
}
