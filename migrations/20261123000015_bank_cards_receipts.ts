import type { Knex } from 'knex';

/**
 * Card-opening requests (Haicheng 三(三)2: 为没有账号的、账号挂失的补贴对象重新开设卡（折）): the township station's
 * list to the agent bank and the bank's answer per person (each new account becomes a registry account change for
 * the finance office to confirm); and the bank's completion receipt (发放完成回执单, Haicheng 四) of each round.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bank_card_request', (t) => {
    t.increments('id');
    t.integer('township_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('bank_org_id').unsigned().notNullable().references('id').inTable('core_org');
    t.string('state', 10).notNullable(); // sent | answered
    t.integer('lines').notNullable();
    t.integer('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.string('answer_sha256', 64);
    t.string('answer_name', 200);
    t.integer('answered_by');
    t.timestamp('answered_at', { useTz: true });
    t.index(['bank_org_id', 'state']);
    t.index(['township_id']);
  });
  await knex.schema.createTable('bank_card_request_line', (t) => {
    t.increments('id');
    t.integer('request_id').unsigned().notNullable().references('id').inTable('bank_card_request');
    t.integer('person_id').notNullable(); // beneficiary module's person
    t.string('reason', 12).notNullable(); // no_account | lost_card
    t.string('outcome', 12); // opened | not_opened
    t.string('outcome_note', 200);
    t.integer('change_request_id'); // the registry's account change, pending the finance office
    t.unique(['request_id', 'person_id']);
  });
  await knex.schema.createTable('bank_receipt', (t) => {
    t.increments('id');
    t.integer('round_id').notNullable();
    t.integer('bank_org_id').unsigned().notNullable().references('id').inTable('core_org');
    t.string('file_name', 200).notNullable();
    t.string('content_type', 40).notNullable();
    t.binary('body').notNullable();
    t.string('sha256', 64).notNullable();
    t.string('note', 200);
    t.integer('uploaded_by').notNullable();
    t.timestamp('uploaded_at', { useTz: true }).notNullable();
    t.unique(['round_id', 'sha256']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['bank_receipt', 'bank_card_request_line', 'bank_card_request']) await knex.schema.dropTable(table);
}
