import { loadActor } from '../src/core/auth/actor.ts';
import type { Core } from '../src/core/context.ts';
import { inTransaction, reserveIds } from '../src/core/db.ts';
import { requestScreening, runQueuedScreenings } from '../src/modules/supervision/screenings.ts';

/** Lines the figure screens: the batch figures leave 700,000 paid lines; a copy of 300,000 of them as last year's round makes 1,000,000. */
export const SCREENED_LINES = 1_000_000;

/**
 * screening_1m_lines_s: every screening rule (screening/engine.ts) over 1,000,000 paid lines of two years — the
 * batch figures' released 500,000-line round and transferred 200,000-line round, and 300,000 of the first copied as
 * the same policy's round of the year before (so that the rules comparing periods compare two) — from the queued run
 * to its recorded hits, as the supervisor's background task does it.
 */
export async function screeningFigure(core: Core, releasedRound: number): Promise<number> {
  const db = core.db;
  const round = await db('batch_round').where({ id: releasedRound }).first();
  const copy = 300_000;
  await inTransaction(db, async (trx) => {
    const [roundId] = await reserveIds(trx, 'batch_round', 1);
    const { id: _id, ...fields } = round;
    await trx('batch_round').insert({ ...fields, id: roundId, title: `${round.title}（上年）`, period: '2025', period_end: '2025-12-31', period_year: 2025, state: 'transferred' });
    const rosters = await trx('batch_roster').where({ round_id: releasedRound }).orderBy('id');
    const rosterIds = await reserveIds(trx, 'batch_roster', rosters.length);
    const mapped = new Map<number, number>();
    for (const [i, s] of rosters.entries()) {
      const { id, ...rest } = s;
      mapped.set(Number(id), rosterIds[i]!);
      await trx('batch_roster').insert({ ...rest, id: rosterIds[i], round_id: roundId });
    }
    const columns = (Object.keys(await trx('batch_line').first()) as string[]).filter((c) => c !== 'id' && c !== 'round_id' && c !== 'roster_id');
    const roster = `CASE ${[...mapped].map(([from, to]) => `WHEN roster_id = ${from} THEN ${to}`).join(' ')} END`;
    await trx.raw(`INSERT INTO batch_line (round_id, roster_id, ${columns.join(', ')}) SELECT ${roundId}, ${roster}, ${columns.join(', ')} FROM batch_line WHERE round_id = ? AND state = 'active' ORDER BY id LIMIT ${copy}`, [releasedRound]);
  });
  const supervisor = (await loadActor(db, { username: 'supervisor' }, null))!.actor;
  const started = process.hrtime.bigint();
  const { id } = await requestScreening(core, supervisor, { from: '2025-01-01', to: '2026-12-31' });
  const { built } = await runQueuedScreenings(core);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const run = await db('supervision_screening').where({ id }).first('lines_screened', 'state', 'error');
  if (built !== 1 || run.state !== 'done') throw new Error(`screening ${run.state}: ${run.error ?? ''}`);
  if (Number(run.lines_screened) < SCREENED_LINES) throw new Error(`screening covered ${run.lines_screened} lines, not ${SCREENED_LINES}`);
  return seconds;
}
