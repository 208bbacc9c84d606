// The HAProxy adapter against a real HAProxy 2.6: name servers on 127.0.0.51-53 stand in for
// database nodes (no mariadbd: the Galera lab owns 127.0.0.11-14), frontends on
// 127.0.0.50:15000 (write) and :15001 (read). Each test leaves HAProxy in the baseline state.

import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaproxyAdapter } from '../../src/roles/dbclient/lb/haproxy.js';
import { type DesiredLb, type DesiredServer, LbError, type ObservedServer } from '../../src/roles/dbclient/lb/types.js';
import { type HaproxyLab, type LabClient, type NameServers, openLabClient, startHaproxy, startNameServers } from './haproxy-lab.js';

const SERVERS = [1, 2, 3].map((i) => ({ name: `n${i}`, address: `127.0.0.5${i}`, port: 13306 }));
const PARTY: Record<string, string> = { 'dbserver:1': 'n1', 'dbserver:2': 'n2', 'dbserver:3': 'n3' };
const partyOf = (name: string): string => `dbserver:${name.slice(1)}`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ds(server: string, state: DesiredServer['state'] = 'ready', extra: Partial<DesiredServer> = {}): DesiredServer {
  return { server, state, weight: 1, shutdownSessions: false, ...extra };
}

/** One writer (dbserver:1), every node readable: what the decision core wants when all is well. */
function baseline(read: Partial<Record<string, DesiredServer>> = {}): DesiredLb {
  return {
    write: [ds('dbserver:1'), ds('dbserver:2', 'maint'), ds('dbserver:3', 'maint')],
    read: ['dbserver:1', 'dbserver:2', 'dbserver:3'].map((p) => read[p] ?? ds(p)),
  };
}

function find(observed: ObservedServer[], backend: 'write' | 'read', server: string): ObservedServer {
  const o = observed.find((x) => x.backend === backend && x.server === server);
  if (!o) throw new Error(`no observation for ${backend} ${server}`);
  return o;
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(100);
    last = await probe();
  }
  return last;
}

