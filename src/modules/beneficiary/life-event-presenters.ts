import type { Actor } from '../../core/auth/roles.ts';
import { formatDateTime } from '../../core/dates.ts';
import { isPathInScope } from '../../core/regions.ts';
import type { LifeEventRow } from './life-event-queries.ts';
import { LIFE_EVENT_KINDS, LIFE_EVENT_STATES } from './life-events.ts';
import { can } from './policy.ts';
import type { PersonRow } from './repo.ts';

/** A life event as the history, the lists and its own page show it. */
export function presentLifeEvent(e: LifeEventRow) {
  return {
    id: e.id,
    personId: e.person_id,
    person: e.person_name,
    idMasked: e.id_masked,
    village: e.village_name,
    kind: LIFE_EVENT_KINDS[e.kind],
    kindCode: e.kind,
    date: e.event_date,
    from: e.from_text,
    to: e.to_text,
    evidence: e.evidence,
    reason: e.reason ?? '',
    registeredBy: `${e.registered_by_name}（${e.registered_region_name}）`,
    registeredAt: formatDateTime(e.registered_at),
    decidedBy: e.decided_by_name ?? '',
    decidedAt: formatDateTime(e.decided_at),
    note: e.decision_note ?? '',
    state: LIFE_EVENT_STATES[e.state],
    pending: e.state === 'pending',
    withHousehold: e.parent_event_id !== null,
    version: e.version,
  };
}

/**
 * A life event with whether this actor decides it: the finance office of the township keeping the person's record
 * (for a move, the township left), never the one who registered it; or why a colleague or another office must.
 */
export function presentLifeEventFor(actor: Actor, e: LifeEventRow) {
  const decision = can(actor, 'decide_life_event', { registeredBy: e.registered_by, pending: e.state === 'pending' });
  const keepsRecord = isPathInScope(actor, e.village_path);
  const canDecide = decision.ok && keepsRecord;
  const decideNote = canDecide || e.state !== 'pending' ? '' : !keepsRecord ? '由此人现登记地乡镇财政所确认' : !decision.ok && decision.kind === 'four_eyes' ? decision.reason : '';
  return { ...presentLifeEvent(e), canDecide, decideNote };
}

/**
 * What the person's page offers the township station (the forms of life-person.njk): a move inside the township,
 * a change of head (this member becomes head), a death; none while an event waits, none for someone not registered.
 */
export function presentLifeActions(isStation: boolean, person: PersonRow, events: LifeEventRow[]) {
  const waiting = events.some((e) => e.state === 'pending');
  const open = isStation && person.status === 'active' && !waiting;
  return {
    waiting,
    canMove: open,
    canBecomeHead: open && person.household_id !== null && person.relation !== 'head',
    canRecordDeath: open,
  };
}
