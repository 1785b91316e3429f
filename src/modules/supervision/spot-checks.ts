import type { Actor } from '../../core/auth/roles.ts';
import { recordAudit } from '../../core/audit.ts';
import { authorize } from '../../core/authz.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { openDeadline } from '../../core/deadlines.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { lineFacts, roundInScope, roundLinePopulation } from '../batch/index.ts';
import { DRAW_METHOD, drawSample, newSeed, populationDigest } from './draw.ts';
import { SUPERVISION_DEADLINES } from './deadlines.ts';
import { can } from './policy.ts';
import { type DrawInput, OUTCOMES, type Phase, phaseMismatch, type Scope, type Unit, type VisitInput } from './spot-check-schemas.ts';

/**
 * Spot checks (抽查, issue 17 item 4): a supervisor draws a sample of a round's lines or of their people (of one village
 * of it, or of every round of its policy item and period) from a recorded seed (draw.ts), at the phase the round's state
 * allows, visits each item and records what was found; a visit found 不属实 opens a finding (findings.ts) in the same
 * transaction, with its clock.
 */
export interface SampleRow {
  id: number;
  county_id: number;
  region_path: string;
  scope: Scope;
  round_id: number;
  village_id: number | null;
  policy_item_id: number | null;
  period: string | null;
  phase: Phase;
  unit: Unit;
  method: string;
  seed: string;
  seed_source: 'random' | 'typed';
  population: number;
  population_digest: string;
  /** What a county's move to a central deployment added to its ids (core/county-move.ts): the digest is of the ids before. */
  id_offset: number;
  size: number;
  drawn_by: number;
  drawn_at: string;
}

export async function sampleInScope(core: Core, actor: Actor, sampleId: number): Promise<SampleRow> {
  const sample = (await core.db('supervision_sample').where({ id: sampleId }).first()) as SampleRow | undefined;
  if (!sample) throw new NotFoundError('抽查不存在');
  await authorize(core.db, actor, can(actor, 'view_sample', sample), { objectType: 'supervision_sample', objectId: sampleId });
  return sample;
}

/** One member of a population: its id (a line's, or a person's), and the line that stands for it. */
interface Member {
  id: number;
  line_id: number;
  person_id: number;
  township_id: number;
  village_id: number;
}

/**
 * The population of a sample as it stands now (batch's roundLinePopulation: active lines in scope, by line id). For
 * lines, each line; for people, each distinct person of those lines, represented by their first (lowest id) line.
 */
async function populationOf(db: Conn, unit: Unit, scope: { roundId: number; villageId: number | null; samePolicyPeriod: boolean; regionPath: string }): Promise<Member[]> {
  const lines = (await roundLinePopulation(db, scope)).map((l) => ({ line_id: Number(l.line_id), person_id: Number(l.person_id), township_id: Number(l.township_id), village_id: Number(l.village_id) }));
  if (unit === 'line') return lines.map((l) => ({ id: l.line_id, ...l }));
  const people = new Map<number, Member>();
  for (const l of lines) if (!people.has(l.person_id)) people.set(l.person_id, { id: l.person_id, ...l });
  return [...people.values()];
}

/** The population's size in words: 12 条明细, 10 人. */
export function countOf(unit: Unit, n: number): string {
  return unit === 'person' ? `${n} 人` : `${n} 条明细`;
}

