import { defineConfig } from 'vitest/config';

// The hook's cost to mariadbd's restart and IST (bench/hook-restart.run.ts); under vitest like
// the lab suite, for its harnesses; not part of either suite.
export default defineConfig({
  test: {
    include: ['bench/hook-restart.run.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
