import type { Knex } from 'knex';

// The policy module: subsidy items (补贴项目) with their versions (动态调整), tiers of standards, mutually
// exclusive groups, and budget allocations (指标). Amounts are integer fen.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('policy_item', (t) => {
    t.increments('id');
    t.string('code', 40).notNullable().unique();
    t.string('level', 10).notNullable(); // central | province | city | county
    t.integer('region_id').unsigned().references('id').inTable('core_region'); // the region that set it; null: central
    t.integer('department_org_id').unsigned().notNullable().references('id').inTable('core_org'); // competent department
    t.integer('created_by');
    t.timestamp('created_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('policy_version', (t) => {
    t.increments('id');
    t.integer('item_id').unsigned().notNullable().references('id').inTable('policy_item');
    t.integer('version_no').notNullable();
    t.string('state', 10).notNullable(); // draft | returned | published
    t.integer('effective_year').notNullable(); // this version applies from this year on (until a later version)
    t.string('name', 100).notNullable();
    t.string('legal_basis_title', 200).notNullable();
    t.string('legal_basis_number', 60).notNullable();
    t.string('payee', 10).notNullable(); // person (到人) | household (到户)
    t.string('frequency', 10).notNullable(); // once | monthly | quarterly | yearly
    t.string('unit', 10).notNullable();
    t.integer('from_year').notNullable();
    t.integer('to_year');
    t.boolean('confidential').notNullable().defaultTo(false);
    t.string('change_note', 200);
    t.integer('revision').notNullable().defaultTo(1); // guards concurrent edits of a draft
    t.integer('edited_by').notNullable();
    t.timestamp('edited_at', { useTz: true }).notNullable();
    t.integer('published_by');
    t.timestamp('published_at', { useTz: true });
    t.string('return_reason', 200);
    t.unique(['item_id', 'version_no']);
  });

  await knex.schema.createTable('policy_tier', (t) => {
    t.increments('id');
    t.integer('version_id').unsigned().notNullable().references('id').inTable('policy_version').onDelete('CASCADE');
    t.integer('position').notNullable();
    t.string('name', 20).notNullable();
    t.bigInteger('standard_fen').notNullable();
    t.unique(['version_id', 'name']);
  });

  await knex.schema.createTable('policy_exclusion', (t) => {
    t.integer('version_id').unsigned().notNullable().references('id').inTable('policy_version').onDelete('CASCADE');
    t.string('group_name', 40).notNullable(); // policies sharing a group may not be combined for one person
    t.primary(['version_id', 'group_name']);
  });

  await knex.schema.createTable('policy_allocation', (t) => {
    t.increments('id');
    t.integer('county_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('item_id').unsigned().notNullable().references('id').inTable('policy_item');
    t.integer('year').notNullable();
    t.bigInteger('amount_fen').notNullable();
    t.string('doc_number', 60).notNullable();
    t.string('doc_title', 200).notNullable();
    t.string('doc_date', 10).notNullable();
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.unique(['county_id', 'item_id', 'year', 'doc_number']);
    t.index(['county_id', 'year']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('policy_allocation');
  await knex.schema.dropTable('policy_exclusion');
  await knex.schema.dropTable('policy_tier');
  await knex.schema.dropTable('policy_version');
  await knex.schema.dropTable('policy_item');
}
