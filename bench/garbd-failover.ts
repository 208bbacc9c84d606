// Issue 7 §1, both sides in one run on one lab: how long from an even DC cut to the first
// committed write on the preferred half (dc1), (a) through galera-minder's arbitrator and (b)
// with the classic answer, garbd, as a fifth voter beside dc1; and the bytes each of the two
// receives per second under a steady write load.
//
// One 2+2 lab (test/e2e/arbitrator-lab.ts: four real mariadbd with the real hook, the arbitrator
// and four dbservers as `minder run` processes, LAB_TIMINGS), the lab's short EVS timeouts on
// every Galera member including garbd. Rounds alternate (odd rounds garbd first, even rounds
// minder first) so that a load spike on this shared machine hits both sides alike:
//   garbd round:  `minder command pause` (the arbitrator must not act), garbd joins at GARBD_ADDRESS
//                 (cluster of 5), cut dc1|dc2 and garbd|dc2, poll an INSERT on n1 until it
//                 commits, heal, stop garbd (cluster of 4), `resume`.
//   minder round: no garbd; cut dc1|dc2; the same INSERT poll; heal.
// Both rounds use the same write probe as bench/failover.ts (a 2 s-bounded INSERT every 50 ms).
//
// Bytes: with garbd joined and the arbitrator running, a paced load of WRITE_TPS single-row
// INSERTs on n1; iptables counters in a chain of our own count what arrives at garbd's address
// (all TCP) and at the arbitrator's UDP port — the same method, headers included, for both.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { isSyncedPrimary, LAB_CHAIN } from '../test/lab/galera-lab.js';
import { SHORT_EVS } from '../test/lab/lab-files.js';
import { clusterStatus, type SplitLab, statusOf, waitUntil, writes } from '../test/e2e/arbitrator-lab.js';
import { cpuSeconds, loadavg, memoryMiB, type Spread, spread } from './scale-stats.js';
import { pacedInserts } from './write-load.js';

export const GARBD_ADDRESS = '127.0.0.31';
const ARBITRATOR = { address: '127.0.0.30', port: 4800 };
const BYTES_CHAIN = 'MINDER_BENCH_BYTES';
const POLL_MS = 50;
const GIVE_UP_MS = 60_000;
const AFTER_OTHER_HALF_MS = 10_000;
const NODES = ['n1', 'n2', 'n3', 'n4'] as const;

export interface FailoverRound {
  variant: 'garbd' | 'minder';
  round: number;
  /** Cut → n1 (dc1, the preferred half) commits; null: not within the round. */
  writableMs: number | null;
  /** Cut → n3 (dc2) commits: the other half was made primary; null for every garbd round. */
  otherHalfWritableMs: number | null;
  /** n3 (the other half) read non-Primary: Galera's own detection of the cut. */
  otherHalfNonPrimaryMs: number | null;
  loadavg1: number;
}

