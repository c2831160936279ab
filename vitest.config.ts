import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Finds a PostgreSQL server and builds the template databases once per run.
    globalSetup: ['test/setup/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files mostly wait on PostgreSQL, so a few more workers than cores pay off;
    // each file gets its own process, so a test's server or child processes die with it.
    pool: 'forks',
    maxWorkers: 3,
  },
});
