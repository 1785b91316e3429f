import type { Knex } from 'knex';

/**
 * A county moved from its own SQLite file into this deployment (`ykt migrate-to-postgres`, core/county-move.ts).
 * Its audit log cannot be renumbered (each row's keyed hash covers its id), so its rows are kept here as they were,
 * under the move that brought them, and verified with the county's audit key, kept with the move. The deployment's own
 * chain records the move in one row that names the archive's last hash. Both tables are append-only, as core_audit is.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('core_county_move', (t) => {
    t.increments('id');
    t.integer('county_id').notNullable().references('id').inTable('core_region');
    t.string('county_name', 60).notNullable();
    t.string('source_name', 200).notNullable();
    t.string('source_sha256', 64).notNullable();
    // The number added to every id the county's rows had in its own database (its shared rows were mapped instead).
    t.bigInteger('id_offset').notNullable();
    t.string('audit_key_id', 16).notNullable();
    // The county's audit key, encrypted under a key derived from this deployment's audit key (core/audit-archive.ts):
    // whoever verifies this deployment's chain verifies the county's archived one too, and a change of the field key
    // leaves it alone.
    t.text('audit_key_enc').notNullable();
    t.integer('audit_rows').notNullable();
    t.bigInteger('audit_last_id');
    t.string('audit_last_hash', 64);
    t.text('summary').notNullable(); // JSON: rows per table, money per round, what was mapped or left out
    t.string('moved_by', 60).notNullable();
    t.timestamp('moved_at', { useTz: true }).notNullable();
    t.unique(['county_id']);
  });
  await knex.schema.createTable('core_audit_archive', (t) => {
    t.integer('move_id').notNullable().references('id').inTable('core_county_move');
    t.bigInteger('id').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.integer('user_id');
    t.string('username', 40);
    t.string('roles', 200);
    t.integer('region_id');
    t.string('action', 60).notNullable();
    t.string('object_type', 40);
    t.string('object_id', 60);
    t.text('summary').notNullable();
    t.string('ip', 45);
    t.string('prev_hash', 64).notNullable();
    t.string('hash', 64).notNullable();
    t.string('alg', 16).notNullable();
    t.primary(['move_id', 'id']);
  });
  // A spot check's population digest is over line ids: a moved county's samples keep the offset, so that the re-draw
  // check compares the same population (supervision/spot-checks.ts).
  await knex.schema.alterTable('supervision_sample', (t) => {
    t.bigInteger('id_offset').notNullable().defaultTo(0);
  });
  for (const table of ['core_county_move', 'core_audit_archive']) {
    if (knex.client.config.client === 'pg') {
      await knex.raw(`CREATE TRIGGER ${table}_no_change BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION core_audit_append_only()`);
    } else {
      await knex.raw(`CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END`);
      await knex.raw(`CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END`);
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE supervision_sample DROP COLUMN id_offset');
  await knex.schema.dropTable('core_audit_archive');
  await knex.schema.dropTable('core_county_move');
}
