import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The default output, then one line on the security suites (scripts/security-summary.ts): a skip there fails.
    reporters: ['default', './scripts/security-summary.ts'],
  },
});
