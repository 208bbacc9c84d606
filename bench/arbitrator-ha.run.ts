import { afterAll, beforeAll, expect, it } from 'vitest';
import { type SplitLab, startSplitLab } from '../test/e2e/arbitrator-lab.js';
import { EtcdCluster } from '../test/support/etcd-cluster.js';
import { measureEtcdTraffic, measureHaFailover, measureSingleCut, removeEtcdCounters, summarizeHa, summarizeTraffic } from './arbitrator-ha.js';
import { latestResult, writeResult } from './results.js';
import { loadavg, machine, spread } from './scale-stats.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../test/support/repo.js';

// Not a test: the entry of issue 13's benchmarks (vitest's bench project: npm run bench:arbitrator-ha),
// one lab for both measurements, each written to its own results file as soon as it is done. It
// only checks that figures were produced, so a broken run is not mistaken for a result.
// Env: HA_PARTS (failover,bytes), HA_ROUNDS (5), BYTES_WINDOWS (5), BYTES_WINDOW_MS (10000), WRITE_TPS (200).
const env = (k: string, d: number) => Number(process.env[k] ?? d);
const parts = new Set((process.env['HA_PARTS'] ?? 'failover,bytes').split(','));
/** The lab's timings (test/e2e/arbitrator-lab.ts LAB_TIMINGS) and the HA test's store settings. */
const STORE = { leaseTtl: '3s', requestTimeout: '1s', followInterval: '500ms' } as const;
let etcd: EtcdCluster;
let lab: SplitLab;
const stamp = (startedAt: string, loadAtStart: string) => ({ startedAt, at: new Date().toISOString(), loadAtStart, loadAtEnd: loadavg(), machine: machine(), store: STORE });

beforeAll(async () => {
  etcd = await EtcdCluster.start(3);
  lab = await startSplitLab({
    arbitrators: [
      { address: '127.0.0.30', port: 4800 },
      { address: '127.0.0.31', port: 4800 },
    ],
    arbitratorStore: { store: 'etcd', etcd: { endpoints: etcd.endpoints, ...STORE } },
    coldStart: { maxAutomatic: 100 },
  });
  await lab.galera.exec('n1', 'CREATE DATABASE IF NOT EXISTS minder_e2e');
  await lab.galera.exec('n1', 'CREATE TABLE IF NOT EXISTS minder_e2e.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))');
}, 300_000);

afterAll(async () => {
  removeEtcdCounters();
  await lab?.close();
  await etcd?.stop();
}, 120_000);

it.runIf(parts.has('failover'))('kill -9 of the leading arbitrator: takeover, and cut+kill → dc1 writable; beside it one local-store arbitrator', async () => {
  const t = new Date().toISOString();
  const l = loadavg();
  const rounds = await measureHaFailover(lab, env('HA_ROUNDS', 5), console.log);
  // Beside it, in the same run: one arbitrator on the local store (a lab of its own, the HA one
  // closed first: the lab's addresses are fixed).
  await lab.close();
  lab = await startSplitLab({ coldStart: { maxAutomatic: 100 } });
  await lab.galera.exec('n1', 'CREATE DATABASE IF NOT EXISTS minder_e2e');
  await lab.galera.exec('n1', 'CREATE TABLE IF NOT EXISTS minder_e2e.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))');
  const single = await measureSingleCut(lab, env('HA_ROUNDS', 5), console.log);
  const singleMs = single.flatMap((r) => (r.cutWritableMs === null ? [] : [r.cutWritableMs]));
  writeResult('arbitrator-ha-failover', { ...stamp(t, l), rounds, summary: summarizeHa(rounds), singleArbitrator: { store: 'local', rounds: single, cutWritableMs: spread(singleMs) } });
  expect(rounds.filter((r) => r.takeoverMs === null || r.cutKillWritableMs === null || r.cutWritableMs === null)).toEqual([]);
  expect(singleMs).toHaveLength(single.length);
});

it.runIf(parts.has('bytes'))('etcd bytes per second at steady state under a write load (beside garbd-bytes)', async () => {
  const t = new Date().toISOString();
  const l = loadavg();
  const tps = env('WRITE_TPS', 200);
  const windows = await measureEtcdTraffic(lab, etcd, { tps, windows: env('BYTES_WINDOWS', 5), windowMs: env('BYTES_WINDOW_MS', 10_000) }, console.log);
  const garbd = latestResult('garbd-bytes');
  const garbdSummary = garbd ? (JSON.parse(readFileSync(join(REPO, garbd), 'utf8')) as { summary?: unknown }).summary : null;
  writeResult('etcd-bytes', { ...stamp(t, l), windows, summary: summarizeTraffic(windows, tps), garbd: { file: garbd, summary: garbdSummary } });
  expect(windows.every((w) => w.clientBytes > 0 && w.commits > 0)).toBe(true);
});
