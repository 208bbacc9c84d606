import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { measureFailover, summarize, writeResults } from './failover.js';

// Not a test: the failover benchmark's entry (bench/failover.vitest.config.ts). It only checks that
// every round produced a figure, so a broken run is not mistaken for a result.
it('measures the time from a DC cut to the preferred half accepting writes', async () => {
  const rounds = Number(process.env['FAILOVER_ROUNDS'] ?? 5);
  const result = await measureFailover(rounds);
  writeResults(result, fileURLToPath(new URL('./failover.results.json', import.meta.url)));
  console.log(`\n${summarize(result)}\n`);
  expect(result.rounds.filter((r) => r.writableMs === null)).toEqual([]);
});
