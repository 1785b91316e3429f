import type { Knex } from 'knex';

/**
 * The agent bank's results (回盘): each result file as received, and each line's result of an attempt (paid, or
 * failed with a coded reason). A line without a result is pending at the bank.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bank_result_file', (t) => {
    t.increments('id');
    t.integer('round_id').notNullable(); // batch module's round (read through its index.ts)
    t.integer('bank_org_id').unsigned().notNullable().references('id').inTable('core_org');
    t.string('file_sha256', 64).notNullable();
    t.string('file_name', 200).notNullable();
    t.string('channel', 10).notNullable(); // file | api
    t.integer('rows').notNullable();
    t.integer('paid').notNullable();
    t.integer('failed').notNullable();
    t.integer('uploaded_by');
    t.timestamp('uploaded_at', { useTz: true }).notNullable();
    t.index(['round_id', 'file_sha256']);
  });
  await knex.schema.createTable('bank_line_result', (t) => {
    t.increments('id');
    t.integer('line_id').notNullable(); // batch module's line
    t.integer('round_id').notNullable();
    t.integer('attempt').notNullable().defaultTo(1);
    t.string('result', 10).notNullable(); // paid | failed
    t.bigInteger('amount_fen').notNullable();
    t.string('failure_code', 4);
    t.string('failure_reason', 200);
    t.integer('result_file_id').unsigned().notNullable().references('id').inTable('bank_result_file');
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.unique(['line_id', 'attempt']);
    t.index(['round_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('bank_line_result');
  await knex.schema.dropTable('bank_result_file');
}
