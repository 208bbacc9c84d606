import { describe, expect, it } from 'vitest';
import { viewKey, viewOf } from '../../src/protocol/view.js';
import { GaleraModel, type ModelNodeSpec } from './galera-model.js';

function nodes(n: number, weights: readonly number[] = []): ModelNodeSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `n${i + 1}`,
    uuid: `0000000${i + 1}-0000-0000-0000-000000000000`,
    weight: weights[i] ?? 1,
    address: `127.0.0.${11 + i}:3306`,
  }));
}

const status = (m: GaleraModel, n: string) => m.reading(n)?.clusterStatus;
const size = (m: GaleraModel, n: string) => m.reading(n)?.clusterSize;

describe('Galera model: the facts measured in docs/lab.md', () => {
  it('starts as one Primary component of every node', () => {
    const m = new GaleraModel(nodes(3), 'u');
    expect(m.primaryViews()).toHaveLength(1);
    for (const n of m.names) expect(m.reading(n)).toMatchObject({ clusterStatus: 'Primary', clusterSize: 3, ready: true, localState: 'Synced' });
  });

  it('1 of 3 cut: the majority stays Primary with size 2, the minority goes non-Primary', () => {
    const m = new GaleraModel(nodes(3), 'u');
    m.cut(['n3'], ['n1', 'n2']);
    // Until the cut is detected the majority still says Primary, size 3 (docs/lab.md).
    expect([status(m, 'n1'), size(m, 'n1')]).toEqual(['Primary', 3]);
    m.reconfigure();
    expect([status(m, 'n1'), size(m, 'n1'), status(m, 'n2')]).toEqual(['Primary', 2, 'Primary']);
    expect(m.reading('n3')).toMatchObject({ clusterStatus: 'non-Primary', clusterSize: 1, ready: false, confId: null, localState: 'Initialized' });
  });

  it('2/2 cut: both halves go non-Primary; 1-1-1: every side non-Primary', () => {
    const m = new GaleraModel(nodes(4), 'u');
    m.cut(['n1', 'n2'], ['n3', 'n4']);
    m.reconfigure();
    expect(m.names.map((n) => status(m, n))).toEqual(['non-Primary', 'non-Primary', 'non-Primary', 'non-Primary']);
    expect(m.primaryViews()).toHaveLength(0);
    const three = new GaleraModel(nodes(3), 'u');
    three.cut(['n1'], ['n2', 'n3']);
    three.cut(['n2'], ['n3']);
    three.reconfigure();
    expect(three.primaryViews()).toHaveLength(0);
  });

  it('pc.bootstrap of one half makes that half Primary with itself as LastPC; the other half stays non-Primary', () => {
    const m = new GaleraModel(nodes(4), 'u');
    m.cut(['n1', 'n2'], ['n3', 'n4']);
    m.reconfigure();
    const before = m.lastPc('n1');
    const r = m.pcBootstrap('n1');
    expect(r.kind).toBe('bootstrapped');
    expect([status(m, 'n1'), status(m, 'n2'), status(m, 'n3'), status(m, 'n4')]).toEqual(['Primary', 'Primary', 'non-Primary', 'non-Primary']);
    expect(m.lastPc('n2')?.members).toEqual(['n1', 'n2']);
    expect(m.lastPc('n3')).toEqual(before);
    // Ignored on a node that is Primary already, as pc.bootstrap is.
    expect(m.pcBootstrap('n2')).toEqual({ kind: 'ignored', reason: 'primary' });
  });

  it('heal: the non-Primary half joins the bootstrapped primary and catches up (IST)', () => {
    const m = new GaleraModel(nodes(4), 'u');
    m.cut(['n1', 'n2'], ['n3', 'n4']);
    m.reconfigure();
    m.pcBootstrap('n1');
    m.commit(5);
    m.heal();
    m.reconfigure();
    expect(m.primaryViews()).toHaveLength(1);
    for (const n of m.names) expect(m.reading(n)).toMatchObject({ clusterStatus: 'Primary', clusterSize: 4, lastCommitted: 5 });
  });

  it('heal with no bootstrap: the merged piece holds all of LastPC again and is Primary', () => {
    const m = new GaleraModel(nodes(4), 'u');
    m.cut(['n1', 'n2'], ['n3', 'n4']);
    m.reconfigure();
    m.heal();
    m.reconfigure();
    expect(m.names.map((n) => status(m, n))).toEqual(['Primary', 'Primary', 'Primary', 'Primary']);
  });

  it('bootstrapping both halves is a split brain that does not heal', () => {
    const m = new GaleraModel(nodes(4), 'u');
    m.cut(['n1', 'n2'], ['n3', 'n4']);
    m.reconfigure();
    m.pcBootstrap('n1');
    m.pcBootstrap('n3');
    expect(m.primaryViews()).toHaveLength(2);
    m.heal();
    const changes = m.reconfigure();
    expect(changes[0]?.kind).toBe('no_merge');
    expect(m.primaryViews()).toHaveLength(2);
  });
});

