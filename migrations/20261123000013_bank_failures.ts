import type { Knex } from 'knex';

/**
 * Failed payments and what follows (Qinghai 二(一)4, Haicheng 三): one case per failed line, its steps, the
 * supplementary payouts that send corrected lines again, the bank's refunds to the source account and the returns
 * to the treasury (暂缴回同级财政). `funds` says where the line's money is at every moment: at the bank, back at the
 * source account awaiting a decision, returned to the treasury, or paid — the ledger adds these up.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bank_refund', (t) => {
    t.increments('id');
    t.integer('round_id').notNullable();
    t.integer('bank_org_id').unsigned().notNullable().references('id').inTable('core_org');
    t.string('voucher_no', 60).notNullable();
    t.string('refunded_on', 10).notNullable();
    t.integer('lines').notNullable();
    t.bigInteger('amount_fen').notNullable();
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.index(['round_id']);
  });
  await knex.schema.createTable('bank_treasury_return', (t) => {
    t.increments('id');
    t.integer('round_id').notNullable();
    t.string('voucher_no', 60).notNullable();
    t.string('returned_on', 10).notNullable();
    t.integer('lines').notNullable();
    t.bigInteger('amount_fen').notNullable();
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.index(['round_id']);
  });
  await knex.schema.createTable('bank_supplement', (t) => {
    t.increments('id');
    t.integer('round_id').notNullable();
    t.integer('seq').notNullable(); // 补充代发文件 1, 2, … of the round
    t.boolean('needs_transfer').notNullable(); // lines whose money went back to the source account: the treasury sends it again
    t.integer('lines').notNullable();
    t.bigInteger('amount_fen').notNullable();
    t.integer('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.string('transfer_voucher', 60);
    t.integer('transferred_by');
    t.timestamp('transferred_at', { useTz: true });
    t.unique(['round_id', 'seq']);
  });
  await knex.schema.createTable('bank_failure', (t) => {
    t.increments('id');
    t.integer('line_id').notNullable().unique(); // batch module's line: one case per line
    // What failed, as the line and its round stood (the batch module's tables are read only through its index.ts).
    t.integer('round_id').notNullable();
    t.string('round_title', 120).notNullable();
    t.string('period', 10).notNullable();
    t.integer('county_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('department_org_id').unsigned().notNullable().references('id').inTable('core_org');
    t.integer('bank_org_id').unsigned().notNullable().references('id').inTable('core_org');
    t.integer('person_id').notNullable();
    t.string('person_name', 40).notNullable();
    t.string('id_masked', 18).notNullable();
    t.integer('township_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('village_id').unsigned().notNullable().references('id').inTable('core_region');
    t.bigInteger('amount_fen').notNullable();
    t.string('state', 20).notNullable();
    t.string('funds', 10).notNullable(); // bank | source | treasury | paid
    t.integer('attempt').notNullable(); // the attempt that failed last, or the one in flight
    t.string('failure_code', 4).notNullable();
    t.string('failure_reason', 200).notNullable();
    t.string('correction_note', 300);
    t.integer('account_id'); // the payee's registry account for the next attempt (snapshot)
    t.string('account_last4', 4);
    t.string('holder_name', 40);
    t.integer('corrected_by');
    t.integer('verified_by');
    t.integer('reviewed_by');
    t.string('deadline_key', 60);
    t.integer('refund_id').unsigned().references('id').inTable('bank_refund');
    t.integer('treasury_return_id').unsigned().references('id').inTable('bank_treasury_return');
    t.integer('reissue_line_id').unique(); // the one approved 补发 line, once
    t.integer('version').notNullable().defaultTo(1);
    t.timestamp('opened_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['round_id', 'state']);
    t.index(['township_id', 'state']);
    t.index(['person_id']);
  });
  await knex.schema.createTable('bank_supplement_line', (t) => {
    t.increments('id');
    t.integer('supplement_id').unsigned().notNullable().references('id').inTable('bank_supplement');
    t.integer('failure_id').unsigned().notNullable().references('id').inTable('bank_failure');
    t.integer('line_id').notNullable();
    t.integer('attempt').notNullable();
    t.bigInteger('amount_fen').notNullable();
    t.integer('account_id').notNullable();
    t.string('holder_name', 40).notNullable();
    t.unique(['line_id', 'attempt']);
    t.index(['supplement_id']);
  });
  await knex.schema.createTable('bank_failure_event', (t) => {
    t.increments('id');
    t.integer('failure_id').unsigned().notNullable().references('id').inTable('bank_failure');
    t.string('action', 30).notNullable();
    t.string('from_state', 20);
    t.string('to_state', 20).notNullable();
    t.string('note', 300);
    t.integer('actor_id');
    t.timestamp('at', { useTz: true }).notNullable();
    t.index(['failure_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['bank_failure_event', 'bank_supplement_line', 'bank_failure', 'bank_supplement', 'bank_treasury_return', 'bank_refund']) await knex.schema.dropTable(table);
}
