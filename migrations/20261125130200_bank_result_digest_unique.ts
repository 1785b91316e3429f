import type { Knex } from 'knex';

/**
 * A round takes a result file once (issue 14: the same file sent twice at once, by a double click or a second tab,
 * must be imported once and answered 已导入过 the other time): the digest is unique per round. The import claims it in
 * its transaction (src/core/imports.ts); the unique index is the guarantee under it, and replaces the plain index on
 * the same columns. A digest already recorded twice stops the migration, naming the rows: keep the first file,
 * remove the later one (a repeat recorded no results of its own).
 */
const COLUMNS = ['round_id', 'file_sha256'];

export async function up(knex: Knex): Promise<void> {
  const twice: { ids: string }[] = await knex('bank_result_file')
    .groupBy(COLUMNS)
    .havingRaw('count(*) > 1')
    .select(knex.raw(knex.client.config.client === 'pg' ? "string_agg(id::text, ',') as ids" : "group_concat(id, ',') as ids"));
  if (twice.length) throw new Error(`bank_result_file records the same file twice (ids ${twice.map((r) => r.ids).join('; ')}): remove the later file of each before this migration`);
  await knex.schema.alterTable('bank_result_file', (t) => {
    t.dropIndex(COLUMNS);
    t.unique(COLUMNS);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('bank_result_file', (t) => {
    t.dropUnique(COLUMNS);
    t.index(COLUMNS);
  });
}
