import type { Actor } from '../../core/auth/roles.ts';
import { formatDateTime } from '../../core/dates.ts';
import type { SigningKey } from '../../core/signing.ts';
import { addFen, fen, formatYuan } from '../../core/money.ts';
import type { PaymentRow } from '../batch/index.ts';
import type { RoundLedger } from './ledger.ts';
import { CARD_REASONS, CORRECTION_OPEN_STATES, DIFFERENCE_KINDS, FAILURE_STATES, FUNDS_LABELS, REPAYMENT_OPEN_STATES, RETURN_GROUNDS, type ReturnGround, differenceRef } from './model.ts';
import { BANK_DEADLINES } from './deadlines.ts';
import { lineRef } from './payout.ts';
import {
  type CardLineRow,
  type CaseDeadline,
  type CardRequestRow,
  type BankClearing,
  type ClearingConfirmationRow,
  type ClearingDraft,
  type ClearingRow,
  type DifferenceRow,
  type FailureEventRow,
  type FailureRow,
  type FailureView,
  type LineCase,
  type PolicyClearing,
  type ReceiptRow,
  type ReconciliationFigures,
  type ReconciliationRow,
  type SignatureRow,
  type SupplementRow,
  type VoucherRow,
  confirmationOf,
  signatureOf,
} from './queries.ts';
import { type FailureAction, type SigningParty, can, clearingPartyOf, signingPartyOf } from './policy.ts';
import { type PublicMaskRule, maskPersonForPublic } from '../../core/public-mask.ts';

/** Bank rows → what the pages show: amounts in 元 (from fen), dates, state labels, masked names; and what each page offers, from can. */

