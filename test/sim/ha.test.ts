// The HA model (issue 13; docs/simulator.md, "The HA model"): several REAL arbitrator cores,
// bound by the REAL ha-binding.ts to a modelled leader store (linearizable compare-and-set,
// leases that expire early or late, lost requests and answers, quorum loss), with the real
// dbserver and dbclient cores and the Galera model. The world's checks run at every step:
// never two Primary components, no two pc.bootstraps from one last primary component (one
// promotion per history), every bootstrap in the decided view. Each seed also checks that a
// slot only ever moved on from a refused decision, and (when the faults ended early enough) that
// a Primary followed the cut.
//   SIM_HA_SEEDS=2000 npx vitest run --project unit test/sim/ha.test.ts
//   SIM_HA_SEED=17 (one seed, with its trace on failure)
import { describe, expect, it } from 'vitest';
import type { PartyId } from '../../src/protocol/party.js';
import type { ArbitratorState } from '../../src/roles/arbitrator/state.js';
import { type Rng, seededRng } from '../../src/util/rng.js';
import { haArbitratorBinding, type SimStoreConfig, SimStore } from './ha-store.js';
import { REAL_BINDINGS } from './roles.js';
import { buildSite, TIMINGS, TOPOLOGIES } from './site.js';
import { DETECTION, World } from './world.js';

const between = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));
const pick = <T>(rng: Rng, xs: readonly T[]) => xs[Math.floor(rng.next() * xs.length)] as T;

interface HaResult {
  seed: number;
  ok: boolean;
  problems: string[];
  description: string;
  promotions: number;
  leaderChanges: number;
  refusedWrites: number;
  livenessMs: number | null;
  trace: string[];
}

const TIMING = TIMINGS[0] as (typeof TIMINGS)[number];

