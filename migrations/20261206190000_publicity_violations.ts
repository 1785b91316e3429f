import type { Knex } from 'knex';

/**
 * Violations published on the portal (违规问题曝光, Chongqing 七: 虚报冒领等问题查处情况公开, issue 16): what a supervisor
 * decided to make public — where (county, township, village), the policy if any, the facts as the supervisor wrote
 * them (masked names only), the amounts involved and recovered in fen, the handling result and the decision document;
 * who published it and when; and, once withdrawn, who withdrew it, when and why (a withdrawn one leaves the portal).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('publicity_violation', (t) => {
    t.increments('id');
    t.integer('county_id').notNullable();
    t.integer('township_id');
    t.integer('village_id');
    t.integer('policy_item_id');
    t.string('policy_name', 200);
    t.string('title', 100).notNullable();
    t.string('facts', 2000).notNullable();
    t.bigInteger('involved_fen').notNullable();
    t.bigInteger('recovered_fen').notNullable();
    t.string('handling', 500).notNullable();
    t.string('doc_number', 60).notNullable();
    t.string('doc_date', 10).notNullable();
    t.integer('published_by').notNullable();
    t.timestamp('published_at', { useTz: true }).notNullable();
    t.integer('withdrawn_by');
    t.timestamp('withdrawn_at', { useTz: true });
    t.string('withdraw_reason', 300);
    t.index(['county_id', 'withdrawn_at']);
  });
  // Amounts are never negative (as every amount column: a CHECK on PostgreSQL, triggers on SQLite).
  for (const column of ['involved_fen', 'recovered_fen']) {
    const guard = `publicity_violation_${column}_not_negative`;
    if (knex.client.config.client === 'pg') {
      await knex.raw('ALTER TABLE publicity_violation ADD CONSTRAINT ?? CHECK (?? >= 0)', [guard, column]);
    } else {
      const abort = `WHEN NEW.${column} < 0 BEGIN SELECT RAISE(ABORT, 'publicity_violation.${column} must not be negative'); END`;
      await knex.raw(`CREATE TRIGGER ${guard}_insert BEFORE INSERT ON publicity_violation ${abort}`);
      await knex.raw(`CREATE TRIGGER ${guard}_update BEFORE UPDATE OF ${column} ON publicity_violation ${abort}`);
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('publicity_violation');
}
