import type { Knex } from 'knex';

/**
 * A round opened as 应急救助（事后公示）(issue 15 item 6): only for a policy version marked 突发灾害应急救助, chosen
 * by the department when it opens the round and kept by the round. Its rosters go from the department's approval to
 * the township finance office's confirmation without publicity; each is publicised after the round is released,
 * within the county's time limit (deadline rule post_payment_publicity). The roster keeps who approved it, so that
 * the finance office's confirmation, the one check before payment, is never taken by the approver (four-eyes).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('batch_round', (t) => {
    t.boolean('expedited').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('batch_roster', (t) => {
    t.integer('approved_by'); // who approved it (core_user id, as last_changed_by): they do not confirm it
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('batch_round', (t) => {
    t.dropColumn('expedited');
  });
  await knex.schema.alterTable('batch_roster', (t) => {
    t.dropColumn('approved_by');
  });
}
