import type { Knex } from 'knex';

/**
 * Complaints handled by staff (issue 17 item 5): how one came in (`channel`: portal, or phone/letter/visit entered by
 * staff, with the date received and who entered it), the township it is assigned to (its station and finance office
 * answer it, on a working-day clock in core_deadline), who assigned it and when, and who closed it and when. The
 * statuses grow by `assigned` and `closed`; existing rows came from the portal.
 *
 * Violations become a four-eyes decision: `state` proposed → published (one supervisor proposes — `published_by`,
 * `published_at` hold the proposal until approved —, another approves: `approved_by`, `approved_at`; only published
 * ones reach the portal); `to_recover_fen` is the amount to recover, and `publicity_violation_recovery` records the
 * recoveries over time (date, amount in fen, document). Existing rows were published by one supervisor: they are
 * backfilled as published and approved by their publisher, with the involved amount to recover.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('publicity_complaint', (t) => {
    t.string('channel', 10).notNullable().defaultTo('portal');
    t.string('received_on', 10);
    t.integer('entered_by');
    t.integer('assignee_region_id');
    t.integer('assigned_by');
    t.timestamp('assigned_at', { useTz: true });
    t.integer('closed_by');
    t.timestamp('closed_at', { useTz: true });
    t.index(['assignee_region_id', 'status']);
  });
  await knex.schema.alterTable('publicity_violation', (t) => {
    t.string('state', 10).notNullable().defaultTo('published');
    t.integer('approved_by');
    t.timestamp('approved_at', { useTz: true });
    t.bigInteger('to_recover_fen');
  });
  await knex('publicity_violation').update({ state: 'published', approved_by: knex.ref('published_by'), approved_at: knex.ref('published_at'), to_recover_fen: knex.ref('involved_fen') });
  await knex.schema.createTable('publicity_violation_recovery', (t) => {
    t.increments('id');
    t.integer('violation_id').notNullable().references('id').inTable('publicity_violation');
    t.string('recovered_on', 10).notNullable();
    t.bigInteger('amount_fen').notNullable();
    t.string('doc_number', 60).notNullable();
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.index(['violation_id']);
  });
  // Amounts are never negative (as every amount column: a CHECK on PostgreSQL, triggers on SQLite; a recovery's
  // amount is also checked positive by its command).
  const guards: [string, string, string][] = [['publicity_violation_recovery', 'amount_fen', '>= 0'], ['publicity_violation', 'to_recover_fen', '>= 0']];
  for (const [table, column, test] of guards) {
    const guard = `${table}_${column}_not_negative`;
    if (knex.client.config.client === 'pg') {
      await knex.raw(`ALTER TABLE ?? ADD CONSTRAINT ?? CHECK (?? ${test})`, [table, guard, column]);
    } else {
      const abort = `WHEN NOT (NEW.${column} IS NULL OR NEW.${column} ${test}) BEGIN SELECT RAISE(ABORT, '${table}.${column} out of range'); END`;
      await knex.raw(`CREATE TRIGGER ${guard}_insert BEFORE INSERT ON ${table} ${abort}`);
      await knex.raw(`CREATE TRIGGER ${guard}_update BEFORE UPDATE OF ${column} ON ${table} ${abort}`);
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('publicity_violation_recovery');
  if (knex.client.config.client !== 'pg') for (const e of ['insert', 'update']) await knex.raw(`DROP TRIGGER IF EXISTS publicity_violation_to_recover_fen_not_negative_${e}`);
  else await knex.raw('ALTER TABLE publicity_violation DROP CONSTRAINT IF EXISTS publicity_violation_to_recover_fen_not_negative');
  await knex.schema.alterTable('publicity_violation', (t) => {
    t.dropColumns('state', 'approved_by', 'approved_at', 'to_recover_fen');
  });
  await knex.schema.alterTable('publicity_complaint', (t) => {
    t.dropIndex(['assignee_region_id', 'status']);
    t.dropColumns('channel', 'received_on', 'entered_by', 'assignee_region_id', 'assigned_by', 'assigned_at', 'closed_by', 'closed_at');
  });
}
