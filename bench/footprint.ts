// Issue 7 §4: resident memory of each role after an hour-equivalent of reports, and the start-up
// time of `minder run` for each role, on the whole real routing path (test/e2e/dbclient-stack.ts:
// three real mariadbd with the real hook, a real HAProxy, and `minder run` for the arbitrator,
// three dbservers and one dbclient).
//
// Hour-equivalent, accelerated: reportInterval 100 ms for FOOTPRINT_MS (default 180 s). At the
// default 5 s interval an hour is 720 reports per dbserver; 180 s at 100 ms is 1,800 (2.5 h).
// While it runs, a light write load (WRITE_TPS, default 20) keeps seqnos moving so that every
// report differs. VmRSS of every minder process is sampled every SAMPLE_MS; VmHWM (peak) at the end.
//
// Start-up: then, STARTS times per role, stop the party and `minder run` it again, timing spawn →
// its `started` log line (the line's own timestamp). Roles need their peers for nothing before
// `started`, but the dbserver and dbclient start against a live mariadbd / HAProxy here.

import { startStack, type Stack } from '../test/e2e/dbclient-stack.js';
import { loadavg, memoryMiB, type Spread, spread } from './scale-stats.js';
import { pacedInserts } from './write-load.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const FOOTPRINT_TIMINGS = { reportInterval: '100ms', ackTimeout: '500ms', staleAfter: '2s', failoverPeriod: '5s', makePrimaryValidFor: '20s' } as const;

export interface RssSample {
  atMs: number;
  party: string;
  rssMiB: number;
}

export interface FootprintResults {
  at: string;
  durationMs: number;
  timings: typeof FOOTPRINT_TIMINGS;
  reportsPerDbserver: number;
  samples: RssSample[];
  final: Record<string, { rssMiB: number; hwmMiB: number }>;
  startupMs: Record<string, Spread>;
  loadAtStart: string;
  loadAtEnd: string;
}

function pids(stack: Stack): Map<string, number> {
  const m = new Map<string, number>();
  for (const [party, c] of stack.site.procs) if (c.pid !== undefined && c.exitCode === null) m.set(party, c.pid);
  return m;
}

async function startupOf(stack: Stack, party: string): Promise<number> {
  const site = stack.site;
  await site.stop(party);
  const before = site.logs(party).filter((l) => l.event === 'started').length;
  const t0 = Date.now();
  site.start(party);
  const end = t0 + 60_000;
  for (;;) {
    const started = site.logs(party).filter((l) => l.event === 'started');
    const line = started[before];
    if (line) return Date.parse(String(line.time)) - t0;
    if (Date.now() > end) throw new Error(`${party}: no started line within 60 s`);
    await sleep(20);
  }
}

export async function measureFootprint(o: { durationMs: number; sampleMs: number; starts: number; writeTps: number }, log: (s: string) => void): Promise<FootprintResults> {
  const stack = await startStack({ timings: FOOTPRINT_TIMINGS });
  try {
    const site = stack.site;
    for (const p of site.procs.keys()) await site.waitForLog(p, (l) => l.event === 'started', 60_000);
    const loadAtStart = loadavg();
    const n1 = stack.galera.nodes()[0];
    if (!n1) throw new Error('no node');
    const load = pacedInserts({ address: n1.address, port: n1.port, ...stack.galera.credentials }, 'minder_bench.t', o.writeTps);
    const samples: RssSample[] = [];
    const t0 = Date.now();
    try {
      while (Date.now() - t0 < o.durationMs) {
        for (const [party, pid] of pids(stack)) samples.push({ atMs: Date.now() - t0, party, rssMiB: memoryMiB(pid).rss });
        const last = samples.slice(-pids(stack).size);
        log(`[footprint] ${((Date.now() - t0) / 1000).toFixed(0)} s: ${last.map((s) => `${s.party} ${s.rssMiB.toFixed(1)} MiB`).join(', ')} (load ${loadavg()})`);
        await sleep(o.sampleMs);
      }
    } finally {
      await load.stop();
    }
    const durationMs = Date.now() - t0;
    const final: FootprintResults['final'] = {};
    for (const [party, pid] of pids(stack)) final[party] = { rssMiB: memoryMiB(pid).rss, hwmMiB: memoryMiB(pid).hwm };
    const startupMs: Record<string, Spread> = {};
    for (const party of ['arbitrator:1', 'dbserver:1', 'dbclient:1']) {
      const xs: number[] = [];
      for (let i = 0; i < o.starts; i++) xs.push(await startupOf(stack, party));
      startupMs[party] = spread(xs);
      log(`[footprint] start-up of ${party}: ${xs.join(', ')} ms`);
    }
    const intervalMs = 100;
    return {
      at: new Date().toISOString(),
      durationMs,
      timings: FOOTPRINT_TIMINGS,
      reportsPerDbserver: Math.floor(durationMs / intervalMs),
      samples,
      final,
      startupMs,
      loadAtStart,
      loadAtEnd: loadavg(),
    };
  } finally {
    await stack.close();
  }
}
