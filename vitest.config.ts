import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2 cores: integration tests start emulators and databases of their own.
    maxWorkers: 2,
    // PostgreSQL or MariaDB down: stop at once with one line saying what to start.
    globalSetup: ['test/helpers/database-servers.ts'],
  },
});
