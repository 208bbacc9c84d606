// glb adapter: the protocol parsers, then the adapter over a real socket against the GLB
// STAND-IN (test/support/glb-standin.ts). glbd itself is not packaged here; the stand-in speaks
// its documented control protocol and forwards no traffic.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GlbAdapter } from '../../src/roles/dbclient/lb/glb.js';
import { type GlbDestination, glbAdminState, isInfoComplete, normaliseAddress, parseChangeReply, parseRouterInfo, planDestination } from '../../src/roles/dbclient/lb/glb-protocol.js';
import { type DesiredLb, type DesiredServer, LbError } from '../../src/roles/dbclient/lb/types.js';
import { GlbStandin } from '../support/glb-standin.js';

// The formats of glb_router_print_info: glb ≥ 1.0 with the least-connected policy (map N/A, a
// drained destination's usage is 0/0 → -nan), with a map-based policy, and pre-1.0.
const INFO_V1 = [
  'Router:',
  '------------------------------------------------------',
  '        Address       :   weight   usage    map  conns',
  '      10.20.30.1:3306 :    3.000   0.667    N/A      2',
  '      10.20.30.2:3306 :    0.000    -nan    N/A      4',
  '------------------------------------------------------',
  'Destinations: 2, total connections: 6 of 493 max',
  '',
].join('\n');

const INFO_V1_MAP = [
  'Router:',
  '------------------------------------------------------',
  '        Address       :   weight   usage    map  conns',
  '       10.9.8.7:13306 :    1.000   0.000   1.000     0',
  '------------------------------------------------------',
  'Destinations: 1, total connections: 0 of 2029 max',
  '',
].join('\n');

const INFO_OLD = [
  'Router:',
  '----------------------------------------------------',
  '        Address       :   weight   usage   conns',
  '     172.16.5.10:4000 :    5.000   0.000    0',
  '     172.16.5.11:4000 :    5.000   0.500    1',
  '----------------------------------------------------',
  'Destinations: 2, total connections: 1',
  '',
].join('\n');

describe('glb protocol parsing', () => {
  it('reads the glb ≥ 1.0 table, drained rows (-nan usage) included', () => {
    expect(parseRouterInfo(INFO_V1)).toEqual({
      destinations: [
        { address: '10.20.30.1:3306', weight: 3, conns: 2 },
        { address: '10.20.30.2:3306', weight: 0, conns: 4 },
      ],
      totalConnections: 6,
      maxConnections: 493,
    });
    expect(parseRouterInfo(INFO_V1_MAP).destinations).toEqual([{ address: '10.9.8.7:13306', weight: 1, conns: 0 }]);
  });

  it('reads the pre-1.0 table without a map column or max', () => {
    const info = parseRouterInfo(INFO_OLD);
    expect(info.destinations.map((d) => [d.address, d.weight, d.conns])).toEqual([
      ['172.16.5.10:4000', 5, 0],
      ['172.16.5.11:4000', 5, 1],
    ]);
    expect(info.maxConnections).toBeNull();
  });

  it('rejects a short, inconsistent or foreign reply with LB_PROTOCOL', () => {
    for (const bad of [
      '',
      'Error\n',
      INFO_V1.replace('Destinations: 2', 'Destinations: 3'),
      INFO_V1.split('\n').slice(0, 5).join('\n'),
      INFO_V1.replace('    3.000', '    three'),
      INFO_V1.replace('10.20.30.1:3306', 'db-host-one:3306'),
    ]) {
      expect(() => parseRouterInfo(bad), JSON.stringify(bad).slice(0, 50)).toThrow(LbError);
    }
  });

  it('knows when a reply is whole', () => {
    expect(isInfoComplete(INFO_V1)).toBe(true);
    expect(isInfoComplete(INFO_V1.slice(0, -1))).toBe(false);
    expect(isInfoComplete(INFO_V1.slice(0, 120))).toBe(false);
  });

  it('reads Ok, OK and Error; anything else is LB_PROTOCOL', () => {
    expect(parseChangeReply('Ok\n')).toBe('ok');
    expect(parseChangeReply('OK\n')).toBe('ok');
    expect(parseChangeReply('Error\n')).toBe('error');
    expect(() => parseChangeReply('Router:\n')).toThrow(/Ok or Error/);
  });

  it('normalises IPv4 IP:PORT as glbd prints it and refuses the rest', () => {
    expect(normaliseAddress('010.000.0.1:03306')).toBe('10.0.0.1:3306');
    for (const bad of ['db1:3306', '10.0.0.1', '10.0.0.256:3306', '10.0.0.1:70000', '[::1]:3306']) {
      expect(normaliseAddress(bad)).toBeNull();
    }
  });
});

