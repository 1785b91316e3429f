import type { Knex } from 'knex';

/**
 * A round's payment plan (用款计划, Haicheng 二 8–9): the department's plan number, amount and date, entered before
 * it submits the round; the finance section releases the round only against a plan that covers its total. The
 * amount is never negative (as every amount of a round, issue 14): a CHECK constraint on PostgreSQL, a BEFORE
 * INSERT and a BEFORE UPDATE trigger on SQLite (which cannot add a constraint to an existing table).
 */
const GUARD = 'batch_round_payment_plan_fen_not_negative';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('batch_round', (t) => {
    t.string('payment_plan_no', 60);
    t.bigInteger('payment_plan_fen');
    t.string('payment_plan_date', 10);
  });
  if (knex.client.config.client === 'pg') {
    await knex.raw('ALTER TABLE batch_round ADD CONSTRAINT ?? CHECK (payment_plan_fen >= 0)', [GUARD]);
  } else {
    const abort = "WHEN NEW.payment_plan_fen < 0 BEGIN SELECT RAISE(ABORT, 'batch_round.payment_plan_fen must not be negative'); END";
    await knex.raw(`CREATE TRIGGER ${GUARD}_insert BEFORE INSERT ON batch_round ${abort}`);
    await knex.raw(`CREATE TRIGGER ${GUARD}_update BEFORE UPDATE OF payment_plan_fen ON batch_round ${abort}`);
  }
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') await knex.raw('ALTER TABLE batch_round DROP CONSTRAINT ??', [GUARD]);
  else for (const event of ['insert', 'update']) await knex.raw(`DROP TRIGGER ${GUARD}_${event}`);
  await knex.schema.alterTable('batch_round', (t) => {
    t.dropColumn('payment_plan_no');
    t.dropColumn('payment_plan_fen');
    t.dropColumn('payment_plan_date');
  });
}
