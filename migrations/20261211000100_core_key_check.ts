import type { Knex } from 'knex';

// One known text encrypted under the deployment's field key (core/key-check.ts), written by the first instance that
// starts with its key: an instance started with another YKT_SECRET_KEY refuses to run instead of writing fields
// nobody else can read. A migration has no key, so the row is written by the server, not here.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('core_key_check', (t) => {
    t.integer('id').primary(); // always 1
    t.text('check_enc').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('core_key_check');
}
