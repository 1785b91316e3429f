import type { Knex } from 'knex';

/**
 * Quarterly reconciliation with the agent bank (每季度末核对, Qinghai 二(二)9) and year-end clearing (年末清算):
 * each reconciliation covers one bank's transferred rounds in a county up to a quarter's end; the bank's confirmation
 * file is kept line by line, the differences until resolved, the three parties' sign-offs, and the signed report as
 * PDF with its SM3. A clearing keeps the year's figures per policy and its report.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bank_reconciliation', (t) => {
    t.increments('id');
    t.integer('county_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('bank_org_id').unsigned().notNullable().references('id').inTable('core_org');
    t.string('quarter', 7).notNullable(); // 2026-Q3
    t.string('period_end', 10).notNullable();
    t.string('state', 10).notNullable(); // open | signed
    t.string('confirmation_sha256', 64);
    t.string('confirmation_name', 200);
    t.integer('confirmation_rows');
    t.timestamp('confirmed_at', { useTz: true });
    t.binary('report_pdf');
    t.string('report_sm3', 64);
    t.timestamp('opened_at', { useTz: true }).notNullable();
    t.timestamp('signed_at', { useTz: true });
    t.integer('version').notNullable().defaultTo(1);
    t.unique(['county_id', 'bank_org_id', 'quarter']);
  });
  await knex.schema.createTable('bank_reconciliation_line', (t) => {
    t.increments('id');
    t.integer('reconciliation_id').unsigned().notNullable().references('id').inTable('bank_reconciliation');
    t.integer('round_id').notNullable();
    t.integer('line_id').notNullable();
    t.string('bank_state', 10).notNullable(); // paid | unpaid | refunded
    t.bigInteger('bank_amount_fen').notNullable();
    t.unique(['reconciliation_id', 'line_id']);
  });
  // Or, instead of the lines, the bank's confirmed totals per round as entered on the page.
  await knex.schema.createTable('bank_reconciliation_total', (t) => {
    t.increments('id');
    t.integer('reconciliation_id').unsigned().notNullable().references('id').inTable('bank_reconciliation');
    t.integer('round_id').notNullable();
    t.bigInteger('paid_fen').notNullable();
    t.bigInteger('unpaid_fen').notNullable();
    t.bigInteger('refunded_fen').notNullable();
    t.unique(['reconciliation_id', 'round_id']);
  });
  await knex.schema.createTable('bank_reconciliation_diff', (t) => {
    t.increments('id');
    t.integer('reconciliation_id').unsigned().notNullable().references('id').inTable('bank_reconciliation');
    t.integer('round_id').notNullable();
    t.integer('line_id'); // null: a round's total differs (entered totals)
    t.string('kind', 10).notNullable(); // missing | amount | state (a line); paid | unpaid | refunded (a round's total)
    t.string('platform', 100).notNullable();
    t.string('bank', 100).notNullable();
    t.bigInteger('amount_fen').notNullable();
    t.string('state', 10).notNullable(); // open | resolved
    t.string('resolution', 300);
    t.integer('resolved_by');
    t.timestamp('resolved_at', { useTz: true });
    t.unique(['reconciliation_id', 'round_id', 'line_id', 'kind']);
  });
  await knex.schema.createTable('bank_reconciliation_signature', (t) => {
    t.increments('id');
    t.integer('reconciliation_id').unsigned().notNullable().references('id').inTable('bank_reconciliation');
    t.string('party', 20).notNullable(); // finance_section | bank | department
    t.integer('org_id'); // the department or the bank
    t.integer('user_id').notNullable();
    t.string('signer_name', 60).notNullable();
    t.timestamp('signed_at', { useTz: true }).notNullable();
    t.unique(['reconciliation_id', 'party', 'org_id']);
  });
  await knex.schema.createTable('bank_clearing', (t) => {
    t.increments('id');
    t.integer('county_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('year').notNullable();
    t.text('figures').notNullable(); // JSON: per policy, in fen
    t.string('voucher_no', 60).notNullable();
    t.binary('report_pdf').notNullable();
    t.string('report_sm3', 64).notNullable();
    t.integer('cleared_by').notNullable();
    t.timestamp('cleared_at', { useTz: true }).notNullable();
    t.unique(['county_id', 'year']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['bank_clearing', 'bank_reconciliation_signature', 'bank_reconciliation_diff', 'bank_reconciliation_total', 'bank_reconciliation_line', 'bank_reconciliation']) await knex.schema.dropTable(table);
}
