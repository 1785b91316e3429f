import type { Knex } from 'knex';

/**
 * 社保卡优先 (qinghai 二(一)1–2): an account that is not a social security card carries why (not_issued, reissuing,
 * not_activated, abnormal, other — beneficiary/card-first.ts), and for `other` a few words. Null for a 社保卡, and
 * for accounts registered before the rule (they show as 未填写 on the not-on-card list).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('beneficiary_account', (t) => {
    t.string('non_card_reason', 20);
    t.string('non_card_note', 100);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('beneficiary_account', (t) => {
    t.dropColumn('non_card_reason');
    t.dropColumn('non_card_note');
  });
}
