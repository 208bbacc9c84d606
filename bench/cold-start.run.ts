import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NODES, type NodeName, type SplitLab, startSplitLab } from '../test/e2e/arbitrator-lab.js';
import { REPO } from '../test/support/repo.js';
import { writeResult } from './results.js';
import { loadavg, machine, spread } from './scale-stats.js';

// Not a test: issue 12's benchmark (vitest's bench project: npm run bench:cold-start). All four
// mariadbd killed (-9) → the first committed write, and all four Synced, by three procedures in one
// run, alternating per round:
//  - minder: the arbitrator and dbservers run with coldStart: auto and carry out the rule;
//  - pc.recovery: minder stopped; every mariadbd started at once (each after its --wsrep-recover,
//    as Debian's unit does with galera_recovery): Galera's own pc.recovery re-forms the component;
//  - manual: minder stopped; the scripted procedure a DBA follows: --wsrep-recover on every node
//    one after the other, safe_to_bootstrap: 1 and --wsrep-new-cluster on the most advanced, then
//    the others started one at a time, each waited for until Synced. A script, so a lower bound of
//    a human's time (no paging, no reading).
// Env: COLD_BENCH_ROUNDS (3).
const ROUNDS = Number(process.env['COLD_BENCH_ROUNDS'] ?? 3);
const CTL = join(REPO, 'test/lab/mariadbd-ctl.sh');
const PARTIES = ['arbitrator:1', 'dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4'];
type Procedure = 'minder' | 'pc_recovery' | 'manual';

interface Round {
  round: number;
  procedure: Procedure;
  /** From the last kill -9 to the first committed INSERT. */
  writableMs: number | null;
  /** To every node Primary, Synced, cluster size 4. */
  allSyncedMs: number | null;
  load: string;
}

let lab: SplitLab;
let minderRunning = true;

async function tryWrite(): Promise<boolean> {
  for (const n of NODES) {
    try {
      await lab.galera.exec(n, 'INSERT INTO coldbench.t (v) VALUES (1)', undefined, { timeoutMs: 1500 });
      return true;
    } catch {
      // not writable there (yet)
    }
  }
  return false;
}

async function allSynced(): Promise<boolean> {
  for (const n of NODES) {
    try {
      const s = await lab.galera.status(n, { timeoutMs: 1500 });
      if (s['wsrep_cluster_status'] !== 'Primary' || s['wsrep_local_state_comment'] !== 'Synced' || s['wsrep_cluster_size'] !== '4') return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Polls from `t0` until writable and all synced (or the bound); a background procedure runs meanwhile. */
async function measure(t0: number, boundMs: number, work: Promise<unknown> = Promise.resolve()): Promise<{ writableMs: number | null; allSyncedMs: number | null }> {
  let writableMs: number | null = null;
  let failed: unknown = null;
  work.catch((e: unknown) => {
    failed = e;
  });
  while (Date.now() - t0 < boundMs && failed === null) {
    if (writableMs === null && (await tryWrite())) writableMs = Date.now() - t0;
    if (writableMs !== null && (await allSynced())) {
      await work;
      for (const n of NODES) lab.galera.adopt(n);
      return { writableMs, allSyncedMs: Date.now() - t0 };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (failed !== null) console.log(`procedure failed: ${String(failed)}`);
  return { writableMs, allSyncedMs: null };
}

async function killAll(): Promise<number> {
  for (const n of NODES) {
    lab.galera.adopt(n);
    await lab.galera.kill(n);
  }
  return Date.now();
}

async function setMinder(on: boolean): Promise<void> {
  if (on === minderRunning) return;
  if (on) for (const p of PARTIES) lab.site.start(p);
  else for (const p of PARTIES) await lab.site.stop(p);
  minderRunning = on;
}

async function manual(): Promise<void> {
  const positions: Array<{ n: NodeName; seqno: number }> = [];
  for (const n of NODES) positions.push({ n, seqno: (await lab.galera.recover(n)).seqno });
  const best = [...positions].sort((a, b) => b.seqno - a.seqno)[0]?.n as NodeName;
  await lab.galera.start(best, { bootstrap: true, force: true, timeoutMs: 180_000 });
  for (const n of NODES) if (n !== best) await lab.galera.start(n, { timeoutMs: 240_000 });
}

async function pcRecovery(): Promise<void> {
  await Promise.all(NODES.map((n) => lab.galera.start(n, { wait: 'none' })));
}

beforeAll(async () => {
  lab = await startSplitLab({
    extraMyCnf: { innodb_flush_log_at_trx_commit: '1' },
    control: (n) => ({
      start: ['bash', CTL, 'start', n.myCnf],
      bootstrap: ['bash', CTL, 'bootstrap', n.myCnf],
      stop: ['bash', CTL, 'stop', n.myCnf],
      recover: ['bash', CTL, 'recover', n.myCnf],
      timeout: '200s',
      recoverTimeout: '60s',
      editGrastate: true,
      pidFile: n.pidFile,
    }),
    coldStart: { policy: 'auto', maxAutomatic: 100, window: '1h' },
  });
  await lab.galera.exec('n1', 'CREATE DATABASE coldbench');
  await lab.galera.exec('n1', 'CREATE TABLE coldbench.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)');
}, 300_000);

afterAll(async () => {
  await lab?.close();
}, 120_000);

it('all mariadbd down → writes accepted: minder, pc.recovery, the manual procedure, alternating', async () => {
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg();
  const rounds: Round[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const procedure of ['minder', 'pc_recovery', 'manual'] as const) {
      await setMinder(procedure === 'minder');
      // Writes before the failure, then the failure.
      for (let i = 0; i < 5; i++) await tryWrite();
      const t0 = await killAll();
      const work = procedure === 'manual' ? manual() : procedure === 'pc_recovery' ? pcRecovery() : Promise.resolve();
      const r = await measure(t0, 300_000, work);
      rounds.push({ round, procedure, ...r, load: loadavg() });
      console.log(`round ${round} ${procedure}: writable ${r.writableMs} ms, all synced ${r.allSyncedMs} ms (load ${loadavg()})`);
      if (r.allSyncedMs === null) break;
    }
  }
  const of = (p: Procedure, k: 'writableMs' | 'allSyncedMs') => rounds.filter((r) => r.procedure === p && r[k] !== null).map((r) => r[k] as number);
  const summary = Object.fromEntries((['minder', 'pc_recovery', 'manual'] as const).map((p) => [p, { writableMs: spread(of(p, 'writableMs')), allSyncedMs: spread(of(p, 'allSyncedMs')) }]));
  const path = writeResult('cold-start', { startedAt, at: new Date().toISOString(), loadAtStart, loadAtEnd: loadavg(), machine: machine(), rounds, summary });
  console.log(`written: ${path}\n${JSON.stringify(summary, null, 2)}`);
  expect(rounds.filter((r) => r.allSyncedMs === null)).toEqual([]);
}, 1_800_000);
