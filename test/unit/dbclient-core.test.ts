import { describe, expect, it } from 'vitest';
import { encodeDatagram, MAX_DATAGRAM_BYTES } from '../../src/protocol/datagram.js';
import { Keyring } from '../../src/protocol/keys.js';
import type { PartyId } from '../../src/protocol/party.js';
import type { ClientStatusReport } from '../../src/protocol/verbs.js';
import type { CommonEffect, CommonEvent } from '../../src/roles/core.js';
import { dbclientCore, type DbclientEffect, type DbclientEvent, type DbclientState, initialState, MAX_REPORTED_ENTRIES, PERSIST_WRITER } from '../../src/roles/dbclient/core.js';
import type { DesiredLb, ObservedServer } from '../../src/roles/dbclient/lb/types.js';
import { ARB, CFG, directives, msg, NON_PRIMARY, observedFrom, report } from './dbclient-fixtures.js';

type Eff = CommonEffect | DbclientEffect;
const T0 = 1_700_000_000_000;
const ALL: PartyId[] = ['dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4'];

/** Drives the core like the RoleHost does, and plays a load balancer that does as it is told. */
class Driver {
  readonly core = dbclientCore(CFG);
  state: DbclientState;
  now = T0;
  effects: Eff[] = [];
  /** What the simulated LB does now: the last desired state applied. */
  lb: DesiredLb | null = null;
  sessions: Record<string, number> = {};
  applies: Array<{ desired: DesiredLb; reason: string }> = [];
  pending: Eff[] = [];

  constructor(initial: DbclientState = initialState()) {
    this.state = initial;
  }

  step(ev: CommonEvent | DbclientEvent): Eff[] {
    const r = this.core.step(this.state, ev, this.now);
    this.state = r.state;
    this.effects.push(...r.effects);
    for (const e of r.effects) {
      if (e.kind === 'apply_lb') this.applies.push({ desired: e.desired, reason: e.reason });
      if (e.kind === 'apply_lb' || e.kind === 'observe_lb') this.pending.push(e);
    }
    return r.effects;
  }

  at(ms: number): this {
    this.now = T0 + ms;
    return this;
  }

  report(id: PartyId, over: Parameters<typeof report>[1] = {}, observedAt = this.now): Eff[] {
    return this.step(msg(id, 'db_status_report', report(observedAt, over)));
  }

  allHealthy(): void {
    for (const id of ALL) this.report(id);
  }

  observed(): ObservedServer[] {
    return this.lb
      ? observedFrom(this.lb, this.sessions)
      : ALL.flatMap((server) => (['write', 'read'] as const).map((backend) => ({ backend, server, state: 'ready' as const, operational: true, weight: 1, sessions: 0 })));
  }

  /** Completes the LB operations in flight, in order, as the executor would. */
  settle(): void {
    for (let i = 0; i < 20 && this.pending.length > 0; i++) {
      const e = this.pending.shift() as Eff;
      if (e.kind === 'apply_lb') {
        this.lb = e.desired;
        this.step({ kind: 'lb_observed', observed: this.observed(), applied: { commands: ['(simulated)'], errors: [] } });
      } else if (e.kind === 'observe_lb') {
        this.step({ kind: 'lb_observed', observed: this.observed(), applied: null });
      }
    }
  }

  state_(backend: 'write' | 'read', id: PartyId): string | undefined {
    const d = this.lb?.[backend].find((x) => x.server === id);
    return d ? `${d.state}${d.shutdownSessions ? '+shut' : ''}` : undefined;
  }

  writeReady(): string[] {
    return (this.lb?.write ?? []).filter((x) => x.state === 'ready').map((x) => x.server);
  }

  logs(event: string): string[] {
    return this.effects.filter((e): e is Extract<Eff, { kind: 'log' }> => e.kind === 'log' && e.event === event).map((e) => e.msg);
  }

