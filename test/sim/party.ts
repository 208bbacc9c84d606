import type { Logger } from 'pino';
import type { Clock } from '../../src/correspondents/clock.js';
import { type Inbound, PostOffice, type PostOfficeOptions } from '../../src/correspondents/post-office.js';
import type { PartyId } from '../../src/protocol/party.js';
import type { BodyOf, Verb } from '../../src/protocol/verbs.js';
import type { DesiredLb, ObservedServer } from '../../src/roles/dbclient/lb/types.js';
import type { Reading } from '../../src/roles/dbserver/reading.js';
import type { Durable } from '../../src/roles/host.js';
import type { Party, SiteConfig } from '../../src/site/schema.js';
import type { DurableMap } from './durable.js';
import type { SimSite } from './site.js';

/**
 * How one role runs in the simulator: a binding builds the role's RoleHost around its REAL core,
 * as the role's daemon does, with executors that act on the simulated world instead of mariadbd
 * or HAProxy. The world gives it the same things `minder run` gives a daemon.
 */
export interface BindingContext {
  self: PartyId;
  site: SimSite;
  config: SiteConfig;
  party: Party;
  /** This party's own clock (the simulated time, skewed per party, whole milliseconds). */
  clock: Clock;
  post: PostOffice;
  /** Survives crashes; `put` is the RoleHost's persist. */
  durable: Durable & Pick<DurableMap, 'get'>;
  logger: Logger;
  incarnation: number;
  sim: SimServices;
}

export interface StartedRole {
  stop(): void;
  /** The core's current state, for the trace and the checks. */
  state(): unknown;
}

export type RoleBinding = (ctx: BindingContext) => StartedRole;

/** What the simulated mariadbd and load balancer offer the executors. */
export interface SimServices {
  /** Runs `fn` after `ms` of simulated time (an executor's I/O latency); never after a crash. */
  later(self: PartyId, ms: number, fn: () => void): void;
  /** A latency drawn from the seed for one kind of I/O. */
  latency(kind: 'read' | 'bootstrap' | 'lb'): number;
  /** A dbserver's reading of its node now. */
  readNode(self: PartyId, seq: number, at: number): Reading;
  /**
   * `SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'` for the decision the dbserver says it
   * serves; `done` gets null (ok) or the error when the statement returns.
   */
  bootstrapNode(self: PartyId, decisionId: string, done: (error: string | null) => void): void;
  /** The desired state a dbclient core asks for, judged when it asks (the drain check). */
  lbWanted(self: PartyId, desired: DesiredLb): void;
  /** The dbclient's load balancer; null when unreachable. */
  lbApply(self: PartyId, desired: DesiredLb): string[] | null;
  lbObserve(self: PartyId): ObservedServer[] | null;
  /** A finding: the run stops at the next step boundary and the seed fails. */
  violation(kind: string, text: string): void;
}

export interface PostTaps {
  /** Before the role sees the message, and after its step is done. */
  inbound(self: PartyId, m: Inbound): void;
  handled(self: PartyId, m: Inbound): void;
  outbound(self: PartyId, to: PartyId, verb: Verb, body: unknown): void;
}

/** A post office whose traffic to and from the role the checks can see. */
export class TappedPostOffice extends PostOffice {
  constructor(
    o: PostOfficeOptions,
    private readonly taps: PostTaps,
  ) {
    super(o);
  }

  override onMessage(handler: (m: Inbound) => void): void {
    super.onMessage((m) => {
      this.taps.inbound(this.self, m);
      try {
        handler(m);
      } finally {
        this.taps.handled(this.self, m);
      }
    });
  }

  override publish<V extends Verb>(to: PartyId, verb: V, body: BodyOf<V>): void {
    this.taps.outbound(this.self, to, verb, body);
    super.publish(to, verb, body);
  }
}
