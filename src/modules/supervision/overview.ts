import type { Actor } from '../../core/auth/roles.ts';
import { loadCalendar } from '../../core/calendar.ts';
import { businessDate } from '../../core/dates.ts';
import { type Conn, countRows } from '../../core/db.ts';
import { ruleLength } from '../../core/deadlines.ts';
import { clearingsOf, openFailureTotals, roundLedger } from '../bank/index.ts';
import { ROUND_STATES, openFindingsByRound, roundsWithMoney } from '../batch/index.ts';
import { unclosedFindings } from './findings.ts';
import { performanceStanding } from './performance.ts';
import { COMPLAINT_CLOCK, type ComplaintStanding } from './model.ts';
import { type RuleNames, peopleOf, roleLabels, workingDaysLate, yuan } from './presenters.ts';
import { clockCounts, openClocksQuery, overdueByRule, overdueByUnit, roleHolders } from './queries.ts';

/** A round in flight and its money, in fen. */
interface RoundInFlight {
  id: number;
  title: string;
  department: string;
  state: string;
  stateLabel: string;
  plannedFen: number | null;
  linesFen: number;
  releasedFen: number;
  transferredFen: number;
  paidFen: number;
}

/** Most complaints complaintQueue returns (its newest); a full queue means the counts are "at least". */
const COMPLAINT_QUEUE_LIMIT = 500;

/**
 * The supervisors' overview (监督工作台) in the actor's region scope, as its page shows it: overdue clocks by rule and by
 * unit (with who holds the unit's roles), rounds in flight with their money, failed payments still being handled,
 * complaints and objections unanswered, open findings of the cross-checks — each with the address of the work.
 */
export async function supervisionOverview(db: Conn, actor: Actor, deps: { names: RuleNames; complaints: (db: Conn, actor: Actor) => Promise<ComplaintStanding[]> }) {
  const { names } = deps;
  const today = businessDate();
  const calendar = await loadCalendar(db);

  // Clocks (限时办理): overdue by rule and by unit, with who holds the unit's roles.
  const clocks = await clockCounts(db, actor, today);
  const byRule = (await overdueByRule(db, actor, today)).map((r) => ({
    module: names.module(r.rule),
    rule: names.label(r.rule),
    count: r.count,
    mostLate: workingDaysLate(calendar, r.earliest, today),
    href: `/supervision/deadlines?rule=${encodeURIComponent(r.rule)}&overdue=1`,
  }));
  const units = await overdueByUnit(db, actor, today);
  const holders = await roleHolders(db, units.map((u) => u.region_id), units.flatMap((u) => u.responsible_roles.split(',')));
  const byUnit = units.map((u) => ({
    unit: u.region_name,
    roles: roleLabels(u.responsible_roles),
    people: peopleOf(holders, u.region_id, u.responsible_roles),
    count: u.count,
    mostLate: workingDaysLate(calendar, u.earliest, today),
    href: `/supervision/deadlines?unit=${u.region_id}&overdue=1`,
  }));

  // Rounds in flight: not yet transferred, or transferred with money still at the bank or refunded awaiting a
  // decision, in a year its county has not cleared (年末清算) yet.
  const rounds: RoundInFlight[] = [];
  const all = await roundsWithMoney(db, actor, Object.keys(ROUND_STATES) as (keyof typeof ROUND_STATES)[]);
  const cleared = new Set<string>();
  for (const countyId of new Set(all.map((r) => r.county_id))) for (const c of await clearingsOf(db, countyId)) cleared.add(`${countyId}|${c.year}`);
  for (const r of all) {
    if (r.state === 'transferred' && cleared.has(`${r.county_id}|${r.period_year}`)) continue;
    const afterRelease = r.state === 'released' || r.state === 'transferred';
    const ledger = afterRelease ? await roundLedger(db, r.id) : null;
    if (r.state === 'transferred' && ledger && ledger.pendingFen + ledger.awaitingFen === 0) continue;
    rounds.push({
      id: r.id,
      title: r.title,
      department: r.department_name,
      state: r.state,
      stateLabel: ROUND_STATES[r.state],
      plannedFen: r.payment_plan_fen,
      linesFen: r.total_fen,
      releasedFen: afterRelease ? r.total_fen : 0,
      transferredFen: ledger?.transferredFen ?? 0,
      paidFen: ledger?.paidFen ?? 0,
    });
  }
  const sum = (pick: (r: RoundInFlight) => number | null) => rounds.reduce((n, r) => n + (pick(r) ?? 0), 0);
  const roundStates = Object.entries(ROUND_STATES).map(([state, label]) => ({ label, count: rounds.filter((r) => r.state === state).length, href: `/rounds?state=${state}` }));

  // Failed payments, complaints, findings.
  const failures = await openFailureTotals(db, actor);
  const complaints = await deps.complaints(db, actor);
  const open = complaints.filter((c) => c.standing !== 'answered' && c.standing !== 'closed');
  // Overdue: the answer clock of an assigned complaint past due (core_deadline); one not yet assigned has no clock.
  const complaintsOverdue = await countRows(openClocksQuery(db, actor, { rule: COMPLAINT_CLOCK.rule, overdue: true }, today).where('d.object_type', COMPLAINT_CLOCK.objectType));
  const complaintRule = names.rules.get(COMPLAINT_CLOCK.rule);
  const findings = await openFindingsByRound(db, actor);

  return {
    title: '监督工作台',
    today,
    clocks,
    byRule,
    byUnit,
    rounds: rounds.map((r) => ({ ...r, planned: yuan(r.plannedFen), lines: yuan(r.linesFen), released: yuan(r.releasedFen), transferred: yuan(r.transferredFen), paid: yuan(r.paidFen) })),
    roundTotals: { planned: yuan(sum((r) => r.plannedFen)), lines: yuan(sum((r) => r.linesFen)), released: yuan(sum((r) => r.releasedFen)), transferred: yuan(sum((r) => r.transferredFen)), paid: yuan(sum((r) => r.paidFen)) },
    roundStates,
    failures: { ...failures, total: yuan(failures.totalFen) },
    complaints: {
      open: open.filter((c) => c.kind === 'complaint').length,
      overdue: complaintsOverdue,
      objections: open.filter((c) => c.kind === 'objection').length,
      partial: complaints.length >= COMPLAINT_QUEUE_LIMIT,
      // The answer clock's rule as the 时限设置 page names it, and its length in force for the actor's region.
      rule: complaintRule ? { label: complaintRule.label, days: await ruleLength(db, actor.regionId, complaintRule), unit: complaintRule.unit === 'working' ? '个工作日' : '天' } : null,
    },
    // 双监控 (Chongqing 十二): this year's execution warnings and goals not met, per county (performance-routes.ts).
    performanceYear: Number(today.slice(0, 4)),
    performance: await performanceStanding(db, actor, Number(today.slice(0, 4))),
    findings: {
      blocking: findings.reduce((n, r) => n + r.blocking, 0),
      warnings: findings.reduce((n, r) => n + r.warnings, 0),
      rounds: findings.map((r) => ({ ...r, href: `/rounds/${r.round_id}` })),
      // The supervision findings (抽查等发现的问题线索) not yet closed, in the actor's scope.
      supervision: await unclosedFindings(db, actor),
    },
  };
}
