// Landed migrations are never edited: migrations/checksums.json records the SHA-256 of each one, and
// test/arch/migrations.test.ts fails when a recorded file changes or disappears, or when a file is not recorded yet.
// `npm run migrations:seal` records the new files; it never changes or removes an entry (see docs/migrations.md).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
export const MANIFEST_NAME = 'checksums.json';

const NOTE =
  'SHA-256 of each landed migration (line endings as LF). Never edit a landed migration nor its line here: put the change ' +
  'in a new migration file and run `npm run migrations:seal` to add it. See docs/migrations.md.';

export interface Manifest {
  note: string;
  sha256: Record<string, string>;
}

/** SHA-256 of the file's bytes, CRLF and CR read as LF, so that a checkout with other line endings still matches. */
export function checksum(file: string): string {
  const text = fs.readFileSync(file, 'utf8').replace(/\r\n?/g, '\n');
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

export function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST_NAME);
  if (!fs.existsSync(file)) return { note: NOTE, sha256: {} };
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
}

const migrationFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();

/** What is wrong between the migrations directory and its manifest, one sentence per file; empty when all is well. */
export function checkMigrations(dir: string): string[] {
  const recorded = readManifest(dir).sha256;
  const files = migrationFiles(dir);
  const problems: string[] = [];
  for (const [name, sum] of Object.entries(recorded)) {
    if (!files.includes(name)) {
      problems.push(`migrations/${name} has landed (it is in migrations/${MANIFEST_NAME}) but is missing: restore it; to undo what it did, add a new migration.`);
    } else if (checksum(path.join(dir, name)) !== sum) {
      problems.push(`migrations/${name} has landed and was edited since: undo the edit and put the change in a new migration file (<timestamp>_<module>_<change>.ts, one change each).`);
    }
  }
  for (const name of files.filter((f) => !(f in recorded))) {
    problems.push(`migrations/${name} is not in migrations/${MANIFEST_NAME}: when it is final, run \`npm run migrations:seal\` to add it.`);
  }
  return problems;
}

/**
 * Record every migration file that the manifest does not list yet, in name order after the existing entries.
 * Existing entries are never changed or removed: an edited or missing landed file is reported and left as it is.
 */
export function sealMigrations(dir: string): { added: string[]; problems: string[] } {
  const manifest = readManifest(dir);
  const added = migrationFiles(dir).filter((f) => !(f in manifest.sha256));
  for (const name of added) manifest.sha256[name] = checksum(path.join(dir, name));
  if (added.length) fs.writeFileSync(path.join(dir, MANIFEST_NAME), `${JSON.stringify({ note: NOTE, sha256: manifest.sha256 }, null, 2)}\n`);
  return { added, problems: checkMigrations(dir) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { added, problems } = sealMigrations(MIGRATIONS_DIR);
  console.log(added.length ? `Recorded in migrations/${MANIFEST_NAME}:\n  ${added.join('\n  ')}` : 'No new migration to record.');
  if (problems.length) {
    console.error(problems.join('\n'));
    process.exitCode = 1;
  }
}
