import type { Knex } from 'knex';

/**
 * Payment notices through the agent bank's SMS channel (issue 15; 青海 实施意见 二(一)1: 受托银行业金融机构应……通过
 * 手机短信等方式及时向受益对象发送补贴项目、补贴标准、发放部门等信息). A notice now records the bank and county it
 * belongs to, the channel its agreement names (a notice file the bank fetches, the API, or the log when no channel
 * is agreed), when it was handed to the bank, and the bank's confirmation (sent, or failed with a reason). The
 * confirmations the bank sends (a file or an API call) are recorded once each, by their SHA-256 per bank.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('bank_notice', (t) => {
    t.integer('bank_org_id');
    t.integer('county_id');
    t.timestamp('handed_at', { useTz: true }); // fetched by the bank (file or API), or written to the log
    t.timestamp('confirmed_at', { useTz: true }); // the bank's confirmation recorded
    t.string('failure_reason', 200);
    t.integer('confirmation_id');
    t.index(['bank_org_id', 'state']);
  });
  await knex.schema.createTable('bank_notice_confirmation', (t) => {
    t.increments('id');
    t.integer('bank_org_id').notNullable();
    t.string('file_sha256', 64).notNullable();
    t.string('file_name', 200).notNullable();
    t.string('channel', 10).notNullable(); // file | api
    t.integer('rows').notNullable();
    t.integer('sent').notNullable();
    t.integer('failed').notNullable();
    t.integer('uploaded_by');
    t.timestamp('uploaded_at', { useTz: true }).notNullable();
    t.unique(['bank_org_id', 'file_sha256']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('bank_notice_confirmation');
  await knex.schema.alterTable('bank_notice', (t) => {
    t.dropIndex(['bank_org_id', 'state']);
    t.dropColumn('bank_org_id');
    t.dropColumn('county_id');
    t.dropColumn('handed_at');
    t.dropColumn('confirmed_at');
    t.dropColumn('failure_reason');
    t.dropColumn('confirmation_id');
  });
}
