import type { Knex } from 'knex';

/**
 * A newly registered person's first payout account waits for the township finance office, like any account change
 * (issue 14): it is written `pending` and becomes `active` when confirmed, or `refused`. One registered by the form
 * is decided on its own; those of a registry import (import_id) are decided together, once for the file. The
 * import records how many new accounts it brought and what became of them; its version guards the decision.
 * Accounts already active stay so (they were written before this rule).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('beneficiary_account', (t) => {
    t.integer('import_id').unsigned(); // beneficiary_import.id of a file's new account (no foreign key, as person.import_id)
    t.integer('decided_by'); // who in the township finance office confirmed or refused a first account
    t.timestamp('decided_at', { useTz: true });
    t.string('decision_note', 200);
    t.index(['status']);
    t.index(['import_id']);
  });
  await knex.schema.alterTable('beneficiary_import', (t) => {
    t.integer('new_accounts').notNullable().defaultTo(0);
    t.string('accounts_state', 10); // null: no new accounts | pending | confirmed | refused
    t.integer('accounts_decided_by');
    t.timestamp('accounts_decided_at', { useTz: true });
    t.string('accounts_note', 200);
    t.integer('version').notNullable().defaultTo(1);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('beneficiary_import', (t) => {
    for (const column of ['new_accounts', 'accounts_state', 'accounts_decided_by', 'accounts_decided_at', 'accounts_note', 'version']) t.dropColumn(column);
  });
  await knex.schema.alterTable('beneficiary_account', (t) => {
    t.dropIndex(['status']);
    t.dropIndex(['import_id']);
    for (const column of ['import_id', 'decided_by', 'decided_at', 'decision_note']) t.dropColumn(column);
  });
}
