import { describe, expect, it } from 'vitest';
import { SAME_STEPS, sqliteRun } from '../../bench/run.ts';

/** A run's JSON line as `npm run bench -- --json` prints it last. */
const runLine = (db: string, figures: Record<string, number>) => JSON.stringify({ db, scale: 1, figures: Object.fromEntries(Object.entries(figures).map(([name, value]) => [name, { value, unit: 's', target: 5, referenceTarget: 5, ok: true }])) });
const allSteps = Object.fromEntries(SAME_STEPS.map((name, i) => [name, i + 1.5]));

describe('the bench compares a PostgreSQL run with an SQLite one (issue 18, item 5)', () => {
  it("reads the six steps from the last line of an SQLite run's output, the table before it left aside", () => {
    const text = `性能基准（sqlite，2 核）\nregistry_import_50k_s 4.36 s\n${runLine('sqlite', { ...allSteps, raw_sqlite_insert_rows_per_s: 300_000 })}\n`;
    expect(sqliteRun(text)).toEqual(Object.fromEntries(SAME_STEPS.map((name, i) => [name, { value: i + 1.5 }])));
  });

  it('refuses, saying why, a file that is no JSON, a PostgreSQL run, or a run without one of the steps', () => {
    expect(() => sqliteRun('性能基准（sqlite，2 核）\n')).toThrow('不是 npm run bench -- --json 输出的 JSON');
    expect(() => sqliteRun(runLine('postgresql', allSteps))).toThrow('应为 SQLite 的基准结果，此文件是 postgresql 的');
    const { round_release_500k_s: _left, ...withoutRelease } = allSteps;
    expect(() => sqliteRun(runLine('sqlite', withoutRelease))).toThrow('文件中没有 round_release_500k_s 的数值');
  });
});
