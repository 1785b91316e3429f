import { formatDateTime } from '../../core/dates.ts';
import { formatYuan } from '../../core/money.ts';
import { RULE_LABELS } from './checks/engine.ts';
import type { LineWithFindings, RosterSummary, RoundListRow } from './queries.ts';
import { type RosterRow, type RoundRow, asRound } from './repo.ts';
import { ROSTER_STATES, ROSTER_TRANSITIONS, ROUND_STATES, type RosterAction, formatQuantity, rosterStateLabel } from './model.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { can, rosterSteps } from './policy.ts';

/** Batch rows → what the pages show: amounts in 元 (from fen), quantities, state labels, masked IDs only. */
export function presentRound(r: RoundRow) {
  return {
    id: r.id,
    title: r.title,
    period: r.period,
    periodEnd: r.period_end,
    payee: r.payee === 'household' ? '到户（户主账户）' : '到人',
    unit: r.unit,
    meansTested: r.means_tested,
    /** 应急救助（事后公示）: paid first, each roster publicised after the release. */
    expedited: r.expedited,
    department: r.department_name,
    state: ROUND_STATES[r.state],
    stateCode: r.state,
    createdAt: formatDateTime(r.created_at),
  };
}

/** A round of the rounds list and of its export: its total in 元 and when it last changed. */
export function presentRoundListRow(r: RoundListRow) {
  return { ...presentRound(asRound(r)), total: formatYuan(r.total_fen), updatedAt: formatDateTime(r.updated_at) };
}

export function presentRosterSummary(s: RosterSummary, round?: { expedited: boolean }) {
  return { id: s.id, township: s.township_name, state: rosterStateLabel(s.state, round?.expedited ?? false), lines: s.lines, total: formatYuan(s.total_fen), blocking: s.blocking, warnings: s.warnings };
}

/**
 * A roster for its page. Of an 应急救助 round (expedited), the publicity is marked 事后公示 and the page says where it
 * stands: to be held after payment, due now that the round is released, or held (its dates).
 */
export function presentRoster(s: RosterRow, round?: Pick<RoundRow, 'expedited' | 'state'>) {
  const expedited = round?.expedited ?? false;
  const paid = round?.state === 'released' || round?.state === 'transferred';
  return {
    id: s.id,
    township: s.township_name,
    state: rosterStateLabel(s.state, expedited),
    stateCode: s.state,
    version: s.version,
    publicity: s.publicity_start ? `${s.publicity_start} 至 ${s.publicity_end}${expedited ? '（事后公示）' : ''}` : '',
    expedited,
    postPublicity: !expedited ? '' : s.publicity_start ? '事后公示：已于发放后公示' : paid && s.state === 'reported' ? '事后公示：本清册已下达发放，须在规定时限内发布公示并张榜' : '事后公示：应急救助批次，先发放，发放后限期公示',
    returnReason: s.return_reason ?? '',
    checkedAt: s.checked_at ? formatDateTime(s.checked_at) : '',
    stale: s.checked_at === null,
  };
}

export function presentLine(l: LineWithFindings) {
  return {
    id: l.id,
    village: l.village_name,
    name: l.person_name,
    idMasked: l.id_masked,
    account: l.account_last4 ? `${l.bank_name ?? ''} ****${l.account_last4}` : '无',
    holder: l.holder_name ?? '',
    tier: l.tier_name,
    standard: formatYuan(l.standard_fen),
    quantity: formatQuantity(l.quantity_milli),
    amount: formatYuan(l.amount_fen),
    changedAfterPublicity: l.changed_after_publicity,
    findings: l.findings.map((f) => ({ id: f.id, label: RULE_LABELS[f.rule] ?? f.rule, severity: f.severity, message: f.message, resolved: f.state === 'resolved', resolution: f.resolution ?? '' })),
    blocking: l.findings.some((f) => f.severity === 'blocking' && f.state === 'open'),
  };
}

/** A step's button: disabled, with the reason, while blocking findings stand and the step runs the checks. */
const presentAction = (a: RosterAction, blocking: number) => ({
  action: a,
  label: ROSTER_TRANSITIONS[a].label,
  needsReason: ROSTER_TRANSITIONS[a].reason,
  heldBy: ROSTER_TRANSITIONS[a].checks !== 'none' && blocking > 0 ? `复核比对还有 ${blocking} 个阻断性问题，改正后才能办理` : '',
});

/**
 * What the roster page offers this actor, each decided by policy.ts: the steps they may take now, the steps a
 * colleague must take (four-eyes, shown with the reason instead of a button), and the forms of the page.
 */