describe('HaproxyAdapter against real HAProxy 2.6', () => {
  let names: NameServers;
  let lab: HaproxyLab;
  let adapter: HaproxyAdapter;
  const clients: LabClient[] = [];

  const open = async (to: 'write' | 'read'): Promise<LabClient> => {
    const c = await openLabClient(lab.frontends[to]);
    clients.push(c);
    return c;
  };
  const closeClients = async (): Promise<void> => {
    for (const c of clients.splice(0)) c.destroy();
    await until(
      'sessions to drain away',
      () => adapter.observe(),
      (o) => o.every((s) => s.sessions === 0),
    );
  };

  beforeAll(async () => {
    names = await startNameServers(SERVERS);
    lab = await startHaproxy({
      servers: SERVERS,
      frontendPorts: { write: 15000, read: 15001 },
      bind: '127.0.0.50',
      check: 'tcp',
      balance: 'leastconn',
    });
    adapter = new HaproxyAdapter({
      socketPath: lab.socketPath,
      writeBackend: lab.writeBackend,
      readBackend: lab.readBackend,
      servers: PARTY,
      timeoutMs: 1000,
    });
    // Wait for the first health checks so every server reads as operational.
    await until(
      'checks to pass',
      () => adapter.observe(),
      (o) => o.every((s) => s.operational),
    );
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await adapter?.close();
    await lab?.close();
    await names?.close();
  });

  it('observes both backends, then applies the baseline once and is idempotent', async () => {
    const before = await adapter.observe();
    expect(before).toHaveLength(6);
    expect(before.every((o) => o.state === 'ready' && o.operational && o.weight === 1 && o.sessions === 0)).toBe(true);

    const first = await adapter.apply(baseline());
    expect(first.errors).toEqual([]);
    expect(first.commands).toEqual(['set server galera_write/n2 state maint', 'set server galera_write/n3 state maint']);
    expect(first.changed).toBe(2);

    const second = await adapter.apply(baseline());
    expect(second).toMatchObject({ changed: 0, commands: [], errors: [] });

    const after = await adapter.observe();
    expect(find(after, 'write', 'dbserver:2')).toMatchObject({ state: 'maint', operational: false });
    expect(find(after, 'write', 'dbserver:1')).toMatchObject({ state: 'ready', operational: true });
  });

  it('drain: an open session keeps working, 20 new connections never reach the drained server', async () => {
    const early = await open('read');
    const drained = early.server;
    const party = partyOf(drained);

    const out = await adapter.apply(baseline({ [party]: ds(party, 'drain') }));
    expect(out.errors).toEqual([]);
    expect(out.commands).toEqual([`set server galera_read/${drained} state drain`]);

    names.resetCounts();
    const fresh: LabClient[] = [];
    for (let i = 0; i < 20; i++) fresh.push(await open('read'));
    expect(fresh.filter((c) => c.server === drained)).toEqual([]);
    expect(names.servers.get(drained)?.accepted).toBe(0);
    expect(new Set(fresh.map((c) => c.server)).size).toBe(2);

    // The session opened before the drain is still there and still carries traffic.
    expect(early.isClosed()).toBe(false);
    expect(await early.roundTrip('still-here')).toBe(`${drained}:still-here`);

    const observed = await adapter.observe();
    expect(find(observed, 'read', party)).toMatchObject({ state: 'drain', sessions: 1, operational: true });
    expect((await adapter.apply(baseline({ [party]: ds(party, 'drain') }))).commands).toEqual([]);

    // maint + shutdownSessions: the existing session on that server is cut, the others stay.
    const others = fresh.slice(0, 4);
    const cut = await adapter.apply(baseline({ [party]: ds(party, 'maint', { shutdownSessions: true }) }));
    expect(cut.errors).toEqual([]);
    expect(cut.commands).toEqual([`set server galera_read/${drained} state maint`, `shutdown sessions server galera_read/${drained}`]);
    await Promise.race([early.closed, sleep(3000).then(() => Promise.reject(new Error('session was not cut')))]);
    expect(others.every((c) => !c.isClosed())).toBe(true);
    expect(await others[0]?.roundTrip('ok')).toBe(`${others[0]?.server}:ok`);

    const zero = await until(
      'the cut server to show no sessions',
      () => adapter.observe(),
      (o) => find(o, 'read', party).sessions === 0,
      3000,
    );
    expect(find(zero, 'read', party)).toMatchObject({ state: 'maint', operational: false });
    // Nothing left to cut: a repeat sends nothing.
    expect((await adapter.apply(baseline({ [party]: ds(party, 'maint', { shutdownSessions: true }) }))).commands).toEqual([]);

    // ready: traffic returns (leastconn sends the next connections to the empty server).
    const back = await adapter.apply(baseline());
    expect(back.commands).toEqual([`set server galera_read/${drained} state ready`]);
    await until(
      'the server to be operational again',
      () => adapter.observe(),
      (o) => find(o, 'read', party).operational,
      5000,
    );
    names.resetCounts();
    const returning: LabClient[] = [];
    for (let i = 0; i < 3; i++) returning.push(await open('read'));
    expect(returning.some((c) => c.server === drained)).toBe(true);
    expect(names.servers.get(drained)?.accepted).toBeGreaterThan(0);

    await closeClients();
  });

  it('observe reports sessions, and reports them falling to zero when clients leave', async () => {
    const writers = [await open('write'), await open('write'), await open('write')];
    expect(writers.map((c) => c.server)).toEqual(['n1', 'n1', 'n1']);
    const busy = await adapter.observe();
    expect(find(busy, 'write', 'dbserver:1').sessions).toBe(3);
    expect(find(busy, 'write', 'dbserver:2').sessions).toBe(0);

    for (const c of writers) c.destroy();
    const started = Date.now();
    await until(
      'writer sessions to reach zero',
      () => adapter.observe(),
      (o) => find(o, 'write', 'dbserver:1').sessions === 0,
      3000,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    clients.splice(0);
  });

  it('writer switchover: old writer drained keeps its sessions, a config backup takes every new one', async () => {
    const old = [await open('write'), await open('write')];
    expect(old.map((c) => c.server)).toEqual(['n1', 'n1']);
    const switched: DesiredLb = {
      write: [ds('dbserver:1', 'drain'), ds('dbserver:2', 'maint'), ds('dbserver:3')],
      read: baseline().read,
    };
    const out = await adapter.apply(switched);
    expect(out.commands).toEqual(['set server galera_write/n1 state drain', 'set server galera_write/n3 state ready']);
    const fresh = [];
    for (let i = 0; i < 10; i++) fresh.push(await open('write'));
    // n3 is a `backup` in the config: HAProxy uses it because no active server is usable.
    expect(new Set(fresh.map((c) => c.server))).toEqual(new Set(['n3']));
    expect(await old[0]?.roundTrip('tx')).toBe('n1:tx');
    const observed = await adapter.observe();
    expect(find(observed, 'write', 'dbserver:1')).toMatchObject({ state: 'drain', sessions: 2 });
    expect(find(observed, 'write', 'dbserver:3')).toMatchObject({ state: 'ready', sessions: 10 });

    expect((await adapter.apply(baseline())).commands).toEqual(['set server galera_write/n1 state ready', 'set server galera_write/n3 state maint']);
    await closeClients();
  });

  it('weights: sets a changed weight, and reads it back', async () => {
    const want = baseline({ 'dbserver:2': ds('dbserver:2', 'ready', { weight: 50 }) });
    const out = await adapter.apply(want);
    expect(out.commands).toEqual(['set server galera_read/n2 weight 50']);
    expect(find(await adapter.observe(), 'read', 'dbserver:2').weight).toBe(50);
    expect((await adapter.apply(want)).commands).toEqual([]);

    const bad = await adapter.apply(baseline({ 'dbserver:2': ds('dbserver:2', 'ready', { weight: 300 }) }));
    expect(bad.commands).toEqual([]);
    expect(bad.errors).toEqual([expect.stringMatching(/^LB_PROTOCOL: weight 300/)]);

    expect((await adapter.apply(baseline())).commands).toEqual(['set server galera_read/n2 weight 1']);
  });

  it('a server HAProxy does not know is LB_UNKNOWN_SERVER; the others are still applied', async () => {
    const wider = new HaproxyAdapter({
      socketPath: lab.socketPath,
      writeBackend: lab.writeBackend,
      readBackend: lab.readBackend,
      servers: { ...PARTY, 'dbserver:4': 'n4' },
      timeoutMs: 1000,
    });
    try {
      const want = baseline({ 'dbserver:3': ds('dbserver:3', 'drain') });
      want.read.push(ds('dbserver:4', 'drain'), ds('dbserver:9', 'drain'));
      const out = await wider.apply(want);
      expect(out.commands).toEqual(['set server galera_read/n3 state drain']);
      expect(out.changed).toBe(1);
      expect(out.errors).toEqual([
        expect.stringMatching(/^LB_UNKNOWN_SERVER: HAProxy has no server 'galera_read\/n4' \(party dbserver:4\)/),
        expect.stringMatching(/^LB_UNKNOWN_SERVER: party dbserver:9 has no HAProxy server name/),
      ]);
      expect(out.failures?.map((f) => f.code)).toEqual(['LB_UNKNOWN_SERVER', 'LB_UNKNOWN_SERVER']);
      const observed = await wider.observe();
      expect(find(observed, 'read', 'dbserver:4')).toMatchObject({ state: 'unknown', operational: false });
      expect(find(observed, 'read', 'dbserver:3').state).toBe('drain');
    } finally {
      await wider.close();
    }

    const wrongBackend = new HaproxyAdapter({
      socketPath: lab.socketPath,
      writeBackend: 'no_such_backend',
      readBackend: lab.readBackend,
      servers: PARTY,
    });
    try {
      const out = await wrongBackend.apply(baseline());
      expect(out.errors).toHaveLength(3);
      expect(out.errors.every((e) => e.startsWith("LB_UNKNOWN_SERVER: HAProxy has no backend 'no_such_backend'"))).toBe(true);
      // The read backend was still brought back to the baseline.
      expect(out.commands).toEqual(['set server galera_read/n3 state ready']);
    } finally {
      await wrongBackend.close();
    }
  });

  it('after an HAProxy reload, and after a restart, apply puts the desired state back', async () => {
    const want = baseline({
      'dbserver:1': ds('dbserver:1', 'maint'),
      'dbserver:3': ds('dbserver:3', 'drain', { weight: 7 }),
    });
    expect((await adapter.apply(want)).errors).toEqual([]);
    expect((await adapter.apply(want)).commands).toEqual([]);

    const workerBefore = await lab.workerPid();
    await lab.reload();
    expect(await lab.workerPid()).not.toBe(workerBefore);
    // A reload without a server-state-file comes back with the config's states: all ready.
    const reloaded = await adapter.observe();
    expect(reloaded.every((o) => o.state === 'ready' && o.weight === 1)).toBe(true);

    const expected = [
      'set server galera_write/n2 state maint',
      'set server galera_write/n3 state maint',
      'set server galera_read/n1 state maint',
      'set server galera_read/n3 state drain',
      'set server galera_read/n3 weight 7',
    ];
    const repaired = await adapter.apply(want);
    expect(repaired.errors).toEqual([]);
    expect(repaired.commands).toEqual(expected);
    expect((await adapter.apply(want)).commands).toEqual([]);

    const masterBefore = lab.pid;
    await lab.restart();
    expect(lab.pid).not.toBe(masterBefore);
    const again = await adapter.apply(want);
    expect(again.commands).toEqual(expected);
    const observed = await adapter.observe();
    expect(find(observed, 'read', 'dbserver:1').state).toBe('maint');
    expect(find(observed, 'read', 'dbserver:3')).toMatchObject({ state: 'drain', weight: 7 });
    expect(find(observed, 'write', 'dbserver:3').state).toBe('maint');

    expect((await adapter.apply(baseline())).errors).toEqual([]);
  });

  it('calls in parallel are serialized and all settle', async () => {
    const results = await Promise.all([adapter.observe(), adapter.apply(baseline()), adapter.observe(), adapter.apply(baseline())]);
    expect(results).toHaveLength(4);
  });

  it('with HAProxy gone, every call fails fast with LB_UNREACHABLE, never hangs', async () => {
    // Killed hard, the admin socket file stays behind: connecting gives ECONNREFUSED.
    process.kill(-lab.pid, 'SIGKILL');
    await sleep(200);
    expect(existsSync(lab.socketPath)).toBe(true);
    for (const call of [() => adapter.observe(), () => adapter.apply(baseline())]) {
      const t0 = Date.now();
      const err = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LbError);
      expect((err as LbError).code).toBe('LB_UNREACHABLE');
      expect((err as LbError).message).toContain(lab.socketPath);
      expect(Date.now() - t0).toBeLessThan(500);
    }

    // close() removes the directory: now the socket path itself is gone (ENOENT).
    const masterPid = lab.pid;
    await lab.close();
    await lab.close(); // idempotent
    expect(existsSync(lab.socketPath)).toBe(false);
    expect(() => process.kill(masterPid, 0)).toThrow();
    const t0 = Date.now();
    await expect(adapter.observe()).rejects.toMatchObject({ code: 'LB_UNREACHABLE' });
    expect(Date.now() - t0).toBeLessThan(500);
  });
});
