import type { Knex } from 'knex';

/**
 * A transfer's record names the settlement account it went to masked, as pages show it (issue 14): the agreement
 * keeps the number, encrypted, and the treasury's transfer was checked against it. Transfers recorded before kept
 * "<account name> <number>": the number becomes **** and its last four digits.
 */
export async function up(knex: Knex): Promise<void> {
  const transfers: { id: number; destination_account: string }[] = await knex('batch_transfer').select('id', 'destination_account');
  for (const t of transfers) {
    if (/\*{4}\d{0,4}$/.test(t.destination_account)) continue;
    const masked = t.destination_account.replace(/[\d-]*\d[\d-]*$/, (number) => `****${number.replace(/\D/g, '').slice(-4)}`);
    if (masked !== t.destination_account) await knex('batch_transfer').where({ id: t.id }).update({ destination_account: masked });
  }
}

/** A masked number cannot be unmasked: nothing to undo. */
export async function down(): Promise<void> {}
