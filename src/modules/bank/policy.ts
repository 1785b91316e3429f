import { ALLOWED, type Decision, firstRefusal, refused } from '../../core/authz.ts';
import { type Actor, ROLE_LABELS, type Role, hasRole } from '../../core/auth/roles.ts';
import { confinedToDepartment } from '../batch/index.ts';
import { FAILURE_STATES, type FailureState, MAX_ATTEMPTS } from './model.ts';

type CaseFacts = { state: FailureState; attempt: number; department_org_id: number; corrected_by: number | null; verified_by: number | null; return_ground?: string | null };
type RoundFacts = { state: string; bank_org_id: number | null; department_org_id: number };

/**
 * The steps on one failed payment (Qinghai 二(一)4; Haicheng 三), as a transition table: for each step, the states it
 * leaves, the state each one reaches and the role that takes it there, and who may not take it (four-eyes).
 * failures.ts takes the steps; can() below decides from this table who may; the case page shows what can() allows.
 */
interface FailureTransition {
  label: string;
  moves: Partial<Record<FailureState, { to: FailureState; role: Role }>>;
  /** The people who prepared the case's current data and so may not take this step. */
  notBy?: ('corrected_by' | 'verified_by')[];
}

export const FAILURE_TRANSITIONS = {
  correct: { label: '核实修正', moves: { correcting: { to: 'verifying', role: 'township_station' }, refunded: { to: 'verifying', role: 'township_station' } } },
  // Haicheng 三 2: the finance office imports the corrected lines the stations collected; they reach the same state as
  // an entry's, so the department verifies them (another person than the one who imported them).
  import_correction: { label: '导入修正信息', moves: { correcting: { to: 'verifying', role: 'township_finance' }, refunded: { to: 'verifying', role: 'township_finance' } } },
  verify: {
    label: '核实修正信息',
    moves: { verifying: { to: 'reviewing', role: 'department' }, reissue_verifying: { to: 'reissue_reviewing', role: 'department' } },
    notBy: ['corrected_by'],
  },
  send_back: {
    label: '退回乡镇',
    moves: {
      verifying: { to: 'correcting', role: 'department' },
      reviewing: { to: 'correcting', role: 'finance_section' },
      reissue_verifying: { to: 'returned', role: 'department' },
      reissue_reviewing: { to: 'returned', role: 'finance_section' },
    },
  },
  request_reissue: { label: '受理补发申请', moves: { returned: { to: 'reissue_verifying', role: 'township_station' } } },
  approve_reissue: { label: '复核批准补发', moves: { reissue_reviewing: { to: 'reissue_approved', role: 'finance_section' } }, notBy: ['corrected_by', 'verified_by'] },
  // Only a person no longer entitled (RETURN_GROUNDS, with its document) is not paid again after a refund.
  decide_return: { label: '已不符合条件，提前缴回财政', moves: { refunded: { to: 'return_due', role: 'department' } } },
  approve: { label: '再次复核并发送银行', moves: { reviewing: { to: 'resend', role: 'finance_section' } }, notBy: ['corrected_by', 'verified_by'] },
} satisfies Record<string, FailureTransition>;
export type FailureAction = keyof typeof FAILURE_TRANSITIONS;