  published(): ClientStatusReport[] {
    return this.effects.filter((e) => e.kind === 'publish' && e.verb === 'client_status_report').map((e) => (e as { body: ClientStatusReport }).body);
  }
}

function started(): Driver {
  const d = new Driver();
  d.step({ kind: 'start' });
  d.settle();
  return d;
}

describe('dbclient core: start-up', () => {
  it('touches the load balancer only once every server has reported', () => {
    const d = started();
    d.report('dbserver:1');
    d.report('dbserver:2');
    d.report('dbserver:3');
    expect(d.applies).toHaveLength(0);
    d.report('dbserver:4');
    expect(d.applies).toHaveLength(1);
    d.settle();
    expect(d.writeReady()).toEqual(['dbserver:1']);
    expect(ALL.map((id) => d.state_('read', id))).toEqual(['ready', 'ready', 'ready', 'ready']);
  });

  it('or once the staleness limit has passed, taking the silent server out', () => {
    const d = started();
    for (const id of ALL.slice(0, 3)) d.report(id);
    d.at(CFG.staleAfterMs);
    for (const id of ALL.slice(0, 3)) d.report(id);
    d.step({ kind: 'timer', name: 'warmup' });
    d.settle();
    expect(d.state_('read', 'dbserver:4')).toBe('maint+shut');
    expect(d.state_('read', 'dbserver:1')).toBe('ready');
  });

  it('honours a persisted drain set and writer at once, before the arbitrator is heard', () => {
    const d = new Driver(
      initialState({ directives: { body: directives({ epoch: 4, drained: ['dbserver:2'], writer: 'dbserver:1' }), receivedAt: T0 - 60_000 }, writer: { writer: 'dbserver:3', retiring: [] } }),
    );
    d.step({ kind: 'start' });
    d.settle();
    d.allHealthy();
    d.settle();
    expect(d.state_('read', 'dbserver:2')).toBe('drain');
    // The persisted directives count as the arbitrator's until it is found silent.
    expect(d.writeReady()).toEqual(['dbserver:1']);
  });
});

describe('dbclient core: routing changes', () => {
  it('takes a node that goes non-Primary out at once, shutting its sessions, and logs why', () => {
    const d = started();
    d.allHealthy();
    d.settle();
    d.at(500);
    d.report('dbserver:4', NON_PRIMARY);
    expect(d.applies).toHaveLength(2);
    d.settle();
    expect(d.state_('read', 'dbserver:4')).toBe('maint+shut');
    expect(d.logs('route_changed')).toContain('dbserver:4 out, sessions shut: non-Primary (component of 1)');
  });

  it('takes a silent server out when its last report goes stale, through the expiry timer', () => {
    const d = started();
    d.allHealthy();
    d.settle();
    for (let t = 5_000; t <= 10_000; t += 5_000) {
      d.at(t);
      for (const id of ALL.slice(0, 3)) d.report(id);
    }
    const expiry = d.effects.filter((e) => e.kind === 'timer' && e.name === 'report_expiry').at(-1) as { afterMs: number };
    // dbserver:4 was last heard at T0: its report expires at T0 + staleAfter.
    expect(d.now + expiry.afterMs).toBe(T0 + CFG.staleAfterMs + 1);
    d.at(CFG.staleAfterMs + 1);
    d.step({ kind: 'timer', name: 'report_expiry' });
    d.settle();
    expect(d.state_('read', 'dbserver:4')).toBe('maint+shut');
  });

  it('does not take a resent old observation as news: the report still goes stale', () => {
    const d = started();
    d.allHealthy();
    d.settle();
    d.at(14_000);
    for (const id of ALL.slice(0, 3)) d.report(id);
    d.report('dbserver:4', {}, T0); // same observedAt as before: a resend whose ack was lost
    d.at(15_001);
    d.step({ kind: 'timer', name: 'report_expiry' });
    d.settle();
    expect(d.state_('read', 'dbserver:4')).toBe('maint+shut');
    expect(d.state_('read', 'dbserver:1')).toBe('ready');
  });

  it('brings a node back when it reports Synced again', () => {
    const d = started();
    d.allHealthy();
    d.report('dbserver:4', NON_PRIMARY);
    d.settle();
    d.at(8_000);
    d.report('dbserver:4');
    d.settle();
    expect(d.state_('read', 'dbserver:4')).toBe('ready');
  });

  it('applies one change at a time: changes during an apply are folded into the next one', () => {
    const d = started();
    d.allHealthy();
    expect(d.applies).toHaveLength(1);
    d.report('dbserver:3', NON_PRIMARY);
    d.report('dbserver:4', NON_PRIMARY);
    expect(d.applies).toHaveLength(1);
    d.settle();
    expect(d.applies).toHaveLength(2);
    expect(d.state_('read', 'dbserver:3')).toBe('maint+shut');
    expect(d.state_('read', 'dbserver:4')).toBe('maint+shut');
  });
});

