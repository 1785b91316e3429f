import type { Knex } from 'knex';

/**
 * Life events of the registry (农户迁入、迁出、死亡, change of household head — 海城 三(三)2(五)): the township station
 * registers one, the township finance office that keeps the person's record confirms or refuses it (four-eyes), and
 * the row stays as the person's history: what, from, to, when, on what document, who registered, who decided.
 * A move changes the person's village (and household) only when confirmed; the person stays one record.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('beneficiary_person_event', (t) => {
    t.increments('id');
    t.integer('person_id').unsigned().notNullable().references('id').inTable('beneficiary_person');
    t.string('kind', 12).notNullable(); // move | head_change | death
    t.string('state', 10).notNullable(); // pending | confirmed | refused
    t.string('event_date', 10).notNullable(); // the day of the move, the change or the death (YYYY-MM-DD)
    t.string('evidence', 80).notNullable(); // the document: 准予迁入证明, 户口簿, 死亡医学证明 … and its number
    t.string('reason', 200);
    t.string('from_text', 120).notNullable(); // what was, as the screens read it (village, head, status)
    t.string('to_text', 120).notNullable(); // what will be
    // A move: from one village to another; the household the person joins (null: a new one, the person its head)
    // and their relation in it; whole_household: the head moves with every registered member.
    t.integer('from_village_id').unsigned().references('id').inTable('core_region');
    t.integer('to_village_id').unsigned().references('id').inTable('core_region');
    t.integer('to_household_id').unsigned();
    t.string('to_relation', 10); // a move: relation in the new household; a head change: the former head's new relation
    t.boolean('whole_household').notNullable().defaultTo(false);
    // A head change: the household and its head until then.
    t.integer('household_id').unsigned();
    t.integer('former_head_id').unsigned();
    // A member moved with their household's head: the head's event.
    t.integer('parent_event_id').unsigned();
    t.integer('registered_by').notNullable();
    t.integer('registered_region_id').unsigned().notNullable().references('id').inTable('core_region'); // the registering station's township
    t.timestamp('registered_at', { useTz: true }).notNullable();
    t.integer('decided_by');
    t.timestamp('decided_at', { useTz: true });
    t.string('decision_note', 200);
    t.integer('version').notNullable().defaultTo(1);
    t.index(['person_id']);
    t.index(['state']);
    t.index(['registered_region_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('beneficiary_person_event');
}
