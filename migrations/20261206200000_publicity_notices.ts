import type { Knex } from 'knex';

/**
 * Published publicity notices (公示公告, issue 16 item 4): starting a roster's publicity publishes its notice on the
 * portal, and the period counts from that publication. Each publication is a row (a roster returned for changes and
 * published again has a new one; the old one stays as the record of what was shown when). `publicity_posting` holds
 * where and when staff posted the paper (village board, township board, elsewhere). Sheets produced at publication
 * name their notice (`publicity_sheet.notice_id`).
 */
const GUARD = 'publicity_notice_total_fen_not_negative';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('publicity_notice', (t) => {
    t.increments('id');
    t.integer('county_id').notNullable();
    t.integer('township_id').notNullable();
    t.integer('roster_id').notNullable();
    t.integer('round_id').notNullable();
    /** 'before': the publicity before payment; 'after': an 应急救助 roster's publicity after payment (事后公示). */
    t.string('kind', 10).notNullable();
    t.string('title', 200).notNullable();
    t.string('publicity_start', 10).notNullable();
    t.string('publicity_end', 10).notNullable();
    t.integer('lines').notNullable();
    t.bigInteger('total_fen').notNullable();
    /** The SM3 digest of the township summary as published (its sheet's digest). */
    t.string('digest', 64).notNullable();
    t.integer('published_by').notNullable();
    t.timestamp('published_at', { useTz: true }).notNullable();
    t.index(['roster_id']);
    t.index(['county_id', 'publicity_end']);
  });
  await knex.schema.createTable('publicity_posting', (t) => {
    t.increments('id');
    t.integer('notice_id').notNullable();
    /** 'village_board' (村务公开栏), 'township_board' (乡镇公示栏) or 'other' (described by location). */
    t.string('place', 20).notNullable();
    /** The village of a village board; 0 otherwise (so that the unique key holds on both databases). */
    t.integer('village_id').notNullable();
    t.string('location', 100).notNullable();
    t.string('posted_on', 10).notNullable();
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.unique(['notice_id', 'place', 'village_id', 'location']);
  });
  await knex.schema.alterTable('publicity_sheet', (t) => {
    t.integer('notice_id');
  });
  // A notice's total is never negative (as every amount column: a CHECK on PostgreSQL, triggers on SQLite).
  if (knex.client.config.client === 'pg') {
    await knex.raw('ALTER TABLE publicity_notice ADD CONSTRAINT ?? CHECK (total_fen >= 0)', [GUARD]);
  } else {
    const abort = "WHEN NEW.total_fen < 0 BEGIN SELECT RAISE(ABORT, 'publicity_notice.total_fen must not be negative'); END";
    await knex.raw(`CREATE TRIGGER ${GUARD}_insert BEFORE INSERT ON publicity_notice ${abort}`);
    await knex.raw(`CREATE TRIGGER ${GUARD}_update BEFORE UPDATE OF total_fen ON publicity_notice ${abort}`);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('publicity_sheet', (t) => {
    t.dropColumn('notice_id');
  });
  await knex.schema.dropTable('publicity_posting');
  await knex.schema.dropTable('publicity_notice');
}
