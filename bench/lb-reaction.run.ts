import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { measureLbReaction, summarize, writeResults } from './lb-reaction.js';

// Not a test: the benchmark's entry (bench/lb-reaction.vitest.config.ts). It only checks that
// every round produced a figure for the minder, so a broken run is not mistaken for a result.
it('measures HAProxy reaction: galera-minder vs polling health checks', async () => {
  const rounds = Number(process.env['LB_REACTION_ROUNDS'] ?? 3);
  const result = await measureLbReaction(rounds);
  // LB_REACTION_RESULTS names another results file (a shorter run that must not replace the main one).
  const file = process.env['LB_REACTION_RESULTS'] ?? fileURLToPath(new URL('./lb-reaction.results.json', import.meta.url));
  writeResults(result, file);
  console.log(`\n${summarize(result)}\n`);
  expect(result.samples.filter((s) => s.outMs['minder'] === null)).toEqual([]);
});
