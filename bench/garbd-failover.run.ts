import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type SplitLab, startSplitLab } from '../test/e2e/arbitrator-lab.js';
import { type HookRound, measureHookDelay, summarizeHook } from './footprint-hook.js';
import { type BytesWindow, type FailoverRound, Garbd, measureBytes, measureFailoverSideBySide, prepareLab, removeByteCounters, summarizeGarbd, writeJson } from './garbd-failover.js';
import { loadavg, machine } from './scale-stats.js';

// Not a test: the entry of the lab half of issue 7's benchmarks (bench/garbd-failover.vitest.config.ts),
// one lab for all three measurements. It only checks that figures were produced, so that a
// broken run is not mistaken for a result. Env: GARBD_ROUNDS (5), BYTES_WINDOWS (5),
// BYTES_WINDOW_MS (10000), WRITE_TPS (200), HOOK_ROUNDS (5).
const env = (k: string, d: number) => Number(process.env[k] ?? d);
const out = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));
let lab: SplitLab;
let garbd: Garbd;
const startedAt = new Date().toISOString();
const loadAtStart = loadavg();
let rounds: FailoverRound[] = [];
let bytes: BytesWindow[] = [];
let hook: HookRound[] = [];

beforeAll(async () => {
  lab = await startSplitLab();
  garbd = new Garbd(lab);
  await prepareLab(lab);
}, 300_000);

afterAll(async () => {
  garbd?.killSync();
  removeByteCounters();
  await lab?.close();
  const wtps = env('WRITE_TPS', 200);
  writeJson(out('garbd-failover.results.json'), { startedAt, loadAtStart, loadAtEnd: loadavg(), machine: machine(), ...summarizeGarbd(rounds, bytes, wtps) });
  writeJson(out('footprint-hook.results.json'), { startedAt, loadAtStart, loadAtEnd: loadavg(), machine: machine(), rounds: hook, summary: summarizeHook(hook) });
}, 120_000);

it('cut → first committed write on dc1: minder arbitrator vs garbd, alternating', async () => {
  rounds = await measureFailoverSideBySide(lab, garbd, env('GARBD_ROUNDS', 5), console.log);
  expect(rounds.filter((r) => r.writableMs === null)).toEqual([]);
});

it('bytes received per second under a write load: arbitrator vs garbd', async () => {
  bytes = await measureBytes(lab, garbd, { tps: env('WRITE_TPS', 200), windows: env('BYTES_WINDOWS', 5), windowMs: env('BYTES_WINDOW_MS', 10_000) }, console.log);
  expect(bytes.every((b) => b.garbdBytes > 0 && b.commits > 0)).toBe(true);
});

it('pc.bootstrap and heal with the real hook vs a no-op hook', async () => {
  hook = await measureHookDelay(lab, env('HOOK_ROUNDS', 5), console.log);
  expect(hook.filter((r) => r.bootstrapMs === null)).toEqual([]);
});
