import { randomBytes } from 'node:crypto';
import { SimClock } from '../../src/correspondents/clock.js';
import { MemoryNetwork, type NetworkFaults, NO_FAULTS } from '../../src/correspondents/memory-network.js';
import { PostOffice } from '../../src/correspondents/post-office.js';
import type { Address } from '../../src/correspondents/transport.js';
import { silentLogger } from '../../src/log.js';
import { Keyring } from '../../src/protocol/keys.js';
import type { PartyId } from '../../src/protocol/party.js';
import { seededRng } from '../../src/util/rng.js';

export const SITE = 'testsite';

export function testKeyring(secret: Buffer = randomBytes(32), id = 1): Keyring {
  return new Keyring([{ id, secret }], id);
}

export const ADDRESSES: Record<string, Address> = {
  'arbitrator:1': { address: '10.0.0.1', port: 4800 },
  'dbserver:1': { address: '10.0.1.11', port: 4801 },
  'dbserver:2': { address: '10.0.1.12', port: 4801 },
  'dbclient:1': { address: '10.0.2.21', port: 4802 },
};

/** A small simulated site: every listed party gets a PostOffice on one seeded memory network. */
export function simSite(seed: number, faults: NetworkFaults = NO_FAULTS, keyring: Keyring = testKeyring()) {
  const clock = new SimClock();
  const rng = seededRng(seed);
  const net = new MemoryNetwork(clock, rng, faults);
  const directory = (id: PartyId) => ADDRESSES[id];
  const offices = new Map<string, PostOffice>();
  const make = (self: PartyId, incarnation = 1) => {
    const a = ADDRESSES[self] as Address;
    const po = new PostOffice({
      self,
      site: SITE,
      keyring,
      transport: net.endpoint(a.address, a.port),
      clock,
      rng,
      incarnation,
      directory,
      ackTimeoutMs: 3000,
      staleAfterMs: 15_000,
      maxClockSkewMs: 60_000,
      logger: silentLogger(),
    });
    offices.set(self, po);
    return po;
  };
  return { clock, rng, net, keyring, make, offices };
}
