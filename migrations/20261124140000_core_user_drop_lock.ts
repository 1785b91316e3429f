import type { Knex } from 'knex';

/**
 * Failed logins no longer lock an account (anyone could lock out the administrator or the treasury by guessing):
 * they slow the source instead, counted in core_login_throttle (src/core/auth/throttle.ts). The account's own
 * counter and lock go.
 */
export async function up(knex: Knex): Promise<void> {
  // SQLite drops a column in place (3.35+); knex's SQLite dropColumn would copy and drop the whole users table,
  // which the tables referring to it must not see.
  for (const column of ['failed_logins', 'locked_until']) await knex.raw('ALTER TABLE core_user DROP COLUMN ??', [column]);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('core_user', (t) => {
    t.integer('failed_logins').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
  });
}
