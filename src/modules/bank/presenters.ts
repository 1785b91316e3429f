import type { Actor } from '../../core/auth/roles.ts';
import type { FailureRow } from './failures.ts';
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
