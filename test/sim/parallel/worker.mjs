// One simulator worker thread: runs the seeds it is given (from, from + step, …) and posts back
// their outcomes. Plain JS, so that it can register the TypeScript hooks before loading the
// simulator from its sources.
import { register } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

register('./ts-hooks.mjs', import.meta.url);
const { runSeed } = await import('../run.ts');
const { from, to, step, opts, maxFailures } = workerData;
const failed = [];
let seeds = 0;
let simulatedMs = 0;
for (let seed = from; seed < to && failed.length < maxFailures; seed += step) {
  const r = runSeed(seed, opts);
  seeds++;
  simulatedMs += r.simulatedMs;
  if (!r.ok) failed.push({ seed, kinds: [...new Set(r.violations.map((v) => v.kind))].join(', ') });
}
parentPort.postMessage({ failed, seeds, simulatedMs });
