import type { Knex } from 'knex';

/**
 * The limits of the portal's personal payment query (个人发放结果查询, issue 16 item 6): queries are counted per
 * client address and per ID number in fixed windows, in the database so that a restart does not reset them and
 * several instances share them. The ID number is counted by its blind index (never in clear).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('publicity_query_throttle', (t) => {
    t.string('scope', 20).notNullable();
    t.string('key', 100).notNullable();
    t.integer('queries').notNullable();
    t.string('window_start', 30).notNullable();
    t.primary(['scope', 'key']);
    t.index(['window_start']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('publicity_query_throttle');
}