export function presentRosterPermissions(actor: Actor, round: RoundRow, roster: RosterRow, findings: { blocking: number }) {
  const on = { round, roster };
  const steps = rosterSteps(actor, on);
  return {
    // Publicity starts by publishing its notice, on the roster's publicity page (the publicity module's panel links to it).
    actions: steps.allowed.filter((a) => a !== 'start_publicity').map((a) => presentAction(a, findings.blocking)),
    colleagueSteps: steps.colleague.map((c) => ({ label: ROSTER_TRANSITIONS[c.action].label, reason: c.reason })),
    editable: can(actor, 'edit_lines', on).ok,
    canCheck: can(actor, 'check', on).ok,
    canResolve: can(actor, 'resolve_finding', on).ok,
    canObject: can(actor, 'record_objection', on).ok,
    canResolveObjection: can(actor, 'resolve_objection', on).ok,
    canReturnLines: can(actor, 'return_lines', on).ok,
  };
}

/**
 * The one error summary at the top of the roster page, for whichever of its forms was refused: each message links to
 * the field it is about, where that field is on the page; a form the page no longer offers (the roster moved on)
 * gets its messages without links.
 */
export function rosterErrorSummary(extra: Record<string, unknown>, can: ReturnType<typeof presentRosterPermissions>) {
  const posted = (extra.values ?? {}) as Record<string, unknown>;
  const forms: [string, boolean, Record<string, string>][] = [
    ['actErrors', can.actions.length > 0, { reason: `reason-${String(posted.action ?? '')}`, action: 'roster-steps' }],
    ['lineErrors', can.editable, {}],
    ['removeErrors', can.editable, { reason: `d-${String(extra.lineId ?? '')}` }],
    ['prefillErrors', false, {}],
    ['checkErrors', false, {}],
    ['objectionErrors', can.canObject, {}],
    ['returnErrors', can.canReturnLines, { lineIds: 'return-lines' }],
    ['resolveErrors', can.canResolve, { reason: `r-${String(extra.findingId ?? '')}` }],
  ];
  for (const [key, shown, targets] of forms) {
    const errors = extra[key] as Record<string, string> | undefined;
    if (errors) return { errors, targets, linkable: shown };
  }
  return extra.importError ? { errors: { file: extra.importError as string }, linkable: can.editable } : {};
}

/** A roster on the actor's to-do list: where, how much, and the steps that are theirs now. */
export function presentWaitingRoster(actor: Actor, w: { roster: RosterRow; round: RoundRow; lines: number; total_fen: number }) {
  return {
    id: w.roster.id,
    round: w.round.title,
    township: w.roster.township_name,
    state: rosterStateLabel(w.roster.state, w.round.expedited),
    lines: w.lines,
    total: formatYuan(w.total_fen),
    steps: rosterSteps(actor, w).allowed.map((a) => ROSTER_TRANSITIONS[a].label).join('、'),
  };
}

/** The round steps this actor may take now (policy.ts), and why a colleague must release it (four-eyes). */
export function presentRoundPermissions(actor: Actor, round: RoundRow) {
  const release = can(actor, 'release_round', round);
  return {
    paymentPlan: can(actor, 'record_payment_plan', round).ok,
    submit: can(actor, 'submit_round', round).ok,
    release: release.ok,
    returnRound: can(actor, 'return_round', round).ok,
    releaseNote: !release.ok && release.kind === 'four_eyes' ? release.reason : '',
    transfer: can(actor, 'transfer', round).ok,
  };
}

export function presentHistory(rows: { action: string; roster_id: number | null; from_state: string | null; to_state: string | null; reason: string | null; actor_name: string; at: string }[]) {
  const actionLabel = (a: string, roster: boolean) => (roster ? (ROSTER_TRANSITIONS as Record<string, { label: string }>)[a]?.label : ROUND_ACTION_LABELS[a]) ?? HISTORY_LABELS[a] ?? a;
  return rows.map((h) => ({ at: formatDateTime(h.at), who: h.actor_name, action: actionLabel(h.action, h.roster_id !== null), reason: h.reason ?? '', to: h.to_state ? ((ROSTER_STATES as Record<string, string>)[h.to_state] ?? (ROUND_STATES as Record<string, string>)[h.to_state] ?? h.to_state) : '' }));
}

const ROUND_ACTION_LABELS: Record<string, string> = { payment_plan: '录入用款计划', submit: '汇总上报财政', return: '退回主管部门', release: '程序性复核通过，下达代发金融机构', transfer: '登记拨付' };

const HISTORY_LABELS: Record<string, string> = {
  'round.create': '建立发放批次',
  'roster.import': '导入清册',
  'roster.prefill': '参照上期清册',
  'roster.check': '复核比对',
  'finding.resolve': '核实说明提示',
  post_publicity: '登记发放后公示（事后公示）',
};
