import type { Knex } from 'knex';

/** The audit log page lists one object's history (清册 #12: every row about it): an index for that filter. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('core_audit', (t) => {
    t.index(['object_type', 'object_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('core_audit', (t) => {
    t.dropIndex(['object_type', 'object_id']);
  });
}
