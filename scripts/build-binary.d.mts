// Types of scripts/build-binary.mjs, for the TypeScript that imports it (test/cli).
export const NODE_VERSION: string;
export const OUTPUT: string;
export function buildBinary(): Promise<{ file: string; id: string; bytes: number; assetBytes: number; files: number }>;
