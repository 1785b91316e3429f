import type { Knex } from 'knex';

/**
 * A department's policy imports, each file once (issue 14: the same file sent twice at once, by a double click or a
 * second tab, must be imported once and answered 已导入过 the other time): the file's digest, unique per department,
 * and what the import did.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('policy_import', (t) => {
    t.increments('id');
    t.integer('department_org_id').unsigned().notNullable().references('id').inTable('core_org');
    t.string('file_sha256', 64).notNullable();
    t.string('file_name', 200).notNullable();
    t.integer('rows').notNullable();
    t.integer('created').notNullable();
    t.integer('changed').notNullable();
    t.integer('unchanged').notNullable();
    t.integer('imported_by').notNullable();
    t.timestamp('imported_at', { useTz: true }).notNullable();
    t.unique(['department_org_id', 'file_sha256']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('policy_import');
}
