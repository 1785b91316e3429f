import type { Knex } from 'knex';

/**
 * Column mappings (core/column-mapping.ts): a region's (township's or county's) saved answer to "which of my file's
 * headers is this column", per kind of file (beneficiary.registry, batch.roster, beneficiary.reference.<source>).
 * One header per column and kind; applied before the aliases on the region's next uploads.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('core_column_mapping', (t) => {
    t.increments('id');
    t.integer('region_id').notNullable(); // core_region.id: the township or county that keeps it
    t.string('file_kind', 40).notNullable();
    t.string('column_name', 40).notNullable();
    t.string('header_text', 100).notNullable();
    t.integer('saved_by').notNullable(); // core_user.id
    t.timestamp('saved_at', { useTz: true }).notNullable();
    t.unique(['region_id', 'file_kind', 'column_name']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('core_column_mapping');
}
