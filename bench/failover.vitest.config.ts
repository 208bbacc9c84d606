import { defineConfig } from 'vitest/config';

// The failover benchmark runs under vitest (like the lab suite) so that it can use the lab
// harnesses from their sources; it is not part of either suite. See bench/failover.ts.
export default defineConfig({
  test: {
    include: ['bench/failover.run.ts'],
    testTimeout: 1_200_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
