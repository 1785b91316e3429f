import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteConnection } from '../src/core/sqlite-client.ts';
import { recordAudit } from '../src/core/audit.ts';
import { loadConfig } from '../src/core/config.ts';
import { createFieldCrypto } from '../src/core/crypto.ts';
import type { Core } from '../src/core/context.ts';
import { createDb, inTransaction, migrate } from '../src/core/db.ts';
import { writeTableXlsx } from '../src/core/spreadsheet.ts';
import { seedDemo } from '../seeds/demo.ts';
import { screeningFigure } from './screening.ts';
import { insertedSince, pgWriter, rawWriter, registryFloor, resultFloor, shapeOf, tableMarks } from './floors.ts';
import { batchFigures } from './batch.ts';
import { publicityFigures } from './publicity.ts';
import { withPeakRss } from './memory.ts';
import { REGISTRY_FILE_HEADER, fakeHouseholds, registryFileRows } from '../seeds/fake-people.ts';

/**
 * `npm run bench`: builds a fresh database, measures, prints a table; with --json the last line is
 * {"db": "...", "scale": n, "figures": {"<name>": {"value", "unit", "target", "referenceTarget", "ok"}}}. Targets are
 * set for the reference machine (docs/architecture.md) and scaled by this run's raw baseline (below), so that a
 * slower or faster machine gets the same verdict; figures without a target are baselines measured in the same run.
 */
export interface Figure {
  value: number;
  unit: string;
  /** The target on the reference machine: upper bound for times and sizes, lower bound for rates (units ending in "/s"); null for a baseline. */
  referenceTarget: number | null;
  /** The target on this machine: a time's reference target scaled by the run's speed (RUN_SCALE); sizes and rates as they are. */
  target: number | null;
  /** For a bulk figure: its floor measured in the same run (floors.ts) and the figure's ratio to it, whose target is FLOOR_RATIO. */
  floor?: number;
  ratio?: number;
  /** For a bulk step: the peak resident memory (MB) while it ran (bench/memory.ts; a child process's own for the two imports). */
  peakRssMb?: number;
  ok: boolean;
}

/** How far above its floor a bulk figure may be (issue 18). */
export const FLOOR_RATIO = 1.5;

/** A bulk step's figure with the peak resident memory while it ran (printed beside it, not judged: the imports' own *_peak_rss_mb figures are). */
const withRss = (f: Figure, peakRssMb: number): Figure => ({ ...f, peakRssMb });

/** A figure with its floor: the ratio is part of its verdict. */
function withFloor(f: Figure, floor: number): Figure {
  return { ...f, floor: Math.round(floor * 100) / 100, ratio: Math.round((f.value / floor) * 100) / 100 };
}

type Figures = Record<string, Figure>;

const isRate = (unit: string) => unit.endsWith('/s');
const isTime = (unit: string) => unit === 's' || unit === 'ms';

/**
 * The raw baseline (raw_sqlite_insert_rows_per_s) on the reference machine where the targets were set: a machine half
 * as fast measured 135,000 rows/s where the reference gave twice that (issue 18). A run's time targets are the
 * reference's multiplied by REFERENCE_RAW_ROWS_PER_S / the run's own baseline. The targets were set with the sqlite3
 * driver's baseline (270,000 rows/s); the baseline now writes through better-sqlite3 in its worker thread, which wrote
 * 1.29 times as fast on one machine (medians of four runs each, alternating: 302,000 against 234,000 rows/s), so that
 * the reference is 270,000 × 1.29.
 */
export const REFERENCE_RAW_ROWS_PER_S = 348_000;

function figure(value: number, unit: string, referenceTarget: number | null = null): Figure {
  return { value: Math.round(value * 100) / 100, unit, referenceTarget, target: referenceTarget, ok: true };
}

/** Each figure's target on this machine and its verdict. */
function judge(figures: Figures, scale: number): void {
  for (const f of Object.values(figures)) {
    if (f.referenceTarget === null) continue;
    f.target = isTime(f.unit) ? Math.round(f.referenceTarget * scale * 100) / 100 : f.referenceTarget;
    f.ok = isRate(f.unit) ? f.value >= f.target : f.value <= f.target;
  }
  for (const f of Object.values(figures)) if (f.ratio !== undefined && f.ratio > FLOOR_RATIO) f.ok = false;
}

