import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { arbitratorCore } from '../../src/roles/arbitrator/core.js';
import { emptyRecords } from '../../src/roles/arbitrator/records.js';
import { type ArbitratorState, initialArbitratorState } from '../../src/roles/arbitrator/state.js';
import { buildSummary } from '../../src/roles/arbitrator/summary.js';
import { RoleHost } from '../../src/roles/host.js';
import { nonPrimary, primary, settingsFor } from './arbitrator-fixtures.js';
import { netSite } from './arbitrator-net.js';

/**
 * Issue 11 path 6: a report is fresh by when its reading was taken, not when it arrived. The
 * dbservers here send through real post offices; a slow reading is one whose observed-at is
 * long before the datagram's sent-at (the query timeouts allow ~20 s).
 */
function site(o: Parameters<typeof netSite>[0] = {}) {
  const s = netSite(o);
  const host = new RoleHost<ArbitratorState, never, never>({
    core: arbitratorCore,
    initial: initialArbitratorState(settingsFor(), emptyRecords(), { incarnation: 1 }),
    post: s.post,
    clock: s.clock,
    durable: { put() {} },
    logger: silentLogger(),
    execute: () => {},
  });
  host.start();
  return { ...s, host };
}

describe('freshness by the reading, not the receipt (issue 11 path 6)', () => {
  it('schedule slow_readings_of_the_far_half: readings taken 16 s before they were sent do not make a settled split', async () => {
    const h = site();
    h.names.forEach((n, i) => {
      h.say(i, primary(n));
    });
    h.clock.advance(20_000);
    // The cut. dc1's readings are quick; dc2's were begun 16 s before they could be sent (a
    // hung mariadbd answering at the end of its timeouts): what they show is 16 s old.
    const cut = () => {
      h.say(0, nonPrimary('n1', ['n1', 'n2']));
      h.say(1, nonPrimary('n2', ['n1', 'n2']));
      h.say(2, nonPrimary('n3', ['n3', 'n4']), { observedAt: h.clock.now() - 16_000 });
      h.say(3, nonPrimary('n4', ['n3', 'n4']), { observedAt: h.clock.now() - 16_000 });
    };
    cut();
    h.clock.advance(200);
    // dc2 is not freshly heard: no settled split, dc1 waits for its failover period.
    expect(h.makePrimary).toEqual([]);
    const reasons = h.host.current.evaluation?.reasons ?? [];
    expect(reasons.map((r) => `${r.code}:${r.view}`)).toEqual(['waiting:dbserver:1+dbserver:2']);
    const doc = buildSummary(h.host.current, h.clock.now());
    const dc2 = doc.parties.filter((p) => p.party === 'dbserver:3' || p.party === 'dbserver:4');
    expect(dc2.map((p) => [p.fresh, Math.round((p.reportAgeMs ?? 0) / 1000)])).toEqual([
      [false, 16],
      [false, 16],
    ]);
    for (let t = 0; t < 5; t++) {
      h.clock.advance(2000);
      cut();
    }
    h.clock.advance(500);
    // The failover period over, dc1 is promoted by the ordinary rule (2 of the 4 of P).
    expect(h.makePrimary).toEqual([1]);
    await h.close();
  });

  it('schedule delayed_report: a datagram 10 s on the way is refused (timings.maxClockSkew, now 5 s), never taken as a fresh report', async () => {
    // dbserver:3's datagrams all reach the arbitrator 10 s after they were sent (to the
    // receiver that is the same as a sender's clock 10 s behind: it cannot tell them apart).
    const h = site({ serverClock: (serial, sim) => (serial === 3 ? { now: () => sim.now() - 10_000, setTimer: (ms, fn) => sim.setTimer(ms, fn) } : undefined) });
    h.names.forEach((n, i) => {
      h.say(i, primary(n));
    });
    h.clock.advance(500);
    expect(h.post.stats().drops.stale_timestamp).toBeGreaterThan(0);
    const doc = buildSummary(h.host.current, h.clock.now());
    const n3 = doc.parties.find((p) => p.party === 'dbserver:3');
    expect(n3?.fresh).toBe(false);
    expect(doc.parties.filter((p) => p.type === 'dbserver' && p.fresh).map((p) => p.party)).toEqual(['dbserver:1', 'dbserver:2', 'dbserver:4']);
    await h.close();
  });
});
