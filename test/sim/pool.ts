import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type RunOptions, runSeed } from './run.js';

export interface SeedOutcome {
  failed: Array<{ seed: number; kinds: string }>;
  seeds: number;
  simulatedMs: number;
  workers: number;
}

/**
 * Runs seeds [from, to) on every core. Vitest gives the unit suite one worker on a 2-core
 * machine (availableParallelism − 1), so the simulator spreads its seeds over worker threads of
 * its own (SIM_WORKERS, default: one per core; 0 runs them here, in this thread). Seeds are
 * dealt round-robin, so each thread gets the same mix.
 */
export async function runSeeds(from: number, to: number, opts: RunOptions, maxFailures = 5): Promise<SeedOutcome> {
  const raw = process.env.SIM_WORKERS;
  const workers = raw === undefined || raw === '' ? Math.min(8, availableParallelism()) : Number(raw);
  if (!Number.isSafeInteger(workers) || workers < 0) throw new Error(`SIM_WORKERS=${raw} is not a whole number`);
  if (workers === 0) {
    const out: SeedOutcome = { failed: [], seeds: 0, simulatedMs: 0, workers: 0 };
    for (let seed = from; seed < to && out.failed.length < maxFailures; seed++) {
      const r = runSeed(seed, opts);
      out.seeds++;
      out.simulatedMs += r.simulatedMs;
      if (!r.ok) out.failed.push({ seed, kinds: [...new Set(r.violations.map((v) => v.kind))].join(', ') });
    }
    return out;
  }
  // Bindings are code: a worker can only run the real cores (the default).
  if (opts.bindings) throw new Error('worker threads run the real cores only; use SIM_WORKERS=0 for other bindings');
  const url = new URL('./parallel/worker.mjs', import.meta.url);
  const parts = await Promise.all(
    Array.from(
      { length: workers },
      (_, k) =>
        new Promise<Omit<SeedOutcome, 'workers'>>((resolve, reject) => {
          const w = new Worker(url, { workerData: { from: from + k, to, step: workers, opts, maxFailures } });
          w.once('message', (m: Omit<SeedOutcome, 'workers'>) => resolve(m));
          w.once('error', reject);
          w.once('exit', (code) => {
            if (code !== 0) reject(new Error(`simulator worker ${k} exited with ${code}`));
          });
        }),
    ),
  );
  const failed = parts.flatMap((p) => p.failed).sort((a, b) => a.seed - b.seed);
  return {
    failed,
    seeds: parts.reduce((n, p) => n + p.seeds, 0),
    simulatedMs: parts.reduce((n, p) => n + p.simulatedMs, 0),
    workers,
  };
}
