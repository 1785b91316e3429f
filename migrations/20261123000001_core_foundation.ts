import type { Knex } from 'knex';

// Core tables: regions, organisations (departments and agent banks), users and their roles, sessions,
// and the append-only, hash-chained audit log. Timestamps are UTC (timestamptz on PostgreSQL,
// ISO-8601 text on SQLite); both read back as ISO strings through core/db.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('core_region', (t) => {
    t.increments('id');
    t.integer('parent_id').unsigned().references('id').inTable('core_region');
    t.string('level', 10).notNullable(); // province | city | county | township | village
    t.string('code', 12).unique(); // 行政区划代码, optional
    t.string('name', 60).notNullable();
    // Materialised path of ids, "/1/4/17/": a subtree is every path starting with its own.
    t.string('path', 255).notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.unique(['parent_id', 'name']);
    t.index(['parent_id']);
  });

  await knex.schema.createTable('core_org', (t) => {
    t.increments('id');
    t.string('kind', 12).notNullable(); // department | bank
    t.integer('region_id').unsigned().notNullable().references('id').inTable('core_region');
    t.string('name', 80).notNullable();
    t.string('code', 40);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.unique(['region_id', 'kind', 'name']);
  });

  await knex.schema.createTable('core_user', (t) => {
    t.increments('id');
    t.string('username', 40).notNullable().unique();
    t.string('display_name', 40).notNullable();
    t.string('password_hash', 200).notNullable();
    t.integer('region_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('org_id').unsigned().references('id').inTable('core_org');
    t.boolean('must_change_password').notNullable().defaultTo(true);
    t.text('totp_secret_enc'); // field-encrypted
    t.boolean('totp_enabled').notNullable().defaultTo(false);
    t.bigInteger('totp_last_step'); // replay guard: a code is accepted once
    t.integer('failed_logins').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.boolean('disabled').notNullable().defaultTo(false);
    t.integer('version').notNullable().defaultTo(1); // guards concurrent edits
    t.timestamp('password_changed_at', { useTz: true });
    t.timestamp('last_login_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('core_user_role', (t) => {
    t.integer('user_id').unsigned().notNullable().references('id').inTable('core_user').onDelete('CASCADE');
    t.string('role', 30).notNullable();
    t.primary(['user_id', 'role']);
  });

  await knex.schema.createTable('core_session', (t) => {
    t.string('id', 32).primary();
    t.integer('user_id').unsigned().notNullable().references('id').inTable('core_user').onDelete('CASCADE');
    t.string('secret_hash', 64).notNullable(); // SHA-256 of the secret half of the token, hex
    t.boolean('mfa_verified').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_seen_at', { useTz: true }).notNullable();
    t.string('ip', 45);
    t.string('user_agent', 200);
    t.text('flash');
    t.index(['user_id']);
    t.index(['last_seen_at']);
  });

  await knex.schema.createTable('core_audit', (t) => {
    t.bigIncrements('id');
    t.timestamp('at', { useTz: true }).notNullable();
    t.integer('user_id'); // no foreign key: the log outlives what it describes
    t.string('username', 40);
    t.string('roles', 200);
    t.integer('region_id');
    t.string('action', 60).notNullable();
    t.string('object_type', 40);
    t.string('object_id', 60);
    t.text('summary').notNullable(); // JSON, personal data masked
    t.string('ip', 45);
    t.string('prev_hash', 64).notNullable();
    t.string('hash', 64).notNullable();
    t.index(['at']);
    t.index(['action']);
    t.index(['user_id']);
  });

  // Append-only at the database level too (the hash chain detects what a database owner might still do).
  if (knex.client.config.client === 'pg') {
    await knex.raw(`
      CREATE FUNCTION core_audit_append_only() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'core_audit is append-only'; END
      $$ LANGUAGE plpgsql`);
    await knex.raw(`CREATE TRIGGER core_audit_no_change BEFORE UPDATE OR DELETE ON core_audit
      FOR EACH ROW EXECUTE FUNCTION core_audit_append_only()`);
    await knex.raw(`CREATE TRIGGER core_audit_no_truncate BEFORE TRUNCATE ON core_audit
      FOR EACH STATEMENT EXECUTE FUNCTION core_audit_append_only()`);
  } else {
    await knex.raw(`CREATE TRIGGER core_audit_no_update BEFORE UPDATE ON core_audit
      BEGIN SELECT RAISE(ABORT, 'core_audit is append-only'); END`);
    await knex.raw(`CREATE TRIGGER core_audit_no_delete BEFORE DELETE ON core_audit
      BEGIN SELECT RAISE(ABORT, 'core_audit is append-only'); END`);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('core_audit');
  if (knex.client.config.client === 'pg') await knex.raw('DROP FUNCTION IF EXISTS core_audit_append_only() CASCADE');
  await knex.schema.dropTable('core_session');
  await knex.schema.dropTable('core_user_role');
  await knex.schema.dropTable('core_user');
  await knex.schema.dropTable('core_org');
  await knex.schema.dropTable('core_region');
}
