import type { Knex } from 'knex';

/**
 * A round's amounts (a line's standard, quantity and amount, a transfer) are never negative, in the database too
 * (issue 14): a bug or a hand edit that would write a negative amount is refused instead of being added up. PostgreSQL
 * gets a CHECK constraint per column. SQLite cannot add a constraint to an existing table without copying it (which the
 * tables referring to it must not see), so there each column gets a BEFORE INSERT and a BEFORE UPDATE trigger that
 * aborts. A negative amount already stored stops the migration, naming its column.
 */
const COLUMNS: [table: string, column: string][] = [
  ['batch_line', 'standard_fen'],
  ['batch_line', 'quantity_milli'],
  ['batch_line', 'amount_fen'],
  ['batch_transfer', 'amount_fen'],
];

const guard = (table: string, column: string) => `${table}_${column}_not_negative`;

export async function up(knex: Knex): Promise<void> {
  for (const [table, column] of COLUMNS) {
    const negative = await knex(table).where(column, '<', 0).first(column);
    if (negative) throw new Error(`${table}.${column} holds negative amounts: correct them before this migration`);
    if (knex.client.config.client === 'pg') {
      await knex.raw('ALTER TABLE ?? ADD CONSTRAINT ?? CHECK (?? >= 0)', [table, guard(table, column), column]);
    } else {
      const abort = `WHEN NEW.${column} < 0 BEGIN SELECT RAISE(ABORT, '${table}.${column} must not be negative'); END`;
      await knex.raw(`CREATE TRIGGER ${guard(table, column)}_insert BEFORE INSERT ON ${table} ${abort}`);
      await knex.raw(`CREATE TRIGGER ${guard(table, column)}_update BEFORE UPDATE OF ${column} ON ${table} ${abort}`);
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const [table, column] of COLUMNS) {
    if (knex.client.config.client === 'pg') {
      await knex.raw('ALTER TABLE ?? DROP CONSTRAINT ??', [table, guard(table, column)]);
    } else {
      for (const event of ['insert', 'update']) await knex.raw(`DROP TRIGGER ${guard(table, column)}_${event}`);
    }
  }
}
