import { expect, it } from 'vitest';
import { measureFailover, summarize } from './failover.js';
import { writeResult } from './results.js';

// Not a test: the failover benchmark's entry (vitest's bench project: npm run bench:failover). It only checks that
// every round produced a figure, so a broken run is not mistaken for a result.
it('measures the time from a DC cut to the preferred half accepting writes', async () => {
  const rounds = Number(process.env['FAILOVER_ROUNDS'] ?? 5);
  const result = await measureFailover(rounds);
  console.log(`results: ${writeResult('failover', result)}`);
  console.log(`\n${summarize(result)}\n`);
  expect(result.rounds.filter((r) => r.writableMs === null)).toEqual([]);
});
