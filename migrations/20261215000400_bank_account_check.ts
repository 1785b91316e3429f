import type { Knex } from 'knex';

// Account verification with the agent bank before money moves (docs/account-check-format.md): a request per round
// (its lines' holder name, ID number and account, as they were when asked), the bank's answer file, and each line's
// outcome. The outcomes also go to batch_account_verdict, where the cross-checks read them.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bank_account_check', (t) => {
    t.increments('id').primary();
    t.integer('round_id').notNullable().references('id').inTable('batch_round');
    // The round's county, department and title as asked, so that the bank module scopes and lists its checks on its own rows.
    t.integer('county_id').notNullable();
    t.integer('department_org_id').notNullable();
    t.string('round_title', 200).notNullable();
    t.integer('bank_org_id').notNullable();
    t.string('state', 10).notNullable(); // sent | answered
    t.integer('lines').notNullable();
    t.integer('requested_by').notNullable();
    t.timestamp('requested_at', { useTz: true }).notNullable();
    t.integer('answered_by').nullable();
    t.timestamp('answered_at', { useTz: true }).nullable();
    t.string('answer_sha256', 64).nullable();
    t.string('answer_name', 200).nullable();
    t.string('bank_signature', 160).nullable();
    t.string('bank_key_fingerprint', 64).nullable();
    t.index(['round_id']);
    t.index(['bank_org_id', 'state']);
  });
  await knex.schema.createTable('bank_account_check_line', (t) => {
    t.increments('id').primary();
    t.integer('check_id').notNullable().references('id').inTable('bank_account_check');
    t.integer('line_id').notNullable();
    t.integer('person_id').notNullable();
    t.integer('account_id').notNullable();
    t.string('holder_name', 100).notNullable();
    t.string('outcome', 20).nullable();
    t.string('note', 200).nullable();
    t.unique(['check_id', 'line_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('bank_account_check_line');
  await knex.schema.dropTable('bank_account_check');
}
