import { type ModuleMove, type MovedIds, moveJsonIds, totalsByRound } from '../../core/county-move.ts';
import type { Conn } from '../../core/db.ts';
import type { IdRange } from '../../core/key-rotation.ts';

/** Per round: failed payments, the bank's refunds and the returns to the treasury. */
async function bankTotals(db: Conn, range: IdRange): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const [table, what] of [['bank_failure', 'failures'], ['bank_refund', 'refunds'], ['bank_treasury_return', 'returns']] as const) Object.assign(totals, await totalsByRound(db, table, what, range(table), 'id'));
  return totals;
}

/**
 * A failure group's key (the clock of its correction, bank_failure.deadline_key): '<result file>-<township>' or
 * 'refund-<result file>' (failures.ts).
 */
function moveGroupKey(value: string, ids: MovedIds): string {
  const refund = /^refund-(\d+)$/.exec(value);
  if (refund) return `refund-${ids.of('bank_result_file', refund[1])}`;
  const group = /^(\d+)-(\d+)$/.exec(value);
  if (!group) throw new Error(`county move: unknown failure group key ${value}`);
  return `${ids.of('bank_result_file', group[1])}-${ids.of('core_region', group[2])}`;
}

/** The year-end clearing's figures and parties name policy items and organisations by id (queries.ts, policy.ts). */
const clearingJson = moveJsonIds({ itemId: 'policy_item', departmentOrgIds: 'core_org', bankOrgId: 'core_org', orgId: 'core_org' });

/** How the bank module's rows move to a central deployment (core/county-move.ts). */
export const bankMove: ModuleMove = {
  totals: bankTotals,
  objectIds: { bank_refund: 'bank_refund', bank_failure_group: moveGroupKey },
  tables: {
    bank_card_request: { refs: { township_id: 'core_region', bank_org_id: 'core_org', created_by: 'core_user', answered_by: 'core_user' } },
    bank_card_request_line: { refs: { request_id: 'bank_card_request', person_id: 'beneficiary_person', change_request_id: 'beneficiary_change_request' } },
    bank_clearing: { refs: { county_id: 'core_region', cleared_by: 'core_user' }, text: { figures: clearingJson } },
    bank_clearing_draft: { refs: { county_id: 'core_region', opened_by: 'core_user', disputed_by: 'core_user', clearing_id: 'bank_clearing' }, text: { figures: clearingJson, parties: clearingJson } },
    bank_clearing_confirmation: { refs: { draft_id: 'bank_clearing_draft', org_id: 'core_org', user_id: 'core_user' } },
    bank_correction_file: { refs: { township_id: 'core_region', uploaded_by: 'core_user' } },
    bank_failure: {
      refs: {
        line_id: 'batch_line',
        round_id: 'batch_round',
        county_id: 'core_region',
        department_org_id: 'core_org',
        bank_org_id: 'core_org',
        person_id: 'beneficiary_person',
        township_id: 'core_region',
        village_id: 'core_region',
        account_id: 'beneficiary_account',
        corrected_by: 'core_user',
        verified_by: 'core_user',
        reviewed_by: 'core_user',
        refund_id: 'bank_refund',
        treasury_return_id: 'bank_treasury_return',
        reissue_line_id: 'batch_line',
      },
      text: { deadline_key: (value, _row, ids) => moveGroupKey(value, ids) },
    },
    bank_account_check: { refs: { round_id: 'batch_round', county_id: 'core_region', department_org_id: 'core_org', bank_org_id: 'core_org', requested_by: 'core_user', answered_by: 'core_user' } },
    bank_account_check_line: { refs: { check_id: 'bank_account_check', line_id: 'batch_line', person_id: 'beneficiary_person', account_id: 'beneficiary_account' } },
    bank_failure_event: { refs: { failure_id: 'bank_failure', actor_id: 'core_user' } },
    bank_line_result: { refs: { line_id: 'batch_line', round_id: 'batch_round', result_file_id: 'bank_result_file' } },
    bank_notice: { refs: { line_id: 'batch_line', person_id: 'beneficiary_person', round_id: 'batch_round', bank_org_id: 'core_org', county_id: 'core_region', confirmation_id: 'bank_notice_confirmation' } },
    bank_notice_confirmation: { refs: { bank_org_id: 'core_org', uploaded_by: 'core_user' } },
    bank_receipt: { refs: { round_id: 'batch_round', bank_org_id: 'core_org', uploaded_by: 'core_user' } },
    bank_reconciliation: { refs: { county_id: 'core_region', bank_org_id: 'core_org' } },
    bank_reconciliation_diff: { refs: { reconciliation_id: 'bank_reconciliation', round_id: 'batch_round', line_id: 'batch_line', resolved_by: 'core_user' } },
    bank_reconciliation_line: { refs: { reconciliation_id: 'bank_reconciliation', round_id: 'batch_round', line_id: 'batch_line' } },
    bank_reconciliation_signature: { refs: { reconciliation_id: 'bank_reconciliation', org_id: 'core_org', user_id: 'core_user' } },
    bank_reconciliation_total: { refs: { reconciliation_id: 'bank_reconciliation', round_id: 'batch_round' } },
    bank_refund: { refs: { round_id: 'batch_round', bank_org_id: 'core_org', recorded_by: 'core_user' } },
    bank_result_file: { refs: { round_id: 'batch_round', bank_org_id: 'core_org', uploaded_by: 'core_user' } },
    bank_supplement: { refs: { round_id: 'batch_round', created_by: 'core_user', transferred_by: 'core_user' } },
    bank_supplement_line: { refs: { supplement_id: 'bank_supplement', failure_id: 'bank_failure', line_id: 'batch_line', account_id: 'beneficiary_account' } },
    bank_treasury_return: { refs: { round_id: 'batch_round', recorded_by: 'core_user' } },
  },
};
