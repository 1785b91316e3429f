import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The code of the platform's worker threads: a module of src/core and what it imports, bundled with esbuild into one
 * script that a worker evaluates, so that a worker needs no TypeScript loader of its own (tsx registered in a worker
 * cost ~30 MB of resident memory a worker, a bundle ~7 MB). Each worker calls its module's serving function with its
 * port and its workerData.
 */
export const WORKER_ENTRIES = {
  /** Uploaded tables (table-pool.ts). */
  table: { module: './table-reader.ts', serve: 'serveTableReads' },
  /** One SQLite connection (sqlite-client.ts). */
  sqlite: { module: './sqlite-thread.ts', serve: 'serveSqlite' },
} as const;

export type WorkerName = keyof typeof WORKER_ENTRIES;

/** The entry esbuild bundles for a worker (scripts/build.mjs builds the same). */
export function workerEntry(name: WorkerName): string {
  const { module, serve } = WORKER_ENTRIES[name];
  return `import { parentPort, workerData } from 'node:worker_threads'; import { ${serve} } from '${module}'; ${serve}(parentPort!, workerData);`;
}

/** The compiled bundle (scripts/build.mjs) carries the workers' code, bundled when it was built. */
declare const YKT_WORKER_CODE: Record<WorkerName, string> | undefined;
const bundled = new Map<WorkerName, string>();

export function workerCode(name: WorkerName): string {
  if (typeof YKT_WORKER_CODE === 'object') return YKT_WORKER_CODE[name];
  // From the sources (tests, the benchmark), esbuild bundles it now: loaded only here, so that no bundle carries it.
  let code = bundled.get(name);
  if (code === undefined) {
    const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    code = buildSync({
      stdin: { contents: workerEntry(name), resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
    }).outputFiles[0]!.text;
    bundled.set(name, code);
  }
  return code;
}