describe('Galera model: the quorum rule', () => {
  it('weights decide: 2+2 nodes with weights 2,1 | 1,1 leave the heavier half Primary', () => {
    const m = new GaleraModel(nodes(4, [2, 1, 1, 1]), 'u');
    m.cut(['n1', 'n2'], ['n3', 'n4']);
    m.reconfigure();
    expect(m.names.map((n) => status(m, n))).toEqual(['Primary', 'Primary', 'non-Primary', 'non-Primary']);
  });

  it('quorum counts against the newest LastPC the piece remembers, not an older one', () => {
    const m = new GaleraModel(nodes(4), 'u');
    m.cut(['n4'], ['n1', 'n2', 'n3']);
    m.reconfigure(); // {1,2,3} Primary: LastPC of three; n4 remembers the old four
    m.cut(['n1'], ['n2', 'n3']);
    m.reconfigure(); // {2,3} holds 2 of 3: Primary
    expect(status(m, 'n2')).toBe('Primary');
    // n1 and n4 meet: 2 of the old four would be half, but n1 remembers the newer {1,2,3}, of which they hold 1.
    m.heal(['n1'], ['n4']);
    m.reconfigure();
    expect([status(m, 'n1'), size(m, 'n1')]).toEqual(['non-Primary', 2]);
    expect(m.primaryViews().map((v) => v.members)).toEqual([['n2', 'n3']]);
  });

  it('non-Primary pieces re-form a Primary only with EVERY member of the newest LastPC, not a majority (pc_proto.cpp is_prim)', () => {
    const m = new GaleraModel(nodes(3), 'u');
    m.cut(['n1'], ['n2', 'n3']);
    m.cut(['n2'], ['n3']);
    m.reconfigure(); // 1-1-1: every node non-Primary, LastPC {1,2,3}
    m.heal(['n1'], ['n2']);
    m.reconfigure();
    // 2 of 3 would be a majority; the old model made it Primary. Galera needs n3 too.
    expect([status(m, 'n1'), size(m, 'n1'), status(m, 'n3')]).toEqual(['non-Primary', 2, 'non-Primary']);
    m.heal();
    m.reconfigure();
    expect(m.names.map((n) => status(m, n))).toEqual(['Primary', 'Primary', 'Primary']);
  });

  it('a 2+2 cut healed but for one node stays non-Primary; after a bootstrap, the rest of the old LastPC never re-forms by itself', () => {
    const m = new GaleraModel(nodes(4), 'u');
    m.cut(['n1', 'n2'], ['n3', 'n4']);
    m.reconfigure();
    // The read-then-bootstrap window of docs/safety.md: C={n1,n2} decided, n2 moves to the other half first.
    m.heal(['n2'], ['n3', 'n4']);
    m.cut(['n1'], ['n2']);
    m.reconfigure();
    expect([status(m, 'n2'), size(m, 'n2')]).toEqual(['non-Primary', 3]); // 3 of 4, but n1 is missing
    expect(m.pcBootstrap('n1').kind).toBe('bootstrapped');
    expect(m.primaryViews().map((v) => v.members)).toEqual([['n1']]);
  });

  it('a Primary component keeps quorum with more than half of its own weight, counted with the real pc.weight', () => {
    const specs = nodes(4);
    (specs[2] as ModelNodeSpec).pcWeight = 2; // the config says 1
    const m = new GaleraModel(specs, 'u');
    m.cut(['n1', 'n2'], ['n3', 'n4']);
    m.reconfigure();
    expect(m.names.map((n) => status(m, n))).toEqual(['non-Primary', 'non-Primary', 'Primary', 'Primary']);
    m.setPcWeight('n3', 1);
    expect(m.pcWeight('n3')).toBe(1);
  });

  it('pc.bootstrap is ignored during a view change (only in S_NON_PRIM), as on a Primary', () => {
    const m = new GaleraModel(nodes(4), 'u');
    m.cut(['n1', 'n2'], ['n3', 'n4']);
    m.reconfigure();
    m.heal();
    expect(m.beginChange()).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(m.pcBootstrap('n1')).toEqual({ kind: 'ignored', reason: 'view_change' });
    m.reconfigure();
    expect(m.isChanging('n1')).toBe(false);
    expect(status(m, 'n1')).toBe('Primary');
  });

  it('a restarted node (pc.recovery) has a bumped incarnation in its uuid, remembers its LastPC and counts as present by the fixed part', () => {
    const m = new GaleraModel(nodes(3), 'u');
    const old = m.reading('n3')?.nodeUuid;
    const lastPc = m.reading('n3')?.lastPrimary;
    m.kill('n3');
    m.reconfigure(); // {1,2} keep 2 of 3
    m.cut(['n1'], ['n2']);
    m.reconfigure(); // 1 of {1,2}: both non-Primary, LastPC {1,2}
    expect(m.primaryViews()).toHaveLength(0);
    m.restart('n3');
    const r = m.reading('n3');
    expect(r?.nodeUuid).not.toBe(old);
    expect(r?.nodeUuid.split('-')[0]).toBe(old?.split('-')[0]);
    expect(r?.lastPrimary).toEqual(lastPc);
    expect([r?.clusterStatus, r?.clusterSize]).toEqual(['non-Primary', 1]);
    m.reconfigure(); // n3 meets n1 and n2 (n1|n2 still cut, n3 relays): the newest LastPC {1,2} is all there
    expect(m.names.map((n) => status(m, n))).toEqual(['Primary', 'Primary', 'Primary']);
    expect(m.reading('n1')?.members.find((x) => x.name === 'n3')?.uuid).toBe(r?.nodeUuid);
  });

  it('a whole cluster restarted re-forms its Primary only when exactly the restored view is back (pc.recovery)', () => {
    const m = new GaleraModel(nodes(3), 'u');
    for (const n of m.names) m.kill(n);
    m.restart('n1');
    m.restart('n2');
    m.reconfigure();
    expect(m.primaryViews()).toHaveLength(0);
    m.restart('n3');
    m.reconfigure();
    expect(m.names.map((n) => status(m, n))).toEqual(['Primary', 'Primary', 'Primary']);
  });

  it('SHOW STATUS may lag the group layer: a frozen reading shows the old view until shown', () => {
    const m = new GaleraModel(nodes(4), 'u');
    m.freezeShown('n1');
    m.cut(['n1', 'n2'], ['n3', 'n4']);
    m.reconfigure();
    expect([status(m, 'n1'), size(m, 'n1')]).toEqual(['Primary', 4]);
    expect(m.view('n1')?.primary).toBe(false);
    m.show('n1');
    expect([status(m, 'n1'), size(m, 'n1')]).toEqual(['non-Primary', 2]);
  });

  it('an asymmetric cut breaks one link; the others still relay, so the view stays whole', () => {
    const m = new GaleraModel(nodes(3), 'u');
    m.cut(['n1'], ['n3'], true);
    expect(m.canTalk('n3', 'n1')).toBe(false);
    expect(m.reconfigure()).toEqual([]);
    m.cut(['n1'], ['n2'], true);
    m.reconfigure();
    expect([status(m, 'n1'), status(m, 'n2'), size(m, 'n2')]).toEqual(['non-Primary', 'Primary', 2]);
  });

  it('a killed node reads nothing and leaves the view at the next reconfigure', () => {
    const m = new GaleraModel(nodes(3), 'u');
    m.kill('n3');
    expect(m.reading('n3')).toBeNull();
    expect(size(m, 'n1')).toBe(3);
    m.reconfigure();
    expect([status(m, 'n1'), size(m, 'n1')]).toEqual(['Primary', 2]);
    expect(m.pcBootstrap('n3')).toEqual({ kind: 'ignored', reason: 'down' });
  });

  it('only Primary views commit; the reading names the exact view a decision would (viewOf)', () => {
    const m = new GaleraModel(nodes(4), 'u');
    m.commit(3);
    m.cut(['n1', 'n2'], ['n3', 'n4']);
    m.reconfigure();
    m.commit(10);
    expect(m.seqno('n1')).toBe(3);
    const r1 = m.reading('n1');
    const r2 = m.reading('n2');
    const r3 = m.reading('n3');
    if (!r1 || !r2 || !r3) throw new Error('readings expected');
    expect(viewKey(viewOf(r1))).toBe(viewKey(viewOf(r2)));
    expect(viewKey(viewOf(r1))).not.toBe(viewKey(viewOf(r3)));
    expect(r1.lastPrimary?.members).toHaveLength(4);
    expect(r1.confId).toBeNull();
  });
});
