import type { Knex } from 'knex';

/**
 * Objections and complaints from the public (公示异议、投诉举报, issue 16): what the portal's form files, with its
 * tracking number and the hash of the query code given at filing (never the code itself), the contact's phone
 * encrypted, and the answer staff record. An objection to a notice also becomes an objection on the roster (batch);
 * `objection_id` names it. `publicity_complaint_throttle` counts the portal's filings and status queries per client address.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('publicity_complaint', (t) => {
    t.increments('id');
    t.string('tracking_no', 20).notNullable().unique();
    t.string('code_hash', 64).notNullable();
    t.string('kind', 10).notNullable();
    t.integer('county_id').notNullable();
    t.integer('roster_id');
    t.string('sheet_code', 16);
    t.integer('objection_id');
    t.string('subject', 100);
    t.string('content', 1000).notNullable();
    t.string('contact_name', 40);
    t.text('phone_enc');
    t.string('phone_masked', 20);
    t.string('status', 12).notNullable();
    t.string('answer', 1000);
    t.integer('answered_by');
    t.timestamp('answered_at', { useTz: true });
    t.string('filed_on', 10).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['county_id', 'status']);
  });
  await knex.schema.createTable('publicity_complaint_throttle', (t) => {
    t.increments('id');
    t.string('bucket', 20).notNullable();
    t.string('address', 64).notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.index(['bucket', 'address', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('publicity_complaint_throttle');
  await knex.schema.dropTable('publicity_complaint');
}
