import type { Knex } from 'knex';

/**
 * The settlement account number of an agent bank agreement is stored encrypted, like a payee's account (issue 14):
 * `settlement_account_enc` (core/crypto) and its last four digits for the masked form pages show. Encrypting needs
 * the field key, which migrations do not have: the numbers already recorded move here to `settlement_account_plain`,
 * and the server encrypts them when it starts, right after migrating and before it answers anyone
 * (`sealSettlementAccounts`, src/modules/agreement/commands.ts, called by src/server.ts), emptying that column.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agreement_contract', (t) => {
    t.text('settlement_account_enc');
    t.string('settlement_account_last4', 4);
    t.string('settlement_account_plain', 40); // a number recorded before this migration, until the server seals it
  });
  await knex('agreement_contract').update({ settlement_account_plain: knex.ref('settlement_account_no') });
  // SQLite (3.35+) drops the column in place; knex's SQLite dropColumn would copy the table agreement_township refers to.
  await knex.raw('ALTER TABLE agreement_contract DROP COLUMN settlement_account_no');
}

/** Numbers sealed since cannot come back without the key: only those still waiting in settlement_account_plain do. */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agreement_contract', (t) => {
    t.string('settlement_account_no', 40);
  });
  await knex('agreement_contract').update({ settlement_account_no: knex.ref('settlement_account_plain') });
  for (const column of ['settlement_account_enc', 'settlement_account_last4', 'settlement_account_plain']) await knex.raw('ALTER TABLE agreement_contract DROP COLUMN ??', [column]);
}
