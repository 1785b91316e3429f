import type { Knex } from 'knex';

/**
 * Registry imports and reference data, second step: which import created a person, how many account changes an
 * import asked for, and where a reference snapshot came from (the county it was loaded for, the file's hash so
 * that the same file loaded twice changes nothing).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('beneficiary_import', (t) => {
    t.string('format', 10).notNullable().defaultTo('xlsx'); // xlsx | csv
    t.integer('account_requests').notNullable().defaultTo(0);
    t.integer('luhn_warnings').notNullable().defaultTo(0);
    t.index(['township_id', 'file_sha256']);
  });
  await knex.schema.alterTable('beneficiary_person', (t) => {
    t.integer('import_id').unsigned(); // beneficiary_import.id (no foreign key: SQLite would rebuild the table to add one)
  });
  await knex.schema.alterTable('beneficiary_reference_snapshot', (t) => {
    t.integer('region_id').unsigned(); // core_region.id, the county (no foreign key, as above)
    t.string('file_sha256', 64);
    t.string('channel', 10).notNullable().defaultTo('file'); // file | api
    t.index(['region_id', 'source', 'file_sha256']);
  });
  await knex.schema.alterTable('beneficiary_reference_hit', (t) => {
    t.index(['snapshot_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('beneficiary_reference_hit', (t) => t.dropIndex(['snapshot_id']));
  await knex.schema.alterTable('beneficiary_reference_snapshot', (t) => {
    t.dropIndex(['region_id', 'source', 'file_sha256']);
    t.dropColumn('region_id');
    t.dropColumn('file_sha256');
    t.dropColumn('channel');
  });
  await knex.schema.alterTable('beneficiary_person', (t) => t.dropColumn('import_id'));
  await knex.schema.alterTable('beneficiary_import', (t) => {
    t.dropIndex(['township_id', 'file_sha256']);
    t.dropColumn('format');
    t.dropColumn('account_requests');
    t.dropColumn('luhn_warnings');
  });
}
