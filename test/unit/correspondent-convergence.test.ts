import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Inbound } from '../../src/correspondents/post-office.js';
import type { Directives } from '../../src/protocol/verbs.js';
import { simSite } from '../support/post-office-fixture.js';

/**
 * The law of docs/protocol.md (Stateful streams and acks): every message states the whole current state; resent until acked;
 * newest wins. Over seeded schedules with 30% loss, duplication and reordering, the receiver
 * must end with the sender's last state, and must never apply an older state after a newer one.
 */
function runSchedule(seed: number, updates: number[]) {
  const site = simSite(seed, { loss: 0.3, duplicate: 0.3, meanExtraDelayMs: 400, minDelayMs: 1 });
  const arb = site.make('arbitrator:1');
  const client = site.make('dbclient:1');
  const applied: number[] = [];
  client.onMessage((m: Inbound) => {
    if (m.verb === 'directives') applied.push((m.body as Directives).epoch);
  });
  let epoch = 0;
  for (const gap of updates) {
    epoch++;
    arb.publish('dbclient:1', 'directives', { epoch, drained: [], paused: epoch % 2 === 0, writer: null });
    site.clock.advance(gap);
  }
  // Long enough for many resend rounds at 3 s with 30% loss each way.
  site.clock.advance(120_000);
  return { applied, last: epoch, acked: arb.isAcked('dbclient:1', 'directives'), stats: client.stats() };
}

describe('correspondent streams under loss, duplication and reordering', () => {
  it("converge to the sender's last state, never going backwards (2,000 seeded schedules)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 12 }), (seed, updates) => {
        const r = runSchedule(seed, updates);
        expect(r.applied.at(-1)).toBe(r.last);
        // A resend of the same state may be applied again (idempotent by design); older, never.
        for (let i = 1; i < r.applied.length; i++) expect(r.applied[i]).toBeGreaterThanOrEqual(r.applied[i - 1] as number);
        expect(r.acked).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('drops duplicated datagrams as replays instead of applying them', () => {
    const r = runSchedule(42, [10, 10, 10, 3000, 10]);
    expect(r.stats.drops.replay).toBeGreaterThan(0);
    expect(r.applied.length).toBe(r.stats.accepted);
  });

  it('a restarted sender (higher incarnation) is applied even though its ids start again', () => {
    const site = simSite(7);
    const seen: number[] = [];
    const client = site.make('dbclient:1');
    client.onMessage((m) => void seen.push((m.body as Directives).epoch));
    const first = site.make('arbitrator:1', 1);
    for (let i = 1; i <= 5; i++) first.publish('dbclient:1', 'directives', { epoch: i, drained: [], paused: false, writer: null });
    site.clock.advance(100);
    void first.close();
    site.offices.delete('arbitrator:1');
    const second = site.make('arbitrator:1', 2);
    second.publish('dbclient:1', 'directives', { epoch: 6, drained: [], paused: false, writer: null });
    site.clock.advance(100);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("an old incarnation's datagram arriving late is never applied after the new one", () => {
    const site = simSite(9, { loss: 0, duplicate: 0, meanExtraDelayMs: 0, minDelayMs: 0 });
    const client = site.make('dbclient:1');
    const seen: number[] = [];
    client.onMessage((m) => void seen.push((m.body as Directives).epoch));
    // Capture a datagram of incarnation 1 and replay it after incarnation 2 spoke.
    const captured: Buffer[] = [];
    const first = site.make('arbitrator:1', 1);
    const ep = (first as unknown as { o: { transport: { send: (b: Uint8Array, to: unknown) => void } } }).o.transport;
    const send = ep.send.bind(ep);
    ep.send = (b, to) => {
      captured.push(Buffer.from(b));
      send(b, to);
    };
    first.publish('dbclient:1', 'directives', { epoch: 1, drained: [], paused: false, writer: null });
    site.clock.advance(10);
    void first.close();
    const second = site.make('arbitrator:1', 2);
    second.publish('dbclient:1', 'directives', { epoch: 2, drained: [], paused: false, writer: null });
    site.clock.advance(10);
    expect(seen).toEqual([1, 2]);
    const before = client.stats().drops.replay;
    // Replayed from the party's own address (an on-path attacker can spoof it).
    (client as unknown as { receive: (b: Buffer, f: { address: string; port: number }) => void }).receive(captured[0] as Buffer, { address: '10.0.0.1', port: 4800 });
    expect(seen).toEqual([1, 2]);
    expect(client.stats().drops.replay).toBe(before + 1);
  });

  it('tells the role when a listed peer has been silent past staleAfter, once per silence', () => {
    const site = simSite(3);
    const arb = site.make('arbitrator:1');
    const silent: string[] = [];
    arb.onSilent((p) => void silent.push(p));
    arb.watch(['dbserver:1']);
    site.clock.advance(14_000);
    expect(silent).toEqual([]);
    site.clock.advance(2_000);
    expect(silent).toEqual(['dbserver:1']);
    site.clock.advance(60_000);
    expect(silent).toEqual(['dbserver:1']);
  });

  it('tells the role when a silent peer is heard again, once, even by an ack alone (no role polls for it)', () => {
    const site = simSite(4);
    const arb = site.make('arbitrator:1');
    const client = site.make('dbclient:1');
    const silent: string[] = [];
    const heard: string[] = [];
    client.onSilent((p) => void silent.push(p));
    client.onHeard((p) => void heard.push(p));
    client.watch(['arbitrator:1']);
    site.clock.advance(16_000);
    expect(silent).toEqual(['arbitrator:1']);
    expect(heard).toEqual([]);
    // The client's report is acked: the ack is all it hears of the arbitrator.
    client.publish('arbitrator:1', 'client_status_report', { observedAt: site.clock.now(), epochApplied: 0, lb: { kind: 'haproxy', reachable: true, error: null }, writer: null, servers: [] });
    site.clock.advance(100);
    expect(heard).toEqual(['arbitrator:1']);
    client.publish('arbitrator:1', 'client_status_report', { observedAt: site.clock.now(), epochApplied: 1, lb: { kind: 'haproxy', reachable: true, error: null }, writer: null, servers: [] });
    site.clock.advance(100);
    expect(heard).toEqual(['arbitrator:1']);
    void arb;
  });
});
