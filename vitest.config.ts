import { defineConfig } from 'vitest/config';

// The suite runs twice through scripts/test.js: once on SQLite, once on PostgreSQL (YKT_TEST_DB).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    exclude: ['test/arch/fixture/**', 'node_modules/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
