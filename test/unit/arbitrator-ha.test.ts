// Arbitrator HA on etcd (issue 13), the pure parts: a standby decides nothing and says who leads;
// taking the lead finishes what the store holds; sends wait for the etcd write before them and
// are never sent when it failed; dbservers and dbclients refuse an older fencing token.
import { describe, expect, it } from 'vitest';
import type { CommonEvent } from '../../src/roles/core.js';
import type { ArbitratorRecords } from '../../src/roles/arbitrator/records.js';
import { RECORD_KEYS } from '../../src/roles/arbitrator/records.js';
import { initialStoreView, type StoreEvent } from '../../src/roles/arbitrator/standby.js';
import { OrderedOutbox } from '../../src/roles/arbitrator/store/outbox.js';
import { checkFence } from '../../src/roles/fence.js';
import type { PartyId } from '../../src/protocol/party.js';
import type { BodyOf } from '../../src/protocol/verbs.js';
import { dbclientCore, initialState as dbclientInitial } from '../../src/roles/dbclient/core.js';
import { dbserverCore, PENDING_KEY } from '../../src/roles/dbserver/core.js';
import { LEADER_FENCE_KEY as FENCE_KEY } from '../../src/roles/fence.js';
import { CFG, msg as dbclientMsg } from './dbclient-fixtures.js';
import { decisionFor, Driver as DbDriver, kinds as dbKinds, SETTINGS as DB_SETTINGS, message, nonPrimaryHalf } from './dbserver-fixtures.js';
import { ArbDriver, cutInHalves, op, primary, publishes, replies } from './arbitrator-fixtures.js';

const LEADER = { party: 'arbitrator:2' as const, host: '10.0.9.6', port: 4800 };

function standby(): ArbDriver {
  const d = new ArbDriver();
  d.state = { ...d.state, store: initialStoreView(d.now) };
  d.start();
  for (const n of ['n1', 'n2', 'n3', 'n4'] as const) d.report(n, primary(n));
  return d;
}

function store(d: ArbDriver, ev: StoreEvent) {
  return d.step(ev as unknown as CommonEvent);
}

function follow(d: ArbDriver, records: ArbitratorRecords | null = null) {
  return store(d, { kind: 'store', view: { kind: 'etcd', leading: false, token: null, leader: LEADER, problem: null }, records });
}

function lead(d: ArbDriver, token: number, records: ArbitratorRecords | null) {
  return store(d, { kind: 'store', view: { kind: 'etcd', leading: true, token, leader: null, problem: null }, records });
}

