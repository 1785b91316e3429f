import type { Knex } from 'knex';

/**
 * Performance goals and the expected budget execution curve (绩效目标、预算执行进度, Chongqing 十二 深化绩效管理, issue 20
 * item 4). A county's finance section records, per policy and year, the target of each indicator of a fixed catalogue
 * (src/modules/policy/performance.ts: rates in basis points, persons as a count); and per year the expected cumulative
 * execution at each month end (12 basis-point values) with the tolerance below it that raises a warning.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('policy_performance_goal', (t) => {
    t.increments('id');
    t.integer('county_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('item_id').unsigned().notNullable().references('id').inTable('policy_item');
    t.integer('year').notNullable();
    t.string('indicator', 40).notNullable();
    t.string('comparison', 3).notNullable(); // gte | lte
    t.bigInteger('target').notNullable(); // basis points (rates) or persons
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.unique(['county_id', 'item_id', 'year', 'indicator']);
    t.index(['county_id', 'year']);
  });
  await knex.schema.createTable('policy_execution_curve', (t) => {
    t.increments('id');
    t.integer('county_id').unsigned().notNullable().references('id').inTable('core_region');
    t.integer('year').notNullable();
    t.string('points', 120).notNullable(); // 12 cumulative basis points, comma-separated, January first
    t.integer('tolerance_bp').notNullable();
    t.integer('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.unique(['county_id', 'year']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('policy_execution_curve');
  await knex.schema.dropTable('policy_performance_goal');
}
