import type { Knex } from 'knex';

/**
 * A file is imported once per scope (issue 14: the same file sent twice at once, by a double click or a second tab,
 * must be imported once and answered 已导入过 the other time): the digest of a registry import is unique per township,
 * that of a reference snapshot per county and source. The imports claim the digest in their transaction
 * (src/core/imports.ts); the unique index is the guarantee under it, and replaces the plain index on the same
 * columns. A digest already recorded twice stops the migration, naming the rows: keep the first import, remove the
 * later one.
 */
const KEYS: [table: string, columns: string[]][] = [
  ['beneficiary_import', ['township_id', 'file_sha256']],
  ['beneficiary_reference_snapshot', ['region_id', 'source', 'file_sha256']],
];

export async function up(knex: Knex): Promise<void> {
  for (const [table, columns] of KEYS) {
    const twice: { ids: string }[] = await knex(table)
      .whereNotNull('file_sha256')
      .groupBy(columns)
      .havingRaw('count(*) > 1')
      .select(knex.raw(knex.client.config.client === 'pg' ? "string_agg(id::text, ',') as ids" : "group_concat(id, ',') as ids"));
    if (twice.length) throw new Error(`${table} records the same file twice (ids ${twice.map((r) => r.ids).join('; ')}): remove the later import of each before this migration`);
    await knex.schema.alterTable(table, (t) => {
      t.dropIndex(columns);
      t.unique(columns);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const [table, columns] of KEYS) {
    await knex.schema.alterTable(table, (t) => {
      t.dropUnique(columns);
      t.index(columns);
    });
  }
}
