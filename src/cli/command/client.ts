import { randomBytes } from 'node:crypto';
import type { LogSink } from '../../log-sink.js';
import type { Clock, TimerHandle } from '../../correspondents/clock.js';
import { type Inbound, PostOffice } from '../../correspondents/post-office.js';
import type { Address, Transport } from '../../correspondents/transport.js';
import type { Keyring } from '../../protocol/keys.js';
import type { PartyId } from '../../protocol/party.js';
import type { BodyOf } from '../../protocol/verbs.js';
import { PageAssembler, PagingError } from '../../protocol/paging.js';
import { isStatusSummary, type StatusSummary } from '../../roles/arbitrator/summary-doc.js';
import { directoryOf } from '../../site/load-config.js';
import type { SiteConfig } from '../../site/schema.js';
import type { Rng } from '../../util/rng.js';
import { DEFAULT_TRIES } from './defaults.js';
import { MinderError } from '../../errors.js';

export { DEFAULT_TRIES };

export type OperatorVerb = 'drain' | 'undrain' | 'pause' | 'resume' | 'promote' | 'bootstrap' | 'withdraw' | 'relearned';

export interface Reply {
  ok: boolean;
  message: string;
}

/** The arbitrator did not answer: exit 5 (docs/operations.md). */
export class NoAnswerError extends MinderError {
  declare readonly code: 'NO_ANSWER';
  constructor(message: string) {
    super('NO_ANSWER', message);
  }
}

/** The arbitrator answered no: exit 6. */
export class RefusedError extends MinderError {
  declare readonly code: 'REFUSED';
  constructor(message: string) {
    super('REFUSED', message);
  }
}

export interface ClientOptions {
  cfg: SiteConfig;
  keyring: Keyring;
  self: PartyId;
  transport: Transport;
  clock: Clock;
  rng: Rng;
  logger: LogSink;
  /** Sends of one request before giving up (each waits one ack timeout). */
  tries?: number;
  /** Which arbitrator (default: the first listed). */
  to?: PartyId;
}

/**
 * The operator's side of the channel: a transient party (`command:N`) with its own post office.
 * Operator verbs are not acked by the protocol: the client resends the same request (same
 * requestId, so the arbitrator acts once) every ack timeout until the `command_reply` comes,
 * `tries` times. A status summary comes in pages; missing ones are asked for again.
 */
export class ArbitratorClient {
  readonly post: PostOffice;
  readonly arbitrator: PartyId;
  readonly arbitratorAddress: Address;
  private readonly ackTimeoutMs: number;
  private readonly tries: number;
  private readonly waiting = new Map<string, (m: Inbound) => void>();

  constructor(private readonly o: ClientOptions) {
    const arb = o.cfg.parties.find((p) => (o.to === undefined ? p.id.startsWith('arbitrator:') : p.id === o.to));
    if (!arb) throw new Error('the site config names no arbitrator');
    this.arbitrator = arb.id as PartyId;
    this.arbitratorAddress = { address: arb.host, port: arb.port };
    this.ackTimeoutMs = o.cfg.timings.ackTimeout;
    this.tries = Math.max(1, o.tries ?? DEFAULT_TRIES);
    this.post = new PostOffice({
      self: o.self,
      site: o.cfg.site,
      keyring: o.keyring,
      transport: o.transport,
      clock: o.clock,
      rng: o.rng,
      // A transient party has no state file: its clock is its incarnation, at every datagram.
      incarnation: o.clock.now(),
      clockIncarnation: true,
      directory: directoryOf(o.cfg),
      ackTimeoutMs: o.cfg.timings.ackTimeout,
      staleAfterMs: o.cfg.timings.staleAfter,
      maxClockSkewMs: o.cfg.timings.maxClockSkew,
      logger: o.logger,
    });
    this.post.onMessage((m) => {
      if (m.from !== this.arbitrator) return;
      const id = (m.body as { requestId?: unknown }).requestId;
      if (typeof id === 'string') this.waiting.get(id)?.(m);
    });
  }