describe('dbclient core: the writer', () => {
  it("follows the arbitrator's writer while it is fresh", () => {
    const d = started();
    d.allHealthy();
    d.step(msg(ARB, 'directives', directives({ epoch: 2, writer: 'dbserver:2' })));
    d.settle();
    expect(d.writeReady()).toEqual(['dbserver:2']);
  });

  it('hands over before it drains: the new writer ready first, the old one drains, then leaves when its sessions are gone', () => {
    const d = started();
    d.allHealthy();
    d.settle();
    expect(d.writeReady()).toEqual(['dbserver:1']);
    d.sessions = { 'write/dbserver:1': 3, 'read/dbserver:1': 2 };
    d.step(msg(ARB, 'directives', directives({ epoch: 2, drained: ['dbserver:1'] })));
    const apply = d.applies.at(-1) as { desired: DesiredLb };
    expect(apply.desired.write.map((x) => `${x.server}:${x.state}`)).toEqual(['dbserver:2:ready', 'dbserver:1:drain', 'dbserver:3:maint', 'dbserver:4:maint']);
    expect(apply.desired.read.find((x) => x.server === 'dbserver:1')).toEqual({ server: 'dbserver:1', state: 'drain', weight: 1, shutdownSessions: false });
    expect(d.logs('writer_changed').slice(1)).toEqual([
      'writer dbserver:1 → dbserver:2: dbserver:1 is drained; first by DC priority then serial (east); dbserver:1 hands over: its write sessions finish, no new ones',
    ]);
    d.settle();
    expect(d.state.retiring).toEqual(['dbserver:1']);
    // Its write sessions finish: the next reading retires it from the write backend for good.
    d.sessions = { 'read/dbserver:1': 2 };
    d.step({ kind: 'timer', name: 'lb_poll' });
    d.settle();
    expect(d.state.retiring).toEqual([]);
    expect(d.state_('write', 'dbserver:1')).toBe('maint');
    expect(d.state_('read', 'dbserver:1')).toBe('drain');
    expect(d.logs('handover_done')).toHaveLength(1);
  });

  it('a writer that goes non-Primary is replaced at once, without a hand-over (its sessions are shut)', () => {
    const d = started();
    d.allHealthy();
    d.settle();
    d.report('dbserver:1', NON_PRIMARY);
    d.settle();
    expect(d.writeReady()).toEqual(['dbserver:2']);
    expect(d.state_('write', 'dbserver:1')).toBe('maint+shut');
    expect(d.state.retiring).toEqual([]);
  });

  it('without the arbitrator: sticky, so a recovered node does not take the writer back', () => {
    const d = started();
    d.allHealthy();
    d.step(msg(ARB, 'directives', directives({ epoch: 2, writer: 'dbserver:1' })));
    d.settle();
    d.step({ kind: 'silent', peer: ARB, silentMs: 15_000 });
    expect(d.logs('arbitrator_silent')).toHaveLength(1);
    d.report('dbserver:1', NON_PRIMARY);
    d.report('dbserver:2', NON_PRIMARY);
    d.settle();
    expect(d.writeReady()).toEqual(['dbserver:3']);
    d.at(10_000);
    d.report('dbserver:1');
    d.report('dbserver:2');
    d.settle();
    expect(d.writeReady()).toEqual(['dbserver:3']);
    expect(d.state_('read', 'dbserver:1')).toBe('ready');
  });

  it('back under the arbitrator: its choice wins again, and it is persisted', () => {
    const d = started();
    d.allHealthy();
    d.step({ kind: 'silent', peer: ARB, silentMs: 15_000 });
    d.step(msg(ARB, 'directives', directives({ epoch: 3, writer: 'dbserver:4' })));
    d.settle();
    expect(d.writeReady()).toEqual(['dbserver:4']);
    const persisted = d.effects.filter((e) => e.kind === 'persist' && e.key === PERSIST_WRITER).map((e) => (e as { value: unknown }).value);
    // Handed over (no write sessions were open), then done.
    expect(persisted.slice(-2)).toEqual([
      { writer: 'dbserver:4', retiring: ['dbserver:1'] },
      { writer: 'dbserver:4', retiring: [] },
    ]);
  });

  it('an ack from the arbitrator (peer_heard) is enough to follow its directives again', () => {
    const d = started();
    d.allHealthy();
    d.step(msg(ARB, 'directives', directives({ epoch: 2, writer: 'dbserver:2' })));
    d.settle();
    d.step({ kind: 'silent', peer: ARB, silentMs: 15_000 });
    d.report('dbserver:2', NON_PRIMARY);
    d.settle();
    expect(d.writeReady()).toEqual(['dbserver:1']);
    d.report('dbserver:2');
    d.settle();
    expect(d.writeReady()).toEqual(['dbserver:1']); // sticky while the arbitrator is away
    d.step({ kind: 'heard', peer: ARB });
    d.settle();
    expect(d.writeReady()).toEqual(['dbserver:2']);
  });

  it('ignores directives from anyone but the arbitrator', () => {
    const d = started();
    d.allHealthy();
    d.step(msg('arbitrator:2', 'directives', directives({ drained: ['dbserver:1'] })));
    d.settle();
    expect(d.state_('read', 'dbserver:1')).toBe('ready');
    expect(d.logs('directives_ignored')).toHaveLength(1);
  });
});