async function runHaSeed(seed: number, trace = false, unguarded = false): Promise<HaResult> {
  const rng = seededRng(seed ^ 0x4a11);
  const arbitrators = pick(rng, [2, 2, 3]);
  const topology = pick(rng, [TOPOLOGIES[0], TOPOLOGIES[4], TOPOLOGIES[5]]) as (typeof TOPOLOGIES)[number];
  const ttlS = pick(rng, [2, 3, 5]);
  const cfg: SimStoreConfig = { leaseTtlMs: ttlS * 1000, requestTimeoutMs: pick(rng, [500, 1000]), followIntervalMs: pick(rng, [250, 500, 1000]) };
  const site = buildSite(topology, TIMING, { arbitrators, leaseTtl: `${ttlS}s`, requestTimeout: `${cfg.requestTimeoutMs}ms`, followInterval: `${cfg.followIntervalMs}ms` });
  const expiryKind = pick(rng, ['early', 'early', 'exact', 'late'] as const);
  const expiry = expiryKind === 'early' ? 0.3 + rng.next() * 0.65 : expiryKind === 'late' ? 1 + rng.next() * 1.5 : 1;
  const faults = {
    expiry,
    latency: pick(rng, [
      [1, 5],
      [5, 50],
      [20, 400],
    ] as const),
    loss: pick(rng, [0, 0.02, 0.1]),
    lostAnswer: pick(rng, [0, 0.02, 0.1]),
  };
  const problems: string[] = [];
  let w: World | null = null;
  const world = new World({
    seed,
    site,
    bindings: {
      ...REAL_BINDINGS,
      arbitrator: (ctx) => {
        return haArbitratorBinding(store, cfg, {
          threw: (self, err) => w?.violation('core_threw', `${self} core threw: ${String(err)}`),
          decided: (id) => w?.checker.decisionMade(id),
        })(ctx);
      },
    },
    trace,
    faults: { loss: pick(rng, [0, 0.02, 0.05]), duplicate: 0.01, meanExtraDelayMs: pick(rng, [0, 20, 100]), minDelayMs: 1 },
    detection: DETECTION[0] as (typeof DETECTION)[number],
    eagain: 0.05,
    toctouMs: 0,
    clockSkewMs: 500,
  });
  w = world;
  const store: SimStore = new SimStore(world.clock, seededRng(seed ^ 0x5704e), faults, cfg.leaseTtlMs);
  store.unguarded = unguarded;
  const arbs = site.arbitrators as readonly PartyId[];
  const leaders = (): PartyId[] => arbs.filter((a) => world.isUp(a) && (world.roleState(a) as ArbitratorState | undefined)?.store?.leading);

  // The schedule: a steady start, a 2|2 cut at 10 s, faults around it, heal at 45 s, a second cut at 60 s.
  const events: Array<{ at: number; what: string; run: () => void }> = [];
  const at = (ms: number, what: string, run: () => void) => events.push({ at: ms, what, run });
  at(10_000, 'cut dc1 | dc2', () => world.cutDcs('both'));
  let lastFaultAt = 10_000;
  const nFaults = between(rng, 1, 5);
  for (let i = 0; i < nFaults; i++) {
    const t = between(rng, 8_000, 30_000);
    lastFaultAt = Math.max(lastFaultAt, t);
    const kind = pick(rng, ['kill_leader', 'kill_leader', 'kill_any', 'store_outage', 'store_outage', 'lossy_store', 'arbitrator_loses_dc'] as const);
    if (kind === 'kill_leader' || kind === 'kill_any') {
      const down = between(rng, 500, 8_000);
      lastFaultAt = Math.max(lastFaultAt, t + down);
      let victim: PartyId | undefined;
      at(t, `${kind}`, () => {
        victim = kind === 'kill_leader' ? leaders()[0] : pick(rng, arbs);
        if (victim) world.crashParty(victim, 'kill -9 (scheduled)');
      });
      at(t + down, 'restart the killed arbitrator', () => {
        if (victim) world.startParty(victim);
      });
    } else if (kind === 'store_outage') {
      const ms = between(rng, 500, 8_000);
      lastFaultAt = Math.max(lastFaultAt, t + ms);
      at(t, `store loses quorum for ${ms} ms`, () => {
        store.available = false;
      });
      at(t + ms, 'store quorum back', () => {
        store.available = true;
      });
    } else if (kind === 'lossy_store') {
      const ms = between(rng, 1000, 6000);
      lastFaultAt = Math.max(lastFaultAt, t + ms);
      const before = { ...faults };
      at(t, `store requests 60 % lost for ${ms} ms`, () => {
        faults.loss = 0.6;
      });
      at(t + ms, 'store requests no longer lost', () => {
        faults.loss = before.loss;
      });
    } else {
      const dc = pick(rng, ['dc1', 'dc2'] as const);
      at(t, `arbitrator:1 loses ${dc}`, () => world.cutArbitrator(dc, 'both'));
      at(t + between(rng, 1000, 10_000), 'heal', () => world.healAll());
    }
  }
  at(45_000, 'heal everything, store whole again', () => {
    world.healAll();
    store.available = true;
    for (const a of arbs) world.startParty(a);
  });
  at(60_000, 'cut dc1 | dc2 again', () => world.cutDcs('both'));
  const end = 85_000;
  events.sort((a, b) => a.at - b.at);
  for (const e of events)
    world.clock.setTimer(e.at, () => {
      world.trace.add('SCHEDULE', e.what);
      e.run();
    });
  const description = `seed ${seed}: ${topology.name}, ${arbitrators} arbitrators, TTL ${ttlS}s, request timeout ${cfg.requestTimeoutMs} ms, follow ${cfg.followIntervalMs} ms, store expiry ${expiryKind} (×${expiry.toFixed(2)}), store latency ${faults.latency.join('-')} ms, loss ${faults.loss}, lost answers ${faults.lostAnswer}; ${events.map((e) => `${(e.at / 1000).toFixed(1)}s ${e.what}`).join('; ')}`;
  world.trace.add('SCENARIO', description);

  // Liveness after the second cut (nothing else is wrong by then): a Primary within a bound.
  let livenessMs: number | null = null;
  const bound = 6_000 /* detection */ + 4_000 /* failover period */ + 6_000 /* staleAfter */ + cfg.leaseTtlMs * 3 + 10_000;
  world.clock.setTimer(60_000, () => {
    const from = world.elapsed();
    const watch = (): void => {
      if (livenessMs !== null) return;
      if (world.model.primaryViews().length > 0 && world.elapsed() > from + 4_000) {
        livenessMs = world.elapsed() - from;
        return;
      }
      if (world.elapsed() - from > bound) {
        problems.push(`liveness: no Primary ${bound} ms after the second cut (${world.model.describe()})`);
        return;
      }
      world.clock.setTimer(100, watch);
    };
    world.clock.setTimer(4_100, watch);
  });

  world.start();
  // One timer at a time, letting the binding's promise continuations (the store's answers) run
  // before the next: the outbox sends what waited for a write at the instant it committed.
  while (world.elapsed() < end && !world.failed && problems.length === 0) {
    if (!world.clock.step()) break;
    while (store.resolved > 0) {
      store.resolved = 0;
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  // A key's slot only moves on from a decision its target refused: never from one still spending it.
  for (const a of arbs) {
    const st = world.roleState(a) as ArbitratorState | undefined;
    if (!st) continue;
    // Issue 11's duplicate guard must tell the site's other arbitrators from a second process of its own.
    const dup = st.journal.find((j) => j.event === 'duplicate_arbitrator' || (j.event === 'memory_lost' && /another arbitrator/.test(j.text)));
    if (dup) problems.push(`${a} took another arbitrator of the site for a duplicate of itself: ${dup.text}`);
    for (const [slot, ids] of store.slotHistory) {
      for (let i = 0; i + 1 < ids.length; i++) {
        const d = st.records.decisions.find((x) => x.id === ids[i]);
        if (d && d.outcome !== 'refused') problems.push(`slot ${slot} moved from ${ids[i]} (${d.outcome}) to ${ids[i + 1]}`);
      }
    }
  }
  const violations = world.checker.violations.map((v) => `${v.kind}: ${v.text}`);
  return {
    seed,
    ok: !world.failed && problems.length === 0,
    problems: [...violations, ...problems],
    description,
    promotions: world.checker.counts.bootstraps,
    leaderChanges: store.stats.leaderChanges,
    refusedWrites: store.stats.refusedWrites,
    livenessMs,
    trace: world.trace.lines,
  };
}

const one = process.env.SIM_HA_SEED;
const seeds = one !== undefined ? [Number(one)] : Array.from({ length: Number(process.env.SIM_HA_SEEDS ?? 60) }, (_, i) => i);

describe('the HA model: several arbitrators on a modelled leader store', () => {
  it(`seeds ${one ?? `0..${seeds.length - 1}`}: never two primaries, one promotion per history, a Primary after the cut`, async () => {
    const failed: HaResult[] = [];
    let promotions = 0;
    let leaderChanges = 0;
    let refused = 0;
    for (const s of seeds) {
      const r = await runHaSeed(s);
      promotions += r.promotions;
      leaderChanges += r.leaderChanges;
      refused += r.refusedWrites;
      if (!r.ok) failed.push(r);
      if (failed.length >= 3) break;
    }
    console.log(`HA model: ${seeds.length} seeds, ${promotions} bootstraps, ${leaderChanges} leader changes, ${refused} decisions refused by the store's slot guard, ${failed.length} failed`);
    if (failed.length > 0) {
      const f = failed[0] as HaResult;
      const again = await runHaSeed(f.seed, true);
      const msg = [`${failed.length} seed(s) failed: ${failed.map((x) => x.seed).join(', ')}`, f.description, ...f.problems, 'trace tail:', ...again.trace.slice(-60)].join('\n');
      expect.fail(msg);
    }
  }, 600_000);

  it('has teeth: with a store that guards no write (leader key, slots), two arbitrators that both believe they lead decide twice for one last primary component', async () => {
    let caught: HaResult | null = null;
    // Scanned from 0 the first catch is seed 195 (docs/simulator.md); from 180 here, to keep the suite fast.
    for (let s = 180; s < 400 && !caught; s++) {
      const r = await runHaSeed(s, false, true);
      // Two leaders at once also break the tie rule (each judges what it heard); the teeth asked
      // for here are the safety checks, so the scan goes on to the first of those.
      if (!r.ok && /two_primaries|second_promotion_same_lastpc|slot .* moved from/.test(r.problems.join('\n'))) caught = r;
    }
    console.log(`HA model, unguarded store: caught at seed ${caught?.seed}: ${caught?.problems[0]}`);
    expect(caught?.problems.join('\n')).toMatch(/two_primaries|second_promotion_same_lastpc|slot .* moved from/);
  }, 600_000);
});
