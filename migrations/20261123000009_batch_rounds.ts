import type { Knex } from 'knex';

/**
 * The batch module (一个平台管发放): payment rounds of one policy and period in a county, one roster per township,
 * and their lines; cross-check findings on lines; the history of every step; publicity objections; treasury
 * transfers; roster file imports. Money is integer fen; quantities are thousandths (12.345 亩 = 12345).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('batch_round', (t) => {
    t.increments('id');
    t.integer('county_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('policy_item_id').notNullable(); // policy module's item (its index.ts gives the version in force)
    t.integer('policy_version_id').notNullable();
    t.integer('department_org_id').unsigned().notNullable().references('id').inTable('core_org');
    t.string('kind', 10).notNullable(); // regular | reissue (补发)
    t.string('title', 120).notNullable();
    t.string('period', 10).notNullable(); // 2026 | 2026-11 | 2026-Q4
    t.integer('period_year').notNullable();
    t.string('period_end', 10).notNullable(); // last day of the period: deaths and moves are judged by it
    t.string('payee', 10).notNullable(); // person | household (到人 / 到户), from the policy version
    t.string('unit', 10).notNullable();
    t.boolean('means_tested').notNullable().defaultTo(false); // a low-income programme: public employees excluded
    t.string('state', 12).notNullable(); // compiling | submitted | released | transferred
    t.integer('bank_org_id').unsigned().references('id').inTable('core_org');
    t.integer('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.integer('updated_by').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.index(['county_id', 'policy_item_id', 'period']);
    t.index(['state']);
  });

  await knex.schema.createTable('batch_roster', (t) => {
    t.increments('id');
    t.integer('round_id').unsigned().notNullable().references('id').inTable('batch_round');
    t.integer('township_id').unsigned().notNullable().references('id').inTable('core_region');
    // draft | checking | checked | submitted | approved | publicity | confirmed | reported
    t.string('state', 12).notNullable();
    t.integer('last_changed_by'); // who last changed its lines: they cannot approve it at the next step
    t.timestamp('last_changed_at', { useTz: true });
    t.string('publicity_start', 10);
    t.string('publicity_end', 10);
    t.string('return_reason', 300);
    t.timestamp('checked_at', { useTz: true }); // when the checks last ran over all lines
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.unique(['round_id', 'township_id']);
  });

  await knex.schema.createTable('batch_line', (t) => {
    t.increments('id');
    t.integer('roster_id').unsigned().notNullable().references('id').inTable('batch_roster');
    t.integer('round_id').unsigned().notNullable().references('id').inTable('batch_round');
    // The payee as compiled (the person, or for 到户 the household head) and a snapshot of what was checked.
    t.integer('person_id').notNullable();
    t.integer('household_id');
    t.integer('village_id').unsigned().notNullable().references('id').inTable('core_region');
    t.string('person_name', 40).notNullable();
    t.string('id_masked', 18).notNullable();
    t.string('id_index', 64).notNullable();
    t.integer('account_id');
    t.string('account_index', 64);
    t.string('account_last4', 4);
    t.string('bank_name', 80);
    t.string('holder_name', 40);
    t.integer('policy_version_id').notNullable();
    t.string('tier_name', 20).notNullable();
    t.bigInteger('standard_fen').notNullable();
    t.bigInteger('quantity_milli').notNullable();
    t.bigInteger('amount_fen').notNullable(); // = standard × quantity, computed, never typed
    t.string('state', 10).notNullable(); // active | returned (a line the department sent back) | removed
    t.string('return_reason', 300);
    t.boolean('changed_after_publicity').notNullable().defaultTo(false);
    t.boolean('reissue').notNullable().defaultTo(false); // an approved 补发 line (issue 8)
    t.string('source', 10).notNullable(); // entry | import | prefill
    t.integer('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.integer('updated_by').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.index(['roster_id', 'state']);
    t.index(['round_id', 'person_id']);
    t.index(['person_id']);
    t.index(['account_index']);
  });

  await knex.schema.createTable('batch_finding', (t) => {
    t.increments('id');
    t.integer('roster_id').unsigned().notNullable().references('id').inTable('batch_roster');
    t.integer('line_id').unsigned().references('id').inTable('batch_line'); // null: about the roster or round (budget)
    t.string('rule', 40).notNullable();
    t.string('severity', 10).notNullable(); // blocking | warning
    t.string('message', 300).notNullable();
    t.string('state', 10).notNullable(); // open | resolved (a warning accepted with a reason) | cleared (no longer found)
    t.timestamp('found_at', { useTz: true }).notNullable();
    t.integer('resolved_by');
    t.timestamp('resolved_at', { useTz: true });
    t.string('resolution', 200);
    t.index(['roster_id', 'state']);
    t.index(['line_id']);
  });

  await knex.schema.createTable('batch_history', (t) => {
    t.increments('id');
    t.integer('round_id').unsigned().notNullable().references('id').inTable('batch_round');
    t.integer('roster_id').unsigned().references('id').inTable('batch_roster');
    t.string('action', 30).notNullable();
    t.string('from_state', 12);
    t.string('to_state', 12);
    t.string('reason', 300);
    t.integer('actor_id').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.index(['round_id']);
    t.index(['roster_id']);
  });

  await knex.schema.createTable('batch_objection', (t) => {
    t.increments('id');
    t.integer('roster_id').unsigned().notNullable().references('id').inTable('batch_roster');
    t.integer('line_id').unsigned().references('id').inTable('batch_line');
    t.string('raised_on', 10).notNullable();
    t.string('content', 500).notNullable();
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.string('resolution', 500);
    t.integer('resolved_by');
    t.timestamp('resolved_at', { useTz: true });
    t.index(['roster_id']);
  });

  await knex.schema.createTable('batch_transfer', (t) => {
    t.increments('id');
    t.integer('round_id').unsigned().notNullable().references('id').inTable('batch_round');
    t.bigInteger('amount_fen').notNullable();
    t.string('voucher_no', 60).notNullable();
    t.integer('bank_org_id').unsigned().notNullable().references('id').inTable('core_org');
    t.string('destination_account', 80).notNullable(); // the agent bank's settlement account named in its agreement
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.index(['round_id']);
  });

  await knex.schema.createTable('batch_import', (t) => {
    t.increments('id');
    t.integer('roster_id').unsigned().notNullable().references('id').inTable('batch_roster');
    t.string('file_sha256', 64).notNullable();
    t.string('file_name', 200).notNullable();
    t.integer('rows').notNullable();
    t.integer('imported_by').notNullable();
    t.timestamp('imported_at', { useTz: true }).notNullable();
    t.index(['roster_id', 'file_sha256']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['batch_import', 'batch_transfer', 'batch_objection', 'batch_history', 'batch_finding', 'batch_line', 'batch_roster', 'batch_round']) {
    await knex.schema.dropTable(table);
  }
}
