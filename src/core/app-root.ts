import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the application's own files are (views/, static/, docs/, migrations/): the folder of its package.json, found
 * from this module's place, which is src/core/ when the sources run and dist/ when the compiled bundle does
 * (scripts/build.mjs).
 */
function findRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (dir === path.dirname(dir)) throw new Error('ykt: the application folder (with its package.json) was not found');
  }
}

const ROOT = findRoot();

/** A path inside the application's folder. */
export function appPath(...parts: string[]): string {
  return path.join(ROOT, ...parts);
}
