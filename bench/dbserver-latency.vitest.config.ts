import { defineConfig } from 'vitest/config';

// The dbserver benchmark runs under vitest (like the lab suite) so that it can use the lab
// harnesses from their sources; it is not part of either suite. See bench/dbserver-latency.run.ts.
export default defineConfig({
  test: {
    include: ['bench/dbserver-latency.run.ts'],
    testTimeout: 900_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
