import type { Knex } from 'knex';

// Keys for one purpose each (the HMAC of a complaint's query code), kept encrypted under the field key
// (core/wrapped-keys.ts): a change of the field key (`ykt rotate-key`) re-encrypts them, so that what was made with
// them (hashes of codes the platform never stores) stays valid. A migration has no key: the server writes the rows.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('core_wrapped_key', (t) => {
    t.string('purpose', 60).primary();
    t.text('key_enc').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('core_wrapped_key');
}