function caseStep(actor: Actor, action: FailureAction, failure: CaseFacts): Decision {
  const t: FailureTransition = FAILURE_TRANSITIONS[action];
  const move = t.moves[failure.state];
  return firstRefusal(
    () => {
      const roles = [...new Set(Object.values(t.moves).map((m) => m.role))];
      return hasRole(actor, ...roles) ? null : refused('role', `“${t.label}”由${roles.map((r) => ROLE_LABELS[r]).join('或')}办理`);
    },
    () => (move ? null : refused('state', `该笔现为“${FAILURE_STATES[failure.state]}”，不能“${t.label}”`)),
    // The actor's step exists, but the case has moved on to another role's (a page shown before that): a conflict.
    () => (hasRole(actor, move!.role) ? null : refused('state', `该笔现为“${FAILURE_STATES[failure.state]}”，由${ROLE_LABELS[move!.role]}办理`)),
    () => (move!.role !== 'department' || actor.orgId === failure.department_org_id ? null : refused('role', '只能办理本部门补贴项目的发放失败')),
    () => ((action === 'correct' || action === 'import_correction') && failure.state === 'refunded' && failure.attempt >= MAX_ATTEMPTS ? refused('state', '该笔已三次发放失败，只能暂缴回财政') : null),
    () => (action === 'request_reissue' && failure.return_ground ? refused('state', '该笔因收款人已不符合条件而缴回财政，不予补发') : null),
    () => (t.notBy && t.notBy.some((who) => failure[who] === actor.userId) ? refused('four_eyes', t.notBy.length > 1 ? '您修正或核实过该笔，须由另一人复核（双人复核）' : '修正信息须由另一人核实（双人复核）') : null),
  );
}

/** Who reads each part of the bank module (region scope is checked where rows are loaded). */
export const FAILURE_READERS: readonly Role[] = ['township_station', 'township_finance', 'department', 'finance_section', 'treasury', 'bank', 'supervisor'];
export const CARD_READERS: readonly Role[] = ['township_station', 'township_finance', 'bank', 'supervisor'];
/** Who reads the list of people not paid to a 社保卡 (it is the registry's, so not the bank). */
export const NOT_ON_CARD_READERS: readonly Role[] = ['township_station', 'township_finance', 'supervisor'];
export const RECONCILIATION_READERS: readonly Role[] = ['finance_section', 'department', 'bank', 'treasury', 'supervisor'];
export const CLEARING_READERS: readonly Role[] = ['finance_section', 'department', 'bank', 'treasury', 'supervisor'];
/** Who hands the budget system its payment vouchers and plans (预算一体化对接). */
export const BUDGET_EXCHANGE_READERS: readonly Role[] = ['treasury', 'finance_section', 'supervisor'];

type CardRequestFacts = { bank_org_id: number; state: string };
type AccountCheckFacts = { bank_org_id: number; state: string };
/** Who reads account verifications: those who ask for them and answer them, and the supervisors. */
export const ACCOUNT_CHECK_READERS: readonly Role[] = ['department', 'finance_section', 'bank', 'supervisor'];
/** A kept clearing report: the departments and banks that were parties of the clearing. */
type ClearingReportFacts = { partyOrgIds: number[] };
/** A year's clearing as its parties work on it: its state, who confirms, who has confirmed, who opened it. */
type ClearingFacts = { state: string; parties: SigningParty[]; confirmed: Pick<SigningParty, 'party' | 'orgId'>[]; openedBy: number };
type ReconciliationFacts = { bank_org_id: number; state: string };
/** A party that signs a reconciliation: the finance section, a department (its org), the bank (its org). */
export type SigningParty = { party: string; orgId: number | null; label: string };

