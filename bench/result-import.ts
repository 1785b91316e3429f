import fs from 'node:fs';
import { loadActor } from '../src/core/auth/actor.ts';
import { loadConfig } from '../src/core/config.ts';
import type { Core } from '../src/core/context.ts';
import { createFieldCrypto } from '../src/core/crypto.ts';
import { createDb } from '../src/core/db.ts';
import { importResultFile } from '../src/modules/bank/results.ts';
import { peakOfProcess } from './memory.ts';

/**
 * Child process of `npm run bench` for result_import_200k_s and result_import_peak_rss_mb: the bank's user imports
 * the result file of a 200,000-line round (built by the parent), in a fresh process so that its peak memory is the
 * import's. Arguments: database URL, PostgreSQL schema ('' for SQLite), the secret key, the round id, the file.
 */
const [databaseUrl, schema, secret, roundId, filePath] = process.argv.slice(2) as [string, string, string, string, string];
const config = loadConfig({ YKT_SECRET_KEY: secret, DATABASE_URL: databaseUrl });
const core: Core = { db: createDb(databaseUrl, { schema: schema || undefined }), config, crypto: createFieldCrypto(config.secretKey) };
try {
  const bank = await loadActor(core.db, { username: 'bank' }, null);
  const file = fs.readFileSync(filePath);
  const started = process.hrtime.bigint();
  const outcome = await importResultFile(core, bank!.actor, Number(roundId), { name: 'results.csv', buffer: file });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!outcome.ok) throw new Error(`the result file was refused: ${outcome.errors.slice(0, 3).map((e) => `${e.rowNumber} ${e.field} ${e.message}`).join('; ')}`);
  process.stdout.write(`${JSON.stringify({ seconds, peakRssMb: peakOfProcess(), paid: outcome.paid, failed: outcome.failed })}\n`);
} finally {
  await core.db.destroy();
}
