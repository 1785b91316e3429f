import type { Knex } from 'knex';

/**
 * Printed publicity sheets (公示表, issue 16): each sheet printed — a village's, or a township's summary — keeps its
 * verification code, the SM3 digest of its content and the content itself as printed (masked public data only: no
 * full ID number, no account), so that the portal can show any paper's notice as the system holds it and say whether
 * it is still the current version. The same content printed again keeps its code.
 */
const GUARD = 'publicity_sheet_total_fen_not_negative';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('publicity_sheet', (t) => {
    t.increments('id');
    t.string('code', 16).notNullable().unique();
    t.integer('roster_id').notNullable();
    t.integer('county_id').notNullable();
    t.string('kind', 10).notNullable();
    /** The village of a village sheet; 0 for the township summary (so that the unique key holds on both databases). */
    t.integer('village_id').notNullable();
    t.string('digest', 64).notNullable();
    t.text('content').notNullable();
    t.integer('lines').notNullable();
    t.bigInteger('total_fen').notNullable();
    t.integer('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.unique(['roster_id', 'kind', 'village_id', 'digest']);
    t.index(['roster_id']);
  });
  // A sheet's total is never negative (as every amount column: a CHECK on PostgreSQL, triggers on SQLite).
  if (knex.client.config.client === 'pg') {
    await knex.raw('ALTER TABLE publicity_sheet ADD CONSTRAINT ?? CHECK (total_fen >= 0)', [GUARD]);
  } else {
    const abort = "WHEN NEW.total_fen < 0 BEGIN SELECT RAISE(ABORT, 'publicity_sheet.total_fen must not be negative'); END";
    await knex.raw(`CREATE TRIGGER ${GUARD}_insert BEFORE INSERT ON publicity_sheet ${abort}`);
    await knex.raw(`CREATE TRIGGER ${GUARD}_update BEFORE UPDATE OF total_fen ON publicity_sheet ${abort}`);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('publicity_sheet');
}
