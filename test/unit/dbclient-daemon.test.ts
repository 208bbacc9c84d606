import { afterEach, describe, expect, it } from 'vitest';
import type { PostOffice } from '../../src/correspondents/post-office.js';
import { silentLogger } from '../../src/log.js';
import type { BodyOf, ClientStatusReport } from '../../src/protocol/verbs.js';
import type { RunningRole } from '../../src/roles/context.js';
import { startDbclient } from '../../src/roles/dbclient/daemon.js';
import { type ApplyOutcome, type DesiredLb, LbError, type LoadBalancerAdapter, type ObservedServer } from '../../src/roles/dbclient/lb/types.js';
import { type DbclientParty, type SiteConfig, siteConfigSchema } from '../../src/site/schema.js';
import type { ConfigChange, LiveConfig } from '../../src/site/config-source.js';
import { LocalState } from '../../src/state/local-state.js';
import { ADDRESSES, simSite, SITE } from '../support/post-office-fixture.js';
import { NON_PRIMARY, report } from './dbclient-fixtures.js';

// The daemon's wiring (RoleHost, executor, post office, state file) over the memory network,
// with an in-memory table standing in for the load balancer: the real HAProxy is driven in
// test/e2e/dbclient-haproxy.test.ts.

const party = (id: string, extra: Record<string, unknown> = {}) => {
  const a = ADDRESSES[id] as { address: string; port: number };
  return { id, host: a.address, port: a.port, ...extra };
};

function siteConfig(): SiteConfig {
  return siteConfigSchema.parse({
    site: SITE,
    dataCentres: { east: { priority: 1 }, west: { priority: 2 } },
    keys: { send: 1, files: [{ id: 1, path: '/dev/null' }] },
    timings: { reportInterval: '2s', ackTimeout: '1s', staleAfter: '6s' },
    parties: [
      party('arbitrator:1'),
      party('dbserver:1', { dc: 'east', nodeName: 'n1', mariadb: { host: '127.0.0.1', passwordFile: '/dev/null' } }),
      party('dbserver:2', { dc: 'west', nodeName: 'n2', mariadb: { host: '127.0.0.1', passwordFile: '/dev/null' } }),
      party('dbclient:1', { loadBalancer: { kind: 'haproxy', socket: '/nonexistent' } }),
    ],
  });
}

/** A load balancer that is just a table: apply sets it, observe reads it, `down` makes it fail. */
class TableLb implements LoadBalancerAdapter {
  readonly kind = 'haproxy' as const;
  table = new Map<string, ObservedServer>();
  down = false;
  applied: DesiredLb[] = [];

  async observe(): Promise<ObservedServer[]> {
    if (this.down) throw new LbError('LB_UNREACHABLE', 'cannot connect to HAProxy runtime API at /x: ECONNREFUSED');
    return [...this.table.values()];
  }

  async apply(desired: DesiredLb): Promise<ApplyOutcome> {
    if (this.down) throw new LbError('LB_UNREACHABLE', 'cannot connect to HAProxy runtime API at /x: ECONNREFUSED');
    this.applied.push(desired);
    const commands: string[] = [];
    for (const backend of ['write', 'read'] as const) {
      for (const d of desired[backend]) {
        const key = `${backend}/${d.server}`;
        const before = this.table.get(key);
        if (before?.state !== d.state) commands.push(`${key} ${d.state}`);
        this.table.set(key, { backend, server: d.server, state: d.state, operational: true, weight: d.weight, sessions: d.shutdownSessions ? 0 : (before?.sessions ?? 0) });
      }
    }
    return { changed: commands.length, commands, errors: [] };
  }

  async close(): Promise<void> {}

  state(key: string): string | undefined {
    return this.table.get(key)?.state;
  }
}

