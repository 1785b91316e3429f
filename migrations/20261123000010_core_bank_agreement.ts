import type { Knex } from 'knex';

/**
 * Agent bank agreements (代发协议): which bank pays a county's subsidies, from when to when, for which townships,
 * the services it promised, and the settlement account the treasury transfers to. Core data: the batch module
 * releases rounds only to a bank with an agreement in force, and the bank module works under it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('core_bank_agreement', (t) => {
    t.increments('id');
    t.integer('county_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('bank_org_id').unsigned().notNullable().references('id').inTable('core_org');
    t.string('branch', 80).notNullable();
    t.string('agreement_no', 60).notNullable();
    t.string('starts_on', 10).notNullable();
    t.string('ends_on', 10).notNullable();
    t.string('settlement_account_name', 80).notNullable();
    t.string('settlement_account_no', 40).notNullable(); // the bank's own account, not personal data
    t.boolean('free_sms').notNullable();
    t.boolean('free_withdrawal').notNullable();
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.unique(['county_id', 'agreement_no']);
    t.index(['bank_org_id']);
  });
  await knex.schema.createTable('core_bank_agreement_township', (t) => {
    t.integer('agreement_id').unsigned().notNullable().references('id').inTable('core_bank_agreement');
    t.integer('township_id').unsigned().notNullable().references('id').inTable('core_region');
    t.primary(['agreement_id', 'township_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('core_bank_agreement_township');
  await knex.schema.dropTable('core_bank_agreement');
}