/**
 * Item 5 of issue 18: on PostgreSQL each of these steps takes at most SAME_STEP_RATIO times what it took on SQLite on
 * the same machine. A PostgreSQL run given `--against FILE` (the JSON line of an SQLite run, `--json`) adds for each a
 * figure `<name>_vs_sqlite`: its time divided by SQLite's, judged against that bound. The times are compared as they
 * are: dividing each by its run's speed factor was tried, and one run's baseline, a second's measurement, moved the
 * ratios by half (the release read 0.98 where the times gave 1.45); the two runs should follow one another on a
 * quiet machine.
 */
export const SAME_STEPS = ['registry_import_50k_s', 'roster_check_submit_50k_s', 'round_release_500k_s', 'roster_page_50k_ms', 'payout_file_200k_s', 'result_import_200k_s'] as const;
export const SAME_STEP_RATIO = 1.2;

/** The SQLite run's figures from its `--json` output (its last line), for `--against`; refused with a reason otherwise. */
export function sqliteRun(text: string): Record<string, { value: number }> {
  let run: { db?: unknown; figures?: Record<string, { value?: unknown }> };
  try {
    run = JSON.parse(text.trim().split('\n').at(-1) ?? '');
  } catch {
    throw new Error('--against：文件的最后一行不是 npm run bench -- --json 输出的 JSON');
  }
  if (run.db !== 'sqlite') throw new Error(`--against：应为 SQLite 的基准结果，此文件是 ${String(run.db)} 的`);
  const figures: Record<string, { value: number }> = {};
  for (const name of SAME_STEPS) {
    const value = run.figures?.[name]?.value;
    if (typeof value !== 'number' || !(value > 0)) throw new Error(`--against：文件中没有 ${name} 的数值`);
    figures[name] = { value };
  }
  return figures;
}

/** Figures without a target that measure the machine; the others without one are recorded only. */
const isBaseline = (name: string) => name.startsWith('raw_') || name === 'audited_changes_per_s';

const RAW_ROWS = 200_000;

/**
 * Baseline: plain prepared INSERTs of registry-like rows in one transaction, straight through the driver as the
 * platform runs it: better-sqlite3 on a connection of its own in a worker thread (src/core/sqlite-client.ts), since a
 * statement on the event loop would stop every page. (better-sqlite3 on the event loop wrote 1.39 times as fast here.)
 */
async function rawSqliteInsert(file: string): Promise<number> {
  const db = await SqliteConnection.open(file, { pragmas: 'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;' });
  await db.exec('CREATE TABLE raw_person (id INTEGER PRIMARY KEY, name TEXT, id_enc TEXT, id_index TEXT, village_id INTEGER, account_enc TEXT)');
  // Prepared multi-row INSERTs (500 rows a statement): one driver call per batch, as a bulk path would do.
  const BATCH = 500;
  const insert = `INSERT INTO raw_person (name, id_enc, id_index, village_id, account_enc) VALUES ${Array(BATCH).fill('(?, ?, ?, ?, ?)').join(', ')}`;
  const started = process.hrtime.bigint();
  await db.exec('BEGIN');
  for (let start = 0; start < RAW_ROWS; start += BATCH) {
    const params: (string | number)[] = [];
    for (let i = start; i < start + BATCH; i++) params.push(`姓名${i}`, `v1:${'x'.repeat(60)}${i}`, `${i}`.padStart(64, '0'), i % 300, `v1:${'y'.repeat(50)}${i}`);
    await db.run(insert, params);
  }
  await db.exec('COMMIT');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await db.close();
  return RAW_ROWS / seconds;
}

/** Baseline on PostgreSQL: the same registry-like rows bulk-loaded with COPY in one transaction, by the floors' raw writer. */
async function rawPgCopy(url: string, schema: string): Promise<number> {
  const writer = pgWriter(url, schema);
  try {
    const started = process.hrtime.bigint();
    const rows = Array.from({ length: RAW_ROWS }, (_, i) => [`姓名${i}`, `v1:${'x'.repeat(60)}${i}`, `${i}`.padStart(64, '0'), i % 300, `v1:${'y'.repeat(50)}${i}`]);
    await writer.write('raw_person', ['name', 'id_enc', 'id_index', 'village_id', 'account_enc'], rows);
    return RAW_ROWS / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await writer.close();
  }
}

/** Audited state changes per second: each a transaction that writes one hash-chained audit row. */
async function auditAppends(core: Core, count: number): Promise<number> {
  const who = { userId: null, username: 'bench', ip: null };
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await inTransaction(core.db, (trx) => recordAudit(trx, who, { action: 'bench.change', objectId: i, summary: { i } }));
  }
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

