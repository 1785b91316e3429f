import type { Knex } from 'knex';

/**
 * Notices to beneficiaries (补贴发放告知): one per paid line, queued when the bank's result arrives and sent by the
 * bank's SMS service through a pluggable sender; the person's page shows what was sent.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bank_notice', (t) => {
    t.increments('id');
    t.integer('line_id').notNullable().unique(); // batch module's line: one notice per paid line
    t.integer('person_id').notNullable();
    t.integer('round_id').notNullable();
    t.string('text', 300).notNullable();
    t.string('state', 10).notNullable(); // queued | sent
    t.string('channel', 20);
    t.timestamp('queued_at', { useTz: true }).notNullable();
    t.timestamp('sent_at', { useTz: true });
    t.index(['state']);
    t.index(['person_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('bank_notice');
}
