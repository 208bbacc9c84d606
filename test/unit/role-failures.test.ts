import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { SimClock } from '../../src/correspondents/clock.js';
import { MemoryNetwork } from '../../src/correspondents/memory-network.js';
import { PostOffice } from '../../src/correspondents/post-office.js';
import { silentLogger } from '../../src/log.js';
import { Keyring } from '../../src/protocol/keys.js';
import { startArbitrator } from '../../src/roles/arbitrator/daemon.js';
import { RECORD_KEYS } from '../../src/roles/arbitrator/records.js';
import type { RoleContext } from '../../src/roles/context.js';
import { directoryOf } from '../../src/site/load-config.js';
import type { ArbitratorParty } from '../../src/site/schema.js';
import { RoleHost } from '../../src/roles/host.js';
import { LocalState } from '../../src/state/local-state.js';
import { seededRng } from '../../src/util/rng.js';
import { type Node, nonPrimary, primary, report, siteConfig } from './arbitrator-fixtures.js';

/**
 * Issue 11 path 7: a failure inside a party (here: the state file refuses the decision's write)
 * is never counted as the peer's fault, and the party stops with the state exit code before the
 * make_primary that depends on the write can leave, on the message path and on the timer path.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function harness() {
  const dir = mkdtempSync(join(tmpdir(), 'role-fail-'));
  dirs.push(dir);
  const cfg = siteConfig();
  const clock = new SimClock();
  const net = new MemoryNetwork(clock, seededRng(1));
  const keyring = new Keyring([{ id: 1, secret: Buffer.alloc(32, 5) }], 1);
  const office = (self: 'arbitrator:1' | `dbserver:${number}`, address: string, port: number) =>
    new PostOffice({
      self,
      site: cfg.site,
      keyring,
      transport: net.endpoint(address, port),
      clock,
      rng: seededRng(2),
      incarnation: 1,
      directory: directoryOf(cfg),
      ackTimeoutMs: 3000,
      staleAfterMs: 15_000,
      maxClockSkewMs: 60_000,
      logger: silentLogger(),
    });
  const state = LocalState.open(join(dir, 'arbitrator-1.sqlite'));
  const put = state.put.bind(state);
  // The disk is full when the decision is written; every other record still goes in.
  state.put = (key, value, now) => {
    if (key === RECORD_KEYS.decisions) throw new Error('SQLITE_FULL: database or disk is full');
    put(key, value, now);
  };
  const fatal: Array<{ code: number; message: string }> = [];
  const post = office('arbitrator:1', '10.0.0.1', 4800);
  const ctx: RoleContext = {
    self: 'arbitrator:1',
    party: cfg.parties[0] as ArbitratorParty,
    config: cfg,
    post,
    clock,
    state,
    logger: silentLogger(),
    configSource: 'test',
    fatal: (code, message) => fatal.push({ code, message }),
  };
  const servers = [1, 2, 3, 4].map((i) => office(`dbserver:${i}`, `10.0.1.${i}`, 4801));
  const makePrimary: number[] = [];
  servers.forEach((po, i) => {
    po.onMessage((m) => {
      if (m.verb === 'make_primary') makePrimary.push(i + 1);
    });
  });
  const names: Node[] = ['n1', 'n2', 'n3', 'n4'];
  const say = (i: number, w: ReturnType<typeof primary>) => servers[i]?.publish('arbitrator:1', 'db_status_report', report(w, { observedAt: clock.now() }));
  const close = async () => {
    await post.close();
    for (const s of servers) await s.close();
    state.close();
  };
  return { clock, ctx, post, servers, names, say, fatal, makePrimary, close };
}

describe('a failure inside the party (issue 11 path 7)', () => {
  it('schedule persist_fails_on_a_report: not a malformed datagram; the party stops with exit 3 and no make_primary leaves', async () => {
    const h = harness();
    await startArbitrator(h.ctx);
    for (const [i, n] of h.names.entries()) h.say(i, primary(n));
    h.clock.advance(1000);
    // The settled 2+2 cut: dc1 is decided on the report that completes the picture.
    for (const [i, n] of h.names.entries()) h.say(i, nonPrimary(n, i < 2 ? ['n1', 'n2'] : ['n3', 'n4']));
    h.clock.advance(5000);
    expect(h.post.stats().drops.malformed).toBe(0);
    expect(h.post.stats().accepted).toBeGreaterThan(0);
    expect(h.fatal.map((f) => f.code)).toEqual([EXIT.STATE]);
    expect(h.fatal[0]?.message).toMatch(/persist of arbitrator\.decisions failed: SQLITE_FULL/);
    expect(h.makePrimary).toEqual([]);
    await h.close();
  });

  it('schedule persist_fails_on_a_timer: the evaluate timer does not throw out of the clock; exit 3, no make_primary', async () => {
    const h = harness();
    await startArbitrator(h.ctx);
    for (const [i, n] of h.names.entries()) h.say(i, primary(n));
    h.clock.advance(1000);
    // Only dc1 is heard after the cut: not a settled split, so it is decided when the failover
    // period ends, on the evaluate timer.
    let threw: unknown = null;
    for (let t = 0; t < 30 && threw === null; t++) {
      h.say(0, nonPrimary('n1', ['n1', 'n2']));
      h.say(1, nonPrimary('n2', ['n1', 'n2']));
      try {
        h.clock.advance(1000);
      } catch (err) {
        threw = err;
      }
    }
    expect(threw).toBeNull();
    expect(h.fatal.map((f) => f.code)).toEqual([EXIT.STATE]);
    expect(h.makePrimary).toEqual([]);
    expect(h.post.stats().drops.malformed).toBe(0);
    await h.close();
  });
});

describe('a core that throws (a bug)', () => {
  it("loses that one event, is not counted as the sender's malformed datagram, and the party goes on", async () => {
    const h = harness();
    let calls = 0;
    const host = new RoleHost<number, never, never>({
      core: {
        step(s, e) {
          if (e.kind !== 'message') return { state: s, effects: [] };
          calls++;
          if (calls === 1) throw new Error('a bug');
          return { state: s + 1, effects: [] };
        },
      },
      initial: 0,
      post: h.post,
      clock: h.clock,
      durable: { put() {} },
      logger: silentLogger(),
      execute: () => {},
    });
    host.start();
    h.say(0, primary('n1'));
    h.say(1, primary('n2'));
    h.clock.advance(100);
    expect(calls).toBe(2);
    expect(host.current).toBe(1);
    expect(host.errors().coreThrew).toBe(1);
    expect(h.post.stats().drops.malformed).toBe(0);
    await h.close();
  });
});
