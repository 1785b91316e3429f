import type { Knex } from 'knex';

/**
 * Whether a policy is 突发灾害应急救助 (emergency relief after a sudden disaster, issue 15 item 6): Qinghai 二(一)2
 * exempts it from the ordinary procedure, so that a round under it may be opened as 应急救助（事后公示）— paid first,
 * publicised after payment within a set time. A property of each version of the policy, set by its department and
 * published with it, like 救助类 (means_tested).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('policy_version', (t) => {
    t.boolean('emergency_relief').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('policy_version', (t) => {
    t.dropColumn('emergency_relief');
  });
}