describe('arbitrator HA: leadership in the decision core', () => {
  it('a standby sends nothing at start, promotes nothing at a settled split, and names the leader', () => {
    const d = new ArbDriver();
    d.state = { ...d.state, store: initialStoreView(d.now) };
    const start = d.start();
    expect(publishes(start, 'directives')).toHaveLength(0);
    for (const n of ['n1', 'n2', 'n3', 'n4'] as const) d.report(n, primary(n));
    follow(d);
    d.advance(1000);
    const effects = cutInHalves(d);
    expect(publishes(effects, 'make_primary')).toHaveLength(0);
    expect(effects.filter((e) => e.kind === 'persist')).toHaveLength(0);
    const reasons = d.state.evaluation?.reasons ?? [];
    expect(reasons[0]).toMatchObject({ code: 'standby' });
    expect(reasons[0]?.text).toMatch(/arbitrator:2 at 10\.0\.9\.6:4800 leads/);
    expect(d.state.records.decisions).toHaveLength(0);
  });

  it('etcd unavailable: nothing is decided, and the reason says so', () => {
    const d = standby();
    store(d, {
      kind: 'store',
      view: { kind: 'etcd', leading: false, token: null, leader: null, problem: 'etcd did not answer a lease grant within 2000 ms (unreachable, or no quorum)' },
      records: null,
    });
    d.advance(1000);
    expect(publishes(cutInHalves(d), 'make_primary')).toHaveLength(0);
    expect(d.state.evaluation?.reasons[0]).toMatchObject({ code: 'store_unavailable' });
    expect(d.state.evaluation?.reasons[0]?.text).toMatch(/no quorum/);
  });

  it("a standby refuses the operator's changes with the leader's name and changes nothing", () => {
    const d = standby();
    follow(d);
    const epoch = d.state.records.directives.epoch;
    const r = replies(d.command('drain', { ...op('r1'), node: 'dbserver:1' }));
    expect(r[0]?.ok).toBe(false);
    expect(r[0]?.message).toMatch(/standing by; the leader is arbitrator:2 at 10\.0\.9\.6:4800/);
    expect(d.state.records.directives.epoch).toBe(epoch);
    // Status is still answered by a standby.
    expect(publishes(d.command('status_summary', { requestId: 's1', pages: null }), 'status_summary_page').length).toBeGreaterThan(0);
  });

  it('the cut seen by a standby is promoted the moment it takes the lead; the pending decision of a dead leader is resent, not made again', () => {
    const d = standby();
    follow(d);
    d.advance(1000);
    cutInHalves(d);
    const took = lead(d, 41, null);
    const sent = publishes(took, 'make_primary');
    expect(sent.map((m) => m.to)).toEqual(['dbserver:1']);
    expect(publishes(took, 'directives').length).toBeGreaterThan(0);
    const iPersist = took.findIndex((e) => e.kind === 'persist' && e.key === RECORD_KEYS.decisions);
    expect(iPersist).toBeGreaterThanOrEqual(0);
    expect(iPersist).toBeLessThan(took.findIndex((e) => e.kind === 'publish' && e.verb === 'make_primary'));

    // A second arbitrator that follows and reads those records, then takes over: resends, never decides anew.
    const records = structuredClone(d.state.records);
    const e = standby();
    follow(e, records);
    e.advance(1000);
    cutInHalves(e);
    const took2 = lead(e, 57, records);
    const again = publishes(took2, 'make_primary');
    expect(again.map((m) => m.body.decisionId)).toEqual([sent[0]?.body.decisionId]);
    expect(e.state.records.decisions).toHaveLength(1);
  });
});

describe('arbitrator HA: persist in etcd before the send', () => {
  it('a send queued behind a write waits for it, and is never sent when the write fails', async () => {
    const failures: string[] = [];
    const box = new OrderedOutbox((err) => failures.push(err.message));
    const sent: string[] = [];
    let commit!: () => void;
    box.write('decision', () => new Promise<void>((r) => (commit = r)));
    box.send(() => sent.push('make_primary 1'));
    await Promise.resolve();
    expect(sent, 'nothing leaves before etcd committed').toEqual([]);
    commit();
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual(['make_primary 1']);

    let refuse!: (e: Error) => void;
    box.write('decision 2', () => new Promise<void>((_, rej) => (refuse = rej)));
    box.send(() => sent.push('make_primary 2'));
    box.send(() => sent.push('directives'));
    refuse(new Error('the slot is taken'));
    await new Promise((r) => setTimeout(r, 0));
    box.send(() => sent.push('later'));
    expect(sent).toEqual(['make_primary 1']);
    expect(failures).toEqual(['the slot is taken']);
    expect(box.failed).toBe(true);
    box.reset();
    box.send(() => sent.push('next term'));
    expect(sent).toEqual(['make_primary 1', 'next term']);
  });
});

describe('fencing tokens', () => {
  it('refuses an older token, and a missing one where the site runs on etcd', () => {
    expect(checkFence(0, 5, true)).toEqual({ ok: true, highest: 5, raised: true });
    expect(checkFence(5, 5, true)).toEqual({ ok: true, highest: 5, raised: false });
    expect(checkFence(9, 5, true)).toMatchObject({ ok: false, reason: expect.stringMatching(/token 5 is older than 9/) });
    expect(checkFence(9, undefined, true)).toMatchObject({ ok: false });
    expect(checkFence(0, undefined, false)).toEqual({ ok: true, highest: 0, raised: false });
  });
});

