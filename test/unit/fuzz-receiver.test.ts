import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeDatagram, type Envelope } from '../../src/protocol/datagram.js';
import { DROP_REASONS } from '../../src/protocol/errors.js';
import { ADDRESSES, SITE, simSite } from '../support/post-office-fixture.js';

/**
 * 100,000+ random, mutated and validly-signed-but-wrong datagrams fed to a running receiver:
 * nothing escapes, nothing reaches the role, every one is dropped and counted by reason.
 */
describe('receiver fuzz', () => {
  it('drops and counts every bad datagram, and never lets one through', () => {
    const site = simSite(1234);
    const rx = site.make('arbitrator:1');
    let delivered = 0;
    rx.onMessage(() => void delivered++);
    const feed = (buf: Uint8Array, from = ADDRESSES['dbserver:1'] as { address: string; port: number }) =>
      (rx as unknown as { receive(b: Buffer, f: { address: string; port: number }): void }).receive(Buffer.from(buf), from);
    const secret = site.keyring.sendingKey().secret;
    const sign = (payload: Uint8Array, keyId = 1) => {
      const head = Buffer.from([0x47, 0x4d, 1, keyId]);
      const body = Buffer.concat([head, Buffer.from(payload)]);
      return Buffer.concat([body, createHmac('sha256', secret).update(body).digest()]);
    };
    const now = site.clock.now();
    const good: Envelope = { site: SITE, from: 'dbserver:1', to: 'arbitrator:1', verb: 'request_status', inc: 1, id: 1, at: now, body: {} };
    const valid = encodeDatagram({ ...good, verb: 'db_status_report', body: { observedAt: now, dc: 'dc1', mariadb: 'down', wsrep: null, recovered: null, decision: null, error: null } }, site.keyring);
    let fed = 0;

    // 1. Pure noise, including the empty datagram and oversized ones.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 9000 }), (b) => {
        feed(b);
        fed++;
      }),
      { numRuns: 30_000, seed: 1 },
    );
    for (let n = 8193; n < 9193; n++) {
      feed(Buffer.alloc(n, n & 0xff));
      fed++;
    }
    // 2. Mutations of a valid datagram: flipped bytes, truncations, extensions.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: 3 }), (pos, x, mode) => {
        let b: Buffer = Buffer.from(valid);
        if (mode === 0) b[pos] = (b[pos] as number) ^ x;
        else if (mode === 1) b = b.subarray(0, pos);
        else if (mode === 2) b = Buffer.concat([b, Buffer.alloc(x, x)]);
        else b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + 1)]);
        feed(b);
        fed++;
      }),
      { numRuns: 30_000, seed: 2 },
    );
    // 3. Correctly signed with the site key, but garbage inside: random msgpack values and
    //    envelopes with wrong fields (an insider's or a buggy peer's datagrams).
    fc.assert(
      fc.property(fc.anything(), (v) => {
        feed(sign(pack(v)));
        fed++;
      }),
      { numRuns: 20_000, seed: 3 },
    );
    const envelopes = fc.record({
      site: fc.oneof(fc.constant(SITE), fc.string()),
      from: fc.constantFrom('dbserver:1', 'dbserver:2', 'dbclient:1', 'command:1', 'wsrep_notify_cmd:1', 'dbserver:9', 'nobody', ''),
      to: fc.constantFrom('arbitrator:1', 'dbserver:1', 'arbitrator:2'),
      verb: fc.constantFrom('db_status_report', 'make_primary', 'request_status', 'drain', 'directives', 'ack', 'bogus', ''),
      inc: fc.oneof(fc.constant(1), fc.integer({ min: -5, max: 5 }), fc.double()),
      id: fc.oneof(fc.integer({ min: 2, max: 1e6 }), fc.integer({ min: -5, max: 5 })),
      at: fc.constantFrom(now, now, 0, now + 3_600_000),
      body: fc.oneof(fc.anything(), fc.constant({ epoch: -1 }), fc.constant({ observedAt: now, dc: 'dc1', mariadb: 'sideways' })),
    });
    fc.assert(
      fc.property(envelopes, (e) => {
        feed(sign(pack(e)));
        fed++;
      }),
      { numRuns: 20_000, seed: 4 },
    );
    // 4. A valid datagram from the wrong address, and replays of it.
    for (let i = 0; i < 1000; i++) {
      feed(valid, { address: '10.9.9.9', port: 4801 });
      fed++;
    }
    feed(valid);
    for (let i = 0; i < 999; i++) {
      feed(valid);
      fed++;
    }

    const stats = rx.stats();
    const dropped = DROP_REASONS.reduce((n, r) => n + stats.drops[r], 0);
    expect(fed).toBeGreaterThanOrEqual(100_000);
    expect(delivered).toBe(1);
    expect(dropped).toBe(fed);
    for (const r of [
      'too_short',
      'oversized',
      'bad_magic',
      'bad_signature',
      'malformed',
      'wrong_site',
      'wrong_receiver',
      'unknown_sender',
      'wrong_address',
      'verb_not_allowed',
      'bad_body',
      'stale_timestamp',
      'replay',
    ] as const) {
      expect(stats.drops[r], r).toBeGreaterThan(0);
    }
  });
});
