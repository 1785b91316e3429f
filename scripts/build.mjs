// Compile the `ykt` command into JavaScript, dist/ykt.mjs and the chunks it loads, so that it starts without
// transpiling TypeScript (tsx took 7–11 s to start it). The platform's own code, its migrations and its worker
// threads' code are bundled; the packages stay in node_modules and are loaded from there. Split into chunks, so
// that a command loads only what it uses (`ykt --help` loads no server). bin/ykt.js runs this build when
// dist/ykt.mjs is missing or older than a source file, then runs the bundle.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild, buildSync } from 'esbuild';

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

/** The worker threads' modules and serving functions, as src/core/worker-code.ts lists them. */
const WORKER_ENTRIES = {
  table: { module: './table-reader.ts', serve: 'serveTableReads' },
  sqlite: { module: './sqlite-thread.ts', serve: 'serveSqlite' },
};

/** Each worker's code, bundled with what it imports, as the code strings the main bundle starts workers with. */
function workerCode() {
  const code = {};
  for (const [name, { module, serve }] of Object.entries(WORKER_ENTRIES)) {
    code[name] = buildSync({
      stdin: {
        contents: `import { parentPort, workerData } from 'node:worker_threads'; import { ${serve} } from '${module}'; ${serve}(parentPort!, workerData);`,
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
  return code;
}

/**
 * Compile the command into outdir (ykt.mjs and its chunks). The entry registers the migrations as modules (the
 * database records them by their file names), then runs the CLI. With selfContained (the single executable,
 * scripts/build-binary.mjs), the packages are bundled too, except those that find files of their own at run time
 * (RUNTIME_PACKAGES), which ship beside the bundle. Returns the files it read (esbuild's metafile inputs, absolute).
 */
export async function bundle(outdir, { selfContained = false } = {}) {
  const migrations = fs.readdirSync(path.join(ROOT, 'migrations')).filter((f) => /^\d{14}_[a-z]+_[a-z0-9_]+\.ts$/.test(f)).sort();
  fs.mkdirSync(outdir, { recursive: true });
  const from = (file) => JSON.stringify(path.relative(outdir, path.join(ROOT, file)).split(path.sep).join('/'));
  const entry = [
    `import { useBundledMigrations } from ${from('src/core/db.ts')};`,
    ...migrations.map((f, i) => `import * as m${i} from ${from(`migrations/${f}`)};`),
    `useBundledMigrations([${migrations.map((f, i) => `[${JSON.stringify(f)}, m${i}]`).join(', ')}]);`,
    `await import(${from('src/cli.ts')});`,
  ].join('\n');
  const entryFile = path.join(outdir, 'ykt-entry.ts');
  fs.writeFileSync(entryFile, entry);
  try {
    const result = await esbuild({
      entryPoints: { ykt: entryFile },
      outdir,
      outExtension: { '.js': '.mjs' },
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: selfContained ? 'node24' : 'node20',
      ...(selfContained
        ? {
            // The bundled packages written as CommonJS call require(): give the ES module one.
            banner: { js: "import { createRequire as yktCreateRequire } from 'node:module'; const require = yktCreateRequire(import.meta.url);" },
            // knex's other dialects' drivers, which the platform never loads.
            external: [...RUNTIME_PACKAGES, ...UNUSED_DRIVERS],
            plugins: [withoutBench, withoutLegacyBuffer],
          }
        : { packages: 'external', external: ['../bench/run.ts'] }),
      define: { YKT_WORKER_CODE: JSON.stringify(workerCode()) },
      legalComments: 'none',
      logLevel: 'error',
      metafile: true,
    });
    return Object.keys(result.metafile.inputs).map((input) => path.resolve(input.replace(/^[a-z-]+:/, '')));
  } finally {
    fs.rmSync(entryFile, { force: true });
  }
}

/** Packages that read files of their own at run time (pdfkit its font metrics, better-sqlite3 its addon): not bundled. */
export const RUNTIME_PACKAGES = ['pdfkit', 'better-sqlite3'];
const UNUSED_DRIVERS = ['mysql', 'mysql2', 'mariadb', 'mariadb/callback', 'oracledb', 'tedious', 'pg-native', 'pg-query-stream', 'sqlite3'];

/** The benchmark is a development tool run from its TypeScript sources: the executable says so instead. */
const withoutBench = {
  name: 'without-bench',
  setup(b) {
    b.onResolve({ filter: /\/bench\/run\.ts$/ }, () => ({ path: 'bench', namespace: 'without-bench' }));
    b.onLoad({ filter: /.*/, namespace: 'without-bench' }, () => ({
      contents: "export async function runBench() { throw new Error('基准测试（bench）是开发工具，只能在源代码安装中运行：npm run bench'); }",
      loader: 'js',
    }));
  },
};

/**
 * Node warns about `new Buffer()` (DEP0005) except in code under node_modules, where old packages still call it
 * (exceljs's archiver-utils does, writing every workbook). Bundled, that code is no longer under node_modules: give it
 * the constructor's safe equivalents instead of a warning on every start.
 */
const withoutLegacyBuffer = {
  name: 'without-legacy-buffer',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.js$/ }, (args) => {
      const source = fs.readFileSync(args.path, 'utf8');
      if (!/\bnew Buffer\(/.test(source)) return undefined;
      const helper = 'function yktBuffer(value, encodingOrOffset, length) { return typeof value === "number" ? Buffer.alloc(value) : Buffer.from(value, encodingOrOffset, length); }';
      return { contents: `${source.replace(/\bnew Buffer\(/g, 'yktBuffer(')}\n${helper}`, loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

export async function build() {
  // Built into a folder of its own and put in place by renaming, so that two commands building at once never run
  // half a build.
  const staging = `${DIST}.${process.pid}.partial`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  await bundle(staging);
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
  await build();
  process.stdout.write(`dist/ykt.mjs built in ${Date.now() - started} ms\n`);
}
