import type { Knex } from 'knex';

/**
 * An objection filed by the public on the portal (issue 16) carries its tracking number, so that the roster page
 * says where it came from and the portal can show its resolution. Staff-entered objections leave it empty; a
 * public one is recorded by no user (recorded_by 0).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('batch_objection', (t) => {
    t.string('public_ref', 20);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('batch_objection', (t) => {
    t.dropColumn('public_ref');
  });
}
