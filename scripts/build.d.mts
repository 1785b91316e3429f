// Types of scripts/build.mjs, for the TypeScript that imports it (test/cli).
export const SOURCE_DIRS: string[];
export const BUNDLE: string;
export function newestSource(): number;
export function isFresh(): boolean;
export function build(): Promise<void>;
export const RUNTIME_PACKAGES: string[];
export function bundle(outdir: string, options?: { selfContained?: boolean }): Promise<string[]>;
