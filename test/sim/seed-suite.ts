import { describe, expect, it } from 'vitest';
import { failureReport, type RunOptions, runSeed } from './run.js';
import type { Mode } from './schedule.js';

/**
 * The CI share of the simulator: SIM_SEEDS seeds (default 10,000) from SIM_SEED_FROM (default 0),
 * split over a few test files so that vitest runs them on every core. A failing seed fails the
 * test with its replayable report (schedule, replay command, trace tail; full trace in /tmp).
 */
export const DEFAULT_SEEDS = 10_000;

function envInt(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${name}=${raw} is not a whole number`);
  return v;
}

export function seedSuite(part: number, parts: number): void {
  const total = envInt('SIM_SEEDS', DEFAULT_SEEDS);
  const from = envInt('SIM_SEED_FROM', 0);
  const mode: Mode = process.env.SIM_MODE === 'campaign' ? 'campaign' : 'episode';
  const lo = from + Math.floor((total * part) / parts);
  const hi = from + Math.floor((total * (part + 1)) / parts);
  const opts: RunOptions = { mode };
  describe(`simulator, ${mode}s`, () => {
    it(`seeds ${lo}..${hi - 1}: the real cores never make two primaries, and promote after a tie`, () => {
      const failed: Array<{ seed: number; kinds: string }> = [];
      for (let seed = lo; seed < hi && failed.length < 5; seed++) {
        const r = runSeed(seed, opts);
        if (!r.ok) failed.push({ seed, kinds: [...new Set(r.violations.map((v) => v.kind))].join(', ') });
      }
      const first = failed[0];
      if (first) {
        const report = failureReport(first.seed, opts);
        process.stderr.write(`\n${report}\n`);
        expect.fail(`${failed.length} seed(s) failed: ${failed.map((f) => `${f.seed} (${f.kinds})`).join('; ')}\n${report.split('\n').slice(0, 3).join('\n')}`);
      }
    }, 900_000);
  });
}
