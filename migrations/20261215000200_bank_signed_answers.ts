import type { Knex } from 'knex';

// What the bank signed (its agreement's key, docs/signature-format.md): the signature (DER, hex) and the key's
// fingerprint on each result file, notice confirmation, card-request answer and reconciliation confirmation it sent
// signed; NULL where it sent
// none (its agreement did not require one, or the row is older).
const TABLES = ['bank_result_file', 'bank_notice_confirmation', 'bank_card_request', 'bank_reconciliation'];

export async function up(knex: Knex): Promise<void> {
  for (const table of TABLES) {
    await knex.schema.alterTable(table, (t) => {
      t.string('bank_signature', 160).nullable();
      t.string('bank_key_fingerprint', 64).nullable();
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of TABLES) {
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn('bank_key_fingerprint');
      t.dropColumn('bank_signature');
    });
  }
}
