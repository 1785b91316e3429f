import type { Knex } from 'knex';

// The agent bank's verdict on a line's account before money moves (Qinghai 二(二)6, Haicheng 二(四): the bank
// 负责补贴对象卡（折）账号的姓名等相关信息的复核确认): one row per line, the latest answer, for the account and holder
// name it was asked about. The cross-check rule bank-verdict (batch/checks) makes a verdict other than ok a blocking
// finding while the line still pays that account under that name.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('batch_account_verdict', (t) => {
    t.increments('id').primary();
    t.integer('line_id').notNullable().unique().references('id').inTable('batch_line');
    t.integer('account_id').notNullable();
    t.string('holder_name', 100).notNullable();
    // ok | name_mismatch | id_mismatch | not_found | closed | frozen | abnormal
    t.string('outcome', 20).notNullable();
    t.string('note', 200).nullable();
    // Where the verdict came from, for the finding's message (the bank's verification number).
    t.string('source', 60).notNullable();
    t.timestamp('verified_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('batch_account_verdict');
}
