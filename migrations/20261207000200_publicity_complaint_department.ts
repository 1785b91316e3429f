import type { Knex } from 'knex';

/**
 * Complaints assigned to a department (主管部门) as well as to a township (issue 17 item 5): `assignee_org_id` is the
 * core_org department of the complaint's county that answers it. A complaint is assigned to a township or to a
 * department, never both: a CHECK on PostgreSQL, insert and update triggers on SQLite (which cannot add a CHECK to
 * an existing table). Existing rows are assigned to a township or to no one.
 */
const GUARD = 'publicity_complaint_one_assignee';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('publicity_complaint', (t) => {
    t.integer('assignee_org_id');
    t.index(['assignee_org_id', 'status']);
  });
  const test = 'assignee_region_id IS NULL OR assignee_org_id IS NULL';
  if (knex.client.config.client === 'pg') {
    await knex.raw(`ALTER TABLE publicity_complaint ADD CONSTRAINT ${GUARD} CHECK (${test})`);
  } else {
    const abort = `WHEN NOT (NEW.assignee_region_id IS NULL OR NEW.assignee_org_id IS NULL) BEGIN SELECT RAISE(ABORT, 'publicity_complaint assigned to a township and a department'); END`;
    await knex.raw(`CREATE TRIGGER ${GUARD}_insert BEFORE INSERT ON publicity_complaint ${abort}`);
    await knex.raw(`CREATE TRIGGER ${GUARD}_update BEFORE UPDATE OF assignee_region_id, assignee_org_id ON publicity_complaint ${abort}`);
  }
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') await knex.raw(`ALTER TABLE publicity_complaint DROP CONSTRAINT IF EXISTS ${GUARD}`);
  else for (const e of ['insert', 'update']) await knex.raw(`DROP TRIGGER IF EXISTS ${GUARD}_${e}`);
  await knex.schema.alterTable('publicity_complaint', (t) => {
    t.dropIndex(['assignee_org_id', 'status']);
    t.dropColumn('assignee_org_id');
  });
}
