import type { Knex } from 'knex';

/**
 * The complete export (完整导出, issue 17 item 7, Chongqing 十一): one row per requested zip of a period's policies,
 * people, rounds, lines, bank results, failure cases and audit log rows. The zip is built in the background by the
 * `supervision-export` task and kept under the data directory (`file_path`, relative to it); the row keeps who asked,
 * the scope (region) and period, whether ID numbers are in clear (and the reason typed), the state and progress, the
 * zip's size and SM3, and the manifest (JSON) shown on the page.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('supervision_export', (t) => {
    t.increments('id');
    t.integer('requested_by').notNullable();
    t.integer('region_id').notNullable();
    t.string('region_path', 255).notNullable();
    t.string('period_from', 10).notNullable();
    t.string('period_to', 10).notNullable();
    t.boolean('in_clear').notNullable().defaultTo(false);
    t.string('reason', 300);
    t.string('state', 10).notNullable();
    t.integer('files_done').notNullable().defaultTo(0);
    t.integer('files_total').notNullable().defaultTo(0);
    t.integer('rows_done').notNullable().defaultTo(0);
    t.string('file_path', 255);
    t.bigInteger('size_bytes');
    t.string('sm3', 64);
    t.text('manifest');
    t.string('error', 1000);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('started_at', { useTz: true });
    t.timestamp('heartbeat_at', { useTz: true });
    t.timestamp('finished_at', { useTz: true });
    t.index(['state', 'id']);
    t.index(['region_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('supervision_export');
}
