import type { Knex } from 'knex';

/**
 * Agent bank agreements over their life (issue 15): a version for editing, the government procurement that chose the
 * bank (青海 实施意见 二(一)1: 通过政府采购方式建立规范的协约管理), the terms 重庆 政策清单 二(五) asks for (资金支付、
 * 补贴通知、便捷取款、数据安全), termination with its date and reason, the extensions of its term and the breaches
 * recorded against the bank (青海 二(一)3: 违约责任惩戒措施). Rows recorded before keep the new fields empty.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agreement_contract', (t) => {
    t.integer('version').notNullable().defaultTo(1);
    t.string('procurement_project_no', 60);
    t.string('procurement_method', 20);
    t.string('term_payment', 300);
    t.string('term_notice', 300);
    t.string('term_withdrawal', 300);
    t.string('term_data_security', 300);
    t.boolean('data_security_pledged').notNullable().defaultTo(false);
    t.string('terminated_on', 10);
    t.string('termination_reason', 300);
    t.integer('terminated_by');
    t.timestamp('terminated_at', { useTz: true });
  });
  await knex.schema.createTable('agreement_extension', (t) => {
    t.increments('id');
    t.integer('agreement_id').unsigned().notNullable().references('id').inTable('agreement_contract');
    t.string('previous_ends_on', 10).notNullable();
    t.string('new_ends_on', 10).notNullable();
    t.string('document_no', 60).notNullable();
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.index(['agreement_id']);
  });
  await knex.schema.createTable('agreement_breach', (t) => {
    t.increments('id');
    t.integer('agreement_id').unsigned().notNullable().references('id').inTable('agreement_contract');
    t.string('occurred_on', 10).notNullable();
    t.string('description', 300).notNullable();
    t.string('measure', 300).notNullable();
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.index(['agreement_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agreement_breach');
  await knex.schema.dropTable('agreement_extension');
  const columns = ['version', 'procurement_project_no', 'procurement_method', 'term_payment', 'term_notice', 'term_withdrawal', 'term_data_security', 'data_security_pledged', 'terminated_on', 'termination_reason', 'terminated_by', 'terminated_at'];
  // SQLite (3.35+) drops the column in place; knex's SQLite dropColumn would copy the table agreement_township refers to.
  for (const column of columns) await knex.raw('ALTER TABLE agreement_contract DROP COLUMN ??', [column]);
}