/** What each round-level and module-level action of the bank module is decided on. */
interface BankRoundResources {
  read_failures: null;
  read_cards: null;
  read_not_on_card: null;
  send_card_request: null;
  download_card_list: CardRequestFacts;
  answer_card_request: CardRequestFacts;
  bank_files: null;
  /** Account verification before money moves (account-checks.ts). */
  read_account_checks: null;
  request_account_check: RoundFacts & { department_org_id: number };
  download_account_check: AccountCheckFacts;
  answer_account_check: AccountCheckFacts;
  read_reconciliations: null;
  confirm_reconciliation: ReconciliationFacts;
  resolve_difference: ReconciliationFacts;
  sign_reconciliation: { parties: SigningParty[]; state: string };
  read_clearing: null;
  /** null: whether the actor reads any clearing report (before one is loaded); a report: whether this one. */
  read_clearing_report: ClearingReportFacts | null;
  /** Open a finished year's clearing (state null: none yet) or re-open it with fresh figures (open or disputed). */
  open_clearing: { state: string | null };
  /** A department's or bank's confirmation of its part; the finance section's is the last one and makes it final. */
  confirm_clearing: ClearingFacts;
  dispute_clearing: ClearingFacts;
  /** Reading needs only whose the round is (a reconciliation's rounds are read without their state). */
  read_round: Pick<RoundFacts, 'bank_org_id' | 'department_org_id'>;
  approve_corrections: RoundFacts;
  /** The township finance office's file of corrected lines of its township (each line then decided by import_correction). */
  import_corrections: null;
  refund: RoundFacts;
  retransfer: RoundFacts;
  treasury_return: RoundFacts;
  compile_reissue: Pick<RoundFacts, 'department_org_id'>;
  download_payout: RoundFacts;
  upload_receipt: RoundFacts;
  /** The payment vouchers and payment plans for the budget system (budget.ts): who pays, who reviews, who supervises. */
  budget_exchange: null;
}
export type BankRoundAction = keyof BankRoundResources;
type BankResources = { [A in FailureAction]: CaseFacts } & BankRoundResources;
export type BankAction = keyof BankResources;

/** The bank user of the bank a round was released to, or a card request or reconciliation is with. */
const ownBank = (actor: Actor, row: { bank_org_id: number | null }) => hasRole(actor, 'bank') && actor.orgId !== null && actor.orgId === row.bank_org_id;
const rule = (ok: boolean, reason: string): Decision => (ok ? ALLOWED : refused('role', reason));

const open = (row: { state: string }, reason: string) => () => (row.state === 'open' ? null : refused('state', reason));

/** The party an actor signs a reconciliation for (the first one they hold), if any. */
export function signingPartyOf(actor: Actor, parties: SigningParty[]): SigningParty | undefined {
  return parties.find((p) => (p.party === 'finance_section' ? hasRole(actor, 'finance_section') : hasRole(actor, p.party as Role) && actor.orgId === p.orgId));
}

/**
 * The party an actor confirms a clearing for: the first one they hold not yet confirmed (a person holding two roles
 * confirms for one at a time), else the first they hold. A department or bank confirms before the finance section.
 */
export function clearingPartyOf(actor: Actor, c: Pick<ClearingFacts, 'parties' | 'confirmed'>): SigningParty | undefined {
  const pending = c.parties.filter((p) => !c.confirmed.some((k) => k.party === p.party && k.orgId === p.orgId));
  const byOrder = (list: SigningParty[]) => [...list.filter((p) => p.party !== 'finance_section'), ...list.filter((p) => p.party === 'finance_section')];
  return signingPartyOf(actor, byOrder(pending)) ?? signingPartyOf(actor, byOrder(c.parties));
}

