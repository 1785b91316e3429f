import type { Knex } from 'knex';

/**
 * The notices the log sender "sent" before (state sent, channel log) were written to the log and never reached
 * anyone: they become `logged`, which the pages show as not sent. Notices the bank confirms are the only ones sent.
 */
export async function up(knex: Knex): Promise<void> {
  await knex('bank_notice').where({ state: 'sent', channel: 'log' }).update({ state: 'logged', handed_at: knex.ref('sent_at'), sent_at: null });
}

export async function down(knex: Knex): Promise<void> {
  await knex('bank_notice').where({ state: 'logged' }).update({ state: 'sent', sent_at: knex.ref('handed_at') });
}