describe('fencing tokens at the dbserver and the dbclient', () => {
  it("a dbserver refuses an old leader's make_primary after a newer leader's directives, counted, with nothing recorded; the same decision with the new token is carried on", () => {
    const d = new DbDriver();
    d.core = dbserverCore({ ...DB_SETTINGS, fenced: true });
    d.step({ kind: 'start' });
    d.observe(nonPrimaryHalf());
    d.step(message('arbitrator:2', 'directives', { epoch: 3, drained: [], paused: false, writer: null, fence: 20 }));
    expect(d.persisted.get(FENCE_KEY)).toBe(20);
    const old = d.step(message('arbitrator:1', 'make_primary', { ...decisionFor(nonPrimaryHalf(), 'd-old'), fence: 12 }));
    expect(dbKinds(old)).toEqual(['log:make_primary_fenced']);
    expect(d.state.fencedRefusals).toBe(1);
    expect(d.state.pending).toBeNull();
    expect(d.persisted.get(PENDING_KEY)).toBeUndefined();
    // Unfenced is refused too on an etcd site; the new leader's copy (same id) is taken.
    expect(dbKinds(d.step(message('arbitrator:1', 'make_primary', decisionFor(nonPrimaryHalf(), 'd-old'))))).toEqual(['log:make_primary_fenced']);
    const now = d.step(message('arbitrator:2', 'make_primary', { ...decisionFor(nonPrimaryHalf(), 'd-old'), fence: 20 }));
    expect(dbKinds(now)).toContain('log:make_primary_received');
    expect(d.state.pending?.decision.decisionId).toBe('d-old');
  });

  it("a dbserver refuses an old leader's start_mariadb (a cold-start bootstrap order) for its token, counted, nothing recorded", () => {
    const d = new DbDriver();
    d.core = dbserverCore({ ...DB_SETTINGS, fenced: true });
    d.step({ kind: 'start' });
    d.step(message('arbitrator:2', 'directives', { epoch: 3, drained: [], paused: false, writer: null, fence: 20 }));
    const order = { decisionId: 'b-old', mode: 'bootstrap' as const, stateUuid: 'u', seqno: 7, forced: false, reason: 'highest seqno', decidedAt: d.now, validForMs: 30_000 };
    expect(dbKinds(d.step(message('arbitrator:1', 'start_mariadb', { ...order, fence: 12 })))).toEqual(['log:start_mariadb_fenced']);
    expect(dbKinds(d.step(message('arbitrator:1', 'start_mariadb', order)))).toEqual(['log:start_mariadb_fenced']);
    expect(d.state.fencedRefusals).toBe(2);
    expect(d.state.pendingStart).toBeNull();
  });

  it("a dbclient follows any of the site's arbitrators, refuses directives older than the newest token", () => {
    const cfg = { ...CFG, arbitrators: ['arbitrator:1', 'arbitrator:2'] as PartyId[], fenced: true };
    const core = dbclientCore(cfg);
    let s = dbclientInitial();
    const at = 1_700_000_000_000;
    const step = (from: PartyId, body: BodyOf<'directives'>) => {
      const r = core.step(s, dbclientMsg(from, 'directives', body), at);
      s = r.state;
      return r.effects.map((e) => (e.kind === 'log' ? `log:${e.event}` : e.kind));
    };
    expect(step('arbitrator:2', { epoch: 4, drained: ['dbserver:1'], paused: false, writer: null, fence: 30 })).toContain('log:directives_received');
    expect(step('arbitrator:1', { epoch: 5, drained: [], paused: false, writer: null, fence: 29 })).toEqual(['log:directives_fenced']);
    expect(s.directives?.body.drained).toEqual(['dbserver:1']);
    expect(s.fencedRefusals).toBe(1);
    expect(step('arbitrator:1', { epoch: 5, drained: [], paused: false, writer: null, fence: 31 })).toContain('log:directives_received');
    expect(s.directives?.from).toBe('arbitrator:1');
  });
});