/** Draw a sample: the population as it stands now, the seed typed or fresh, the items in draw order; audited. */
export async function drawSpotCheck(core: Core, actor: Actor, input: DrawInput): Promise<{ id: number; size: number; population: number }> {
  await authorize(core.db, actor, can(actor, 'draw_sample', null), { objectType: 'supervision_sample' });
  const round = await roundInScope(core.db, actor, input.roundId);
  const mismatch = phaseMismatch(input.phase, round.state);
  if (mismatch) throw new ValidationError({ phase: mismatch });
  // A county's (or higher) supervisor draws from the county's lines; a township's, from its township's only.
  const regionPath = actor.regionPath.length > round.county_path.length ? actor.regionPath : round.county_path;
  const villageId = input.scope === 'village' ? input.villageId : null;
  const population = await populationOf(core.db, input.unit, { roundId: round.id, villageId, samePolicyPeriod: input.scope === 'policy', regionPath });
  if (population.length === 0) throw new ValidationError(villageId ? { villageId: '该批次在此村（社区）没有有效的发放明细，无从抽取' } : { roundId: '所选范围没有有效的发放明细，无从抽取' });
  if (input.size > population.length) throw new ValidationError({ size: `抽取数量不能超过总体数量（${countOf(input.unit, population.length)}）` });
  const seed = input.seed ?? newSeed();
  const drawn = drawSample(seed, population, input.size);
  const digest = populationDigest(population.map((p) => p.id).sort((a, b) => a - b));
  return inTransaction(core.db, async (trx) => {
    const id = await insertReturningId(trx, 'supervision_sample', {
      county_id: round.county_id,
      region_path: regionPath,
      scope: input.scope,
      round_id: round.id,
      village_id: villageId,
      policy_item_id: input.scope === 'policy' ? round.policy_item_id : null,
      period: input.scope === 'policy' ? round.period : null,
      phase: input.phase,
      unit: input.unit,
      method: DRAW_METHOD,
      seed,
      seed_source: input.seed ? 'typed' : 'random',
      population: population.length,
      population_digest: digest,
      size: drawn.length,
      drawn_by: actor.userId,
      drawn_at: nowIso(),
    });
    await trx('supervision_sample_item').insert(drawn.map((p, i) => ({ sample_id: id, position: i + 1, line_id: p.line_id, person_id: p.person_id, township_id: p.township_id, village_id: p.village_id })));
    await recordAudit(trx, actor, { action: 'supervision.sample.draw', objectType: 'supervision_sample', objectId: id, summary: { round: round.id, scope: input.scope, village: villageId, unit: input.unit, phase: input.phase, method: DRAW_METHOD, seed, population: population.length, digest, size: drawn.length } });
    return { id, size: drawn.length, population: population.length };
  });
}

/** The re-check (重新抽取核验): the draw re-run from the recorded seed over the population as it stands now. */
export interface Recheck {
  digestNow: string;
  populationNow: number;
  populationSame: boolean;
  /** The draw re-run over the population of today (when it is unchanged, the recorded one). */
  itemsSame: boolean;
  redrawn: number[];
}

/** `recorded`: the items' ids in the sample's unit (line ids, or person ids for a sample of people), in draw order. */
export async function recheckSample(core: Core, sample: SampleRow, recorded: number[]): Promise<Recheck> {
  const population = await populationOf(core.db, sample.unit, { roundId: sample.round_id, villageId: sample.village_id, samePolicyPeriod: sample.scope === 'policy', regionPath: sample.region_path });
  const offset = Number(sample.id_offset);
  const digestNow = populationDigest(population.map((p) => p.id - offset).sort((a, b) => a - b));
  const redrawn = population.length >= sample.size ? drawSample(sample.seed, population, sample.size).map((p) => p.id) : [];
  return { digestNow, populationNow: population.length, populationSame: digestNow === sample.population_digest, itemsSame: redrawn.length === recorded.length && redrawn.every((id, i) => id === recorded[i]), redrawn };
}

/** The column of supervision_sample_item that holds an item's id in the sample's unit. */
export function itemColumn(unit: Unit): 'line_id' | 'person_id' {
  return unit === 'person' ? 'person_id' : 'line_id';
}

export interface SampleItemView {
  id: number;
  position: number;
  line_id: number;
  person_name: string;
  id_masked: string;
  township_id: number;
  village_id: number;
  amount_fen: number;
  visits: { visited_on: string; visitor: string; outcome: string; note: string; finding_id: number | null }[];
}

