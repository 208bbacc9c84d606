import { defineConfig } from 'vitest/config';

// The lb-reaction benchmark runs under vitest (like the lab suite) so that it can use the lab
// harnesses from their sources; it is not part of either suite. See bench/lb-reaction.ts.
export default defineConfig({
  test: {
    include: ['bench/lb-reaction.run.ts'],
    testTimeout: 900_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
