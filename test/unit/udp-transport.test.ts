import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../../src/correspondents/clock.js';
import { type Inbound, PostOffice } from '../../src/correspondents/post-office.js';
import { literalFirstLookup, UdpTransport } from '../../src/correspondents/udp-transport.js';
import { silentLogger } from '../../src/log.js';
import { Keyring } from '../../src/protocol/keys.js';
import type { PartyId } from '../../src/protocol/party.js';
import { mathRng } from '../../src/util/rng.js';

const offices: PostOffice[] = [];
afterEach(async () => {
  await Promise.all(offices.splice(0).map((o) => o.close()));
});

async function office(self: PartyId, port: number, dir: Record<string, { address: string; port: number }>, ring: Keyring) {
  const po = new PostOffice({
    self,
    site: 'udp-test',
    keyring: ring,
    transport: await UdpTransport.bind('127.0.0.1', port),
    clock: realClock,
    rng: mathRng,
    incarnation: 1,
    directory: (id) => dir[id],
    ackTimeoutMs: 200,
    staleAfterMs: 5000,
    maxClockSkewMs: 60_000,
    logger: silentLogger(),
  });
  offices.push(po);
  return po;
}

describe('UDP transport', () => {
  it('carries an acked stateful message between two post offices over loopback', async () => {
    const ring = new Keyring([{ id: 1, secret: randomBytes(32) }], 1);
    const a = await UdpTransport.bind('127.0.0.1', 0);
    const pa = a.local.port;
    await a.close();
    const b = await UdpTransport.bind('127.0.0.1', 0);
    const pb = b.local.port;
    await b.close();
    const dir = { 'arbitrator:1': { address: '127.0.0.1', port: pa }, 'dbclient:1': { address: '127.0.0.1', port: pb } };
    const arb = await office('arbitrator:1', pa, dir, ring);
    const client = await office('dbclient:1', pb, dir, ring);
    const got = new Promise<Inbound>((resolve) => client.onMessage(resolve));
    arb.publish('dbclient:1', 'directives', { epoch: 3, drained: ['dbserver:2'], paused: true, writer: 'dbserver:1' });
    const m = await got;
    expect(m.from).toBe('arbitrator:1');
    expect(m.body).toEqual({ epoch: 3, drained: ['dbserver:2'], paused: true, writer: 'dbserver:1' });
    for (let i = 0; i < 50 && !arb.isAcked('dbclient:1', 'directives'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(arb.isAcked('dbclient:1', 'directives')).toBe(true);
  });

  it('explains a bind failure', async () => {
    const a = await UdpTransport.bind('127.0.0.1', 0);
    await expect(UdpTransport.bind('127.0.0.1', a.local.port)).rejects.toThrow(/cannot bind UDP 127\.0\.0\.1:\d+: EADDRINUSE/);
    await a.close();
    await expect(UdpTransport.bind('192.0.2.77', 4800)).rejects.toThrow(/cannot bind UDP 192\.0\.2\.77:4800: EADDRNOTAVAIL/);
  });

  it('answers an address literal at once and leaves a host name to dns.lookup', async () => {
    const got: Array<[string, number]> = [];
    literalFirstLookup('127.0.2.7', 4, (err, address, family) => void (err ?? got.push([address, family])));
    literalFirstLookup('::1', 6, (err, address, family) => void (err ?? got.push([address, family])));
    // Synchronous: both answered before this line.
    expect(got).toEqual([
      ['127.0.2.7', 4],
      ['::1', 6],
    ]);
    const byName = await new Promise<[string, number]>((resolve, reject) => literalFirstLookup('localhost', 4, (err, address, family) => (err ? reject(err) : resolve([address, family]))));
    expect(byName).toEqual(['127.0.0.1', 4]);
  });
});
