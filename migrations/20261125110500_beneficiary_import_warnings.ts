import type { Knex } from 'knex';

/**
 * A registry import keeps the warnings its rows drew (issue 14: a number typed in full-width digits, a 15-digit ID
 * converted, a card number outside the 62 prefix or failing its check digit, a 性别 contradicting the ID number …),
 * each naming its row and column, for the import's warnings page and their download; the import counts them. No
 * personal data in them. Imports from before kept only their count of check-digit failures.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('beneficiary_import', (t) => {
    t.integer('warnings').notNullable().defaultTo(0);
  });
  await knex.schema.createTable('beneficiary_import_warning', (t) => {
    t.increments('id');
    t.integer('import_id').unsigned().notNullable().references('id').inTable('beneficiary_import');
    t.integer('row_number').notNullable(); // the file's row, as the import's messages name it
    t.string('field', 20).notNullable(); // the column's header
    t.string('message', 200).notNullable();
    t.index(['import_id', 'row_number']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('beneficiary_import_warning');
  await knex.raw('ALTER TABLE beneficiary_import DROP COLUMN warnings');
}
