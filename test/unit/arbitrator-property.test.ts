import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PrimaryView, WsrepStatus } from '../../src/protocol/verbs.js';
import { freshNodes, isFresh } from '../../src/roles/arbitrator/observations.js';
import { type DecisionRecord, RECORD_KEYS } from '../../src/roles/arbitrator/records.js';
import { liveUntil, spends } from '../../src/roles/arbitrator/decisions.js';
import type { ArbitratorState } from '../../src/roles/arbitrator/state.js';
import type { CommonEffect } from '../../src/roles/core.js';
import { ArbDriver, lastPrimaryOf, member, type Node, op, PARTY, publishes, STATE_UUID, U } from './arbitrator-fixtures.js';

/**
 * Random schedules of reports (any view, any last primary component, Primary or not, stale or
 * fresh), time, operator commands, decision outcomes and restarts from the persisted records,
 * checking the arbitrator's own safety invariants after every step.
 */
const NODES: Node[] = ['n1', 'n2', 'n3', 'n4'];
const SPLITS: Node[][][] = [
  [NODES],
  [
    ['n1', 'n2'],
    ['n3', 'n4'],
  ],
  [
    ['n1', 'n3'],
    ['n2', 'n4'],
  ],
  [['n1'], ['n2', 'n3', 'n4']],
  [['n1', 'n2', 'n3'], ['n4']],
  [['n1'], ['n2'], ['n3', 'n4']],
  [['n1', 'n2'], ['n3'], ['n4']],
];
const LASTS: Array<PrimaryView | null> = [lastPrimaryOf(NODES, 'pc-4'), lastPrimaryOf(['n1', 'n2'], 'pc-12'), lastPrimaryOf(['n3', 'n4'], 'pc-34'), null];

type Op =
  | { t: 'report'; node: number; status: 0 | 1 | 2 | 3; view: number; last: number; seqno: number }
  | { t: 'advance'; ms: number }
  /** Every node reports its piece of a partition (coherent views, as Galera would show them). */
  | { t: 'partition'; split: number; primaryMask: number; last: number; skip: number }
  /** Time passes while every node keeps re-reporting what it reported last. */
  | { t: 'tick' }
  | { t: 'restart' }
  | { t: 'pause' }
  | { t: 'resume' }
  | { t: 'promote'; target: number; force: boolean }
  | { t: 'outcome'; which: number; outcome: 0 | 1 | 2 };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('report' as const),
      node: fc.nat(3),
      status: fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<0 | 1 | 2 | 3>,
      view: fc.nat(15),
      last: fc.nat(3),
      seqno: fc.nat(3),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 12_000 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('partition' as const),
      split: fc.nat(SPLITS.length - 1),
      primaryMask: fc.oneof(fc.constant(0), fc.nat(15)),
      last: fc.oneof(fc.constant(0), fc.nat(3)),
      skip: fc.nat(15),
    }),
  },
  { weight: 12, arbitrary: fc.constant({ t: 'tick' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'pause' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'resume' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('promote' as const), target: fc.nat(5), force: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('outcome' as const), which: fc.nat(5), outcome: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2> }) },
);

function wsrepOf(self: Node, o: Extract<Op, { t: 'report' }>): WsrepStatus | null {
  if (o.status === 3) return null;
  // A view is a subset of the nodes that always contains the reporter.
  const view = NODES.filter((n, i) => n === self || (o.view & (1 << i)) !== 0);
  const primary = o.status === 0;
  return {
    clusterStatus: primary ? 'Primary' : o.status === 1 ? 'non-Primary' : 'Disconnected',
    localState: primary ? 'Synced' : 'Initialized',
    ready: primary,
    connected: o.status !== 2,
    clusterSize: view.length,
    stateUuid: STATE_UUID,
    confId: primary ? 10 + o.view : null,
    lastCommitted: 100 + o.seqno,
    nodeUuid: U[self],
    members: view.map(member),
    lastPrimary: LASTS[o.last] ?? null,
  };
}

function weightIn(d: DecisionRecord): { inside: number; total: number } {
  const lp = d.lastPrimary as PrimaryView;
  const inView = new Set(d.view.members);
  return { inside: lp.members.filter((u) => inView.has(u)).length, total: lp.members.length };
}

