import type { Knex } from 'knex';

/**
 * The channel by which an agreement's bank takes the payment notices it sends free by SMS (issue 15): `file` (it
 * downloads a notice file and uploads its confirmations) or `api` (/api/v1/notices); empty where none is agreed,
 * and then the platform only writes notices to its log and says so.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agreement_contract', (t) => {
    t.string('notice_channel', 10);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agreement_contract', (t) => {
    t.dropColumn('notice_channel');
  });
}
