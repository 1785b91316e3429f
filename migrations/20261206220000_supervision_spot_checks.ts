import type { Knex } from 'knex';

/**
 * Spot checks and findings (抽查和问题线索, issue 17 items 4 and 3): a sample drawn from a round's lines (or one
 * village's lines of a round, or a policy's lines of a period) with its recorded seed, method and the population's SM3 digest, so that anyone can re-run
 * the draw (docs/supervision.md); its items; the visits to them; and the findings a failed visit (or, later, a screening
 * rule or a complaint) opens, assigned to a township and the round's department, answered and closed with a conclusion.
 */
const GUARD = 'supervision_finding_recover_fen_not_negative';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('supervision_sample', (t) => {
    t.increments('id');
    /** The county of the round; the region drawn from (the county, or the drawing supervisor's township): its path decides who sees the sample. */
    t.integer('county_id').notNullable();
    t.string('region_path', 200).notNullable();
    /**
     * 'round' (every active line of the round), 'village' (a village's active lines of the round) or 'policy' (every
     * active line of every round of the round's policy item and period in the county: regular and reissue rounds).
     * Lines are those of townships under region_path (a township supervisor draws from its township only).
     */
    t.string('scope', 10).notNullable();
    t.integer('round_id').notNullable();
    t.integer('village_id');
    t.integer('policy_item_id');
    t.string('period', 20);
    /** 'before' (事前: before release), 'during' (事中: released, not yet paid), 'after' (事后: paid). */
    t.string('phase', 10).notNullable();
    t.string('method', 60).notNullable();
    /** The seed as recorded (lower-case hex, 8 to 64 characters); 'random' or 'typed' says where it came from. */
    t.string('seed', 64).notNullable();
    t.string('seed_source', 10).notNullable();
    t.integer('population').notNullable();
    /** SM3 of the population's line ids in ascending order, one per line (see docs/supervision.md). */
    t.string('population_digest', 64).notNullable();
    t.integer('size').notNullable();
    t.integer('drawn_by').notNullable();
    t.timestamp('drawn_at', { useTz: true }).notNullable();
    t.index(['county_id']);
  });
  await knex.schema.createTable('supervision_sample_item', (t) => {
    t.increments('id');
    t.integer('sample_id').notNullable();
    /** 1-based order of the draw. */
    t.integer('position').notNullable();
    t.integer('line_id');
    t.integer('person_id').notNullable();
    t.integer('township_id').notNullable();
    t.integer('village_id').notNullable();
    t.unique(['sample_id', 'position']);
  });
  await knex.schema.createTable('supervision_visit', (t) => {
    t.increments('id');
    t.integer('item_id').notNullable();
    t.string('visited_on', 10).notNullable();
    t.string('visitor', 60).notNullable();
    /** 'confirmed' (属实), 'false' (不属实), 'unverifiable' (无法核实). */
    t.string('outcome', 20).notNullable();
    t.text('note').notNullable();
    t.integer('finding_id');
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.index(['item_id']);
  });
  await knex.schema.createTable('supervision_finding', (t) => {
    t.increments('id');
    /** 'spot_check', 'screening' or 'complaint'; source_ref names the thing (e.g. the visit: 'visit:12'). */
    t.string('source', 20).notNullable();
    t.string('source_ref', 60).notNullable();
    /** The responsible township (or county) and its path; the responsible department, when there is one. */
    t.integer('region_id').notNullable();
    t.string('region_path', 200).notNullable();
    t.integer('department_org_id');
    t.string('title', 200).notNullable();
    t.text('evidence').notNullable();
    t.text('evidence_json');
    /** 'open' → 'answered' → 'closed'. */
    t.string('state', 10).notNullable();
    t.integer('opened_by').notNullable();
    t.timestamp('opened_at', { useTz: true }).notNullable();
    t.text('answer');
    t.integer('answered_by');
    t.timestamp('answered_at', { useTz: true });
    /** 'no_problem', 'corrected', 'recover' or 'referred'. */
    t.string('conclusion', 20);
    t.bigInteger('recover_fen');
    t.text('closing_note');
    t.integer('closed_by');
    t.timestamp('closed_at', { useTz: true });
    t.index(['region_path', 'state']);
    t.index(['source', 'source_ref']);
  });
  // An amount to recover is never negative (as every amount column: a CHECK on PostgreSQL, triggers on SQLite).
  if (knex.client.config.client === 'pg') {
    await knex.raw('ALTER TABLE supervision_finding ADD CONSTRAINT ?? CHECK (recover_fen >= 0)', [GUARD]);
  } else {
    const abort = "WHEN NEW.recover_fen < 0 BEGIN SELECT RAISE(ABORT, 'supervision_finding.recover_fen must not be negative'); END";
    await knex.raw(`CREATE TRIGGER ${GUARD}_insert BEFORE INSERT ON supervision_finding ${abort}`);
    await knex.raw(`CREATE TRIGGER ${GUARD}_update BEFORE UPDATE OF recover_fen ON supervision_finding ${abort}`);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('supervision_finding');
  await knex.schema.dropTable('supervision_visit');
  await knex.schema.dropTable('supervision_sample_item');
  await knex.schema.dropTable('supervision_sample');
}
