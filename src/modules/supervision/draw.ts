import { createHash, randomBytes } from 'node:crypto';
import { sm3Hex } from '../../core/crypto.ts';

/**
 * The spot check's draw (抽样), deterministic from its recorded seed so that anyone can re-run it (docs/supervision.md,
 * "The draw"): a SHA-256 counter-mode stream from the seed drives a partial Fisher–Yates shuffle of the population
 * sorted by id. Nothing here reads the database: the same seed and population give the same sample on any machine.
 */
export const DRAW_METHOD = 'SHA256-CTR-FY-v1';
export const DRAW_METHOD_LABEL = 'SHA-256 计数器随机流 + Fisher–Yates 部分洗牌（v1）';

/** A seed as recorded: lower-case hex, 8 to 64 characters. */
export const SEED_PATTERN = /^[0-9a-f]{8,64}$/;

/** A fresh seed: 16 random bytes as hex (crypto.randomBytes). */
export function newSeed(): string {
  return randomBytes(16).toString('hex');
}

/** The population's digest: SM3 of the ids in ascending order, each written in decimal and followed by "\n". */
export function populationDigest(ids: readonly number[]): string {
  return sm3Hex(ids.map((id) => `${id}\n`).join(''));
}

/**
 * The stream of 32-bit numbers: block i (i = 0, 1, 2 …) is SHA-256 of the seed's ASCII text followed by i as a 4-byte
 * big-endian integer; each block gives eight numbers, read as 4-byte big-endian integers in order.
 */
function* stream(seed: string): Generator<number> {
  for (let i = 0; ; i++) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(i);
    const block = createHash('sha256').update(Buffer.from(seed, 'ascii')).update(counter).digest();
    for (let k = 0; k < 32; k += 4) yield block.readUInt32BE(k);
  }
}

/**
 * The positions drawn (0-based indices into the population sorted by id), in draw order. For step i (0 … size-1) a
 * number r below n − i is taken from the stream by rejection (numbers at or above ⌊2³²/(n−i)⌋·(n−i) are skipped, so each
 * value is equally likely, then r = x mod (n − i)); position i is swapped with position i + r; the first `size`
 * positions are the sample.
 */
export function drawIndices(seed: string, populationSize: number, size: number): number[] {
  if (!SEED_PATTERN.test(seed)) throw new Error('invalid seed');
  if (size > populationSize) throw new Error('sample larger than population');
  const order = Array.from({ length: populationSize }, (_, i) => i);
  const numbers = stream(seed);
  for (let i = 0; i < size; i++) {
    const m = populationSize - i;
    const limit = Math.floor(0x1_0000_0000 / m) * m;
    let x = numbers.next().value as number;
    while (x >= limit) x = numbers.next().value as number;
    const j = i + (x % m);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, size);
}

/** The ids drawn from a population (sorted here by id, ascending), in draw order. */
export function drawSample<T extends { id: number }>(seed: string, population: readonly T[], size: number): T[] {
  const sorted = [...population].sort((a, b) => a.id - b.id);
  return drawIndices(seed, sorted.length, size).map((i) => sorted[i]!);
}
