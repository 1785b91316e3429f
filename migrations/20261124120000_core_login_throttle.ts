import type { Knex } from 'knex';

/**
 * Failed logins counted per source address, per username at an address and per username (src/core/auth/throttle.ts),
 * in the database so that a restart keeps them and several instances share them. Rows idle for an hour are deleted
 * by the hourly cleanup task.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('core_login_throttle', (t) => {
    t.string('scope', 20).notNullable(); // address | username_address | username
    t.string('key', 200).notNullable();
    t.string('username', 100); // the username of the username counters, for the administrator's 解除锁定
    t.integer('failures').notNullable();
    t.timestamp('last_failure_at', { useTz: true }).notNullable();
    t.primary(['scope', 'key']);
    t.index(['last_failure_at']);
    t.index(['username']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('core_login_throttle');
}