  get where(): string {
    return `${this.arbitratorAddress.address}:${this.arbitratorAddress.port}`;
  }

  /** How long a request is given before it counts as unanswered. */
  get patienceMs(): number {
    return this.tries * this.ackTimeoutMs;
  }

  newRequestId(): string {
    return `${this.o.self.replace(':', '')}-${this.o.clock.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  }

  private noAnswer(): NoAnswerError {
    return new NoAnswerError(`the arbitrator at ${this.where} did not answer within ${(this.patienceMs / 1000).toFixed(this.patienceMs % 1000 ? 1 : 0)} s (is it running, and is this the site key?)`);
  }

  /** Sends an operator request until it is answered; resolves with the reply, refused or not. */
  request<V extends OperatorVerb>(verb: V, body: BodyOf<V>): Promise<Reply> {
    const requestId = (body as { requestId: string }).requestId;
    return new Promise<Reply>((resolve, reject) => {
      let sent = 0;
      let timer: TimerHandle | null = null;
      const finish = () => {
        timer?.cancel();
        this.waiting.delete(requestId);
      };
      this.waiting.set(requestId, (m) => {
        if (m.verb !== 'command_reply') return;
        const r = m.body as BodyOf<'command_reply'>;
        finish();
        resolve({ ok: r.ok, message: r.message });
      });
      const send = () => {
        if (sent >= this.tries) {
          finish();
          reject(this.noAnswer());
          return;
        }
        sent++;
        this.post.publish(this.arbitrator, verb, body);
        timer = this.o.clock.setTimer(this.ackTimeoutMs, send);
      };
      send();
    });
  }

  /** The whole status summary, however many pages it takes. */
  async summary(): Promise<StatusSummary> {
    try {
      return await this.summaryOnce(this.newRequestId());
    } catch (err) {
      // Pages from two different documents (the arbitrator restarted mid-way): start over once.
      if (err instanceof PagingError && err.code === 'PAGE_UNDECODABLE') return this.summaryOnce(this.newRequestId());
      throw err;
    }
  }

  private summaryOnce(requestId: string): Promise<StatusSummary> {
    const pages = new PageAssembler();
    return new Promise<StatusSummary>((resolve, reject) => {
      let idle = 0;
      let timer: TimerHandle | null = null;
      const finish = () => {
        timer?.cancel();
        this.waiting.delete(requestId);
      };
      this.waiting.set(requestId, (m) => {
        if (m.verb === 'command_reply') {
          finish();
          reject(new RefusedError((m.body as BodyOf<'command_reply'>).message));
          return;
        }
        if (m.verb !== 'status_summary_page') return;
        const p = m.body as BodyOf<'status_summary_page'>;
        if (!pages.add(p.page, p.pages, p.chunk)) return;
        if (!pages.complete()) return;
        finish();
        try {
          const doc = pages.decode();
          if (!isStatusSummary(doc)) throw new PagingError('PAGE_UNDECODABLE', 'the summary is not a format-1 status document');
          resolve(doc);
        } catch (err) {
          reject(err);
        }
      });
      const outstanding = () => (pages.expected === null ? Number.POSITIVE_INFINITY : pages.missing().length);
      const ask = () => {
        const before = outstanding();
        this.post.publish(this.arbitrator, 'status_summary', { requestId, pages: pages.expected === null ? null : pages.missing() });
        timer = this.o.clock.setTimer(this.ackTimeoutMs, () => {
          // Only rounds that bring no new page count against the patience.
          idle = outstanding() < before ? 0 : idle + 1;
          if (idle >= this.tries) {
            finish();
            reject(this.noAnswer());
            return;
          }
          ask();
        });
      };
      ask();
    });
  }

  close(): Promise<void> {
    for (const w of this.waiting.keys()) this.waiting.delete(w);
    return this.post.close();
  }
}