/** The invariants, checked after every single step of the core. */
function checkStep(prev: ArbitratorState, d: ArbDriver, effects: CommonEffect[]): void {
  const before = new Set(prev.records.decisions.map((x) => x.id));
  const made = d.state.records.decisions.filter((x) => !before.has(x.id));
  expect(made.length).toBeLessThanOrEqual(1);
  for (const m of made) {
    // Rule 4: every earlier decision for the same LastPC had been refused by its target
    // (within a step the outcome is applied before the evaluation; refused is final).
    // A failed one counts as refused once its target showed it had no effect (path 9). A forced
    // one supersedes (withdraws) a pending one, and passes a live one only with its nodes named
    // lost by the operator (path 5).
    for (const p of d.state.records.decisions.filter((x) => x.key === m.key && x.id !== m.id)) {
      if (!m.forced) expect(spends(p)).toBe(false);
      else {
        // …or it can act no longer: pending past its validity with its target heard since, not
        // Primary (promote.ts atRisk: a pending decision is a risk only while its target is
        // unheard; a Primary it made shows in fresh reports). Found by seed -1719973822.
        const target = d.state.reports[p.target];
        const over = p.outcome === 'pending' && d.now >= liveUntil(d.state, p) && target !== undefined && isFresh(d.state, target.receivedAt, d.now) && target.body.wsrep?.clusterStatus !== 'Primary';
        expect(!spends(p) || over || p.withdrawn !== null || [p.target, ...p.members].every((x) => m.members.includes(x) || m.confirmedLost.includes(x))).toBe(true);
      }
    }
    // Rule 5: nothing fresh is Primary when a decision is made.
    expect(freshNodes(d.state, d.now).some((n) => n.wsrep.clusterStatus === 'Primary')).toBe(false);
    if (!m.forced) {
      // Rule 3: half or more of the last primary component (all weights 1 here).
      const w = weightIn(m);
      expect(w.inside * 2).toBeGreaterThanOrEqual(w.total);
    }
    if (m.operator === null) {
      // Rule 6: automatic promotions only while not paused (an operator's request may be).
      expect(m.forced).toBe(false);
      expect(d.state.records.directives.paused).toBe(false);
    }
    // Persisted before it is sent, in the same step.
    const iPersist = effects.findIndex((e) => e.kind === 'persist' && e.key === RECORD_KEYS.decisions && (e.value as DecisionRecord[]).some((x) => x.id === m.id));
    const iSend = effects.findIndex((e) => e.kind === 'publish' && e.verb === 'make_primary' && e.body.decisionId === m.id);
    expect(iPersist).toBeGreaterThanOrEqual(0);
    expect(iSend).toBeGreaterThan(iPersist);
  }
  // make_primary is only ever sent for a decision on record, with that decision's view.
  for (const mp of publishes(effects, 'make_primary')) {
    const rec = d.state.records.decisions.find((x) => x.id === mp.body.decisionId);
    expect(rec?.view).toEqual(mp.body.view);
    expect(rec?.target).toBe(mp.to);
  }
  // The durable copy always matches what the core believes.
  expect(d.durable.get(RECORD_KEYS.decisions) ?? []).toEqual(d.state.records.decisions);
}

describe('arbitrator: invariants over random schedules', () => {
  it('one live decision per last primary component; automatic ones only at half or more and with nothing Primary; persisted before sent', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 120 }), (ops) => {
        let d = new ArbDriver();
        d.onStep = checkStep;
        d.start();
        let reqs = 0;
        for (const o of ops) {
          switch (o.t) {
            case 'report': {
              const n = NODES[o.node] as Node;
              d.report(n, wsrepOf(n, o));
              break;
            }
            case 'advance':
              d.advance(o.ms);
              break;
            case 'partition': {
              const pieces = SPLITS[o.split] as Node[][];
              pieces.forEach((piece, i) => {
                for (const n of piece) {
                  if ((o.skip & (1 << NODES.indexOf(n))) !== 0 && o.skip > 7) continue;
                  const primary = (o.primaryMask & (1 << i)) !== 0;
                  const w: WsrepStatus = {
                    ...(wsrepOf(n, { t: 'report', node: 0, status: primary ? 0 : 1, view: 0, last: o.last, seqno: 0 }) as WsrepStatus),
                    members: piece.map(member),
                    clusterSize: piece.length,
                    confId: primary ? 20 + i : null,
                  };
                  d.report(n, w);
                }
              });
              break;
            }
            case 'tick': {
              d.advance(3000);
              for (const n of NODES) {
                const h = d.state.reports[PARTY[n]];
                if (h) d.report(n, h.body.wsrep);
              }
              break;
            }
            case 'restart':
              d = d.restart(d.state.incarnation + 1);
              d.start();
              break;
            case 'pause':
            case 'resume':
              d.command(o.t, op(`q${reqs++}`));
              break;
            case 'promote': {
              const target = ['dc1', 'dc2', 'dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4'][o.target] as string;
              d.command('promote', op(`q${reqs++}`, { target, force: o.force, reason: 'prop' }));
              break;
            }
            case 'outcome': {
              // Mostly the newest decision: that is the one a dbserver answers.
              const all = d.state.records.decisions;
              const x = o.which < 3 ? all.at(-1) : all[o.which % Math.max(1, all.length)];
              if (!x) continue;
              const n = NODES.find((k) => PARTY[k] === x.target) as Node;
              const h = d.state.reports[x.target];
              d.report(n, h?.body.wsrep ?? null, { decision: { id: x.id, outcome: (['carried_out', 'refused', 'failed'] as const)[o.outcome], reason: 'prop', at: 0 } });
              break;
            }
          }
        }
      }),
      { numRuns: 300, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH ?? '' } : {}) },
    );
  });
});