describe('dbclient core: the load balancer as it is', () => {
  it('repairs drift seen by a plain reading (an HAProxy restart puts every server back to ready)', () => {
    const d = started();
    d.allHealthy();
    d.step(msg(ARB, 'directives', directives({ epoch: 2, drained: ['dbserver:3'] })));
    d.settle();
    const before = d.applies.length;
    d.lb = null; // restarted: every server ready in both backends
    d.step({ kind: 'timer', name: 'lb_poll' });
    d.settle();
    expect(d.applies.length).toBe(before + 1);
    expect(d.applies.at(-1)?.reason).toMatch(/^drift: write\/dbserver:2 is ready, want maint/);
    expect(d.state_('read', 'dbserver:3')).toBe('drain');
    expect(d.logs('lb_drift')).toHaveLength(1);
  });

  it('does not loop when an apply cannot fix the drift: it waits for the next poll', () => {
    const d = started();
    d.allHealthy();
    const apply = d.pending.shift() as Extract<DbclientEffect, { kind: 'apply_lb' }>;
    expect(apply.kind).toBe('apply_lb');
    // The LB refused everything: it still shows all servers ready.
    const observed = ALL.flatMap((server) => (['write', 'read'] as const).map((backend) => ({ backend, server, state: 'ready' as const, operational: true, weight: 1, sessions: 0 })));
    const effects = d.step({ kind: 'lb_observed', observed, applied: { commands: ['set server galera_write/n2 state maint'], errors: ['LB_PROTOCOL: refused'] } });
    expect(effects.some((e) => e.kind === 'apply_lb')).toBe(false);
    expect(d.logs('lb_apply_errors')).toHaveLength(1);
    d.step({ kind: 'timer', name: 'lb_poll' });
    const poll = d.pending.shift() as Eff;
    expect(poll.kind).toBe('observe_lb');
    expect(d.step({ kind: 'lb_observed', observed, applied: null }).some((e) => e.kind === 'apply_lb')).toBe(true);
  });

  it('an unreachable load balancer is reported, and the failed apply is retried at the next poll', () => {
    const d = started();
    d.allHealthy();
    d.pending.length = 0;
    d.step({ kind: 'lb_failed', during: 'apply', code: 'LB_UNREACHABLE', error: 'cannot connect to HAProxy runtime API at /run/haproxy.sock: ENOENT' });
    const last = d.published().at(-1) as ClientStatusReport;
    expect(last.lb).toEqual({ kind: 'haproxy', reachable: false, error: 'cannot connect to HAProxy runtime API at /run/haproxy.sock: ENOENT' });
    d.step({ kind: 'timer', name: 'lb_poll' });
    expect(d.pending.map((e) => e.kind)).toEqual(['apply_lb']);
    d.settle();
    expect(d.writeReady()).toEqual(['dbserver:1']);
    expect((d.published().at(-1) as ClientStatusReport).lb.reachable).toBe(true);
  });

  it('reports what the LB does to the arbitrator: states, sessions, the epoch applied; sessions falling to zero', () => {
    const d = started();
    d.allHealthy();
    d.settle();
    d.sessions = { 'read/dbserver:2': 3 };
    d.step(msg(ARB, 'directives', directives({ epoch: 7, drained: ['dbserver:2'] })));
    d.settle();
    let r = d.published().at(-1) as ClientStatusReport;
    expect(r.epochApplied).toBe(7);
    expect(r.writer).toBe('dbserver:1');
    expect(r.servers.find((x) => x.backend === 'read' && x.server === 'dbserver:2')).toEqual({ server: 'dbserver:2', backend: 'read', state: 'drain', operational: true, weight: 1, sessions: 3 });
    d.sessions = {};
    d.at(1_000);
    d.step({ kind: 'timer', name: 'lb_poll' });
    d.settle();
    r = d.published().at(-1) as ClientStatusReport;
    expect(r.servers.find((x) => x.backend === 'read' && x.server === 'dbserver:2')?.sessions).toBe(0);
  });

  it('publishes unchanged state only once per report interval', () => {
    const d = started();
    d.allHealthy();
    d.settle();
    const n = d.published().length;
    d.at(1_000);
    d.step({ kind: 'timer', name: 'lb_poll' });
    d.settle();
    expect(d.published().length).toBe(n);
    d.at(CFG.reportIntervalMs + 1);
    d.step({ kind: 'timer', name: 'lb_poll' });
    d.settle();
    expect(d.published().length).toBe(n + 1);
  });
});

