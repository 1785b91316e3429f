import type { Knex } from 'knex';

/**
 * A released round's lines no longer change (issue 18: nobody waits): its count and total are kept on the round at
 * release, so that the pages and home pages that show a round's money do not sum hundreds of thousands of lines on
 * every request. Rounds released before this migration get theirs from their lines. The roster index gains the amount,
 * so that a roster's total is read from the index alone.
 */
const GUARD = 'batch_round_released_fen_not_negative';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('batch_round', (t) => {
    t.integer('released_lines');
    t.bigInteger('released_fen');
  });
  if (knex.client.config.client === 'pg') {
    await knex.raw('ALTER TABLE batch_round ADD CONSTRAINT ?? CHECK (released_fen >= 0)', [GUARD]);
  } else {
    const abort = "WHEN NEW.released_fen < 0 BEGIN SELECT RAISE(ABORT, 'batch_round.released_fen must not be negative'); END";
    await knex.raw(`CREATE TRIGGER ${GUARD}_insert BEFORE INSERT ON batch_round ${abort}`);
    await knex.raw(`CREATE TRIGGER ${GUARD}_update BEFORE UPDATE OF released_fen ON batch_round ${abort}`);
  }
  const totals = (await knex('batch_line as l')
    .join('batch_round as r', 'r.id', 'l.round_id')
    .whereIn('r.state', ['released', 'transferred'])
    .where('l.state', 'active')
    .groupBy('l.round_id')
    .select('l.round_id')
    .count({ n: '*' })
    .sum({ total: 'l.amount_fen' })) as { round_id: number; n: number | string; total: number | string }[];
  for (const t of totals) await knex('batch_round').where({ id: t.round_id }).update({ released_lines: Number(t.n), released_fen: Number(t.total) });
  await knex('batch_round').whereIn('state', ['released', 'transferred']).whereNull('released_fen').update({ released_lines: 0, released_fen: 0 });
  await knex.schema.alterTable('batch_line', (t) => {
    t.index(['roster_id', 'state', 'amount_fen'], 'batch_line_roster_state_amount');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('batch_line', (t) => {
    t.dropIndex(['roster_id', 'state', 'amount_fen'], 'batch_line_roster_state_amount');
  });
  if (knex.client.config.client === 'pg') await knex.raw('ALTER TABLE batch_round DROP CONSTRAINT ??', [GUARD]);
  else {
    await knex.raw(`DROP TRIGGER ${GUARD}_insert`);
    await knex.raw(`DROP TRIGGER ${GUARD}_update`);
  }
  await knex.schema.alterTable('batch_round', (t) => {
    t.dropColumn('released_lines');
    t.dropColumn('released_fen');
  });
}