/** The steps of a failed payment's page this actor may take now, each decided by policy.ts; and why a colleague must. */
export function presentCasePermissions(actor: Actor, failure: FailureRow) {
  const allowed = (action: FailureAction) => can(actor, action, failure).ok;
  const fourEyes = (['verify', 'approve_reissue'] as const).map((a) => can(actor, a, failure)).find((d) => !d.ok && d.kind === 'four_eyes');
  return {
    correct: allowed('correct'),
    verify: allowed('verify'),
    sendBack: allowed('send_back'),
    decideReturn: allowed('decide_return'),
    importCorrection: allowed('import_correction'),
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

/** A case as the list, its page, the round's page and the export show it. */
export function presentCase(f: FailureView) {
  const amountFen = f.amount_fen;
  return {
    id: f.id,
    round: f.round_title,
    roundId: f.round_id,
    township: f.township_name,
    village: f.village_name,
    name: f.person_name,
    idMasked: f.id_masked,
    ref: lineRef(f.round_id, f.line_id),
    amount: formatYuan(amountFen),
    amountFen,
    attempt: f.attempt,
    failure: `${f.failure_code} ${f.failure_reason}`,
    state: FAILURE_STATES[f.state],
    stateCode: f.state,
    funds: FUNDS_LABELS[f.funds],
    account: f.account_last4 ? `****${f.account_last4}` : '',
    holder: f.holder_name ?? '',
    note: f.correction_note ?? '',
    returnGround: f.return_ground ? (RETURN_GROUNDS[f.return_ground as ReturnGround]?.label ?? f.return_ground) : '',
    returnEvidence: f.return_evidence ?? '',
    version: f.version,
    openedAt: formatDateTime(f.opened_at),
  };
}

/** A line's latest result from the bank (resultsOfLines). */
interface LineResult {
  result: string;
  failure_code: string | null;
  failure_reason: string | null;
  recorded_at: string;
}

/**
 * The one-card view's lines as the bank's facts say they stand (issue 15): a line counts as paid only when its money
 * reached the person (the bank's paid result, or its case's funds paid); money back at the source account or returned
 * to the treasury says so; a line returned to the treasury and paid again by a reissue line (补发) is paid once, by the
 * reissue line. The total adds up the paid lines only.
 */
export function presentPersonPayments(lines: PaymentRow[], results: Map<number, LineResult>, cases: Map<number, LineCase>, originals: Map<number, number>) {
  const paid = (l: PaymentRow) => {
    const c = cases.get(l.line_id);
    return c ? c.funds === 'paid' : results.get(l.line_id)?.result === 'paid';
  };
  const paidLines = new Set(lines.filter(paid).map((l) => l.line_id));
  const status = (l: PaymentRow): string => {
    const r = results.get(l.line_id);
    const c = cases.get(l.line_id);
    const failed = r?.result === 'failed' ? `发放失败：${r.failure_code ?? ''} ${r.failure_reason ?? ''}`.trim() : '待银行回盘';
    if (c?.funds === 'treasury') {
      if (c.return_ground !== null) return `${FUNDS_LABELS.treasury}（提前缴回：${RETURN_GROUNDS[c.return_ground as ReturnGround]?.label ?? c.return_ground}，不再补发）`;
      if (c.reissue_line_id === null) return FUNDS_LABELS.treasury;
      return paidLines.has(c.reissue_line_id) ? `${FUNDS_LABELS.treasury}，已补发到账` : `${FUNDS_LABELS.treasury}，已编入补发批次`;
    }
    if (c?.funds === 'source') return '资金已退回原账户，待重新发放或缴回财政';
    if (c?.funds === 'paid') return '已发放到账（再次发放）';
    if (c) return failed;
    if (r?.result === 'paid') return '已发放到账';
    if (r) return failed;
    return l.round_state === 'released' ? '待国库拨付资金' : '待银行回盘';
  };
  let paidFen = fen(0);
  const rows = lines.map((l) => {
    const r = results.get(l.line_id);
    const c = cases.get(l.line_id);
    if (paidLines.has(l.line_id)) paidFen = addFen(paidFen, l.amount_fen);
    const text = status(l);
    return {
      failureId: c ? c.id : null,
      handling: c ? FAILURE_STATES[c.state] : '',
      round: l.round_title,
      period: l.period,
      amount: formatYuan(l.amount_fen),
      result: originals.has(l.line_id) ? `补发：${text}` : text,
      paid: paidLines.has(l.line_id),
      at: r ? formatDateTime(r.recorded_at) : '',
    };
  });
  return { rows, paidTotal: formatYuan(paidFen), paidCount: paidLines.size };
}

export function presentFailureEvent(e: FailureEventRow) {
  return { action: e.action, from: e.from_state ? FAILURE_STATES[e.from_state] : '', to: FAILURE_STATES[e.to_state], note: e.note ?? '', who: e.display_name ?? '系统（银行回盘）', at: formatDateTime(e.at) };
}

export function presentDeadline(d: { title: string; due_on: string; state: string }) {
  return { title: d.title, due: d.due_on, state: d.state === 'open' ? '进行中' : d.state === 'overdue' ? '已逾期' : d.state === 'cancelled' ? '已撤销' : '已办结' };
}

/** The clock a case waits on now, as its page shows it: which, since when, due when, overdue; or none, and why. */
export type CaseClock = { running: true; label: string; basis: string; since: string; due: string; overdue: boolean; ends: string } | { running: false; why: string };

/**
 * Which working-day clock runs for a case (Qinghai 二(一)4), from its state and its clocks: the correction clock of its
 * group until its corrected line reaches the bank (the bank fetches the supplementary payout holding it), the bank's
 * refund clock, the repayment clock of its refund until the bank reports it paid again; otherwise none, with why.
 */
export function presentCaseClock(f: FailureRow, deadlines: CaseDeadline[], supplement: { seq: number; fetched_at: string | null; needs_transfer: boolean; transferred_at: string | null } | null, today: string): CaseClock {
  const repaying = f.refund_id !== null && REPAYMENT_OPEN_STATES.includes(f.state) && f.state !== 'refund_due';
  const unfetched = f.state === 'resend' && supplement !== null && supplement.fetched_at === null;
  let rule: { code: string; label: string; basis: string } | null = null;
  let objectId = '';
  let ends = '';
  if (f.state === 'refund_due') {
    rule = BANK_DEADLINES.bank_refund;
    objectId = f.deadline_key ?? '';
    ends = '代发银行登记资金退回原账户时办结';
  } else if (repaying) {
    rule = BANK_DEADLINES.repayment;
    objectId = String(f.refund_id);
    ends = '代发银行回盘发放成功时办结';
  } else if (CORRECTION_OPEN_STATES.includes(f.state) || unfetched) {
    rule = BANK_DEADLINES.failure_correction;
    objectId = f.deadline_key ?? '';
    ends = '修正后的明细送达代发银行（银行下载补充代发文件）时办结';
  }
  if (rule) {
    const clock = [...deadlines].reverse().find((d) => d.rule === rule.code && d.object_id === objectId);
    if (clock && (clock.state === 'open' || clock.state === 'overdue')) {
      return { running: true, label: rule.label, basis: rule.basis, since: clock.started_on, due: clock.due_on, overdue: clock.state === 'overdue' || clock.due_on < today, ends };
    }
    if (clock) return { running: false, why: `“${rule.label}”时限已于 ${formatDateTime(clock.closed_at ?? '')} 办结` };
    return { running: false, why: `“${rule.label}”时限未计时（该笔在时限规则施行前已进入本环节）` };
  }
  const why: Record<string, string> = {
    resend: supplement?.fetched_at
      ? `修正后的明细已于 ${formatDateTime(supplement.fetched_at)} 随补充代发文件 ${supplement.seq} 送达代发银行，核实修正时限已办结；等待银行回盘`
      : '修正后的明细已再次发送银行，等待银行回盘',
    return_due: f.return_ground ? '收款人已不符合条件，主管部门已决定提前缴回；待国库科登记缴回财政（文件未规定时限）' : '第三次发放失败、资金已退回；待国库科登记暂缴回财政（文件未规定时限）',
    returned: f.return_ground ? '收款人已不符合条件，资金已缴回财政，不予补发，不列入发放失败人员名单' : '资金已暂缴回财政，列入发放失败人员名单，待本人报备后补发（无办理时限）',
    reissue_verifying: '补发申请办理中：补发批次按发放流程办理，不计失败处理时限',
    reissue_reviewing: '补发申请办理中：补发批次按发放流程办理，不计失败处理时限',
    reissue_approved: '补发已批准，待主管部门编入补发批次（补发批次按发放流程办理）',
    reissued: '已编入补发批次，失败处理已办结',
    paid: '再次发放成功，失败处理已办结',
  };
  return { running: false, why: why[f.state] ?? '当前环节不计时' };
}

/** A round's ledger with its amounts in 元 beside the figures in fen. */
export function presentLedger(ledger: RoundLedger) {
  return {
    ...ledger,
    transferred: formatYuan(ledger.transferredFen),
    firstTransfer: formatYuan(ledger.firstTransferFen),
    paidYuan: formatYuan(ledger.paidFen),
    pendingYuan: formatYuan(ledger.pendingFen),
    refunded: formatYuan(ledger.refundedFen),
    resent: formatYuan(ledger.resentFen),
    returnedYuan: formatYuan(ledger.returnedFen),
    awaitingYuan: formatYuan(ledger.awaitingFen),
  };
}

export function presentSupplement(s: SupplementRow) {
  return { ...s, amount: formatYuan(s.amount_fen), createdAt: formatDateTime(s.created_at), transferredAt: s.transferred_at ? formatDateTime(s.transferred_at) : '', fetchable: !s.needs_transfer || s.transferred_at !== null };
}

/** A refund's or a treasury return's voucher, with the date it names. */
export function presentVoucher(r: VoucherRow, on: string) {
  return { voucher: r.voucher_no, on, lines: r.lines, amount: formatYuan(r.amount_fen) };
}

export function presentReceipt(r: ReceiptRow) {
  return { id: r.id, name: r.file_name, note: r.note ?? '', who: r.display_name, at: formatDateTime(r.uploaded_at), sha256: r.sha256 };
}

/** A line of the list of failed payments returned to the treasury: names masked as on every public output, no account data. */
/** A line of the list of failed payments, a public output: the person masked by the county's public rule, no account. */
export function presentFailedListRow(r: FailureView, departments: Map<number, string>, rule: PublicMaskRule) {
  const person = maskPersonForPublic(rule, { name: r.person_name, idNumber: r.id_masked });
  return { township: r.township_name, village: r.village_name, name: person.name, idMasked: person.id, subsidy: r.round_title, amount: formatYuan(r.amount_fen), department: departments.get(r.department_org_id) ?? '' };
}

/** A released round on the bank's payout page: its lines and where they stand at the bank. */
/** What the bank's agreement says of the files it sends and is given: its signature required; files encrypted for it. */
export function presentFileTerms(terms: { requireSignature: boolean; encryptFiles: boolean; key: unknown } | null) {
  return { signatureRequired: Boolean(terms?.requireSignature), encrypted: Boolean(terms?.encryptFiles && terms.key) };
}

export function presentPayoutRound(
  r: { id: number; title: string; period: string; created_at: string },
  money: { lines: number; linesFen: number; transferredFen: number },
  results: { paid: number; paidFen: number; failed: number; failedFen: number; pending: number; pendingFen: number },
) {
  return {
    id: r.id,
    title: r.title,
    period: r.period,
    lines: money.lines,
    total: formatYuan(money.linesFen),
    transferred: formatYuan(money.transferredFen),
    paid: `${results.paid} 笔 ${formatYuan(results.paidFen)} 元`,
    failed: `${results.failed} 笔 ${formatYuan(results.failedFen)} 元`,
    pending: `${results.pending} 笔 ${formatYuan(results.pendingFen)} 元`,
    createdAt: formatDateTime(r.created_at),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Quarterly reconciliation and year-end clearing

export function presentReconciliationListRow(r: ReconciliationRow) {
  return { id: r.id, quarter: r.quarter, county: r.county_name, bank: r.bank_name, periodEnd: r.period_end, state: r.state === 'signed' ? `已签认（${formatDateTime(r.signed_at)}）` : r.confirmation_sha256 ? '银行已确认，核对中' : '待银行上传确认文件' };
}

export function presentReconciliation(rec: ReconciliationRow) {
  return {
    id: rec.id,
    quarter: rec.quarter,
    county: rec.county_name,
    bank: rec.bank_name,
    periodEnd: rec.period_end,
    signed: rec.state === 'signed',
    sm3: rec.report_sm3,
    confirmation: rec.confirmation_name ? `${rec.confirmation_name}（${rec.confirmation_rows} 行，${formatDateTime(rec.confirmed_at)}）` : '',
  };
}

/** A round of a reconciliation: the platform's figures in 元, and the bank's confirmed totals (paid / unpaid / refunded). */
/** `linked`: the reader may open the round (a department: its own policies' rounds; the figures are shared by all). */
export function presentReconciliationRound(r: ReconciliationFigures['rounds'][number], bank: { paidFen: number; unpaidFen: number; refundedFen: number } | undefined, linked: boolean) {
  const l = r.ledger;
  return {
    id: r.id,
    linked,
    title: r.title,
    policy: r.policy,
    lines: l.lines,
    transferred: formatYuan(l.transferredFen),
    paid: formatYuan(l.paidFen),
    pending: formatYuan(l.pendingFen),
    refunded: formatYuan(l.refundedFen),
    returned: formatYuan(l.returnedFen),
    awaiting: formatYuan(l.awaitingFen),
    bank: bank ? `${formatYuan(bank.paidFen)} / ${formatYuan(bank.unpaidFen)} / ${formatYuan(bank.refundedFen)}` : '—',
    balanced: l.balanced,
  };
}

export function presentPolicyFigures({ policy, ledger: l }: ReconciliationFigures['policies'][number]) {
  return { policy, lines: l.lines, transferred: formatYuan(l.transferredFen), paid: formatYuan(l.paidFen), pending: formatYuan(l.pendingFen), refunded: formatYuan(l.refundedFen), returned: formatYuan(l.returnedFen), awaiting: formatYuan(l.awaitingFen) };
}

export function presentDifference(d: DifferenceRow & { resolved_by_name: string | null }) {
  return { id: d.id, ref: differenceRef(d), kind: DIFFERENCE_KINDS[d.kind], platform: d.platform, bank: d.bank, open: d.state === 'open', resolution: d.resolution, who: d.resolved_by_name };
}

/** A party that signs, and its signature if given. */
export function presentParty(p: SigningParty, signature: SignatureRow | undefined) {
  return { label: p.label, signed: signature ? `${signature.signer_name}，${formatDateTime(signature.signed_at)}` : '' };
}

/** What the reconciliation's page offers this actor: the bank's confirmation, resolving a difference, their signature (and as whom). */
export function presentReconciliationOffers(actor: Actor, rec: ReconciliationRow, parties: SigningParty[], signed: SignatureRow[], openDiffs: number) {
  const mine = signingPartyOf(actor, parties.filter((p) => !signatureOf(signed, p)));
  return {
    can: {
      upload: can(actor, 'confirm_reconciliation', rec).ok,
      resolve: can(actor, 'resolve_difference', rec).ok,
      sign: rec.state === 'open' && Boolean(mine) && Boolean(rec.confirmation_sha256) && openDiffs === 0,
    },
    signAs: mine?.label ?? '',
  };
}

export function presentPolicyClearing(p: PolicyClearing) {
  return {
    policy: p.policy,
    department: p.department || '（无本县实施部门，由财政确认）',
    rounds: p.rounds,
    allocated: formatYuan(p.allocatedFen),
    transferred: formatYuan(p.firstTransferFen),
    paid: formatYuan(p.paidFen),
    pending: formatYuan(p.pendingFen),
    unspent: formatYuan(p.unspentFen),
    returned: formatYuan(p.returnedFen),
    awaiting: formatYuan(p.awaitingFen),
    cleared: formatYuan(p.clearedFen),
  };
}

/** The totals row of the clearing's policies. */
export function presentClearingTotals(policies: PolicyClearing[]) {
  const sum = (key: keyof PolicyClearing) => fen(policies.reduce((s, p) => s + (p[key] as number), 0));
  return { allocated: formatYuan(sum('allocatedFen')), transferred: formatYuan(sum('firstTransferFen')), paid: formatYuan(sum('paidFen')), pending: formatYuan(sum('pendingFen')), unspent: formatYuan(sum('unspentFen')), returned: formatYuan(sum('returnedFen')), awaiting: formatYuan(sum('awaitingFen')), cleared: formatYuan(sum('clearedFen')) };
}

export function presentBankClearing(b: BankClearing) {
  return { bank: b.bank, rounds: b.rounds, transferred: formatYuan(b.transferredFen), paid: formatYuan(b.paidFen), pending: formatYuan(b.pendingFen), refunded: formatYuan(b.refundedFen) };
}

const CLEARING_STATES = { open: '待各方确认', disputed: '有异议，待财政局业务科室更正后重新开启', final: '已完成' } as const;

/**
 * A year's clearing as its page shows it to this actor: its state, each party with its confirmation (who, when), the
 * last dispute, and what the actor may do (can): re-open, confirm (as which party; the finance section's is the
 * final one), dispute; and, when the finance section cannot yet finalize, why.
 */
export function presentClearingDraft(actor: Actor, draft: ClearingDraft, confirmed: ClearingConfirmationRow[], figuresChanged: boolean) {
  const step = { state: draft.state, parties: draft.parties, confirmed: confirmed.map((c) => ({ party: c.party, orgId: c.org_id })), openedBy: draft.opened_by };
  const mine = clearingPartyOf(actor, step);
  const confirm = can(actor, 'confirm_clearing', step);
  return {
    year: draft.year,
    state: CLEARING_STATES[draft.state],
    open: draft.state === 'open',
    disputed: draft.state === 'disputed',
    final: draft.state === 'final',
    opened: `${draft.opened_by_name}，${formatDateTime(draft.opened_at)}`,
    version: draft.version,
    figuresChanged,
    dispute: draft.dispute_reason ? { who: draft.dispute_party, reason: draft.dispute_reason, at: formatDateTime(draft.disputed_at) } : null,
    parties: draft.parties.map((p) => {
      const c = confirmationOf(confirmed, p);
      return { label: p.label, role: p.party === 'finance_section' ? '最终确认' : p.party === 'bank' ? '代发金融机构' : '主管部门', confirmed: c ? `${c.signer_name}，${formatDateTime(c.confirmed_at)}` : '' };
    }),
    can: {
      reopen: draft.state !== 'final' && can(actor, 'open_clearing', { state: draft.state }).ok,
      confirm: confirm.ok && !figuresChanged,
      dispute: can(actor, 'dispute_clearing', step).ok,
    },
    confirmAs: mine?.label ?? '',
    finalStep: mine?.party === 'finance_section',
    /** Why a party of the clearing cannot confirm now (a colleague must finalize, others have not confirmed …). */
    waiting: mine && draft.state === 'open' && !confirm.ok && !confirmationOf(confirmed, mine) ? confirm.reason : '',
  };
}

export function presentClearing(c: ClearingRow) {
  return { id: c.id, year: c.year, voucher: c.voucher_no, who: c.display_name, at: formatDateTime(c.cleared_at), sm3: c.report_sm3 };
}

// ---------------------------------------------------------------------------------------------------------------
// Card-opening requests

export function presentCardRequestListRow(r: CardRequestRow) {
  return { id: r.id, township: r.township_name, bank: r.bank_name, lines: r.lines, state: r.state === 'answered' ? `已回复（${formatDateTime(r.answered_at)}）` : '待银行办理', at: formatDateTime(r.created_at) };
}

export function presentCardRequest(r: CardRequestRow) {
  return { id: r.id, township: r.township_name, bank: r.bank_name, lines: r.lines, answered: r.state === 'answered', at: formatDateTime(r.created_at), answeredAt: formatDateTime(r.answered_at) };
}

/** A person on a request: ID number masked, and what the bank answered. */
export function presentCardLine(l: CardLineRow) {
  return {
    name: l.person?.name ?? '',
    idMasked: l.person?.idMasked ?? '',
    reason: CARD_REASONS[l.reason],
    outcome: l.outcome === 'opened' ? '已开卡，账户变更待乡镇财政所确认' : l.outcome === 'not_opened' ? `未开卡：${l.outcome_note ?? ''}` : '待银行办理',
    personId: l.person_id,
  };
}

/** What a request's page offers this actor: the bank's download of the list and its answer. */
export function presentCardRequestPermissions(actor: Actor, request: CardRequestRow) {
  return { answer: can(actor, 'answer_card_request', request).ok, download: can(actor, 'download_card_list', request).ok };
}

/** A signing key as the bank's page shows it: its fingerprint in groups of four, when it was made, whether in use. */
export function presentSigningKey(key: SigningKey) {
  return { fingerprint: key.fingerprint.match(/.{4}/g)!.join(' '), publicKey: key.publicKey, createdAt: formatDateTime(key.createdAt), retiredAt: key.retiredAt ? formatDateTime(key.retiredAt) : null };
}