const IMPORT_ROWS = 50_000;
/** The demo users' password in the bench county (the roster page logs in with it). */
const BENCH_PASSWORD = 'Bench#Pass2026';

/**
 * registry_import_50k_s and registry_import_peak_rss_mb: a 50,000-row xlsx of fake people and accounts (built
 * here, in the template's columns) imported by the township station of a fresh demo county, in a child process so that its peak memory is
 * the import's own.
 */
async function registryImport(dir: string, databaseUrl: string, schema: string | undefined): Promise<{ seconds: number; peakRssMb: number; file: string }> {
  const households = fakeHouseholds({ households: Math.ceil(IMPORT_ROWS / 3), villages: ['东关社区', '西街村', '南河村'], seed: 50_000 });
  const file = path.join(dir, 'registry-50k.xlsx');
  // As the template has it: a bank card or passbook row says why it is not a 社保卡 (docs/registry-import-format.md).
  const kind = REGISTRY_FILE_HEADER.indexOf('账户类型');
  const rows = registryFileRows(households)
    .slice(0, IMPORT_ROWS)
    .map((r) => [...r, r[kind] && r[kind] !== '社会保障卡' ? '社保卡尚未发放' : '']);
  fs.writeFileSync(file, await writeTableXlsx('受益对象', [...REGISTRY_FILE_HEADER, '非社保卡原因'], rows));
  return { ...childFigures('registry-import.ts', [databaseUrl, schema ?? '', file]), file };
}

/** Run a bench script in a fresh process (its peak memory is its own) and read its last JSON line. */
function childFigures<T = { seconds: number; peakRssMb: number }>(script: string, args: string[]): T {
  const output = execFileSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, script), ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(output.trim().split('\n').at(-1)!);
}

/** The county of a million people (county.ts), in a database of its own: a file beside the bench's, or a schema. */
async function countyFigures(dir: string, pgUrl: string | undefined) {
  const schema = pgUrl ? `bench_county_${process.pid}` : '';
  const admin = pgUrl ? createDb(pgUrl) : null;
  if (admin) await admin.raw(`CREATE SCHEMA ${schema}`);
  try {
    return childFigures<{ buildSeconds: number; databaseSizeMb: number; home: number; search: number; person: number; roster: number }>('county.ts', [pgUrl ?? path.join(dir, 'county.sqlite'), schema, BENCH_PASSWORD]);
  } finally {
    if (admin) {
      await admin.raw(`DROP SCHEMA ${schema} CASCADE`);
      await admin.destroy();
    }
  }
}

