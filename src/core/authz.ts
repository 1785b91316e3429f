import { type AuditEntry, recordRefusal, refuse } from './audit.ts';
import type { Actor } from './auth/roles.ts';
import type { Db } from './db.ts';
import { ConflictError, ForbiddenError } from './errors.ts';

/**
 * The answer of a module's `can(actor, action, resource)` (each module's policy.ts): allowed, or refused with the
 * reason in Chinese and its kind. The same answer decides which buttons a page shows and whether a command runs.
 *
 * - `role`: not this actor's duty (another role, another department's, another region's);
 * - `four_eyes`: this actor prepared or changed the thing, so a colleague must take the step;
 * - `state`: the thing is not in a state where the step applies (a page shows no button; a command reached from a
 *   stale page answers with a conflict shown on that page).
 */
export type Decision = { ok: true } | { ok: false; kind: 'role' | 'four_eyes' | 'state'; reason: string };

export const ALLOWED: Decision = { ok: true };
export const refused = (kind: 'role' | 'four_eyes' | 'state', reason: string): Decision => ({ ok: false, kind, reason });

/** The first refusal among the checks, in the order written (role, then state, then four-eyes), or ALLOWED. */
export function firstRefusal(...checks: (() => Decision | null)[]): Decision {
  for (const check of checks) {
    const decision = check();
    if (decision && !decision.ok) return decision;
  }
  return ALLOWED;
}

/** A four-eyes refusal: the step exists, but a colleague must take it. Forms show it on the thing's own page. */
export class FourEyesError extends ForbiddenError {}

/**
 * Enforce a decision in a command. A role refusal is audited (`access.denied`) and answers 403; a four-eyes refusal
 * is audited too and shown on the thing's page (FourEyesError); a state refusal is a ConflictError on that page.
 */
export async function authorize(db: Db, actor: Actor, decision: Decision, target: Omit<AuditEntry, 'action' | 'summary'>): Promise<void> {
  if (!decision.ok) await refuseWith(db, actor, decision, target);
}

export type Refusal = Extract<Decision, { ok: false }>;

/** Answer a refusal as authorize does (for a command that found it inside a transaction it has since left). */
export async function refuseWith(db: Db, actor: Actor, refusal: Refusal, target: Omit<AuditEntry, 'action' | 'summary'>): Promise<never> {
  if (refusal.kind === 'state') throw new ConflictError(refusal.reason);
  if (refusal.kind === 'four_eyes') {
    await recordRefusal(db, actor, { ...target, summary: { reason: 'four_eyes' } });
    throw new FourEyesError(refusal.reason);
  }
  return refuse(db, actor, { ...target, summary: { reason: 'not_allowed' } }, refusal.reason);
}
