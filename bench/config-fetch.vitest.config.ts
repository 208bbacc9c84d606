import { defineConfig } from 'vitest/config';

// The config-fetch benchmark runs under vitest so that it can use the lab harness from its source;
// it is not part of either suite. See bench/config-fetch.ts.
export default defineConfig({
  test: {
    include: ['bench/config-fetch.run.ts'],
    testTimeout: 600_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
