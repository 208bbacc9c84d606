import { defineConfig } from 'vitest/config';

// Two suites: `unit` is pure and fast (seconds) and is what you run while coding;
// `lab` starts real mariadbd/Galera and HAProxy on loopback and takes minutes.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/sim/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          testTimeout: 240_000,
          hookTimeout: 240_000,
          // Lab nodes share fixed loopback addresses: one file at a time.
          fileParallelism: false,
          pool: 'forks',
        },
      },
    ],
  },
});
