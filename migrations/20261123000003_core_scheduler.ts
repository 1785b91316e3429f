import type { Knex } from 'knex';

// Scheduled tasks as persisted rows (so that a restart or a night the machine was off catches up), the
// event outbox, per-region settings (deadline lengths), and the deadlines themselves.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('core_task', (t) => {
    t.string('name', 40).primary();
    t.string('schedule', 60).notNullable(); // cron expression, Asia/Shanghai
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamp('next_run_at', { useTz: true }).notNullable();
    t.timestamp('last_run_at', { useTz: true });
    t.string('last_status', 10); // ok | error
    t.text('last_result');
    t.integer('last_duration_ms');
    t.integer('failures').notNullable().defaultTo(0); // consecutive
    t.text('state'); // JSON the task keeps between runs (e.g. the audit chain's last verified head)
    t.string('lock_owner', 80);
    t.timestamp('lock_until', { useTz: true });
  });

  await knex.schema.createTable('core_event', (t) => {
    t.bigIncrements('id');
    t.string('type', 60).notNullable();
    t.text('payload').notNullable(); // JSON, no personal data beyond ids
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('dispatched_at', { useTz: true });
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.timestamp('next_attempt_at', { useTz: true }).notNullable();
    t.index(['dispatched_at', 'next_attempt_at']);
  });

  await knex.schema.createTable('core_setting', (t) => {
    t.integer('region_id').unsigned().notNullable().references('id').inTable('core_region');
    t.string('key', 60).notNullable();
    t.string('value', 200).notNullable();
    t.integer('updated_by');
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.primary(['region_id', 'key']);
  });

  await knex.schema.createTable('core_deadline', (t) => {
    t.increments('id');
    t.string('rule', 40).notNullable();
    t.string('object_type', 40).notNullable();
    t.string('object_id', 60).notNullable();
    t.integer('region_id').unsigned().notNullable().references('id').inTable('core_region');
    t.string('title', 200).notNullable(); // what is due, without personal data
    t.string('responsible_roles', 120).notNullable();
    t.string('started_on', 10).notNullable(); // business dates, YYYY-MM-DD
    t.string('due_on', 10).notNullable();
    t.integer('days').notNullable();
    t.string('unit', 10).notNullable(); // working | calendar
    t.string('calendar_warning', 200);
    t.string('state', 10).notNullable(); // open | done | cancelled
    // "rule:object_type:object_id" while open, null once closed: at most one open clock per rule and object.
    t.string('open_key', 160).unique();
    t.timestamp('overdue_since', { useTz: true });
    t.timestamp('closed_at', { useTz: true });
    t.integer('closed_by');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['state', 'due_on']);
    t.index(['object_type', 'object_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('core_deadline');
  await knex.schema.dropTable('core_setting');
  await knex.schema.dropTable('core_event');
  await knex.schema.dropTable('core_task');
}
