import type { Knex } from 'knex';

/**
 * The year-end clearing with all three parties (issue 15 item 4; Qinghai 二(二)9: 财政、实施部门、受托银行业金融机构
 * 对发放的补贴资金进行清算). The finance section opens a county's clearing of a finished year as a draft with its
 * figures (bank_clearing_draft); each department and agent bank named in it confirms its part or disputes it with a
 * reason (bank_clearing_confirmation; a dispute sends the draft back to the finance section, which re-opens it with
 * fresh figures); the finance section's own confirmation, by another person than the one who opened it, is the last
 * one and makes the clearing final: the kept report goes to bank_clearing as before and the draft points to it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bank_clearing_draft', (t) => {
    t.increments('id');
    t.integer('county_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('year').notNullable();
    t.string('state', 10).notNullable(); // open | disputed | final
    t.text('figures').notNullable(); // JSON: the figures the parties confirm (ClearingFigures, in fen)
    t.text('parties').notNullable(); // JSON: the parties that confirm (SigningParty[])
    t.integer('opened_by').notNullable(); // who opened or last re-opened it (four-eyes: not the one who finalizes)
    t.timestamp('opened_at', { useTz: true }).notNullable();
    t.string('dispute_party', 120); // the last dispute: who, why, when (kept after re-opening)
    t.string('dispute_reason', 500);
    t.integer('disputed_by');
    t.timestamp('disputed_at', { useTz: true });
    t.integer('clearing_id').unsigned().references('id').inTable('bank_clearing'); // the kept clearing, once final
    t.integer('version').notNullable().defaultTo(1);
    t.unique(['county_id', 'year']);
  });
  await knex.schema.createTable('bank_clearing_confirmation', (t) => {
    t.increments('id');
    t.integer('draft_id').unsigned().notNullable().references('id').inTable('bank_clearing_draft');
    t.string('party', 20).notNullable(); // finance_section | department | bank
    t.integer('org_id'); // the department or the bank
    t.integer('user_id').notNullable();
    t.string('signer_name', 120).notNullable();
    t.timestamp('confirmed_at', { useTz: true }).notNullable();
    t.unique(['draft_id', 'party', 'org_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('bank_clearing_confirmation');
  await knex.schema.dropTable('bank_clearing_draft');
}
