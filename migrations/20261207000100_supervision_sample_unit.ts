import type { Knex } from 'knex';

/**
 * Samples of people (抽取对象, issue 17 item 4): a spot check draws either lines (`unit = 'line'`, 发放明细) or the
 * people of those lines (`unit = 'person'`, 补贴对象), each person represented by their first line in scope (see
 * docs/supervision.md, "The draw"). Existing samples were drawn from lines and stay line samples.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('supervision_sample', (t) => {
    t.string('unit', 10).notNullable().defaultTo('line');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('supervision_sample', (t) => {
    t.dropColumn('unit');
  });
}