describe('dbclient core: the client_status_report fits a datagram', () => {
  it('a site of 40 dbservers reports the first 64 backend entries, and the datagram encodes', () => {
    const servers = Array.from({ length: 40 }, (_, i) => ({ id: `dbserver:${i + 1}` as PartyId, serial: i + 1, dc: 'east', dcPriority: 1, allowDonorReads: false }));
    const core = dbclientCore({ ...CFG, servers });
    let s = core.step(initialState(), { kind: 'start' }, T0).state;
    const observed: ObservedServer[] = servers.flatMap((x) =>
      (['write', 'read'] as const).map((backend) => ({ backend, server: x.id, state: 'maint' as const, operational: true, weight: 1, sessions: 99_999 })),
    );
    s = { ...s, lb: { ...s.lb, error: 'e'.repeat(300) } };
    const r = core.step(s, { kind: 'lb_observed', observed, applied: null }, T0 + 1);
    const pub = r.effects.find((e) => e.kind === 'publish') as { body: ClientStatusReport };
    expect(pub.body.servers).toHaveLength(MAX_REPORTED_ENTRIES);
    const env = {
      site: 'shop-prod',
      from: 'dbclient:1',
      to: 'arbitrator:1',
      verb: 'client_status_report',
      inc: 1,
      id: 1,
      at: T0,
      body: { ...pub.body, lb: { kind: 'haproxy', reachable: false, error: 'e'.repeat(200) } },
    };
    expect(encodeDatagram(env, new Keyring([{ id: 1, secret: Buffer.alloc(32, 7) }], 1)).length).toBeLessThan(MAX_DATAGRAM_BYTES);
  });
});

