import type { Knex } from 'knex';

// The deployment's SM2 key pairs for signing the files it gives banks (core/signing.ts, GB/T 32918): the public key
// and its fingerprint here, the private key in core_wrapped_key (encrypted under the field key, re-encrypted by
// `ykt rotate-key`) under the purpose `sm2-signing:<id>`. A replaced pair stays, retired, so that the
// signatures made with it can still be checked. A migration has no key: the server makes the first pair.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('core_signing_key', (t) => {
    t.increments('id').primary();
    t.string('fingerprint', 64).notNullable().unique();
    t.string('public_key', 130).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('retired_at', { useTz: true }).nullable();
    // 1 for the pair in use, NULL once retired: at most one in use, even when two instances make the first at once.
    t.integer('in_use').nullable().unique();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('core_signing_key');
}
