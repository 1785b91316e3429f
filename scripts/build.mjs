// Compile the `ykt` command into JavaScript, dist/ykt.mjs and the chunks it loads, so that it starts without
// transpiling TypeScript (tsx took 7–11 s to start it). The platform's own code, its migrations and the table
// reader's worker are bundled; the packages stay in node_modules and are loaded from there. Split into chunks, so
// that a command loads only what it uses (`ykt --help` loads no server). bin/ykt.js runs this build when
// dist/ykt.mjs is missing or older than a source file, then runs the bundle.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** What the bundle is made of: a change in any of these makes dist/ykt.mjs stale. */
export const SOURCE_DIRS = ['src', 'seeds', 'migrations'];
const DIST = path.join(ROOT, 'dist');
export const BUNDLE = path.join(DIST, 'ykt.mjs');

/** The newest modification time of the bundle's sources (and of this script). */
export function newestSource() {
  let newest = fs.statSync(fileURLToPath(import.meta.url)).mtimeMs;
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(file).mtimeMs);
    }
  };
  for (const dir of SOURCE_DIRS) walk(path.join(ROOT, dir));
  return newest;
}

export function isFresh() {
  return fs.existsSync(BUNDLE) && fs.statSync(BUNDLE).mtimeMs >= newestSource();
}

/** The table reader's worker, bundled with what it imports, as the code string the main bundle starts workers with. */
function tableWorkerCode() {
  return buildSync({
    stdin: {
      contents: "import { parentPort } from 'node:worker_threads'; import { serveTableReads } from './table-reader.ts'; serveTableReads(parentPort!);",
      resolveDir: path.join(ROOT, 'src', 'core'),
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
  }).outputFiles[0].text;
}

export function build() {
  const migrations = fs.readdirSync(path.join(ROOT, 'migrations')).filter((f) => /^\d{14}_[a-z]+_[a-z0-9_]+\.ts$/.test(f)).sort();
  // The entry: the migrations registered as modules (the database records them by their file names), then the CLI.
  const entry = [
    "import { useBundledMigrations } from '../src/core/db.ts';",
    ...migrations.map((f, i) => `import * as m${i} from '../migrations/${f}';`),
    `useBundledMigrations([${migrations.map((f, i) => `[${JSON.stringify(f)}, m${i}]`).join(', ')}]);`,
    "await import('../src/cli.ts');",
  ].join('\n');
  // Built into a folder of its own and put in place by renaming, so that two commands building at once never run
  // half a build.
  const staging = `${DIST}.${process.pid}.partial`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  fs.writeFileSync(path.join(staging, 'ykt-entry.ts'), entry);
  buildSync({
    entryPoints: { ykt: path.join(staging, 'ykt-entry.ts') },
    outdir: staging,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // The benchmark stays a development tool run from its TypeScript sources (bin/ykt.js runs it with tsx).
    external: ['../bench/run.ts'],
    define: { YKT_TABLE_WORKER_CODE: JSON.stringify(tableWorkerCode()) },
    legalComments: 'none',
  });
  fs.rmSync(path.join(staging, 'ykt-entry.ts'));
  if (isFresh()) {
    // Another command built the same sources meanwhile and may be running from them: leave its build in place.
    fs.rmSync(staging, { recursive: true, force: true });
    return;
  }
  const old = `${DIST}.${process.pid}.old`;
  if (fs.existsSync(DIST)) fs.renameSync(DIST, old);
  try {
    fs.renameSync(staging, DIST);
  } catch (err) {
    // Another command put its build in place meanwhile: theirs is as good.
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    fs.rmSync(staging, { recursive: true, force: true });
  }
  fs.rmSync(old, { recursive: true, force: true });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  build();
  process.stdout.write(`dist/ykt.mjs built in ${Date.now() - started} ms\n`);
}
