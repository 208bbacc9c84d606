import { describe, expect, it } from 'vitest';
import { failureReport, optionsFromEnv, runSeed } from './run.js';

/**
 * `SIM_SEED=n [SIM_MODE=campaign] [SIM_KIND=kind] npx vitest run --project unit test/sim/replay.test.ts` replays
 * one seed with the trace on and prints it. Without SIM_SEED it checks what replay relies on:
 * the same seed gives the same run, to the line.
 */
const seed = process.env.SIM_SEED;
const opts = optionsFromEnv();

describe('simulator replay', () => {
  it.runIf(seed !== undefined)(
    `replays seed ${seed} (${opts.kind ?? opts.mode})`,
    () => {
      const n = Number(seed);
      const r = runSeed(n, { ...opts, trace: true });
      process.stdout.write(r.ok ? `${r.trace.join('\n')}\nseed ${n}: no violation\n` : `${failureReport(n, opts)}\n`);
      expect(r.violations).toEqual([]);
    },
    300_000,
  );

  it.runIf(seed === undefined)(
    'is deterministic: one seed, one run, trace for trace',
    () => {
      for (const [s, m] of [
        [3, 'episode'],
        [12, 'episode'],
        [5, 'campaign'],
      ] as const) {
        const a = runSeed(s, { mode: m, trace: true });
        const b = runSeed(s, { mode: m, trace: true });
        expect(a.trace.length).toBeGreaterThan(50);
        expect(b.trace).toEqual(a.trace);
        // Tracing only watches: the run without it is the same run.
        const quiet = runSeed(s, { mode: m });
        expect([quiet.simulatedMs, quiet.decisions, quiet.bootstraps, quiet.crashes]).toEqual([a.simulatedMs, a.decisions, a.bootstraps, a.crashes]);
      }
    },
    120_000,
  );
});
