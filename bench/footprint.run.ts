import { expect, it } from 'vitest';
import { measureFootprint } from './footprint.js';
import { writeResult } from './results.js';
import { machine } from './scale-stats.js';

// Not a test: the footprint benchmark's entry (vitest's bench project: npm run bench:footprint). It only checks
// that figures were produced. Env: FOOTPRINT_MS (180000), SAMPLE_MS (10000), STARTS (5), WRITE_TPS (20).
const env = (k: string, d: number) => Number(process.env[k] ?? d);

it('resident memory of each role after an hour-equivalent of reports; start-up times', async () => {
  const r = await measureFootprint({ durationMs: env('FOOTPRINT_MS', 180_000), sampleMs: env('SAMPLE_MS', 10_000), starts: env('STARTS', 5), writeTps: env('WRITE_TPS', 20) }, console.log);
  console.log(`results: ${writeResult('footprint', { machine: machine(), ...r })}`);
  expect(Object.keys(r.final).length).toBeGreaterThanOrEqual(3);
});
