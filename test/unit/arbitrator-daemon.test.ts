import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CliError, EXIT } from '../../src/cli/exit-codes.js';
import { SimClock } from '../../src/correspondents/clock.js';
import { MemoryNetwork } from '../../src/correspondents/memory-network.js';
import { PostOffice } from '../../src/correspondents/post-office.js';
import { silentLogger } from '../../src/log.js';
import { Keyring } from '../../src/protocol/keys.js';
import { startArbitrator } from '../../src/roles/arbitrator/daemon.js';
import { RECORD_KEYS, TRUSTED_MEMORY } from '../../src/roles/arbitrator/records.js';
import type { RoleContext } from '../../src/roles/context.js';
import { directoryOf } from '../../src/site/load-config.js';
import type { ConfigChange } from '../../src/site/config-source.js';
import type { ArbitratorParty, SiteConfig } from '../../src/site/schema.js';
import { LocalState } from '../../src/state/local-state.js';
import { seededRng } from '../../src/util/rng.js';
import { nonPrimary, primary, report, siteConfig } from './arbitrator-fixtures.js';

/** The daemon wiring: a real SQLite state file, a post office on the memory network. */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function harness() {
  const dir = mkdtempSync(join(tmpdir(), 'arb-daemon-'));
  dirs.push(dir);
  const cfg = siteConfig();
  const clock = new SimClock();
  const net = new MemoryNetwork(clock, seededRng(1));
  const keyring = new Keyring([{ id: 1, secret: Buffer.alloc(32, 5) }], 1);
  const office = (self: 'arbitrator:1' | `dbserver:${number}`, address: string, port: number, incarnation: number) =>
    new PostOffice({
      self,
      site: cfg.site,
      keyring,
      transport: net.endpoint(address, port),
      clock,
      rng: seededRng(2),
      incarnation,
      directory: directoryOf(cfg),
      ackTimeoutMs: 3000,
      staleAfterMs: 15_000,
      maxClockSkewMs: 60_000,
      logger: silentLogger(),
    });
  const context = (incarnation: number): RoleContext => {
    const state = LocalState.open(join(dir, 'arbitrator-1.sqlite'));
    return {
      self: 'arbitrator:1',
      party: cfg.parties[0] as ArbitratorParty,
      config: cfg,
      post: office('arbitrator:1', '10.0.0.1', 4800, incarnation),
      clock,
      state,
      logger: silentLogger(),
      configSource: '/etc/minder/site.yaml',
    };
  };
  return { cfg, clock, net, office, context, dir };
}

describe('arbitrator daemon', () => {
  it('decides over the network, persists to SQLite, and a restart re-sends the same decision', async () => {
    const h = harness();
    const ctx = h.context(1);
    // An arbitrator that has run on this file before (a blank file relearns first: docs/safety.md).
    ctx.state.put(RECORD_KEYS.memory, TRUSTED_MEMORY);
    const role = await startArbitrator(ctx);
    expect(role.describe()).toMatch(/arbitrator of site testsite: 4 dbservers, 1 dbclients, epoch 0, 0 decision/);
    const servers = [1, 2, 3, 4].map((i) => h.office(`dbserver:${i}`, `10.0.1.${i}`, 4801, 1));
    const received: Array<{ to: number; id: string }> = [];
    servers.forEach((po, i) => {
      po.onMessage((m) => {
        if (m.verb === 'make_primary') received.push({ to: i + 1, id: (m.body as { decisionId: string }).decisionId });
      });
    });
    const names = ['n1', 'n2', 'n3', 'n4'] as const;
    servers.forEach((po, i) => {
      po.publish('arbitrator:1', 'db_status_report', report(primary(names[i] as (typeof names)[number]), { observedAt: h.clock.now() }));
    });
    h.clock.advance(1000);
    for (let t = 0; t < 14; t++) {
      servers.forEach((po, i) => {
        const n = names[i] as (typeof names)[number];
        po.publish('arbitrator:1', 'db_status_report', report(nonPrimary(n, i < 2 ? ['n1', 'n2'] : ['n3', 'n4']), { observedAt: h.clock.now() }));
      });
      h.clock.advance(1000);
    }
    expect(received.map((r) => r.to)).toEqual([1]);
    const id = received[0]?.id;
    await role.stop();
    await ctx.post.close();
    const decisions = ctx.state.get<Array<{ id: string; outcome: string }>>(RECORD_KEYS.decisions);
    expect(decisions?.map((d) => [d.id, d.outcome])).toEqual([[id, 'pending']]);
    ctx.state.close();

    const ctx2 = h.context(2);
    const role2 = await startArbitrator(ctx2);
    h.clock.advance(100);
    expect(received.map((r) => r.id)).toEqual([id, id]);
    expect(role2.describe()).toMatch(/1 decision/);
    await role2.stop();
    await ctx2.post.close();
    ctx2.state.close();
    for (const s of servers) await s.close();
  });

  it('a damaged decision record stops the start with exit 3', async () => {
    const h = harness();
    const st = LocalState.open(join(h.dir, 'arbitrator-1.sqlite'));
    st.put(RECORD_KEYS.decisions, [{ id: 'half a record' }]);
    st.close();
    const ctx = h.context(1);
    const err = await startArbitrator(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.STATE);
    expect((err as CliError).message).toMatch(/arbitrator\.decisions is damaged/);
    await ctx.post.close();
    ctx.state.close();
  });

  it('takes a changed site config while running: a dbserver added is asked for its status and counted', async () => {
    const h = harness();
    const ctx = h.context(1);
    ctx.state.put(RECORD_KEYS.memory, TRUSTED_MEMORY);
    let listener: ((next: SiteConfig, change: ConfigChange) => void) | null = null;
    const three = siteConfig({ nodes: ['n1', 'n2', 'n3'] });
    const live: RoleContext = {
      ...ctx,
      config: three,
      liveConfig: {
        current: () => three,
        info: () => ({ kind: 'file', version: null, since: 0, origin: 'test' }),
        onConfigChange: (l) => {
          listener = l;
          return () => void (listener = null);
        },
        directory: () => undefined,
      },
    };
    const role = await startArbitrator(live);
    expect(role.describe()).toMatch(/3 dbservers/);
    const n4 = h.office('dbserver:4', '10.0.1.4', 4801, 1);
    const asked: string[] = [];
    n4.onMessage((m) => asked.push(m.verb));
    h.clock.advance(100);
    expect(asked).toEqual([]);
    expect(listener).not.toBeNull();
    (listener as unknown as (next: SiteConfig, change: ConfigChange) => void)(h.cfg, { from: 1, to: 2, changes: ['parties: added dbserver:4'], fields: ['parties'] });
    h.clock.advance(100);
    expect(role.describe()).toMatch(/4 dbservers/);
    expect(asked).toContain('request_status');
    await role.stop();
    expect(listener).toBeNull();
    await ctx.post.close();
    await n4.close();
    ctx.state.close();
  });
});