export interface BytesWindow {
  seconds: number;
  commits: number;
  garbdBytes: number;
  garbdPackets: number;
  arbitratorBytes: number;
  arbitratorPackets: number;
  /** CPU over the window, % of one core, and VmRSS at its end: garbd vs the arbitrator. */
  garbdCpuPercent: number;
  arbitratorCpuPercent: number;
  garbdRssMiB: number;
  arbitratorRssMiB: number;
  loadavg1: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadavg1 = (): number => Number(loadavg().split(' ')[0]);

function iptables(args: string[]): string {
  return execFileSync('iptables', ['-w', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function iptablesOk(args: string[]): boolean {
  try {
    iptables(args);
    return true;
  } catch {
    return false;
  }
}

// ---- garbd ---------------------------------------------------------------------------------

/** garbd as a Debian admin would run it, with the lab's own EVS timeouts. */
export class Garbd {
  private child: ChildProcess | null = null;
  constructor(private readonly lab: SplitLab) {
    // Never leave a garbd behind, also when the run is interrupted.
    process.once('exit', () => this.killSync());
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const g = this.lab.galera;
    const peers = g
      .nodes()
      .filter((n) => n.dc === 'dc1')
      .map((n) => n.address);
    const options = [`gmcast.listen_addr=tcp://${GARBD_ADDRESS}:4567`, ...Object.entries(SHORT_EVS).map(([k, v]) => `${k}=${v}`)].join(';');
    this.child = spawn('garbd', ['--address', `gcomm://${peers.join(',')}`, '--group', g.clusterName, '--name', 'garb', '--options', options], { stdio: 'ignore' });
    // Joining, garbd takes a (dataless) state transfer from a donor: wait until every node is
    // Synced again in a view of 5, else the cut would land on a Donor/Desynced node.
    for (const n of NODES) await g.waitFor(n, isSyncedPrimary(5), 60_000);
    await sleep(1000);
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
    this.child = null;
  }

  killSync(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

// ---- one round -----------------------------------------------------------------------------

async function healAndSettle(lab: SplitLab, size: number): Promise<void> {
  await lab.galera.heal();
  for (const n of NODES) await lab.galera.waitFor(n, isSyncedPrimary(size), 120_000);
}

async function arbitratorSeesOneCluster(lab: SplitLab): Promise<void> {
  await waitUntil(
    'the arbitrator to see one Synced Primary cluster',
    60_000,
    () => {
      const s = statusOf(lab.site);
      return s?.parties.filter((p) => p.db).every((p) => p.fresh && p.db?.cluster === 'Primary' && p.db.localState === 'Synced');
    },
    300,
  );
}

function command(lab: SplitLab, args: string[]): void {
  const r = lab.site.command([...args, '--reason', 'bench: garbd round']);
  if (r.code !== 0) throw new Error(`minder command ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
}

/**
 * Cut → first committed INSERT on n1 (dc1, the preferred half), probing n3 (dc2) the same way:
 * an arbitrator that promotes the wrong half must show as such, not as a slow dc1. Once dc2 has
 * committed, dc1 gets AFTER_OTHER_HALF_MS more before the round stops.
 */
async function cutAndProbe(lab: SplitLab, tag: string, extraCut: () => void): Promise<Probe> {
  const g = lab.galera;
  const t0 = Date.now();
  await g.cutDcs('dc1', 'dc2');
  extraCut();
  let otherHalfNonPrimaryMs: number | null = null;
  let writableMs: number | null = null;
  let otherHalfWritableMs: number | null = null;
  const deadline = () => (otherHalfWritableMs === null ? t0 + GIVE_UP_MS : t0 + otherHalfWritableMs + AFTER_OTHER_HALF_MS);
  const watch = (async () => {
    while (otherHalfNonPrimaryMs === null && Date.now() < t0 + 15_000) {
      if ((await clusterStatus(g, 'n3')) === 'non-Primary') otherHalfNonPrimaryMs = Date.now() - t0;
      else await sleep(POLL_MS);
    }
  })();
  const other = (async () => {
    while (otherHalfWritableMs === null && writableMs === null && Date.now() < deadline()) {
      if (await writes(g, 'n3', `${tag}-dc2`)) otherHalfWritableMs = Date.now() - t0;
      else await sleep(POLL_MS);
    }
  })();
  while (Date.now() < deadline()) {
    if (await writes(g, 'n1', tag)) {
      writableMs = Date.now() - t0;
      break;
    }
    await sleep(POLL_MS);
  }
  await Promise.all([watch, other]);
  return { writableMs, otherHalfWritableMs, otherHalfNonPrimaryMs };
}

interface Probe {
  writableMs: number | null;
  /** n3 (dc2) committed: the other half was made primary (never with garbd beside dc1). */
  otherHalfWritableMs: number | null;
  otherHalfNonPrimaryMs: number | null;
}

async function garbdRound(lab: SplitLab, garbd: Garbd, round: number): Promise<FailoverRound> {
  command(lab, ['pause']);
  await garbd.start();
  const dc2 = lab.galera
    .nodes()
    .filter((n) => n.dc === 'dc2')
    .map((n) => n.address);
  const la = loadavg1();
  // garbd stands beside dc1: cut it from dc2 too (rules in the lab's chain, so heal() flushes them).
  const r = await cutAndProbe(lab, `garbd-${round}`, () => {
    for (const a of dc2) {
      iptables(['-A', LAB_CHAIN, '-s', GARBD_ADDRESS, '-d', a, '-j', 'DROP']);
      iptables(['-A', LAB_CHAIN, '-s', a, '-d', GARBD_ADDRESS, '-j', 'DROP']);
    }
  });
  await healAndSettle(lab, 5);
  await garbd.stop();
  for (const n of NODES) await lab.galera.waitFor(n, isSyncedPrimary(4), 60_000);
  command(lab, ['resume']);
  await arbitratorSeesOneCluster(lab);
  return { variant: 'garbd', round, ...r, loadavg1: la };
}

async function minderRound(lab: SplitLab, round: number): Promise<FailoverRound> {
  const la = loadavg1();
  const r = await cutAndProbe(lab, `minder-${round}`, () => undefined);
  await healAndSettle(lab, 4);
  await arbitratorSeesOneCluster(lab);
  return { variant: 'minder', round, ...r, loadavg1: la };
}

export async function prepareLab(lab: SplitLab): Promise<void> {
  await lab.galera.exec('n1', 'CREATE DATABASE IF NOT EXISTS minder_e2e');
  await lab.galera.exec('n1', 'CREATE TABLE IF NOT EXISTS minder_e2e.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))');
  await arbitratorSeesOneCluster(lab);
}

export async function measureFailoverSideBySide(lab: SplitLab, garbd: Garbd, rounds: number, log: (s: string) => void): Promise<FailoverRound[]> {
  const out: FailoverRound[] = [];
  for (let i = 1; i <= rounds; i++) {
    const order = i % 2 === 1 ? (['garbd', 'minder'] as const) : (['minder', 'garbd'] as const);
    for (const v of order) {
      const r = v === 'garbd' ? await garbdRound(lab, garbd, i) : await minderRound(lab, i);
      log(`[garbd-failover] round ${i} ${v}: cut → n1 writable ${r.writableMs} ms, n3 writable ${r.otherHalfWritableMs} ms (n3 non-Primary ${r.otherHalfNonPrimaryMs} ms, load ${r.loadavg1})`);
      out.push(r);
    }
  }
  return out;
}

// ---- bytes under a write load --------------------------------------------------------------

function installByteCounters(): void {
  removeByteCounters();
  iptables(['-N', BYTES_CHAIN]);
  iptables(['-A', BYTES_CHAIN, '-d', GARBD_ADDRESS, '-p', 'tcp', '-j', 'RETURN']);
  iptables(['-A', BYTES_CHAIN, '-d', ARBITRATOR.address, '-p', 'udp', '--dport', String(ARBITRATOR.port), '-j', 'RETURN']);
  iptables(['-I', 'INPUT', '1', '-j', BYTES_CHAIN]);
}

export function removeByteCounters(): void {
  for (let i = 0; i < 8 && iptablesOk(['-D', 'INPUT', '-j', BYTES_CHAIN]); i++);
  iptablesOk(['-F', BYTES_CHAIN]);
  iptablesOk(['-X', BYTES_CHAIN]);
}

/** [garbd packets, garbd bytes, arbitrator packets, arbitrator bytes] since the last zero. */
function readCounters(): [number, number, number, number] {
  const rows = iptables(['-L', BYTES_CHAIN, '-v', '-x', '-n', '-Z'])
    .split('\n')
    .filter((l) => /RETURN/.test(l))
    .map((l) => l.trim().split(/\s+/).map(Number));
  const [g, a] = rows;
  return [g?.[0] ?? 0, g?.[1] ?? 0, a?.[0] ?? 0, a?.[1] ?? 0];
}

export async function measureBytes(lab: SplitLab, garbd: Garbd, o: { tps: number; windows: number; windowMs: number }, log: (s: string) => void): Promise<BytesWindow[]> {
  await garbd.start();
  const gpid = garbd.pid;
  const apid = lab.site.procs.get('arbitrator:1')?.pid;
  if (gpid === undefined || apid === undefined) throw new Error('garbd or the arbitrator has no pid');
  installByteCounters();
  const out: BytesWindow[] = [];
  try {
    const n1 = lab.galera.node('n1');
    const load = pacedInserts({ address: n1.address, port: n1.port, ...lab.galera.credentials }, 'minder_e2e.t', o.tps);
    await sleep(2000); // past the load's start
    for (let w = 1; w <= o.windows; w++) {
      const c0 = await lab.galera.query('n1', 'SELECT COUNT(*) AS n FROM minder_e2e.t');
      readCounters(); // zero
      const g0 = cpuSeconds(gpid);
      const a0 = cpuSeconds(apid);
      const t0 = performance.now();
      await sleep(o.windowMs);
      const [gp, gb, ap, ab] = readCounters();
      const seconds = (performance.now() - t0) / 1000;
      const gcpu = ((cpuSeconds(gpid) - g0) / seconds) * 100;
      const acpu = ((cpuSeconds(apid) - a0) / seconds) * 100;
      const c1 = await lab.galera.query('n1', 'SELECT COUNT(*) AS n FROM minder_e2e.t');
      const commits = Number(c1[0]?.['n'] ?? 0) - Number(c0[0]?.['n'] ?? 0);
      const r: BytesWindow = {
        seconds,
        commits,
        garbdBytes: gb,
        garbdPackets: gp,
        arbitratorBytes: ab,
        arbitratorPackets: ap,
        garbdCpuPercent: gcpu,
        arbitratorCpuPercent: acpu,
        garbdRssMiB: memoryMiB(gpid).rss,
        arbitratorRssMiB: memoryMiB(apid).rss,
        loadavg1: loadavg1(),
      };
      log(`[garbd-bytes] window ${w}: ${(commits / seconds).toFixed(0)} commits/s; garbd ${(gb / seconds).toFixed(0)} B/s, arbitrator ${(ab / seconds).toFixed(0)} B/s`);
      out.push(r);
    }
    await load.stop();
  } finally {
    removeByteCounters();
    await garbd.stop();
    for (const n of NODES) await lab.galera.waitFor(n, isSyncedPrimary(4), 60_000);
  }
  return out;
}

// ---- summary -------------------------------------------------------------------------------

export interface FailoverSummary {
  garbdWritableMs: Spread;
  minderWritableMs: Spread;
  /** Per round: minder − garbd (ms), the paired difference, where both reached dc1. */
  differenceMs: Spread;
  /** Rounds in which the arbitrator made dc2 primary instead (dc1 not writable). */
  minderOtherHalf: number;
}

export function summarizeFailover(rounds: FailoverRound[]): FailoverSummary {
  const ok = (v: 'garbd' | 'minder') => rounds.filter((r) => r.variant === v && r.writableMs !== null).map((r) => r.writableMs as number);
  const diffs: number[] = [];
  for (const r of rounds.filter((x) => x.variant === 'minder')) {
    const g = rounds.find((x) => x.variant === 'garbd' && x.round === r.round);
    if (r.writableMs !== null && g?.writableMs != null) diffs.push(r.writableMs - g.writableMs);
  }
  return {
    garbdWritableMs: spread(ok('garbd')),
    minderWritableMs: spread(ok('minder')),
    differenceMs: spread(diffs),
    minderOtherHalf: rounds.filter((r) => r.variant === 'minder' && r.writableMs === null && r.otherHalfWritableMs !== null).length,
  };
}

export interface BytesSummary {
  writeTps: number;
  garbdBytesPerS: Spread;
  arbitratorBytesPerS: Spread;
  commitsPerS: Spread;
  /** arbitrator bytes / garbd bytes, per window. */
  ratio: Spread;
  garbdCpuPercent: Spread;
  arbitratorCpuPercent: Spread;
  garbdRssMiB: Spread;
  arbitratorRssMiB: Spread;
}

export function summarizeBytes(bytes: BytesWindow[], writeTps: number): BytesSummary {
  return {
    writeTps,
    garbdBytesPerS: spread(bytes.map((b) => b.garbdBytes / b.seconds)),
    arbitratorBytesPerS: spread(bytes.map((b) => b.arbitratorBytes / b.seconds)),
    commitsPerS: spread(bytes.map((b) => b.commits / b.seconds)),
    ratio: spread(bytes.map((b) => (b.garbdBytes > 0 ? b.arbitratorBytes / b.garbdBytes : Number.NaN))),
    garbdCpuPercent: spread(bytes.map((b) => b.garbdCpuPercent)),
    arbitratorCpuPercent: spread(bytes.map((b) => b.arbitratorCpuPercent)),
    garbdRssMiB: spread(bytes.map((b) => b.garbdRssMiB)),
    arbitratorRssMiB: spread(bytes.map((b) => b.arbitratorRssMiB)),
  };
}