describe('dbclient core: refusals by the load balancer', () => {
  it('logs a lasting refusal once and shows it in the report until an apply succeeds', () => {
    const d = started();
    d.allHealthy();
    const refused = { commands: [], errors: ["LB_UNKNOWN_SERVER: HAProxy has no server 'galera_read/n4' (party dbserver:4)"] };
    const observed = d.observed();
    d.pending.length = 0;
    d.step({ kind: 'lb_observed', observed, applied: refused });
    d.step({ kind: 'timer', name: 'lb_poll' });
    d.pending.length = 0;
    d.step({ kind: 'lb_observed', observed, applied: null }); // drift → apply again
    d.pending.length = 0;
    d.step({ kind: 'lb_observed', observed, applied: refused });
    expect(d.logs('lb_apply_errors')).toHaveLength(1);
    expect((d.published().at(-1) as ClientStatusReport).lb).toEqual({ kind: 'haproxy', reachable: true, error: refused.errors[0] });
    d.step({ kind: 'lb_observed', observed, applied: { commands: [], errors: [] } });
    d.at(CFG.reportIntervalMs);
    d.step({ kind: 'timer', name: 'lb_poll' });
    d.settle();
    expect((d.published().at(-1) as ClientStatusReport).lb.error).toBeNull();
  });
});

describe('dbclient core: a site config change while running', () => {
  it('a server added is kept out until it reports; one removed leaves the desired state; the writer stays', () => {
    const d = started();
    d.allHealthy();
    d.settle();
    const next = { ...CFG, servers: [...CFG.servers.filter((x) => x.id !== 'dbserver:4'), { id: 'dbserver:5' as PartyId, serial: 5, dc: 'west', dcPriority: 2, allowDonorReads: false }] };
    // The daemon carries the state into a core built from the new config.
    const core = dbclientCore({ ...next, servers: next.servers.map((x) => ({ ...x, dcPriority: x.dc === 'west' ? 1 : 2 })) });
    const r = core.step(d.state, { kind: 'reconfigured', changes: ['parties: added dbserver:5', 'parties: removed dbserver:4', 'dataCentres.west.priority: 2 → 1'] }, d.now);
    const apply = r.effects.find((e) => e.kind === 'apply_lb') as Extract<DbclientEffect, { kind: 'apply_lb' }>;
    expect(apply.desired.read.map((x) => `${x.server}:${x.state}${x.shutdownSessions ? '+shut' : ''}`)).toEqual(['dbserver:3:ready', 'dbserver:1:ready', 'dbserver:2:ready', 'dbserver:5:maint+shut']);
    // West now has priority, but the writer is sticky.
    expect(apply.desired.write.find((x) => x.state === 'ready')?.server).toBe('dbserver:1');
    expect(Object.keys(r.state.reports).sort()).toEqual(['dbserver:1', 'dbserver:2', 'dbserver:3']);
    expect(r.effects.some((e) => e.kind === 'timer' && e.name === 'lb_poll')).toBe(true);
  });
});
