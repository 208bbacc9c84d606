import { defineConfig } from 'vitest/config';

// The lab half of issue 7's benchmarks runs under vitest (like the lab suite) so that it can use
// the lab harnesses from their sources; it is not part of either suite. See bench/garbd-failover.ts.
export default defineConfig({
  test: {
    include: ['bench/garbd-failover.run.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    pool: 'forks',
    sequence: { concurrent: false },
  },
});
