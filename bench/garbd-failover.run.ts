import { afterAll, beforeAll, expect, it } from 'vitest';
import { type SplitLab, startSplitLab } from '../test/e2e/arbitrator-lab.js';
import { measureHookDelay, summarizeHook } from './footprint-hook.js';
import { Garbd, measureBytes, measureFailoverSideBySide, prepareLab, removeByteCounters, summarizeBytes, summarizeFailover } from './garbd-failover.js';
import { writeResult } from './results.js';
import { loadavg, machine } from './scale-stats.js';

// Not a test: the entry of the lab half of issue 7's benchmarks (vitest's bench project: npm run bench:garbd-failover),
// one lab for three measurements, each written to its own results file as soon as it is done.
// It only checks that figures were produced, so that a broken run is not mistaken for a result.
// Env: GARBD_PARTS (failover,bytes,hook), GARBD_ROUNDS (5), BYTES_WINDOWS (5),
// BYTES_WINDOW_MS (10000), WRITE_TPS (200), HOOK_ROUNDS (5).
const env = (k: string, d: number) => Number(process.env[k] ?? d);
const parts = new Set((process.env['GARBD_PARTS'] ?? 'failover,bytes,hook').split(','));
/**
 * The minder runs with the product's default timings (src/site/schema.ts, docs/configuration.md),
 * as a DBA would; only Galera's EVS timeouts are the lab's short ones, on both sides alike.
 */
const DEFAULT_TIMINGS = { reportInterval: '5s', ackTimeout: '3s', failoverPeriod: '10s', staleAfter: '15s', makePrimaryValidFor: '30s' } as const;
const stamp = (startedAt: string, loadAtStart: string) => ({ startedAt, at: new Date().toISOString(), loadAtStart, loadAtEnd: loadavg(), machine: machine(), timings: DEFAULT_TIMINGS });
let lab: SplitLab;
let garbd: Garbd;

beforeAll(async () => {
  lab = await startSplitLab({ timings: DEFAULT_TIMINGS });
  garbd = new Garbd(lab);
  await prepareLab(lab);
}, 300_000);

afterAll(async () => {
  garbd?.killSync();
  removeByteCounters();
  await lab?.close();
}, 120_000);

it.runIf(parts.has('failover'))('cut → first committed write on dc1: minder arbitrator vs garbd, alternating', async () => {
  const t = new Date().toISOString();
  const l = loadavg();
  const rounds = await measureFailoverSideBySide(lab, garbd, env('GARBD_ROUNDS', 5), console.log);
  writeResult('garbd-failover', { ...stamp(t, l), rounds, summary: summarizeFailover(rounds) });
  // Figures for every round, from one half or the other (the arbitrator may pick dc2: a result too).
  expect(rounds.filter((r) => r.writableMs === null && r.otherHalfWritableMs === null)).toEqual([]);
});

it.runIf(parts.has('bytes'))('bytes received per second under a write load: arbitrator vs garbd', async () => {
  const t = new Date().toISOString();
  const l = loadavg();
  const tps = env('WRITE_TPS', 200);
  const bytes = await measureBytes(lab, garbd, { tps, windows: env('BYTES_WINDOWS', 5), windowMs: env('BYTES_WINDOW_MS', 10_000) }, console.log);
  writeResult('garbd-bytes', { ...stamp(t, l), windows: bytes, summary: summarizeBytes(bytes, tps) });
  expect(bytes.every((b) => b.garbdBytes > 0 && b.commits > 0)).toBe(true);
});

it.runIf(parts.has('hook'))('pc.bootstrap and heal with the real hook vs a no-op hook', async () => {
  const t = new Date().toISOString();
  const l = loadavg();
  const hook = await measureHookDelay(lab, env('HOOK_ROUNDS', 5), console.log);
  writeResult('footprint-hook', { ...stamp(t, l), rounds: hook, summary: summarizeHook(hook) });
  expect(hook.filter((r) => r.bootstrapMs === null)).toEqual([]);
});