const ROUND_RULES: { [A in BankRoundAction]: (actor: Actor, resource: BankRoundResources[A]) => Decision } = {
  read_failures: (actor) => rule(hasRole(actor, ...FAILURE_READERS), '发放失败处理仅经办、审核、代发和监督人员可以查看'),
  read_cards: (actor) => rule(hasRole(actor, ...CARD_READERS), '开卡申请仅乡镇、代发金融机构和监督人员可以查看'),
  read_not_on_card: (actor) => rule(hasRole(actor, ...NOT_ON_CARD_READERS), '未使用社保卡发放人员名单仅乡镇经办站所、财政所和监督人员可以查看'),
  send_card_request: (actor) =>
    firstRefusal(() => rule(hasRole(actor, 'township_station'), '开卡申请由乡镇经办站所发送'), () => rule(actor.regionLevel === 'township', '开卡申请按乡镇发送：您的账号不在乡镇一级')),
  download_card_list: (actor, request) => rule(ownBank(actor, request), '开卡名单由代发金融机构下载'),
  answer_card_request: (actor, request) =>
    firstRefusal(() => rule(ownBank(actor, request), '开卡结果由代发金融机构上传'), () => (request.state === 'sent' ? null : refused('state', '该开卡申请已回复'))),
  bank_files: (actor) => rule(hasRole(actor, 'bank') && actor.orgId !== null, '代发文件仅代发金融机构可以下载'),
  read_account_checks: (actor) => rule(hasRole(actor, ...ACCOUNT_CHECK_READERS), '账户核验仅主管部门、财政局业务科室、代发金融机构和监督人员可以查看'),
  // Before money moves: the department while it compiles its round, the finance section during its review.
  request_account_check: (actor, round) =>
    round.state === 'compiling'
      ? rule(hasRole(actor, 'department') && actor.orgId === round.department_org_id, '编制中的批次由本批次的主管部门发送账户核验')
      : round.state === 'submitted'
        ? rule(hasRole(actor, 'finance_section'), '待财政复核的批次由财政局业务科室发送账户核验')
        : refused('state', '批次已下达银行，账户核验须在下达之前'),
  download_account_check: (actor, check) => rule(ownBank(actor, check), '核验名单由代发金融机构下载'),
  answer_account_check: (actor, check) =>
    firstRefusal(() => rule(ownBank(actor, check), '核验结果由代发金融机构上传'), () => (check.state === 'sent' ? null : refused('state', '该账户核验已回复'))),
  read_reconciliations: (actor) => rule(hasRole(actor, ...RECONCILIATION_READERS), '对账仅财政、主管部门、代发金融机构和监督人员可以查看'),
  confirm_reconciliation: (actor, rec) => firstRefusal(() => rule(ownBank(actor, rec), '对账确认由代发金融机构上传或填报'), open(rec, '该季度对账已签认，不能再更改银行确认')),
  resolve_difference: (actor, rec) => firstRefusal(() => rule(hasRole(actor, 'finance_section'), '对账差异由财政局业务科室核实处理'), open(rec, '该季度对账已签认')),
  sign_reconciliation: (actor, rec) =>
    firstRefusal(() => rule(signingPartyOf(actor, rec.parties) !== undefined, '本次对账由财政局业务科室、相关主管部门和代发金融机构签认'), open(rec, '该季度对账已签认')),
  read_clearing: (actor) => rule(hasRole(actor, ...CLEARING_READERS), '年末清算仅财政、主管部门、代发金融机构和监督人员可以查看'),
  read_clearing_report: (actor, report) =>
    firstRefusal(
      () => rule(hasRole(actor, ...CLEARING_READERS), '清算报告仅财政、主管部门、代发金融机构和监督人员可以查看'),
      // A department or a bank reads the report of a clearing it was a party of (its own subsidies' or rounds' money).
      () => rule(report === null || hasRole(actor, 'finance_section', 'treasury', 'supervisor') || (actor.orgId !== null && report.partyOrgIds.includes(actor.orgId)), '主管部门和代发金融机构只能查看本单位参与确认的年度清算报告'),
    ),
  open_clearing: (actor, c) =>
    firstRefusal(
      () => rule(hasRole(actor, 'finance_section'), '年末清算由财政局业务科室开启'),
      () => rule(actor.regionLevel === 'county', '年末清算按县办理：您的账号不在县一级'),
      () => (c.state === 'final' ? refused('state', '该年度已清算') : null),
    ),
  confirm_clearing: (actor, c) => {
    const mine = clearingPartyOf(actor, c);
    return firstRefusal(
      () => rule(mine !== undefined, '本年度清算由财政局业务科室、相关主管部门和代发金融机构确认'),
      () => (c.state === 'open' ? null : refused('state', c.state === 'final' ? '该年度清算已完成' : '有异议，待财政局业务科室更正后重新开启清算')),
      () => (c.confirmed.some((p) => p.party === mine!.party && p.orgId === mine!.orgId) ? refused('state', `${mine!.label}已确认`) : null),
      // The finance section's confirmation is the last and makes the clearing final, by another person than the one who opened it.
      () => (mine!.party !== 'finance_section' || c.parties.every((p) => p.party === 'finance_section' || c.confirmed.some((k) => k.party === p.party && k.orgId === p.orgId)) ? null : refused('state', '各主管部门和代发金融机构均确认后，财政局业务科室才能最终确认')),
      () => (mine!.party !== 'finance_section' || actor.userId !== c.openedBy ? null : refused('four_eyes', '清算由您开启，须由财政局业务科室另一人最终确认（双人复核）')),
    );
  },
  dispute_clearing: (actor, c) => {
    const mine = clearingPartyOf(actor, c);
    return firstRefusal(
      () => rule(mine !== undefined && mine.party !== 'finance_section', '清算异议由参与确认的主管部门或代发金融机构提出'),
      () => (c.state === 'open' ? null : refused('state', c.state === 'final' ? '该年度清算已完成' : '已有异议，待财政局业务科室更正后重新开启清算')),
    );
  },
  read_round: (actor, round) =>
    firstRefusal(
      () => rule(!hasRole(actor, 'bank') || ownBank(actor, round), '没有下达给本机构的该发放批次'),
      // A department reads its own policies' rounds only, as batch decides (confinedToDepartment).
      () => rule(!confinedToDepartment(actor) || actor.orgId === round.department_org_id, '该发放批次不属于本部门的补贴项目'),
    ),
  import_corrections: (actor) =>
    firstRefusal(() => rule(hasRole(actor, 'township_finance'), '修正后的发放信息由乡镇财政所导入'), () => rule(actor.regionLevel === 'township', '修正信息按乡镇导入：您的账号不在乡镇一级')),
  approve_corrections: (actor) => rule(hasRole(actor, 'finance_section'), '修正后的发放信息由财政局业务科室再次复核'),
  refund: (actor, round) => rule(ownBank(actor, round), '资金退回由本批次的代发金融机构登记'),
  retransfer: (actor) => rule(hasRole(actor, 'treasury'), '资金拨付由国库科办理'),
  treasury_return: (actor) => rule(hasRole(actor, 'treasury'), '缴回财政由国库科登记'),
  compile_reissue: (actor, round) => rule(hasRole(actor, 'department') && actor.orgId === round.department_org_id, '补发批次由本批次的业务主管部门建立'),
  download_payout: (actor, round) => rule(ownBank(actor, round), '代发文件由本批次的代发金融机构下载'),
  budget_exchange: (actor) => rule(hasRole(actor, ...BUDGET_EXCHANGE_READERS), '支付凭证和用款计划仅国库科、财政局业务科室和监督人员可以导出'),
  upload_receipt: (actor, round) =>
    firstRefusal(() => rule(ownBank(actor, round), '发放完成回执由本批次的代发金融机构上传'), () => (round.state === 'transferred' ? null : refused('state', '资金拨付后才能上传发放完成回执'))),
};

/**
 * Who may do what in the bank module — the one place that decides, used by the commands and by the pages: the
 * steps on a failed payment (FAILURE_TRANSITIONS) and the round-level steps (refunds, returns, supplements,
 * reissue rounds, files).
 */
export function can<A extends BankAction>(actor: Actor, action: A, resource: BankResources[A]): Decision {
  if (action in FAILURE_TRANSITIONS) return caseStep(actor, action as FailureAction, resource as CaseFacts);
  return (ROUND_RULES[action as BankRoundAction] as (actor: Actor, resource: BankResources[A]) => Decision)(actor, resource);
}

/** Where a step takes the case from its state (the table's row; can() has allowed it). */
export function nextState(action: FailureAction, from: FailureState): FailureState {
  const move = (FAILURE_TRANSITIONS[action] as FailureTransition).moves[from];
  if (!move) throw new Error(`no move for ${action} from ${from}`);
  return move.to;
}
