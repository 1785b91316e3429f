import type { Actor } from '../../core/auth/roles.ts';
import { formatDateTime } from '../../core/dates.ts';
import { formatYuan } from '../../core/money.ts';
import { FAILURE_STATES, FUNDS_LABELS } from './model.ts';
import type { FailureRow, FailureView } from './queries.ts';
import { type FailureAction, can } from './policy.ts';

/** The steps of a failed payment's page this actor may take now, each decided by policy.ts; and why a colleague must. */
export function presentCasePermissions(actor: Actor, failure: FailureRow) {
  const allowed = (action: FailureAction) => can(actor, action, failure).ok;
  const fourEyes = (['verify', 'approve_reissue'] as const).map((a) => can(actor, a, failure)).find((d) => !d.ok && d.kind === 'four_eyes');
  return {
    correct: allowed('correct'),
    verify: allowed('verify'),
    sendBack: allowed('send_back'),
    decideReturn: allowed('decide_return'),
    requestReissue: allowed('request_reissue'),
    approveReissue: allowed('approve_reissue'),
    compileReissue: failure.state === 'reissue_approved' && can(actor, 'compile_reissue', failure).ok,
    colleagueNote: fourEyes && !fourEyes.ok ? fourEyes.reason : '',
  };
}

/** The round-level steps of the bank page (results, refunds, returns, supplements, reissue) this actor may take. */
export function presentBankRoundPermissions(actor: Actor, round: { state: string; bank_org_id: number | null; department_org_id: number }, waiting: { reissueApproved: number }) {
  return {
    approve: can(actor, 'approve_corrections', round).ok,
    refund: can(actor, 'refund', round).ok,
    retransfer: can(actor, 'retransfer', round).ok,
    treasuryReturn: can(actor, 'treasury_return', round).ok,
    compileReissue: can(actor, 'compile_reissue', round).ok && waiting.reissueApproved > 0,
    download: can(actor, 'download_payout', round).ok,
    uploadReceipt: can(actor, 'upload_receipt', round).ok,
  };
}

/** A case as the pages show it, from a row as the database returns it (PostgreSQL gives bigints as strings). */
export function presentCase(f: FailureView) {
  const amountFen = f.amount_fen;
  return {
    id: Number(f.id),
    round: f.round_title,
    roundId: Number(f.round_id),
    township: f.township_name,
    village: f.village_name,
    name: f.person_name,
    idMasked: f.id_masked,
    amount: formatYuan(amountFen),
    amountFen,
    attempt: Number(f.attempt),
    failure: `${f.failure_code} ${f.failure_reason}`,
    state: FAILURE_STATES[f.state],
    stateCode: f.state,
    funds: FUNDS_LABELS[f.funds],
    account: f.account_last4 ? `****${f.account_last4}` : '',
    holder: f.holder_name ?? '',
    note: f.correction_note ?? '',
    version: Number(f.version),
    openedAt: formatDateTime(f.opened_at),
  };
}