describe('glb planning', () => {
  const A = '10.0.0.1:3306';
  const dst = (weight: number, conns = 0): GlbDestination => ({ address: A, weight, conns });
  const want = (state: DesiredServer['state'], p: Partial<DesiredServer> = {}): DesiredServer => ({
    server: 'dbserver:1',
    state,
    weight: 1,
    shutdownSessions: false,
    ...p,
  });

  it('maps states onto glbd weights', () => {
    expect(planDestination(A, undefined, want('ready', { weight: 5 }))).toEqual([`${A}:5`]);
    expect(planDestination(A, dst(5), want('drain'))).toEqual([`${A}:0`]);
    expect(planDestination(A, dst(5, 3), want('maint'))).toEqual([`${A}:0`]);
    expect(planDestination(A, dst(5), want('maint', { shutdownSessions: true }))).toEqual([`${A}:-1`]);
    expect(planDestination(A, dst(0, 2), want('drain', { shutdownSessions: true }))).toEqual([`${A}:-1`, `${A}:0`]);
  });

  it('sends nothing when the table already agrees', () => {
    expect(planDestination(A, dst(1), want('ready'))).toEqual([]);
    expect(planDestination(A, dst(0, 4), want('drain'))).toEqual([]);
    expect(planDestination(A, undefined, want('maint', { shutdownSessions: true }))).toEqual([]);
    expect(planDestination(A, dst(0), want('drain', { shutdownSessions: true }))).toEqual([]);
    expect(planDestination(A, dst(2, 9), want('ready', { weight: 2, shutdownSessions: true }))).toEqual([]);
  });

  it('reads table entries back as admin states', () => {
    expect(glbAdminState(undefined)).toBe('maint');
    expect(glbAdminState(dst(0))).toBe('drain');
    expect(glbAdminState(dst(3))).toBe('ready');
  });
});

