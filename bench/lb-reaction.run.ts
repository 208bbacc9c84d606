import { expect, it } from 'vitest';
import { measureLbReaction, summarize } from './lb-reaction.js';
import { writeResult } from './results.js';

// Not a test: the benchmark's entry (vitest's bench project: npm run bench:lb-reaction). It only checks that
// every round produced a figure for the minder, so a broken run is not mistaken for a result.
it('measures HAProxy reaction: galera-minder vs polling health checks', async () => {
  const rounds = Number(process.env['LB_REACTION_ROUNDS'] ?? 3);
  const result = await measureLbReaction(rounds);
  // LB_REACTION_RESULTS names another series of results (bench/results/<name>/): a shorter run that must not be taken for the main one.
  console.log(`results: ${writeResult(process.env['LB_REACTION_RESULTS'] ?? 'lb-reaction', result)}`);
  console.log(`\n${summarize(result)}\n`);
  expect(result.samples.filter((s) => s.outMs['minder'] === null)).toEqual([]);
});
