// Issue 13's measurements, on one lab: a three-member etcd (test/support/etcd-cluster.ts, loopback,
// stopped by PID), two `minder run` arbitrators with arbitrator.store etcd, the real 2+2 Galera lab.
//
// Failover, per round (rounds alternate the leader they kill):
//   takeover:  kill -9 of the leading arbitrator, nothing else → the standby logs `leading`
//              (its pino time − the kill's time: one host's clock);
//   cut+kill:  a 2|2 DC cut and kill -9 of the leader at once → n1 (dc1, the preferred half)
//              commits an INSERT (the write probe of bench/failover.ts: one every 50 ms);
//   then heal, the killed one is started again and stands by.
// Traffic: at steady state (no fault), under the same paced write load as bench/garbd-failover.ts
// (WRITE_TPS single-row INSERTs on n1), iptables counters in a chain of our own count every TCP
// byte to and from the etcd members' client ports (the arbitrators' requests, keepalives and
// watches: what crosses the WAN between an arbitrator and a remote member) and peer ports (raft
// between the members: it crosses the WAN too, when the members sit in dc1, dc2 and a third site),
// headers included — the method the garbd benchmark uses for garbd's bytes.

import { execFileSync } from 'node:child_process';
import { isSyncedPrimary } from '../test/lab/galera-lab.js';
import { type SplitLab, statusOf, waitUntil, writes } from '../test/e2e/arbitrator-lab.js';
import type { EtcdCluster } from '../test/support/etcd-cluster.js';
import { loadavg, type Spread, spread } from './scale-stats.js';
import { pacedInserts } from './write-load.js';

const ARBS = ['arbitrator:1', 'arbitrator:2'] as const;
const CHAIN = 'MINDER_BENCH_ETCD';
const NODES = ['n1', 'n2', 'n3', 'n4'] as const;

export interface HaRound {
  round: number;
  killed: string;
  /** kill -9 of the leader → the standby logs `leading`. */
  takeoverMs: number | null;
  /** 2|2 cut + kill -9 of the leader at once → n1 commits. */
  cutKillWritableMs: number | null;
  /** The same cut with the leader alive → n1 commits: what the kill costs, in the same run. */
  cutWritableMs: number | null;
  loadavg1: number;
}

