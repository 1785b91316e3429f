import type { Knex } from 'knex';

// The bank's SM2 public key on its agreement (Liaoning 三(二)2, docs/signature-format.md): with it the platform checks
// the bank's signature on its result files and answers, when the agreement requires one, and encrypts the files it
// gives the bank, when the agreement asks for it. A replaced key stays, retired, so that what was accepted under it
// can still be checked: 1 in in_use for the key in use, NULL once retired (at most one per agreement).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agreement_contract', (t) => {
    t.boolean('require_bank_signature').notNullable().defaultTo(false);
    t.boolean('encrypt_files').notNullable().defaultTo(false);
  });
  await knex.schema.createTable('agreement_bank_key', (t) => {
    t.increments('id').primary();
    t.integer('agreement_id').notNullable().references('id').inTable('agreement_contract');
    t.string('public_key', 130).notNullable();
    t.string('fingerprint', 64).notNullable();
    t.integer('in_use').nullable();
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.timestamp('retired_at', { useTz: true }).nullable();
    t.unique(['agreement_id', 'in_use']);
    t.index(['agreement_id', 'fingerprint']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agreement_bank_key');
  await knex.schema.alterTable('agreement_contract', (t) => {
    t.dropColumn('encrypt_files');
    t.dropColumn('require_bank_signature');
  });
}
