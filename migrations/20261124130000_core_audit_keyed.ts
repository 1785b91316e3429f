import type { Knex } from 'knex';

/**
 * The audit chain becomes keyed: HMAC-SM3 under the audit key (docs/audit-chain.md). Each row says how its hash
 * was made. The rows already written keep their plain SM3 hashes ('sm3'), so that the hashes auditors noted stay
 * valid; the application writes 'hmac-sm3' rows from now on, the first of them linked to the last 'sm3' row.
 * Adding a column fires no row trigger: the append-only triggers stay as they are.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('core_audit', (t) => {
    t.string('alg', 16).notNullable().defaultTo('sm3');
  });
}

// Plain SQL on both databases: knex would rebuild the SQLite table and lose its append-only triggers.
export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE core_audit DROP COLUMN alg');
}