export interface TrafficWindow {
  seconds: number;
  commits: number;
  clientBytes: number;
  clientPackets: number;
  peerBytes: number;
  peerPackets: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load1 = () => Number(loadavg().split(' ')[0]);

function leaderOf(lab: SplitLab): string | null {
  for (const a of ARBS) {
    const st = statusOf(lab.site, a)?.arbitrator.store;
    if (st?.leading) return a;
    if (st?.leader) return st.leader;
  }
  return null;
}

async function settled(lab: SplitLab, to: string): Promise<void> {
  await waitUntil(`${to} to see four fresh Primary nodes`, 60_000, () => {
    const s = statusOf(lab.site, to);
    return s !== null && s.parties.filter((p) => p.db).every((p) => p.fresh && p.db?.cluster === 'Primary' && p.db.localState === 'Synced');
  });
}

/** The first `leading` line a party logged at or after `t0` (its own pino time, ms). */
function ledAt(lab: SplitLab, party: string, t0: number): number | null {
  for (const l of lab.site.logs(party)) {
    if (l['event'] !== 'leading') continue;
    const t = typeof l['time'] === 'number' ? l['time'] : Date.parse(String(l['time']));
    if (t >= t0) return t;
  }
  return null;
}

async function restartAsStandby(lab: SplitLab, killed: string, leader: string): Promise<void> {
  lab.site.start(killed);
  await waitUntil(`${killed} to stand by`, 30_000, () => statusOf(lab.site, killed)?.arbitrator.store?.leader === leader);
}

/** A 2|2 cut → n1 (dc1) commits, then heal and wait for four Synced: ms, or null. */
async function cutToWritable(lab: SplitLab, tag: string): Promise<number | null> {
  const t = Date.now();
  await lab.galera.cutDcs('dc1', 'dc2');
  const w = await waitUntil('dc1 to accept writes', 60_000, async () => (await writes(lab.galera, 'n1', tag)) && Date.now(), 50).catch(() => null);
  await lab.galera.heal();
  for (const n of NODES) await lab.galera.waitFor(n, isSyncedPrimary(4), 90_000);
  return w === null ? null : w - t;
}

/**
 * The single arbitrator on the local store (the default site), on its own lab started after the
 * HA rounds in the same run: the figure issue 13 asks the HA failover to stand beside.
 */
export async function measureSingleCut(lab: SplitLab, rounds: number, log: (s: string) => void): Promise<Array<{ round: number; cutWritableMs: number | null; loadavg1: number }>> {
  const out: Array<{ round: number; cutWritableMs: number | null; loadavg1: number }> = [];
  for (let round = 1; round <= rounds; round++) {
    await settled(lab, 'arbitrator:1');
    const cutWritableMs = await cutToWritable(lab, `single-bench-${round}`);
    out.push({ round, cutWritableMs, loadavg1: load1() });
    log(`[arbitrator-ha] single arbitrator (local store), round ${round}: cut → dc1 writable ${cutWritableMs} ms`);
  }
  return out;
}

export async function measureHaFailover(lab: SplitLab, rounds: number, log: (s: string) => void): Promise<HaRound[]> {
  const out: HaRound[] = [];
  for (let round = 1; round <= rounds; round++) {
    const first = await waitUntil('a leader', 30_000, () => leaderOf(lab));
    const other = ARBS.find((a) => a !== first) as string;
    await settled(lab, other);
    // cut only: the leader alive decides (the baseline beside cut+kill, same lab, same round)
    const tc = Date.now();
    await lab.galera.cutDcs('dc1', 'dc2');
    const wc = await waitUntil('dc1 to accept writes', 60_000, async () => (await writes(lab.galera, 'n1', `ha-bench-cut-${round}`)) && Date.now(), 50).catch(() => null);
    const cutWritableMs = wc === null ? null : wc - tc;
    await lab.galera.heal();
    for (const n of NODES) await lab.galera.waitFor(n, isSyncedPrimary(4), 90_000);
    await settled(lab, other);
    // takeover
    const t0 = Date.now();
    await lab.site.kill9(first);
    const led = await waitUntil(`${other} to lead`, 30_000, () => ledAt(lab, other, t0), 50).catch(() => null);
    const takeoverMs = led === null ? null : led - t0;
    await restartAsStandby(lab, first, other);
    await settled(lab, first);
    // cut + kill of the new leader
    const t1 = Date.now();
    await lab.galera.cutDcs('dc1', 'dc2');
    await lab.site.kill9(other);
    const w = await waitUntil('dc1 to accept writes', 60_000, async () => (await writes(lab.galera, 'n1', `ha-bench-${round}`)) && Date.now(), 50).catch(() => null);
    const cutKillWritableMs = w === null ? null : w - t1;
    await lab.galera.heal();
    for (const n of NODES) await lab.galera.waitFor(n, isSyncedPrimary(4), 90_000);
    await restartAsStandby(lab, other, first);
    const r: HaRound = { round, killed: `${first}, then ${other}`, takeoverMs, cutKillWritableMs, cutWritableMs, loadavg1: load1() };
    log(`[arbitrator-ha] round ${round}: cut (leader alive) → dc1 writable ${cutWritableMs} ms; takeover ${takeoverMs} ms; cut+kill → dc1 writable ${cutKillWritableMs} ms (load ${r.loadavg1})`);
    out.push(r);
  }
  return out;
}

function iptables(args: string[]): string {
  return execFileSync('iptables', ['-w', ...args], { encoding: 'utf8' });
}

export function removeEtcdCounters(): void {
  try {
    while (true) iptables(['-D', 'INPUT', '-j', CHAIN]);
  } catch {}
  try {
    iptables(['-F', CHAIN]);
    iptables(['-X', CHAIN]);
  } catch {}
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function installCounters(etcd: EtcdCluster): void {
  removeEtcdCounters();
  iptables(['-N', CHAIN]);
  iptables(['-I', 'INPUT', '-j', CHAIN]);
  // Loopback: each packet passes INPUT once. Rule order: client dport, client sport, peer dport, peer sport, per member.
  for (const m of etcd.members) {
    for (const [kind, port] of [
      ['client', portOf(m.clientUrl)],
      ['peer', portOf(m.peerUrl)],
    ] as const) {
      iptables(['-A', CHAIN, '-p', 'tcp', '--dport', String(port), '-m', 'comment', '--comment', kind]);
      iptables(['-A', CHAIN, '-p', 'tcp', '--sport', String(port), '-m', 'comment', '--comment', kind]);
    }
  }
}

/** [client packets, client bytes, peer packets, peer bytes] since the last read (and zeroes them). */
function readCounters(): [number, number, number, number] {
  const text = iptables(['-L', CHAIN, '-v', '-x', '-n', '-Z']);
  const sums = { client: [0, 0], peer: [0, 0] };
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s.*\/\* (client|peer) \*\//.exec(line);
    if (!m) continue;
    const k = m[3] as 'client' | 'peer';
    sums[k][0] = (sums[k][0] ?? 0) + Number(m[1]);
    sums[k][1] = (sums[k][1] ?? 0) + Number(m[2]);
  }
  return [sums.client[0] ?? 0, sums.client[1] ?? 0, sums.peer[0] ?? 0, sums.peer[1] ?? 0];
}

export async function measureEtcdTraffic(lab: SplitLab, etcd: EtcdCluster, o: { tps: number; windows: number; windowMs: number }, log: (s: string) => void): Promise<TrafficWindow[]> {
  installCounters(etcd);
  const out: TrafficWindow[] = [];
  try {
    const n1 = lab.galera.node('n1');
    const load = pacedInserts({ address: n1.address, port: n1.port, ...lab.galera.credentials }, 'minder_e2e.t', o.tps);
    await sleep(2000);
    for (let w = 1; w <= o.windows; w++) {
      const c0 = await lab.galera.query('n1', 'SELECT COUNT(*) AS n FROM minder_e2e.t');
      readCounters();
      const t0 = performance.now();
      await sleep(o.windowMs);
      const [cp, cb, pp, pb] = readCounters();
      const seconds = (performance.now() - t0) / 1000;
      const c1 = await lab.galera.query('n1', 'SELECT COUNT(*) AS n FROM minder_e2e.t');
      const commits = Number(c1[0]?.['n'] ?? 0) - Number(c0[0]?.['n'] ?? 0);
      out.push({ seconds, commits, clientBytes: cb, clientPackets: cp, peerBytes: pb, peerPackets: pp });
      log(`[etcd-bytes] window ${w}: ${(commits / seconds).toFixed(0)} commits/s; etcd client ${(cb / seconds).toFixed(0)} B/s, peer (raft) ${(pb / seconds).toFixed(0)} B/s`);
    }
    await load.stop();
  } finally {
    removeEtcdCounters();
  }
  return out;
}

export interface HaSummary {
  takeoverMs: Spread;
  cutKillWritableMs: Spread;
  cutWritableMs: Spread;
}

export function summarizeHa(rounds: HaRound[]): HaSummary {
  return {
    takeoverMs: spread(rounds.flatMap((r) => (r.takeoverMs === null ? [] : [r.takeoverMs]))),
    cutKillWritableMs: spread(rounds.flatMap((r) => (r.cutKillWritableMs === null ? [] : [r.cutKillWritableMs]))),
    cutWritableMs: spread(rounds.flatMap((r) => (r.cutWritableMs === null ? [] : [r.cutWritableMs]))),
  };
}

export function summarizeTraffic(ws: TrafficWindow[], tps: number) {
  return {
    writeTps: tps,
    commitsPerS: spread(ws.map((w) => w.commits / w.seconds)),
    clientBytesPerS: spread(ws.map((w) => w.clientBytes / w.seconds)),
    peerBytesPerS: spread(ws.map((w) => w.peerBytes / w.seconds)),
    totalBytesPerS: spread(ws.map((w) => (w.clientBytes + w.peerBytes) / w.seconds)),
  };
}
