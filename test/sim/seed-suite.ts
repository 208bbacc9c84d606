import { describe, expect, it } from 'vitest';
import { runSeeds } from './pool.js';
import { failureReport, optionsFromEnv } from './run.js';

/**
 * The CI share of the simulator: SIM_SEEDS seeds (default 10,000) from SIM_SEED_FROM (default 0),
 * on every core (pool.ts); SIM_MODE=campaign or SIM_KIND=<episode kind> for other runs. A failing seed fails the test with its replayable report (schedule,
 * replay command, trace tail; the full trace goes to /tmp).
 */
export const DEFAULT_SEEDS = 10_000;

function envInt(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${name}=${raw} is not a whole number`);
  return v;
}

export function seedSuite(): void {
  const total = envInt('SIM_SEEDS', DEFAULT_SEEDS);
  const from = envInt('SIM_SEED_FROM', 0);
  const opts = optionsFromEnv();
  const mode = `${opts.kind ?? opts.mode}`;
  describe(`simulator (${mode})`, () => {
    it(`seeds ${from}..${from + total - 1}: the real cores never make two primaries, and promote after a tie`, async () => {
      const started = Date.now();
      const out = await runSeeds(from, from + total, opts);
      const first = out.failed[0];
      if (first) {
        const report = failureReport(first.seed, opts);
        process.stderr.write(`\n${report}\n`);
        expect.fail(`${out.failed.length} seed(s) failed: ${out.failed.map((f) => `${f.seed} (${f.kinds})`).join('; ')}\n${report.split('\n').slice(0, 3).join('\n')}`);
      }
      expect(out.seeds).toBe(total);
      process.stdout.write(
        `simulator: ${out.seeds} ${mode}s, ${(out.simulatedMs / 3_600_000).toFixed(1)} simulated hours, ${((Date.now() - started) / 1000).toFixed(1)} s on ${out.workers || 1} thread(s)\n`,
      );
    }, 1_800_000);
  });
}
