import { defineConfig } from 'vitest/config';

// The suite runs twice through scripts/test.js: once on SQLite, once on PostgreSQL (YKT_TEST_DB).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    exclude: ['test/arch/fixture/**', 'node_modules/**'],
    pool: 'forks',
    // Timeouts only catch a hung test: on a shared, busy 2-core machine a heavy test (a demo county seeded, a 50,000-row
    // workbook) has taken over 30 s, so no test relies on the machine being idle. Speed is the bench's business.
    testTimeout: 180_000,
    hookTimeout: 240_000,
    maxWorkers: 2,
  },
});
