import { defineConfig } from 'vitest/config';

// The footprint benchmark runs under vitest so that it can use the lab harnesses from their
// sources; it is not part of either suite. See bench/footprint.ts.
export default defineConfig({
  test: {
    include: ['bench/footprint.run.ts'],
    testTimeout: 1_200_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