const running: RunningRole[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

function setup() {
  const site = simSite(7);
  const cfg = siteConfig();
  const offices = {
    arb: site.make('arbitrator:1'),
    s1: site.make('dbserver:1'),
    s2: site.make('dbserver:2'),
    client: site.make('dbclient:1'),
  };
  const statusReports: ClientStatusReport[] = [];
  offices.arb.onMessage((m) => {
    if (m.verb === 'client_status_report') statusReports.push(m.body as ClientStatusReport);
  });
  const lb = new TableLb();
  const state = LocalState.open(':memory:');
  let listener: ((next: SiteConfig, change: ConfigChange) => void) | null = null;
  const liveConfig: LiveConfig = {
    current: () => cfg,
    info: () => ({ kind: 'file', version: null, since: 0, origin: 'test' }),
    onConfigChange: (l) => {
      listener = l;
      return () => void (listener = null);
    },
    directory: (id) => ADDRESSES[id],
  };
  const reconfigure = (next: SiteConfig, changes: string[]) => listener?.(next, { from: 1, to: 2, changes, fields: [] });
  const start = async (post: PostOffice = offices.client) => {
    const role = await startDbclient(
      { self: 'dbclient:1', party: cfg.parties.find((p) => p.id === 'dbclient:1') as DbclientParty, config: cfg, post, clock: site.clock, state, logger: silentLogger(), liveConfig },
      { adapter: lb },
    );
    running.push(role);
    return role;
  };
  const flush = async (ms: number) => {
    // Adapter promises resolve on the microtask queue: let them between clock steps.
    for (let t = 0; t < ms; t += 100) {
      site.clock.advance(100);
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
  };
  const reportFrom = (po: PostOffice, over: Parameters<typeof report>[1] = {}) => po.publish('dbclient:1', 'db_status_report', report(site.clock.now(), over));
  const directives = (body: BodyOf<'directives'>) => offices.arb.publish('dbclient:1', 'directives', body);
  return { site, offices, lb, state, start, flush, reportFrom, directives, statusReports, reconfigure };
}

describe('dbclient daemon', () => {
  it('routes from the reports it is sent, and tells the arbitrator what the load balancer does', async () => {
    const t = setup();
    await t.start();
    t.reportFrom(t.offices.s1);
    t.reportFrom(t.offices.s2);
    await t.flush(1_000);
    expect(t.lb.state('write/dbserver:1')).toBe('ready');
    expect(t.lb.state('write/dbserver:2')).toBe('maint');
    expect(t.lb.state('read/dbserver:2')).toBe('ready');
    t.directives({ epoch: 3, drained: ['dbserver:2'], paused: false, writer: 'dbserver:1' });
    await t.flush(1_000);
    expect(t.lb.state('read/dbserver:2')).toBe('drain');
    const last = t.statusReports.at(-1) as ClientStatusReport;
    expect(last.epochApplied).toBe(3);
    expect(last.servers.find((s) => s.backend === 'read' && s.server === 'dbserver:2')?.state).toBe('drain');
    t.reportFrom(t.offices.s1, NON_PRIMARY);
    await t.flush(1_000);
    expect(t.lb.state('read/dbserver:1')).toBe('maint');
    // dbserver:1 non-Primary and dbserver:2 drained: no one can write.
    expect([...t.lb.table.values()].filter((s) => s.backend === 'write' && s.state === 'ready')).toEqual([]);
  });

  it('keeps the drain set across a restart of the dbclient, with the arbitrator away', async () => {
    const t = setup();
    const first = await t.start();
    t.directives({ epoch: 1, drained: ['dbserver:2'], paused: false, writer: null });
    t.reportFrom(t.offices.s1);
    t.reportFrom(t.offices.s2);
    await t.flush(1_000);
    expect(t.lb.state('read/dbserver:2')).toBe('drain');
    await first.stop();
    running.length = 0;
    await t.offices.client.close();
    t.lb.table.clear(); // the LB restarted too: everything back to its config
    t.site.net.cut(['10.0.0.1'], ['10.0.2.21']);
    const post = t.site.make('dbclient:1', 2);
    await t.start(post);
    t.reportFrom(t.offices.s1);
    t.reportFrom(t.offices.s2);
    await t.flush(1_000);
    expect(t.lb.state('read/dbserver:2')).toBe('drain');
  });

  it('falls back to its own writer rule when the arbitrator is silent, and follows it again once it answers', async () => {
    const t = setup();
    await t.start();
    t.directives({ epoch: 1, drained: [], paused: false, writer: 'dbserver:2' });
    t.reportFrom(t.offices.s1);
    t.reportFrom(t.offices.s2);
    await t.flush(1_000);
    expect(t.lb.state('write/dbserver:2')).toBe('ready');
    t.site.net.cut(['10.0.0.1'], ['10.0.2.21']);
    // Keep the servers' reports fresh while the arbitrator is cut away, past the post office's
    // silence limit (15 s in the fixture).
    for (let i = 0; i < 9; i++) {
      t.reportFrom(t.offices.s1);
      t.reportFrom(t.offices.s2, i === 8 ? NON_PRIMARY : {});
      await t.flush(2_000);
    }
    expect(t.lb.state('write/dbserver:1')).toBe('ready');
    t.reportFrom(t.offices.s2);
    await t.flush(1_000);
    // Sticky: dbserver:2 is back, but without the arbitrator it does not take the writer back.
    expect(t.lb.state('write/dbserver:1')).toBe('ready');
    t.site.net.heal();
    // Nothing new from the arbitrator: only its acks to our client_status_report are heard.
    for (let i = 0; i < 4; i++) {
      t.reportFrom(t.offices.s1);
      t.reportFrom(t.offices.s2);
      await t.flush(2_000);
    }
    expect(t.lb.state('write/dbserver:2')).toBe('ready');
    expect(t.lb.state('write/dbserver:1')).not.toBe('ready');
  });

  it('survives a load balancer that is down, and repairs it when it is back', async () => {
    const t = setup();
    await t.start();
    t.lb.down = true;
    t.reportFrom(t.offices.s1);
    t.reportFrom(t.offices.s2);
    await t.flush(3_000);
    const down = t.statusReports.at(-1) as ClientStatusReport;
    expect(down.lb.reachable).toBe(false);
    expect(down.lb.error).toMatch(/ECONNREFUSED/);
    t.lb.down = false;
    await t.flush(2_000);
    expect(t.lb.state('write/dbserver:1')).toBe('ready');
    expect((t.statusReports.at(-1) as ClientStatusReport).lb.reachable).toBe(true);
  });

  it('follows a site config change while running: a dbserver added (out until it reports), the writer kept, polling and reports go on', async () => {
    const t = setup();
    await t.start();
    t.reportFrom(t.offices.s1);
    t.reportFrom(t.offices.s2);
    await t.flush(1_000);
    expect(t.lb.state('write/dbserver:1')).toBe('ready');
    const next = siteConfig();
    next.dataCentres = { east: { priority: 2 }, west: { priority: 1 } };
    next.parties.push({ ...(next.parties.find((p) => p.id === 'dbserver:2') as object), id: 'dbserver:3', host: '10.0.1.13', nodeName: 'n3' } as never);
    t.reconfigure(next, ['parties: added dbserver:3', 'dataCentres.west.priority: 2 → 1']);
    await t.flush(1_000);
    // Not reporting yet: out. The writer is sticky across the change.
    expect(t.lb.state('read/dbserver:3')).toBe('maint');
    expect(t.lb.state('write/dbserver:1')).toBe('ready');
    // The new core goes on polling: a restarted LB (every server back to ready) is repaired.
    for (const [k, v] of t.lb.table) t.lb.table.set(k, { ...v, state: 'ready' });
    t.reportFrom(t.offices.s1);
    t.reportFrom(t.offices.s2);
    await t.flush(2_000);
    expect(t.lb.state('read/dbserver:3')).toBe('maint');
    expect(t.lb.state('write/dbserver:1')).toBe('ready');
    // Reports go on reaching the new core.
    t.reportFrom(t.offices.s1, NON_PRIMARY);
    await t.flush(1_000);
    expect(t.lb.state('read/dbserver:1')).toBe('maint');
    expect(t.lb.state('write/dbserver:2')).toBe('ready');
  });
});
