import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { type Tx, insertReturningId, nowIso } from '../../core/db.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../core/errors.ts';
import { recordHistory } from './commands.ts';
import { type LineRow, type RoundRow, asRound, roundQuery } from './repo.ts';
import { can } from './policy.ts';

/** The payee's registry account as it now stands, for a reissued line (the bank module reads it from the registry). */
export interface ReissueAccount {
  id: number;
  index: string;
  last4: string;
  bankName: string;
  holderName: string;
}

/**
 * A reissue round (补发批次, Qinghai 二(一)4): lines whose money went back to the treasury, approved for reissue by
 * the bank module's chain (township, department, finance section), paid in a later round of the same policy and
 * period. Each line copies the original's tier, quantity and amount, carries the payee's registry account as it
 * now stands, and is marked `reissue`: the "already paid this period" check lets it through, and the budget check
 * does not count it again (its money came back from the original round). The round then goes through the whole
 * flow like any other: check, review, publicity, the finance section's review, release, transfer.
 * Runs inside the caller's transaction (the bank module links each case to its line in the same one).
 */
export async function insertReissueRound(trx: Tx, actor: Actor, originalRoundId: number, items: { lineId: number; account: ReissueAccount }[]): Promise<{ roundId: number; lineIds: Map<number, number> }> {
  const original = (await roundQuery(trx).where('r.id', originalRoundId).first()) as RoundRow | undefined;
  if (!original) throw new NotFoundError('原发放批次不存在');
  // The caller has authorized the step (bank's can 'compile_reissue'); this one is decided by batch's rule too, and
  // inside the caller's transaction a refusal cannot write its own audit row, so it aborts the transaction instead.
  const decision = can(actor, 'create_reissue', asRound(original));
  if (!decision.ok) throw new ForbiddenError(decision.reason);
  const lines = (await trx('batch_line').where({ round_id: originalRoundId }).whereIn('id', items.map((i) => i.lineId)).select('*')) as LineRow[];
  if (lines.length !== items.length) throw new ConflictError('补发明细与原批次不符');
  const now = nowIso();
  const roundId = await insertReturningId(trx, 'batch_round', {
    county_id: original.county_id,
    policy_item_id: original.policy_item_id,
    policy_version_id: original.policy_version_id,
    department_org_id: original.department_org_id,
    kind: 'reissue',
    title: `${original.title}（补发）`.slice(0, 120),
    period: original.period,
    period_year: original.period_year,
    period_end: original.period_end,
    payee: original.payee,
    unit: original.unit,
    means_tested: original.means_tested,
    state: 'compiling',
    created_by: actor.userId,
    created_at: now,
    updated_by: actor.userId,
    updated_at: now,
  });
  const rosterOf = new Map<number, number>();
  const originalRosters = new Map(((await trx('batch_roster').where({ round_id: originalRoundId }).select('id', 'township_id')) as { id: number; township_id: number }[]).map((r) => [r.id, r.township_id]));
  const account = new Map(items.map((i) => [i.lineId, i.account]));
  const lineIds = new Map<number, number>();
  for (const line of lines) {
    const townshipId = originalRosters.get(line.roster_id)!;
    if (!rosterOf.has(townshipId)) rosterOf.set(townshipId, await insertReturningId(trx, 'batch_roster', { round_id: roundId, township_id: townshipId, state: 'draft', last_changed_by: actor.userId, last_changed_at: now, created_at: now, updated_at: now }));
    const a = account.get(line.id)!;
    const id = await insertReturningId(trx, 'batch_line', {
      roster_id: rosterOf.get(townshipId),
      round_id: roundId,
      person_id: line.person_id,
      household_id: line.household_id,
      village_id: line.village_id,
      person_name: line.person_name,
      id_masked: line.id_masked,
      id_index: line.id_index,
      account_id: a.id,
      account_index: a.index,
      account_last4: a.last4,
      bank_name: a.bankName,
      holder_name: a.holderName,
      policy_version_id: line.policy_version_id,
      tier_name: line.tier_name,
      standard_fen: line.standard_fen,
      quantity_milli: line.quantity_milli,
      amount_fen: line.amount_fen,
      state: 'active',
      changed_after_publicity: false,
      reissue: true,
      source: 'reissue',
      created_by: actor.userId,
      created_at: now,
      updated_by: actor.userId,
      updated_at: now,
    });
    lineIds.set(line.id, id);
  }
  await recordHistory(trx, actor, { roundId, action: 'round.create', to: 'compiling', reason: `补发：原批次 ${original.title}，${lines.length} 人` });
  await recordAudit(trx, actor, { action: 'batch.round.reissue', objectType: 'round', objectId: roundId, summary: { original: originalRoundId, lines: lines.length } });
  return { roundId, lineIds };
}
