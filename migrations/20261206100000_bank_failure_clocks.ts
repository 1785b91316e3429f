import type { Knex } from 'knex';

/**
 * Failed payments, as Qinghai 二(一)4 and Haicheng 三 say (issue 15):
 * - `bank_supplement.fetched_at`: when the bank first fetched a supplementary payout file — the corrected lines have
 *   reached the bank, and the correction clock of their group ends then (not at the department's verification);
 * - `bank_failure.return_ground` / `return_evidence`: an early return to the treasury is allowed only when the person
 *   is no longer entitled (RETURN_GROUNDS in src/modules/bank/model.ts), with the document that shows it;
 * - `bank_correction_file`: the township finance office's files of corrected lines, each imported once per township
 *   (its digest unique, claimed in the import's transaction: src/core/imports.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('bank_supplement', (t) => {
    t.timestamp('fetched_at', { useTz: true });
  });
  await knex.schema.alterTable('bank_failure', (t) => {
    t.string('return_ground', 20);
    t.string('return_evidence', 200);
  });
  await knex.schema.createTable('bank_correction_file', (t) => {
    t.increments('id');
    t.integer('township_id').notNullable();
    t.string('file_sha256', 64).notNullable();
    t.string('file_name', 200).notNullable();
    t.integer('lines').notNullable();
    t.integer('uploaded_by').notNullable();
    t.timestamp('uploaded_at', { useTz: true }).notNullable();
    t.unique(['township_id', 'file_sha256']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('bank_correction_file');
  await knex.schema.alterTable('bank_failure', (t) => {
    t.dropColumn('return_evidence');
    t.dropColumn('return_ground');
  });
  await knex.schema.alterTable('bank_supplement', (t) => {
    t.dropColumn('fetched_at');
  });
}
