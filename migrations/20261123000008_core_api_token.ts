import type { Knex } from 'knex';

/**
 * Tokens for machines that call /api/v1 (the data-sharing platform, later the agent bank and the upper-level
 * platform): only the SHA-256 of the token is stored; each token is for one purpose and one region.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('core_api_token', (t) => {
    t.increments('id');
    t.string('name', 80).notNullable();
    t.string('purpose', 20).notNullable(); // reference | bank | platform
    t.integer('region_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('org_id').unsigned().references('id').inTable('core_org');
    t.string('token_hash', 64).notNullable().unique();
    t.integer('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_used_at', { useTz: true });
    t.integer('revoked_by');
    t.timestamp('revoked_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('core_api_token');
}
