import type { Knex } from 'knex';

/**
 * Agent bank agreements (代发协议) leave core for the agreement module that now owns them (src/modules/agreement):
 * its tables take its prefix. Rows, keys and references stay as they are; indexes and constraints keep their names.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.renameTable('core_bank_agreement', 'agreement_contract');
  await knex.schema.renameTable('core_bank_agreement_township', 'agreement_township');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.renameTable('agreement_township', 'core_bank_agreement_township');
  await knex.schema.renameTable('agreement_contract', 'core_bank_agreement');
}