/** The items with the line's masked facts (batch's lineFacts: the staff mask, never a full ID) and their visits. */
export async function sampleItems(db: Conn, sampleId: number): Promise<SampleItemView[]> {
  const items: { id: number; position: number; line_id: number; township_id: number; village_id: number }[] = await db('supervision_sample_item').where({ sample_id: sampleId }).orderBy('position');
  const facts = new Map((await lineFacts(db, items.map((i) => Number(i.line_id)))).map((f) => [Number(f.line_id), f]));
  const visits: { item_id: number; visited_on: string; visitor: string; outcome: keyof typeof OUTCOMES; note: string; finding_id: number | null }[] = items.length
    ? await db('supervision_visit').whereIn('item_id', items.map((i) => i.id)).orderBy('id')
    : [];
  return items.map((i) => {
    const f = facts.get(Number(i.line_id));
    return {
      id: i.id,
      position: i.position,
      line_id: Number(i.line_id),
      person_name: f?.person_name ?? '',
      id_masked: f?.id_masked ?? '',
      township_id: i.township_id,
      village_id: i.village_id,
      amount_fen: Number(f?.amount_fen ?? 0),
      visits: visits.filter((v) => v.item_id === i.id).map((v) => ({ ...v, outcome: OUTCOMES[v.outcome] ?? v.outcome })),
    };
  });
}

/**
 * Record a visit to an item (走访核实). 不属实 opens a finding in the same transaction, assigned to the item's township and
 * the round's department, with its clock (supervision_finding, working days).
 */
export async function recordVisit(core: Core, actor: Actor, sampleId: number, itemId: number, input: VisitInput): Promise<{ findingId: number | null }> {
  const sample = (await core.db('supervision_sample').where({ id: sampleId }).first()) as SampleRow | undefined;
  if (!sample) throw new NotFoundError('抽查不存在');
  await authorize(core.db, actor, can(actor, 'record_visit', sample), { objectType: 'supervision_sample', objectId: sampleId });
  const item: { id: number; position: number; line_id: number; township_id: number } | undefined = await core.db('supervision_sample_item').where({ id: itemId, sample_id: sampleId }).first();
  if (!item) throw new NotFoundError('抽查对象不存在');
  const [facts] = await lineFacts(core.db, [Number(item.line_id)]);
  if (!facts) throw new NotFoundError('发放明细不存在');
  const township: { id: number; path: string; name: string } = await core.db('core_region').where({ id: item.township_id }).first('id', 'path', 'name');
  return inTransaction(core.db, async (trx) => {
    const now = nowIso();
    let findingId: number | null = null;
    const visitId = await insertReturningId(trx, 'supervision_visit', { item_id: item.id, visited_on: input.visitedOn, visitor: input.visitor, outcome: input.outcome, note: input.note, finding_id: null, recorded_by: actor.userId, recorded_at: now });
    if (input.outcome === 'false') {
      const title = `抽查不属实：${facts.round_title}（抽查 ${sampleId} 第 ${item.position} 条）`;
      findingId = await insertReturningId(trx, 'supervision_finding', {
        source: 'spot_check',
        source_ref: `visit:${visitId}`,
        region_id: township.id,
        region_path: township.path,
        department_org_id: facts.department_org_id,
        title,
        evidence: `${input.visitedOn} ${input.visitor} 走访核实：${input.note}`,
        evidence_json: JSON.stringify({ sample: sampleId, item: item.id, line: Number(item.line_id), round: facts.round_id, visit: visitId }),
        state: 'open',
        opened_by: actor.userId,
        opened_at: now,
      });
      await trx('supervision_visit').where({ id: visitId }).update({ finding_id: findingId });
      await openDeadline(trx, actor, { rule: SUPERVISION_DEADLINES.supervision_finding, objectType: 'supervision_finding', objectId: findingId, regionId: township.id, title: `答复问题线索 ${findingId}（${township.name}）` });
      await recordAudit(trx, actor, { action: 'supervision.finding.open', objectType: 'supervision_finding', objectId: findingId, summary: { source: 'spot_check', visit: visitId, township: township.id, department: facts.department_org_id } });
    }
    await recordAudit(trx, actor, { action: 'supervision.visit.record', objectType: 'supervision_sample', objectId: sampleId, summary: { item: item.id, position: item.position, outcome: input.outcome, visited_on: input.visitedOn, finding: findingId } });
    return { findingId };
  });
}
