import { describe, expect, it } from 'vitest';
import { runColdStart } from './cold-start-world.js';

// COLDSTART_SEEDS seeds (default 1,000) of the cold-start model (cold-start-world.ts).
const SEEDS = Number(process.env['COLDSTART_SEEDS'] ?? 1000);

describe('simulator: cold start (crash-all, graceful stop, pc.recovery, bootstrap, join, failing starts, arbitrator kill -9)', () => {
  it(`seeds 0..${SEEDS - 1}: never two primaries or a bootstrap beside one, never below the highest seqno, nothing committed lost, back with all four`, () => {
    const bad: string[] = [];
    const scenarios = new Map<string, number>();
    let withFailedStarts = 0;
    for (let seed = 0; seed < SEEDS; seed++) {
      const run = runColdStart(seed);
      scenarios.set(run.scenario, (scenarios.get(run.scenario) ?? 0) + 1);
      if (run.failedStarts > 0) withFailedStarts++;
      if (run.violations.length) bad.push(`seed ${seed} (${run.scenario}): ${run.violations.join('; ')}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
    // Every scenario ran (the model is not vacuous).
    expect([...scenarios.keys()].sort()).toEqual(['crash_all', 'crash_all_empty', 'graceful', 'mixed']);
    // And failed start orders were met (and retried: every seed above came back).
    expect(withFailedStarts).toBeGreaterThan(SEEDS / 4);
  });

  it('the checks can fail: dbservers that mirror their seqnos (the lowest looks highest) are caught bootstrapping below the highest', () => {
    const caught = Array.from({ length: 200 }, (_, i) => runColdStart(i, { lie: true })).filter((r) => r.violations.some((v) => /below the highest durable/.test(v)));
    expect(caught.length).toBeGreaterThan(0);
    // And the honest model of the same seeds bootstraps, and comes back.
    const runs = Array.from({ length: 40 }, (_, i) => runColdStart(i));
    expect(runs.some((r) => r.bootstraps > 0)).toBe(true);
    expect(runs.every((r) => r.recovered)).toBe(true);
  });
});
