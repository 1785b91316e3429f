import type { Knex } from 'knex';

/**
 * Screening (大数据比对筛查, issue 17 item 3): a run of every screening rule over a region's paid lines of a period,
 * queued by a supervisor and built in the background (the supervision task), and its hits, each linked to the finding
 * it opened or found again (supervision_finding with source 'screening' and source_ref '<rule>:<subject>').
 */
const GUARD = 'supervision_screening_hit_amount_fen_not_negative';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('supervision_screening', (t) => {
    t.increments('id');
    /** The region screened (the requesting supervisor's) and its path: who sees the run. */
    t.integer('region_id').notNullable();
    t.string('region_path', 200).notNullable();
    /** Rounds whose period ends within these business dates, both ends counted. */
    t.string('period_from', 10).notNullable();
    t.string('period_to', 10).notNullable();
    /** 'queued' → 'running' → 'done' or 'failed'. */
    t.string('state', 10).notNullable();
    t.integer('requested_by').notNullable();
    t.timestamp('requested_at', { useTz: true }).notNullable();
    t.timestamp('started_at', { useTz: true });
    t.timestamp('heartbeat_at', { useTz: true });
    t.timestamp('finished_at', { useTz: true });
    t.integer('rules_done').notNullable().defaultTo(0);
    t.integer('rules_total').notNullable();
    t.integer('lines_screened');
    t.integer('hits');
    /** Findings this run opened (the rest of its hits found open or closed findings again). */
    t.integer('opened');
    /** The earlier finished run of the same region and period this one is compared with (what changed). */
    t.integer('previous_id');
    t.text('error');
    t.index(['region_path', 'state']);
  });
  await knex.schema.createTable('supervision_screening_hit', (t) => {
    t.increments('id');
    t.integer('screening_id').notNullable();
    t.string('rule', 40).notNullable();
    /** '<rule>:<subject>', as the finding's source_ref. */
    t.string('source_ref', 60).notNullable();
    t.integer('finding_id').notNullable();
    /** 'new' (this run opened the finding) or 'again' (the finding was there already). */
    t.string('status', 10).notNullable();
    t.string('title', 200).notNullable();
    t.text('evidence').notNullable();
    t.integer('line_count').notNullable();
    t.bigInteger('amount_fen').notNullable();
    t.index(['screening_id', 'rule']);
  });
  // Money concerned is never negative (as every amount column: a CHECK on PostgreSQL, triggers on SQLite).
  if (knex.client.config.client === 'pg') {
    await knex.raw('ALTER TABLE supervision_screening_hit ADD CONSTRAINT ?? CHECK (amount_fen >= 0)', [GUARD]);
  } else {
    const abort = "WHEN NEW.amount_fen < 0 BEGIN SELECT RAISE(ABORT, 'supervision_screening_hit.amount_fen must not be negative'); END";
    await knex.raw(`CREATE TRIGGER ${GUARD}_insert BEFORE INSERT ON supervision_screening_hit ${abort}`);
    await knex.raw(`CREATE TRIGGER ${GUARD}_update BEFORE UPDATE OF amount_fen ON supervision_screening_hit ${abort}`);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('supervision_screening_hit');
  await knex.schema.dropTable('supervision_screening');
}
