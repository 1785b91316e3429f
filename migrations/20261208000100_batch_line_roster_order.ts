import type { Knex } from 'knex';

/**
 * A roster's lines in line order: the checks read a roster's lines a page at a time by id, and the roster page lists
 * the lines without a finding by id. The index on (roster_id, state) becomes (roster_id, state, id), so that
 * PostgreSQL reads them in order from the index instead of gathering and sorting the whole roster. (SQLite's index
 * already ended in the rowid, which is the id: the same index there.)
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('batch_line', (t) => {
    t.index(['roster_id', 'state', 'id'], 'batch_line_roster_state_id');
  });
  await knex.schema.alterTable('batch_line', (t) => {
    t.dropIndex(['roster_id', 'state']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('batch_line', (t) => {
    t.index(['roster_id', 'state']);
  });
  await knex.schema.alterTable('batch_line', (t) => {
    t.dropIndex(['roster_id', 'state', 'id'], 'batch_line_roster_state_id');
  });
}