describe('GlbAdapter against the glb stand-in', () => {
  const SERVERS = { 'dbserver:1': '10.0.0.1:3306', 'dbserver:2': '10.0.0.2:3306', 'dbserver:3': '10.0.0.3:3306' };
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(opts: { pool?: 'write' | 'read'; timeoutMs?: number; okWord?: 'Ok' | 'OK'; path?: boolean } = {}) {
    let listen: { path: string } | undefined;
    if (opts.path) {
      const dir = mkdtempSync(join(tmpdir(), 'minder-glb-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      listen = { path: join(dir, 'glb.sock') };
    }
    const standin = await GlbStandin.start({ ...(listen ? { listen } : {}), ...(opts.okWord ? { okWord: opts.okWord } : {}) });
    cleanups.push(() => standin.close());
    const adapter = new GlbAdapter({
      control: standin.endpoint,
      servers: SERVERS,
      ...(opts.pool ? { pool: opts.pool } : {}),
      timeoutMs: opts.timeoutMs ?? 1000,
    });
    cleanups.push(() => adapter.close());
    return { standin, adapter };
  }

  const d = (server: string, state: DesiredServer['state'] = 'ready', p: Partial<DesiredServer> = {}): DesiredServer => ({
    server,
    state,
    weight: 1,
    shutdownSessions: false,
    ...p,
  });
  /** Writer dbserver:1; all three readable. */
  const desired = (write: Partial<Record<string, DesiredServer>> = {}): DesiredLb => ({
    write: ['dbserver:1', 'dbserver:2', 'dbserver:3'].map((s) => write[s] ?? d(s, s === 'dbserver:1' ? 'ready' : 'maint', { shutdownSessions: true })),
    read: ['dbserver:1', 'dbserver:2', 'dbserver:3'].map((s) => d(s)),
  });

  it('builds the writer pool from an empty glbd, then is idempotent', async () => {
    const { standin, adapter } = await setup();
    expect((await adapter.observe()).map((o) => [o.server, o.state, o.operational])).toEqual([
      ['dbserver:1', 'maint', false],
      ['dbserver:2', 'maint', false],
      ['dbserver:3', 'maint', false],
    ]);

    const first = await adapter.apply(desired());
    expect(first).toMatchObject({ changed: 1, commands: ['10.0.0.1:3306:1'], errors: [] });
    expect(standin.destinations()).toEqual([{ address: '10.0.0.1:3306', weight: 1, conns: 0 }]);
    expect((await adapter.apply(desired())).commands).toEqual([]);

    const observed = await adapter.observe();
    expect(observed[0]).toEqual({ backend: 'write', server: 'dbserver:1', state: 'ready', operational: true, weight: 1, sessions: 0 });
  });

  it('drain keeps connections and routes none; maint + shutdownSessions removes and drops them', async () => {
    const { standin, adapter } = await setup();
    await adapter.apply(desired());
    standin.setConnections('10.0.0.1:3306', 4);

    // Switch the writer to dbserver:2, draining dbserver:1.
    const switchOver = desired({ 'dbserver:1': d('dbserver:1', 'drain'), 'dbserver:2': d('dbserver:2', 'ready', { weight: 10 }) });
    const out = await adapter.apply(switchOver);
    expect(out.commands).toEqual(['10.0.0.1:3306:0', '10.0.0.2:3306:10']);
    expect(standin.dropped).toEqual([]);
    const during = await adapter.observe();
    expect(during.find((o) => o.server === 'dbserver:1')).toMatchObject({ state: 'drain', sessions: 4, weight: 0 });
    expect(during.find((o) => o.server === 'dbserver:2')).toMatchObject({ state: 'ready', weight: 10 });
    expect((await adapter.apply(switchOver)).commands).toEqual([]);

    const cut = desired({ 'dbserver:1': d('dbserver:1', 'maint', { shutdownSessions: true }), 'dbserver:2': d('dbserver:2', 'ready', { weight: 10 }) });
    expect((await adapter.apply(cut)).commands).toEqual(['10.0.0.1:3306:-1']);
    expect(standin.dropped).toEqual(['10.0.0.1:3306']);
    expect((await adapter.observe()).find((o) => o.server === 'dbserver:1')).toMatchObject({ state: 'maint', sessions: 0 });
    expect((await adapter.apply(cut)).commands).toEqual([]);
  });

  it('after a glbd restart (table lost) apply puts the pool back', async () => {
    const { standin, adapter } = await setup();
    const want = desired({ 'dbserver:3': d('dbserver:3', 'drain') });
    expect((await adapter.apply(want)).commands).toEqual(['10.0.0.1:3306:1', '10.0.0.3:3306:0']);
    standin.reset();
    expect((await adapter.observe()).every((o) => o.state === 'maint')).toBe(true);
    expect((await adapter.apply(want)).commands).toEqual(['10.0.0.1:3306:1', '10.0.0.3:3306:0']);
    expect(standin.destinations().map((x) => `${x.address}:${x.weight}`)).toEqual(['10.0.0.1:3306:1', '10.0.0.3:3306:0']);
  });

  it("pool 'read' follows the read backend", async () => {
    const { standin, adapter } = await setup({ pool: 'read', path: true });
    const out = await adapter.apply(desired());
    expect(out.commands).toEqual(['10.0.0.1:3306:1', '10.0.0.2:3306:1', '10.0.0.3:3306:1']);
    expect(standin.destinations()).toHaveLength(3);
    expect((await adapter.observe()).every((o) => o.backend === 'read' && o.state === 'ready')).toBe(true);
  });

  it('reports an unmapped party as LB_UNKNOWN_SERVER and a refused command as LB_PROTOCOL, applying the rest', async () => {
    const { standin, adapter } = await setup({ okWord: 'OK' });
    standin.reset(['10.0.0.2:3306:0']);
    standin.setConnections('10.0.0.2:3306', 1);
    // Another client removes 10.0.0.2 between the adapter's getinfo and its own removal, so
    // glbd answers Error ("remove inexisting destination").
    standin.onRequest = (line) => {
      if (line === '10.0.0.2:3306:-1') standin.reset([]);
    };
    const want = desired();
    want.write.push(d('dbserver:7'));
    const out = await adapter.apply(want);
    expect(out.commands).toEqual(['10.0.0.1:3306:1', '10.0.0.2:3306:-1']);
    expect(out.changed).toBe(1);
    expect(out.errors).toEqual([expect.stringMatching(/^LB_PROTOCOL: glbd refused '10\.0\.0\.2:3306:-1'/), expect.stringMatching(/^LB_UNKNOWN_SERVER: party dbserver:7 has no glbd destination/)]);
    expect(out.failures?.map((f) => f.code)).toEqual(['LB_PROTOCOL', 'LB_UNKNOWN_SERVER']);

    const bad = await adapter.apply({ write: [d('dbserver:1', 'ready', { weight: 2.5 })], read: [] });
    expect(bad.commands).toEqual([]);
    expect(bad.errors).toEqual([expect.stringMatching(/^LB_PROTOCOL: weight 2.5/)]);
  });

  it('a silent glbd gives LB_TIMEOUT within the bound; a gone one LB_UNREACHABLE at once', async () => {
    const { standin, adapter } = await setup({ timeoutMs: 300 });
    standin.silent = true;
    const t0 = Date.now();
    await expect(adapter.observe()).rejects.toMatchObject({ code: 'LB_TIMEOUT' });
    expect(Date.now() - t0).toBeLessThan(1000);
    standin.silent = false;
    await standin.close();
    const t1 = Date.now();
    const err = await adapter.apply(desired()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LbError);
    expect((err as LbError).code).toBe('LB_UNREACHABLE');
    expect((err as LbError).message).toMatch(/glbd control at 127\.0\.0\.1:\d+/);
    expect(Date.now() - t1).toBeLessThan(300);
  });

  it('refuses bad options up front', () => {
    expect(() => new GlbAdapter({ control: { host: '127.0.0.1', port: 4444 }, servers: { 'dbserver:1': 'db1:3306' } })).toThrow(TypeError);
    expect(() => new GlbAdapter({ control: { host: '127.0.0.1', port: 0 }, servers: {} })).toThrow(TypeError);
  });
});

describe('createLbAdapter', () => {
  it('builds the adapter the config names', async () => {
    const { createLbAdapter } = await import('../../src/roles/dbclient/lb/index.js');
    const h = createLbAdapter({ kind: 'haproxy', socketPath: '/nonexistent.sock', writeBackend: 'w', readBackend: 'r', servers: {} });
    const g = createLbAdapter({ kind: 'glb', control: { host: '127.0.0.1', port: 4444 }, servers: {} });
    expect([h.kind, g.kind]).toEqual(['haproxy', 'glb']);
    await Promise.all([h.close(), g.close()]);
  });
});
