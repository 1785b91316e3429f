import fs from 'node:fs';
import { loadActor } from '../src/core/auth/actor.ts';
import { loadConfig } from '../src/core/config.ts';
import type { Core } from '../src/core/context.ts';
import { createFieldCrypto } from '../src/core/crypto.ts';
import { createDb, migrate } from '../src/core/db.ts';
import { importRegistry } from '../src/modules/beneficiary/registry-import.ts';
import { peakOfProcess } from './memory.ts';

/**
 * Child process of `npm run bench` for registry_import_50k_s and registry_import_peak_rss_mb: a fresh process, so
 * that its peak resident memory is the import's (the parent builds the file and seeds the county). Arguments: database URL,
 * PostgreSQL schema ('' for SQLite), the file's path; the parent has seeded the demo county. Prints one JSON line {seconds, peakRssMb, created}.
 */
const [databaseUrl, schema, filePath] = process.argv.slice(2) as [string, string, string];
const config = loadConfig({ YKT_SECRET_KEY: 'bench-secret-key-0123456789abcdef0123', DATABASE_URL: databaseUrl, YKT_SCRYPT_LOG_N: '10' });
const core: Core = { db: createDb(databaseUrl, { schema: schema || undefined }), config, crypto: createFieldCrypto(config.secretKey) };
try {
  await migrate(core.db);
  const station = await loadActor(core.db, { username: 'station1' }, null);
  const file = fs.readFileSync(filePath);
  const started = process.hrtime.bigint();
  const outcome = await importRegistry(core, station!.actor, { name: 'bench.xlsx', buffer: file });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!outcome.ok) throw new Error(`the bench file was refused: ${outcome.errors.slice(0, 3).map((e) => `${e.rowNumber} ${e.field} ${e.message}`).join('; ')}`);
  process.stdout.write(`${JSON.stringify({ seconds, peakRssMb: peakOfProcess(), created: outcome.created })}\n`);
} finally {
  await core.db.destroy();
}
