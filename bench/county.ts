import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/core/config.ts';
import type { Core } from '../src/core/context.ts';
import { createFieldCrypto } from '../src/core/crypto.ts';
import { createDb, isPostgres, migrate } from '../src/core/db.ts';
import { seededRandom } from '../src/core/random.ts';
import { seedDemo } from '../seeds/demo.ts';
import { type BuiltCounty, buildCounty } from './county-build.ts';
import { BenchClient, percentile, startServer } from './http.ts';

/**
 * Child process of `npm run bench` for the county of a million people (issue 18, item 4, built by county-build.ts).
 * Then 50 users, each waiting 3 s on average between pages (a clerk at work reads for longer; this is not a load generator), ask for their home
 * pages, registry searches by name, people's pages with all their payments, and the first page of the 50,000-line
 * roster of the farmland subsidy's largest township; each figure is the p95 of those requests.
 * On SQLite the built database is kept in a cache (YKT_BENCH_CACHE, default ~/.cache/ykt-bench) under a key of
 * everything that shapes it (migrations, seeds, the build), and later runs start from a copy of it.
 * Arguments: database URL, PostgreSQL schema ('' for SQLite), the demo users' password. Prints one JSON line
 * {buildSeconds, cached, databaseSizeMb, lines, home, search, person, roster}.
 */
const USERS = 50;
const THINK_MS = 3000;

/** The cache file of a county built from these sources, and its build's facts beside it. */
function cachePaths(password: string): { file: string; facts: string } {
  const root = path.join(import.meta.dirname, '..');
  const hash = createHash('sha256').update(password);
  const sources = ['migrations/checksums.json', 'bench/county-build.ts', ...fs.readdirSync(path.join(root, 'seeds')).map((f) => `seeds/${f}`)].sort();
  for (const f of sources) hash.update(f).update(fs.readFileSync(path.join(root, f)));
  const dir = process.env.YKT_BENCH_CACHE || path.join(os.homedir(), '.cache', 'ykt-bench');
  const key = hash.digest('hex').slice(0, 16);
  return { file: path.join(dir, `county-${key}.sqlite`), facts: path.join(dir, `county-${key}.json`) };
}

/** The database's size on disk in MB: the SQLite file (its WAL checkpointed), or the schema's tables and indexes. */
async function databaseMb(core: Core, databaseUrl: string, schema: string): Promise<number> {
  if (isPostgres(core.db)) {
    const result = await core.db.raw(`SELECT coalesce(sum(pg_total_relation_size(quote_ident(schemaname) || '.' || quote_ident(tablename))), 0)::bigint AS bytes FROM pg_tables WHERE schemaname = ?`, [schema]);
    return Number(result.rows[0].bytes) / 1024 / 1024;
  }
  await core.db.raw('PRAGMA wal_checkpoint(TRUNCATE)');
  return fs.statSync(databaseUrl).size / 1024 / 1024;
}

/**
 * USERS browsers, each logged in as one of `logins` (in turn, one after the other: parallel logins from one address
 * are throttled), asking `requests` pages each, waiting THINK_MS (± half, seeded) between them; the p95 in ms.
 */
async function underLoad(base: string, password: string, logins: string[], requests: number, pathOf: () => string): Promise<number> {
  const rnd = seededRandom(USERS);
  const browsers: BenchClient[] = [];
  for (let i = 0; i < USERS; i++) browsers.push(await new BenchClient(base).login(logins[i % logins.length]!, password));
  // Each browser's first page before the clock (templates compiled, caches warm).
  for (const b of browsers) await b.get(pathOf());
  const times: number[] = [];
  const pause = () => new Promise((resolve) => setTimeout(resolve, THINK_MS * (0.5 + rnd())));
  await Promise.all(
    browsers.map(async (b) => {
      await pause();
      for (let r = 0; r < requests; r++) {
        times.push(await b.get(pathOf()));
        await pause();
      }
    }),
  );
  return percentile(times, 95);
}

