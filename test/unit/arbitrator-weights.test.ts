import { describe, expect, it } from 'vitest';
import type { WsrepStatus } from '../../src/protocol/verbs.js';
import { RECORD_KEYS } from '../../src/roles/arbitrator/records.js';
import { ArbDriver, hold, type Node, nonPrimary, primary, publishes } from './arbitrator-fixtures.js';

/**
 * Issue 11 path 2: the config's weights are not Galera's. Every dbserver reports its node's real
 * pc.weight; the arbitrator weighs the last primary component with those (remembered durably for
 * members it cannot hear) and does not promote when one it needs is unknown or not the config's.
 * The site: n1 n2 (dc1), n3 n4 (dc2), every config weight 1.
 */
const ALL: Node[] = ['n1', 'n2', 'n3', 'n4'];

function learned(weights: Partial<Record<Node, number | null>>): ArbDriver {
  const d = new ArbDriver();
  d.start();
  for (const n of ALL) d.report(n, primary(n, ALL, { pcWeight: weights[n] === undefined ? 1 : weights[n] } as Partial<WsrepStatus>));
  d.advance(1000);
  return d;
}

/** dc2 and the arbitrator lose each other and dc1 (the arbitrator shares dc1's fate). */
function cutFromDc2(d: ArbDriver, w: Partial<Record<Node, number | null>> = {}): ReturnType<typeof hold> {
  for (const n of ['n1', 'n2'] as const) d.report(n, nonPrimary(n, ['n1', 'n2'], { pcWeight: w[n] === undefined ? 1 : w[n] } as Partial<WsrepStatus>));
  return hold(d, 30_000, 2000, ['n1', 'n2']);
}

function reasonOf(d: ArbDriver) {
  return d.state.evaluation?.reasons.find((r) => r.view === 'dbserver:1+dbserver:2');
}

describe('real pc.weight, not the config (issue 11 path 2)', () => {
  it('schedule real_weight_unlike_config: n3 runs with pc.weight=2; dc2 keeps quorum (3 of 5), dc1 is not promoted', () => {
    const d = learned({ n3: 2 });
    const sent = cutFromDc2(d);
    expect(publishes(sent, 'make_primary')).toEqual([]);
    const r = reasonOf(d);
    expect(r?.code).toBe('weight_mismatch');
    expect(r?.text).toMatch(/dbserver:3 runs with pc\.weight=2, the site config says weight 1; by the real weights it holds 2 of 5/);
    // In status and the log.
    expect(d.log.some((e) => e.kind === 'log' && e.event === 'no_promotion' && /pc\.weight=2/.test(e.msg))).toBe(true);
  });

  it('the weight of a member that cannot report now is remembered durably: after a restart the refusal stands', () => {
    const d = learned({ n3: 2 });
    const nodes = d.durable.get(RECORD_KEYS.nodes) as Record<string, { weight?: number | null }>;
    expect(
      Object.values(nodes)
        .map((x) => x.weight)
        .sort(),
    ).toEqual([1, 1, 1, 2]);
    const e = d.restart();
    e.start();
    const sent = cutFromDc2(e);
    expect(publishes(sent, 'make_primary')).toEqual([]);
    expect(reasonOf(e)?.code).toBe('weight_mismatch');
  });

  it('a weight that could not be read is unknown: no promotion, and says so', () => {
    const d = learned({ n4: null });
    expect(publishes(cutFromDc2(d), 'make_primary')).toEqual([]);
    expect(reasonOf(d)?.code).toBe('unknown_weight');
    expect(reasonOf(d)?.text).toMatch(/dbserver:4's pc\.weight could not be read/);
  });

  it("real weights that are the config's: promoted as before (2 of 4)", () => {
    const d = learned({});
    expect(publishes(cutFromDc2(d), 'make_primary').map((p) => p.to)).toEqual(['dbserver:1']);
  });

  it('a weight changed at runtime (SET GLOBAL pc.weight) is learned from the next report', () => {
    const d = learned({});
    d.report('n4', primary('n4', ALL, { pcWeight: 3 }));
    d.advance(1000);
    expect(publishes(cutFromDc2(d), 'make_primary')).toEqual([]);
    expect(reasonOf(d)?.text).toMatch(/dbserver:4 runs with pc\.weight=3/);
  });

  it('a weight never reported (an older dbserver, or a node known only from another view) is unknown, not the config (all-faults seed 28462)', () => {
    const d = new ArbDriver();
    d.start();
    // n3 never reports its pc.weight: the config's 1 may not be Galera's.
    for (const n of ['n1', 'n2', 'n3', 'n4'] as const) d.report(n, nonPrimary(n, n === 'n1' || n === 'n2' ? ['n1', 'n2'] : ['n3', 'n4'], n === 'n3' ? { pcWeight: undefined } : {}));
    expect(publishes(hold(d, 60_000), 'make_primary')).toEqual([]);
    expect(d.state.evaluation?.reasons.map((r) => r.code)).toContain('unknown_weight');
    expect(d.state.evaluation?.reasons.map((r) => r.text).join(' ')).toMatch(/dbserver:3 has not reported its pc\.weight/);
  });
});
