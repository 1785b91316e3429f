import type { Knex } from 'knex';

/**
 * The station's home page counts the people still paid to a bank card or passbook (社保卡优先): an index on the
 * account's kind lets that count start from those few accounts instead of every person of the township (issue 18).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('beneficiary_account', (t) => {
    t.index(['kind', 'active_person_id'], 'beneficiary_account_kind_person');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('beneficiary_account', (t) => {
    t.dropIndex(['kind', 'active_person_id'], 'beneficiary_account_kind_person');
  });
}