const [databaseUrl, schema, password] = process.argv.slice(2) as [string, string, string];
const config = loadConfig({ YKT_SECRET_KEY: 'bench-secret-key-0123456789abcdef0123', DATABASE_URL: databaseUrl, YKT_SCRYPT_LOG_N: '10' });
const cache = schema ? null : cachePaths(password);
const cached = cache !== null && fs.existsSync(cache.file) && fs.existsSync(cache.facts);
if (cached) fs.copyFileSync(cache.file, databaseUrl);
const core: Core = { db: createDb(databaseUrl, { schema: schema || undefined }), config, crypto: createFieldCrypto(config.secretKey) };
try {
  let built: BuiltCounty & { buildSeconds: number };
  if (cached) {
    built = JSON.parse(fs.readFileSync(cache.facts, 'utf8'));
  } else {
    await migrate(core.db);
    await seedDemo(core, password);
    const started = process.hrtime.bigint();
    const county = await buildCounty(core);
    // A county's database in service has been by autovacuum: statistics taken, and the visibility map set, so that
    // reads such as a roster page's village totals come from an index alone. A database just loaded has neither, and
    // the bench does not wait minutes for autovacuum: it vacuums and analyses it now (in the build's time).
    if (isPostgres(core.db)) {
      const tables = (await core.db.raw("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).rows as { tablename: string }[];
      await core.db.raw(`VACUUM (ANALYZE) ${tables.map(() => '??').join(', ')}`, tables.map((t) => t.tablename));
    }
    built = { ...county, buildSeconds: Number(process.hrtime.bigint() - started) / 1e9 };
  }
  const databaseSizeMb = await databaseMb(core, databaseUrl, schema);
  if (cache && !cached) {
    fs.mkdirSync(path.dirname(cache.file), { recursive: true });
    fs.copyFileSync(databaseUrl, `${cache.file}.part`);
    fs.renameSync(`${cache.file}.part`, cache.file);
    fs.writeFileSync(cache.facts, JSON.stringify(built));
  }
  const lines = Number((await core.db('batch_line').count({ n: '*' }).first())!.n);

  // What the load asks for, of 城关镇 (whose users see them too): names in the registry, people paid every month.
  const rnd = seededRandom(7);
  const town = core.db('core_region').where({ parent_id: built.townId }).select('id');
  const names = ((await core.db('beneficiary_person').whereIn('village_id', town).whereRaw('id % 97 = 0').limit(2000).select('name')) as { name: string }[]).map((p) => p.name);
  const june = core.db('batch_round').where({ period: '2026-06' }).select('id');
  const paidMonthly = ((await core.db('batch_line').whereIn('round_id', june).whereIn('village_id', town).whereRaw('person_id % 13 = 0').limit(2000).select('person_id')) as { person_id: number }[]).map((l) => Number(l.person_id));
  const any = <T>(list: T[]) => list[Math.floor(rnd() * list.length)]!;

  const server = await startServer(core);
  try {
    const readers = ['station1', 'finance1', 'supervisor'];
    const home = await underLoad(server.base, password, ['station1', 'finance1', 'dept_agri', 'dept_civil', 'bank', 'supervisor'], 12, () => '/');
    const search = await underLoad(server.base, password, readers, 8, () => `/beneficiaries?name=${encodeURIComponent(any(names))}`);
    const person = await underLoad(server.base, password, readers, 8, () => `/beneficiaries/${any(paidMonthly)}`);
    const roster = await underLoad(server.base, password, ['station1', 'finance1'], 5, () => `/rosters/${built.bigRoster}`);
    process.stdout.write(`${JSON.stringify({ buildSeconds: built.buildSeconds, cached, databaseSizeMb, lines, home, search, person, roster })}\n`);
  } finally {
    server.close();
  }
} finally {
  await core.db.destroy();
}
