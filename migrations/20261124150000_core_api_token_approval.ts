import type { Knex } from 'knex';

/**
 * An API token works only once the finance section (财政局业务科室) has approved it (src/core/api.ts): the
 * administrator who made it cannot, alone, give a machine the payees' accounts. A token is `pending`, `approved`
 * or `refused`, with who decided and when. Tokens made before this change become pending too: each needs the
 * finance section's approval before it works again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('core_api_token', (t) => {
    t.string('state', 10).notNullable().defaultTo('pending'); // pending | approved | refused
    t.integer('decided_by');
    t.timestamp('decided_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('core_api_token', (t) => {
    t.dropColumn('state');
    t.dropColumn('decided_by');
    t.dropColumn('decided_at');
  });
}
