import type { Knex } from 'knex';

/**
 * Allocation documents (指标文件) received from the budget system (预算管理一体化, Liaoning 三(二)4; issue 20 item 3):
 * an uploaded file or an API push, recorded once per county and content digest, so that the same file or body sent
 * again changes nothing (core/imports.ts claimFileDigest). The allocations themselves stay in policy_allocation, as
 * those typed on the form; the audit log names the import that recorded them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('policy_allocation_import', (t) => {
    t.increments('id');
    t.integer('county_id').unsigned().notNullable().references('id').inTable('core_region');
    t.string('file_sha256', 64).notNullable();
    t.string('channel', 4).notNullable(); // file | api
    t.string('file_name', 200).notNullable();
    t.integer('rows').notNullable();
    t.integer('created').notNullable();
    t.integer('unchanged').notNullable();
    t.integer('imported_by'); // the user; null for an API token (named in file_name and the audit log)
    t.timestamp('imported_at', { useTz: true }).notNullable();
    t.unique(['county_id', 'file_sha256']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('policy_allocation_import');
}
