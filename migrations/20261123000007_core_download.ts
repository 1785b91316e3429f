import type { Knex } from 'knex';

/**
 * Files produced for one user to fetch once, a little later (an import's error report): kept encrypted, for an
 * hour at most, in the database so that any instance can serve the download.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('core_download', (t) => {
    t.increments('id');
    t.string('token_hash', 64).notNullable().unique();
    t.integer('user_id').notNullable();
    t.string('file_name', 200).notNullable();
    t.string('content_type', 100).notNullable();
    t.text('body_enc').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('core_download');
}
