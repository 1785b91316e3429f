import type { Knex } from 'knex';

/**
 * A roster imports a file once (issue 14: the same file sent twice at once, by a double click or a second tab, must
 * be imported once and answered 已导入过 the other time): the digest is unique per roster. The import claims it in its
 * transaction (src/core/imports.ts); the unique index is the guarantee under it, and replaces the plain index on the
 * same columns. A digest already recorded twice stops the migration, naming the rows: keep the first import, remove
 * the later one.
 */
const COLUMNS = ['roster_id', 'file_sha256'];

export async function up(knex: Knex): Promise<void> {
  const twice: { ids: string }[] = await knex('batch_import')
    .groupBy(COLUMNS)
    .havingRaw('count(*) > 1')
    .select(knex.raw(knex.client.config.client === 'pg' ? "string_agg(id::text, ',') as ids" : "group_concat(id, ',') as ids"));
  if (twice.length) throw new Error(`batch_import records the same file twice (ids ${twice.map((r) => r.ids).join('; ')}): remove the later import of each before this migration`);
  await knex.schema.alterTable('batch_import', (t) => {
    t.dropIndex(COLUMNS);
    t.unique(COLUMNS);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('batch_import', (t) => {
    t.dropUnique(COLUMNS);
    t.index(COLUMNS);
  });
}
