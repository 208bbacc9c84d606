import type { Rng } from '../util/rng.js';
import type { Clock } from './clock.js';
import type { Address, Transport } from './transport.js';

export interface NetworkFaults {
  /** Probability that a datagram is lost. */
  loss: number;
  /** Probability that a datagram is delivered twice. */
  duplicate: number;
  /** Every datagram takes minDelayMs plus an exponential extra with this mean: reorders. */
  meanExtraDelayMs: number;
  minDelayMs: number;
}

export const NO_FAULTS: NetworkFaults = { loss: 0, duplicate: 0, meanExtraDelayMs: 0, minDelayMs: 0 };

const key = (a: Address) => `${a.address}:${a.port}`;

/**
 * An in-memory datagram network driven by an injected clock and seeded RNG: loss, duplication,
 * delay, reordering and (a)symmetric partitions between hosts. Used by unit tests and the
 * simulator; same Transport interface as UDP.
 */
export class MemoryNetwork {
  private readonly endpoints = new Map<string, MemoryEndpoint>();
  /** Directed host pairs `from>to` that drop everything. */
  private readonly blocked = new Set<string>();
  delivered = 0;
  dropped = 0;

  constructor(
    private readonly clock: Clock,
    private readonly rng: Rng,
    public faults: NetworkFaults = NO_FAULTS,
  ) {}

  endpoint(address: string, port: number): MemoryEndpoint {
    const a = { address, port };
    if (this.endpoints.has(key(a))) throw new Error(`address ${key(a)} in use`);
    const ep = new MemoryEndpoint(this, a);
    this.endpoints.set(key(a), ep);
    return ep;
  }

  /** Cuts traffic from hosts `a` to hosts `b` (and back, unless oneWay). */
  cut(a: readonly string[], b: readonly string[], oneWay = false): void {
    for (const x of a) {
      for (const y of b) {
        this.blocked.add(`${x}>${y}`);
        if (!oneWay) this.blocked.add(`${y}>${x}`);
      }
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  isBlocked(from: string, to: string): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  /** @internal */
  detach(ep: MemoryEndpoint): void {
    if (this.endpoints.get(key(ep.local)) === ep) this.endpoints.delete(key(ep.local));
  }

  /** @internal */
  route(buf: Uint8Array, from: Address, to: Address): void {
    const copies = this.rng.next() < this.faults.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (this.rng.next() < this.faults.loss) {
        this.dropped++;
        continue;
      }
      const extra = this.faults.meanExtraDelayMs > 0 ? -Math.log(1 - this.rng.next()) * this.faults.meanExtraDelayMs : 0;
      const data = Buffer.from(buf);
      this.clock.setTimer(Math.round(this.faults.minDelayMs + extra), () => {
        // A partition is judged at delivery time, like a link that goes down mid-flight.
        const target = this.endpoints.get(key(to));
        if (!target || this.isBlocked(from.address, to.address)) {
          this.dropped++;
          return;
        }
        this.delivered++;
        target.deliver(data, from);
      });
    }
  }
}

export class MemoryEndpoint implements Transport {
  private handler: ((buf: Buffer, from: Address) => void) | null = null;
  private closed = false;

  constructor(
    private readonly net: MemoryNetwork,
    readonly local: Address,
  ) {}

  send(buf: Uint8Array, to: Address): void {
    if (!this.closed) this.net.route(buf, this.local, to);
  }

  onReceive(handler: (buf: Buffer, from: Address) => void): void {
    this.handler = handler;
  }

  deliver(buf: Buffer, from: Address): void {
    if (!this.closed) this.handler?.(buf, from);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.net.detach(this);
  }
}
