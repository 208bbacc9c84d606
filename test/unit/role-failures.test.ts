import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { silentLogger } from '../../src/log.js';
import { startArbitrator } from '../../src/roles/arbitrator/daemon.js';
import { RECORD_KEYS, recordProblem, TRUSTED_MEMORY } from '../../src/roles/arbitrator/records.js';
import type { RoleContext } from '../../src/roles/context.js';
import type { ArbitratorParty } from '../../src/site/schema.js';
import { MAX_QUEUED_EVENTS, RoleHost } from '../../src/roles/host.js';
import { LocalState } from '../../src/state/local-state.js';
import { nonPrimary, primary } from './arbitrator-fixtures.js';
import { netSite } from './arbitrator-net.js';

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
  const site = netSite();
  const state = LocalState.open(join(dir, 'arbitrator-1.sqlite'));
  // An arbitrator that has run on this file before (a blank file relearns first: docs/safety.md, path 1).
  state.put(RECORD_KEYS.memory, TRUSTED_MEMORY);
  const put = state.put.bind(state);
  // The disk is full when the decision is written; every other record still goes in.
  state.put = (key, value, now) => {
    if (key === RECORD_KEYS.decisions) throw new Error('SQLITE_FULL: database or disk is full');
    put(key, value, now);
  };
  const fatal: Array<{ code: number; message: string }> = [];
  const ctx: RoleContext = {
    self: 'arbitrator:1',
    party: site.cfg.parties[0] as ArbitratorParty,
    config: site.cfg,
    post: site.post,
    clock: site.clock,
    state,
    logger: silentLogger(),
    configSource: 'test',
    fatal: (code, message) => fatal.push({ code, message }),
  };
  const close = async () => {
    await site.close();
    state.close();
  };
  return { ...site, ctx, fatal, close };
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

  it('a record that would not load again is never written: the persist fails, exit 3, and the publish after it never leaves', async () => {
    const h = harness();
    const written: string[] = [];
    const fatal: number[] = [];
    const host = new RoleHost<number, never, never>({
      core: {
        step(s, e) {
          if (e.kind !== 'message') return { state: s, effects: [] };
          // A broken record (a decision without its view), then the send that depends on it.
          return {
            state: s + 1,
            effects: [
              { kind: 'persist', key: RECORD_KEYS.decisions, value: [{ id: 'd-1' }] },
              { kind: 'publish', to: 'dbserver:1', verb: 'request_status', body: {} },
            ],
          };
        },
      },
      initial: 0,
      post: h.post,
      clock: h.clock,
      durable: { put: (k) => void written.push(k) },
      logger: silentLogger(),
      check: recordProblem,
      onFatal: (f) => fatal.push(f.exitCode),
      execute: () => {},
    });
    host.start();
    h.say(0, primary('n1'));
    h.clock.advance(100);
    expect(written).toEqual([]);
    expect(fatal).toEqual([EXIT.STATE]);
    expect(host.errors().fatal?.message).toMatch(/persist of arbitrator\.decisions failed: the record would not load again \(0\.\w+ /);
    await h.close();
  });

  it('the event queue is bounded: a loop through dispatch is cut off, counted and logged, and the party goes on', async () => {
    const h = harness();
    let handled = 0;
    let host: RoleHost<number, { kind: 'again' }, never> | null = null;
    host = new RoleHost<number, { kind: 'again' }, never>({
      core: {
        step(s, e) {
          handled++;
          // A buggy executor or core feeding itself: each event queues two more (for a while:
          // the bound caps the memory such a loop takes, not the loop).
          if ((e.kind === 'again' || e.kind === 'start') && handled < 4 * MAX_QUEUED_EVENTS) {
            host?.dispatch({ kind: 'again' });
            host?.dispatch({ kind: 'again' });
          }
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
    // Without the bound every event handled would have been queued: 2 per feeding step.
    expect(host.errors().queueDropped).toBeGreaterThan(2 * MAX_QUEUED_EVENTS);
    expect(handled).toBeLessThanOrEqual(5 * MAX_QUEUED_EVENTS + 1);
    // The party goes on: the next event is handled.
    const before = handled;
    host.dispatch({ kind: 'again' });
    expect(handled).toBe(before + 1);
    await h.close();
  });
});
