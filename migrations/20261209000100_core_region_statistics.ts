import type { Knex } from 'knex';

/**
 * PostgreSQL: the region tree's statistics, which it never had (issue 18). Every scoped query joins the tree, and a
 * table of a few dozen rows stays below autovacuum's threshold of 50 changed rows, so it was planned as if empty: a
 * township finance office's home page read every person of the township (160 ms for 100,000) to list the few
 * accounts waiting for it. Each region written from now on analyzes the tree again (core/regions insertRegion).
 */
export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') await knex.raw('ANALYZE core_region');
}

/** Statistics are not taken back. */
export async function down(): Promise<void> {
  return;
}
