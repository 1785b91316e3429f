import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * A full garbage collection on request, for the few places that read a large upload and then write it: parsing a
 * 50,000-row workbook leaves ~100 MB of garbage that V8 would otherwise carry into the insert phase, and the
 * import's peak memory is then some 50 MB higher (measured by `npm run bench`). The collector is reached the way
 * Node allows at runtime: expose it to a fresh context. Nowhere else calls it.
 */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Collect now if the work just done allocated this many rows or more (small imports do not pay the pause). */
export function releaseGarbage(rows: number, threshold = 10_000): void {
  if (rows >= threshold) gc();
}
