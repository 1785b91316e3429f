#!/usr/bin/env node
// `npm test`: the whole suite on SQLite, then every database-facing test again on PostgreSQL.
// Without a reachable PostgreSQL server the second half is skipped and says so plainly; with
// YKT_REQUIRE_PG=1 (as .ci/run sets) a missing server is a failure instead.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const PG_URL = process.env.YKT_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
/** Test folders that touch a database: these run on both. */
const DB_FOLDERS = ['test/db', 'test/http'];
const extra = process.argv.slice(2);

function vitest(db, folders) {
  const out = path.join(os.tmpdir(), `ykt-vitest-${db}-${process.pid}.json`);
  const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...folders, ...extra];
  const res = spawnSync('npx', args, { stdio: 'inherit', env: { ...process.env, YKT_TEST_DB: db } });
  let counts = { passed: 0, failed: 0, skipped: 0 };
  if (fs.existsSync(out)) {
    const r = JSON.parse(fs.readFileSync(out, 'utf8'));
    counts = { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + r.numTodoTests };
    // The names of the failed tests go into the summary, so that the last lines of a long log say what failed.
    counts.failures = r.testResults.flatMap((file) => {
      const name = path.relative(process.cwd(), file.name);
      const tests = file.assertionResults.filter((t) => t.status === 'failed').map((t) => `${name} › ${t.fullName}`);
      return tests.length === 0 && file.status === 'failed' ? [`${name} › ${file.message || 'failed to run'}`] : tests;
    });
    fs.rmSync(out);
  }
  // A run that crashed before reporting is a failure, whatever it counted.
  if (res.status !== 0 && counts.failed === 0) counts.failed = 1;
  return counts;
}

async function postgresReachable() {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

console.log('\n=== 测试套件：SQLite ===');
const sqlite = vitest('sqlite', []);
let pgCounts = null;
let pgSkipped = false;
if (await postgresReachable()) {
  console.log(`\n=== 测试套件：PostgreSQL（${PG_URL.replace(/\/\/[^@]*@/, '//')}） ===`);
  pgCounts = vitest('pg', DB_FOLDERS);
} else if (process.env.YKT_REQUIRE_PG === '1') {
  console.error(`\nPostgreSQL 不可达（${PG_URL}），而 YKT_REQUIRE_PG=1 要求在 PostgreSQL 上运行：失败。`);
  pgCounts = { passed: 0, failed: 1, skipped: 0 };
} else {
  pgSkipped = true;
}

console.log('\n=== 汇总 ===');
for (const [db, counts] of [['SQLite', sqlite], ['PostgreSQL', pgCounts]]) {
  for (const failure of counts?.failures ?? []) console.log(`FAILED (${db}): ${failure.split('\n')[0]}`);
}
console.log(`SQLite:     ${sqlite.passed} passed, ${sqlite.failed} failed, ${sqlite.skipped} skipped`);
if (pgCounts) console.log(`PostgreSQL: ${pgCounts.passed} passed, ${pgCounts.failed} failed, ${pgCounts.skipped} skipped`);
if (pgSkipped) {
  console.log(`PostgreSQL: SKIPPED — 未找到 PostgreSQL（${PG_URL}），PostgreSQL 测试套件没有运行，不能视为通过。`);
  console.log('            设置 YKT_TEST_PG_URL 指向一个可用的 PostgreSQL 数据库后重新运行 npm test。');
}
const total = { passed: sqlite.passed + (pgCounts?.passed ?? 0), failed: sqlite.failed + (pgCounts?.failed ?? 0), skipped: sqlite.skipped + (pgCounts?.skipped ?? 0) };
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