export async function runBench(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, pg: { type: 'string' }, against: { type: 'string' } } });
  if (values.against && !values.pg) throw new Error('--against 用于 PostgreSQL 的运行（--pg URL）：与同一台机器上 SQLite 的结果比较');
  // Read before the run, so that a wrong file is told at once rather than after half an hour.
  const sqlite = values.against ? sqliteRun(fs.readFileSync(values.against, 'utf8')) : null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-bench-'));
  const figures: Figures = {};
  const dbName = values.pg ? 'postgresql' : 'sqlite';
  const databaseUrl = values.pg ?? path.join(dir, 'bench.sqlite');
  const config = loadConfig({ YKT_SECRET_KEY: 'bench-secret-key-0123456789abcdef0123', DATABASE_URL: databaseUrl, YKT_DATA_DIR: dir });
  const schema = values.pg ? `bench_${process.pid}` : undefined;
  if (values.pg) {
    const admin = createDb(values.pg);
    await admin.raw(`CREATE SCHEMA ${schema}`);
    await admin.destroy();
  }
  const core: Core = { db: createDb(databaseUrl, { schema }), config, crypto: createFieldCrypto(config.secretKey) };
  try {
    figures.raw_sqlite_insert_rows_per_s = figure(await rawSqliteInsert(path.join(dir, 'raw.sqlite')), 'rows/s');
    if (values.pg) figures.raw_pg_copy_rows_per_s = figure(await rawPgCopy(values.pg, schema!), 'rows/s');
    await migrate(core.db);
    figures.audited_changes_per_s = figure(await auditAppends(core, 2000), 'changes/s');
    await seedDemo(core, BENCH_PASSWORD);
    const writer = rawWriter(dir, values.pg, schema);
    let marks = await tableMarks(core.db);
    const registry = await registryImport(dir, databaseUrl, schema);
    figures.registry_import_50k_s = withRss(withFloor(figure(registry.seconds, 's', 5), await registryFloor(writer, core.crypto, registry.file, await insertedSince(core.db, marks), values.pg ? null : await shapeOf(core.db, 'beneficiary_name_gram'))), registry.peakRssMb);
    figures.registry_import_peak_rss_mb = figure(registry.peakRssMb, 'MB', 300);
    const resultFile = path.join(dir, 'results-200k.csv');
    const batch = await batchFigures(core, BENCH_PASSWORD, resultFile);
    figures.roster_check_submit_50k_s = withRss(figure(batch.checkSubmit, 's', 5), batch.peakRssMb.checkSubmit);
    figures.round_release_500k_s = withRss(figure(batch.release, 's', 30), batch.peakRssMb.release);
    figures.home_page_p95_during_release_ms = figure(batch.homeP95, 'ms', 200);
    figures.roster_page_50k_ms = figure(batch.page, 'ms', 200);
    figures.payout_file_200k_s = withRss(withFloor(figure(batch.payout, 's', 5), batch.payoutFloor), batch.peakRssMb.payout);
    marks = await tableMarks(core.db);
    const results = childFigures('result-import.ts', [databaseUrl, schema ?? '', config.secretKey, String(batch.payoutRound), resultFile]);
    figures.result_import_200k_s = withRss(withFloor(figure(results.seconds, 's', 10), await resultFloor(writer, resultFile, await insertedSince(core.db, marks))), results.peakRssMb);
    await writer.close();
    figures.result_import_peak_rss_mb = figure(results.peakRssMb, 'MB', 400);
    const screening = await withPeakRss(() => screeningFigure(core, batch.releasedRound));
    figures.screening_1m_lines_s = withRss(figure(screening.result, 's', 60), screening.peakRssMb);
    const sheet = await publicityFigures();
    figures.publicity_pdf_2000_s = figure(sheet.seconds, 's', 3);
    figures.publicity_pdf_2000_kb = figure(sheet.kb, 'KB', 600);
    const county = await countyFigures(dir, values.pg);
    figures.county_1m_build_s = figure(county.buildSeconds, 's');
    figures.county_1m_db_mb = figure(county.databaseSizeMb, 'MB');
    figures.home_page_p95_ms_50_users = figure(county.home, 'ms', 100);
    figures.registry_search_p95_ms_50_users = figure(county.search, 'ms');
    figures.person_page_p95_ms_50_users = figure(county.person, 'ms');
    figures.roster_page_50k_p95_ms_50_users = figure(county.roster, 'ms');
  } finally {
    await core.db.destroy();
    if (values.pg) {
      const admin = createDb(values.pg);
      await admin.raw(`DROP SCHEMA ${schema} CASCADE`);
      await admin.destroy();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const scale = REFERENCE_RAW_ROWS_PER_S / figures.raw_sqlite_insert_rows_per_s!.value;
  if (sqlite) for (const name of SAME_STEPS) figures[`${name}_vs_sqlite`] = figure(figures[name]!.value / sqlite[name]!.value, '×', SAME_STEP_RATIO);
  judge(figures, scale);
  const bound = (f: Figure, target: number) => `${isRate(f.unit) ? '≥' : '≤'} ${target}`;
  const rows = Object.entries(figures).map(([name, f]) => {
    const target = f.target === null ? (isBaseline(name) ? '基线' : '仅记录') : `${bound(f, f.target)}${isTime(f.unit) ? `（参考机 ${bound(f, f.referenceTarget!)}）` : ''}`;
    const floor = f.floor === undefined ? '' : `下限 ${f.floor} ${f.unit}，比值 ${f.ratio}（≤ ${FLOOR_RATIO}）`;
    const rss = f.peakRssMb === undefined ? '' : `峰值内存 ${Math.round(f.peakRssMb)} MB`;
    return `${name.padEnd(36)} ${String(f.value).padStart(12)} ${f.unit.padEnd(10)} ${target.padEnd(24)} ${floor.padEnd(30)} ${rss.padEnd(16)} ${f.ok ? 'OK' : '未达标'}`;
  });
  process.stdout.write(`性能基准（${dbName}，${os.cpus().length} 核；本机速度为参考机的 ${(1 / scale).toFixed(2)} 倍，时间目标按 ${scale.toFixed(2)} 倍折算）\n${rows.join('\n')}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify({ db: dbName, scale: Math.round(scale * 1000) / 1000, figures })}\n`);
  return Object.values(figures).every((f) => f.ok) ? 0 : 1;
}
