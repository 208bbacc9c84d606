// How long from a cut between the DCs of a 2+2 site to the preferred half accepting writes,
// through the arbitrator's decision — on the real Galera lab, with the arbitrator and four
// dbservers as real `minder run` processes and the hook installed in mariadbd.
//
// Per round: cut dc1 | dc2 (iptables) at t0; then, polled every 50 ms on n1:
//   nonPrimaryMs  n1 reads wsrep_cluster_status=non-Primary (Galera's own detection)
//   decidedMs     the arbitrator's `promotion` log line (its clock)
//   writableMs    an INSERT on n1 commits
// then heal, wait for one Synced cluster of 4 and for the arbitrator to see it, and again.
// The figures depend on the timings (test/e2e/arbitrator-lab.ts LAB_TIMINGS: failoverPeriod 3s)
// and on the lab's short EVS timeouts (suspect 2 s, inactive 6 s).
//
// Run (takes the lab lock; ~2-3 min for 5 rounds):
//   npm run build && flock /tmp/minder-lab.lock npx vitest run --project bench bench/failover.run.ts
//   (FAILOVER_ROUNDS=10 for more.) Results: printed, and written to bench/results/failover/.

import { isSyncedPrimary } from '../test/lab/galera-lab.js';
import { clusterStatus, LAB_TIMINGS, type SplitLab, startSplitLab, statusOf, waitUntil, writes } from '../test/e2e/arbitrator-lab.js';

export interface Round {
  nonPrimaryMs: number | null;
  decidedMs: number | null;
  writableMs: number | null;
  decisionId: string | null;
  /** The promoted half, as the decision named it. */
  members: string[];
  /** What the target dbserver reported of it (carried_out, refused, failed). */
  outcome: string | null;
}

export interface FailoverResult {
  at: string;
  timings: typeof LAB_TIMINGS;
  rounds: Round[];
}

const POLL_MS = 50;
const GIVE_UP_MS = 60_000;

async function oneRound(lab: SplitLab, i: number): Promise<Round> {
  const g = lab.galera;
  const seen = new Set(
    lab.site
      .logs('arbitrator:1')
      .filter((l) => l.event === 'promotion')
      .map((l) => l.decisionId),
  );
  const t0 = Date.now();
  await g.cutDcs('dc1', 'dc2');
  let nonPrimaryMs: number | null = null;
  let writableMs: number | null = null;
  let stop = false;
  const watchStatus = (async () => {
    while (!stop && nonPrimaryMs === null) {
      if ((await clusterStatus(g, 'n1')) === 'non-Primary') nonPrimaryMs = Date.now() - t0;
      else await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();
  while (Date.now() - t0 < GIVE_UP_MS) {
    if (await writes(g, 'n1', `round-${i}`)) {
      writableMs = Date.now() - t0;
      break;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  stop = true;
  await watchStatus;
  const promotion = lab.site.logs('arbitrator:1').find((l) => l.event === 'promotion' && !seen.has(l.decisionId));
  const decidedMs = promotion ? Date.parse(String(promotion.time)) - t0 : null;
  const members = Array.isArray(promotion?.members) ? (promotion.members as string[]) : [];
  const target = promotion ? String(promotion.target) : null;
  const concluded = target
    ? lab.site.logs(target).find((l) => typeof l.event === 'string' && l.event.startsWith('make_primary_') && l.event !== 'make_primary_received' && l.decisionId === promotion?.decisionId)
    : undefined;
  const outcome = concluded ? String(concluded.event).replace('make_primary_', '') : null;
  if (writableMs === null) {
    // Not a figure: say why, from the logs, before the lab goes away.
    const since = new Date(t0).toISOString();
    for (const p of ['arbitrator:1', 'dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4']) {
      for (const l of lab.site.logs(p).filter((x) => String(x.time) >= since && (Number(x.level) >= 40 || /promot|make_primary|pc_bootstrap|decision/.test(String(x.event))))) {
        console.log(`[failover] ${p} ${String(l.time)} ${String(l.event)}: ${String(l.msg).slice(0, 400)}`);
      }
    }
    for (const n of ['n1', 'n2', 'n3', 'n4'] as const) console.log(`[failover] ${n}: ${await clusterStatus(g, n)}`);
  }
  await g.heal();
  for (const n of ['n1', 'n2', 'n3', 'n4'] as const) await g.waitFor(n, isSyncedPrimary(4), 90_000);
  await waitUntil(
    'the arbitrator to see one cluster',
    30_000,
    () => {
      const s = statusOf(lab.site);
      return s?.parties.filter((p) => p.db).every((p) => p.fresh && p.db?.cluster === 'Primary' && p.db.localState === 'Synced');
    },
    300,
  );
  return { nonPrimaryMs, decidedMs, writableMs, decisionId: promotion ? String(promotion.decisionId) : null, members, outcome };
}

export async function measureFailover(rounds: number): Promise<FailoverResult> {
  const lab = await startSplitLab();
  try {
    await lab.galera.exec('n1', 'CREATE DATABASE minder_e2e');
    await lab.galera.exec('n1', 'CREATE TABLE minder_e2e.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))');
    await waitUntil(
      'the arbitrator to see four Primary nodes',
      30_000,
      () => {
        const s = statusOf(lab.site);
        return s?.parties.filter((p) => p.db).every((p) => p.fresh && p.db?.cluster === 'Primary');
      },
      300,
    );
    const out: Round[] = [];
    for (let i = 1; i <= rounds; i++) {
      const r = await oneRound(lab, i);
      console.log(`[failover] round ${i}: non-Primary ${r.nonPrimaryMs} ms, decided ${r.decidedMs} ms, writable ${r.writableMs} ms (${r.decisionId}: ${r.members.join('+')} ${r.outcome})`);
      out.push(r);
    }
    return { at: new Date().toISOString(), timings: LAB_TIMINGS, rounds: out };
  } finally {
    await lab.close();
  }
}

function stats(xs: number[]): string {
  if (!xs.length) return 'n/a';
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
  return `median ${(med / 1000).toFixed(2)} s, min ${((s[0] as number) / 1000).toFixed(2)} s, max ${((s.at(-1) as number) / 1000).toFixed(2)} s (n=${s.length})`;
}

export function summarize(r: FailoverResult): string {
  const pick = (k: 'nonPrimaryMs' | 'decidedMs' | 'writableMs') => r.rounds.map((x) => x[k]).filter((x): x is number => x !== null);
  return [
    `failover on the lab (failoverPeriod ${r.timings.failoverPeriod}, staleAfter ${r.timings.staleAfter}, reportInterval ${r.timings.reportInterval}):`,
    `  cut → n1 non-Primary (Galera):   ${stats(pick('nonPrimaryMs'))}`,
    `  cut → arbitrator decides:         ${stats(pick('decidedMs'))}`,
    `  cut → dc1 accepts writes:         ${stats(pick('writableMs'))}`,
  ].join('\n');
}
