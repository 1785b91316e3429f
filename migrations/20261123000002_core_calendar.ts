import type { Knex } from 'knex';

// The official working-day calendar as loaded by an administrator from the State Council's annual notice
// (国务院办公厅关于XXXX年部分节假日安排的通知), for years the chinese-days library does not know or gets wrong.
// A loaded year replaces the library's data for that whole calendar year. Timestamps are ISO-8601 UTC.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('core_calendar_year', (t) => {
    t.integer('year').primary();
    t.string('source', 200).notNullable(); // the notice's title or document number
    t.integer('loaded_by'); // user id; no foreign key, like the audit log
    t.timestamp('loaded_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('core_calendar_day', (t) => {
    t.string('date', 10).primary(); // YYYY-MM-DD
    t.integer('year').notNullable();
    t.string('kind', 10).notNullable(); // holiday | workday (调休上班)
    t.string('name', 40).notNullable(); // the festival: 春节, 国庆节 …
    t.integer('loaded_by');
    t.timestamp('loaded_at', { useTz: true }).notNullable();
    t.index(['year']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('core_calendar_day');
  await knex.schema.dropTable('core_calendar_year');
}
