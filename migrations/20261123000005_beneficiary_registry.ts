import type { Knex } from 'knex';

// The beneficiary registry (受益对象档案): households, people, payout accounts (一人一卡) with their history,
// changes that wait for the township finance office's confirmation, registry imports, and dated reference data
// from other departments. ID, account and phone numbers are stored encrypted (core/crypto) with a keyed blind
// index for exact lookup and a masked form for display.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('beneficiary_household', (t) => {
    t.increments('id');
    t.integer('village_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('head_person_id'); // set once the head is registered; checked in code (the two tables point at each other)
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['village_id']);
  });

  await knex.schema.createTable('beneficiary_person', (t) => {
    t.increments('id');
    t.string('name', 40).notNullable();
    t.text('id_enc').notNullable();
    t.string('id_index', 64).notNullable().unique(); // one person per ID number in the whole deployment
    t.string('id_masked', 18).notNullable();
    t.string('birth_date', 10).notNullable();
    t.string('sex', 6).notNullable(); // male | female
    t.integer('village_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('household_id').unsigned().references('id').inTable('beneficiary_household');
    t.string('relation', 10).notNullable(); // head | spouse | child | parent | grandchild | other
    t.text('phone_enc');
    t.string('phone_masked', 11);
    t.string('status', 10).notNullable(); // active (在册) | deceased (死亡) | moved (迁出) | cancelled (注销)
    t.string('status_date', 10);
    t.string('status_source', 80);
    t.integer('version').notNullable().defaultTo(1);
    t.integer('created_by');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.integer('updated_by');
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['village_id']);
    t.index(['household_id']);
    t.index(['name']);
  });

  await knex.schema.createTable('beneficiary_account', (t) => {
    t.increments('id');
    t.integer('person_id').unsigned().notNullable().references('id').inTable('beneficiary_person');
    t.string('kind', 10).notNullable(); // sscard | bankcard | passbook
    t.integer('bank_org_id').unsigned().references('id').inTable('core_org'); // the agent bank, when it is one
    t.string('bank_name', 80).notNullable();
    t.text('account_enc').notNullable();
    t.string('account_index', 64).notNullable(); // not unique: a shared account is a finding, not an error
    t.string('account_last4', 4).notNullable();
    t.string('holder_name', 40).notNullable();
    t.boolean('luhn_warning').notNullable().defaultTo(false);
    t.string('status', 10).notNullable(); // active | closed
    t.integer('active_person_id').unique(); // = person_id while active, null after: one active account per person
    t.integer('opened_by');
    t.timestamp('opened_at', { useTz: true }).notNullable();
    t.integer('closed_by');
    t.timestamp('closed_at', { useTz: true });
    t.string('change_reason', 200);
    t.index(['person_id']);
    t.index(['account_index']);
  });

  await knex.schema.createTable('beneficiary_change_request', (t) => {
    t.increments('id');
    t.integer('person_id').unsigned().notNullable().references('id').inTable('beneficiary_person');
    t.string('kind', 10).notNullable(); // account | status
    t.text('payload_enc').notNullable(); // the new values, encrypted (they may hold an account number)
    t.string('summary', 200).notNullable(); // masked description for lists and the audit log
    t.string('reason', 200).notNullable();
    t.integer('requested_by').notNullable();
    t.timestamp('requested_at', { useTz: true }).notNullable();
    t.string('state', 10).notNullable(); // pending | confirmed | rejected
    t.integer('decided_by');
    t.timestamp('decided_at', { useTz: true });
    t.string('decision_note', 200);
    t.index(['state']);
    t.index(['person_id']);
  });

  await knex.schema.createTable('beneficiary_import', (t) => {
    t.increments('id');
    t.integer('township_id').unsigned().notNullable().references('id').inTable('core_region');
    t.string('file_sha256', 64).notNullable();
    t.string('file_name', 200).notNullable();
    t.integer('rows').notNullable();
    t.integer('created').notNullable();
    t.integer('updated').notNullable();
    t.integer('unchanged').notNullable();
    t.integer('imported_by').notNullable();
    t.timestamp('imported_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('beneficiary_reference_snapshot', (t) => {
    t.increments('id');
    t.string('source', 20).notNullable(); // police_death | police_move | civil_program | public_employee
    t.string('taken_on', 10).notNullable(); // the date the other department's data is as of
    t.string('file_name', 200).notNullable();
    t.integer('rows').notNullable();
    t.integer('matched').notNullable();
    t.integer('loaded_by');
    t.timestamp('loaded_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('beneficiary_reference_hit', (t) => {
    t.increments('id');
    t.integer('snapshot_id').unsigned().notNullable().references('id').inTable('beneficiary_reference_snapshot');
    t.integer('person_id').unsigned().notNullable().references('id').inTable('beneficiary_person');
    t.string('kind', 20).notNullable(); // deceased | moved | other_program | public_employee
    t.string('event_date', 10);
    t.string('detail', 200).notNullable();
    t.index(['person_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['beneficiary_reference_hit', 'beneficiary_reference_snapshot', 'beneficiary_import', 'beneficiary_change_request', 'beneficiary_account', 'beneficiary_person', 'beneficiary_household']) {
    await knex.schema.dropTable(table);
  }
}
