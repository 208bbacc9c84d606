import type { LogSink } from '../log-sink.js';
import { decodeDatagram, type Envelope, encodeDatagram } from '../protocol/datagram.js';
import { DROP_REASONS, type DropReason, ProtocolError } from '../protocol/errors.js';
import type { Keyring } from '../protocol/keys.js';
import { type PartyId, type PartyType, parsePartyId } from '../protocol/party.js';
import { type BodyOf, checkBody, isVerb, type Verb, VERBS } from '../protocol/verbs.js';
import type { Rng } from '../util/rng.js';
import { type Clock, monotonicOf, type TimerHandle } from './clock.js';
import { Correspondent, DEFAULT_ACK_RANDOM_FACTOR } from './correspondent.js';
import type { Address, Transport } from './transport.js';

export interface PostOfficeOptions {
  self: PartyId;
  site: string;
  keyring: Keyring;
  transport: Transport;
  clock: Clock;
  rng: Rng;
  /** Persisted and grown at every start, before the first send. */
  incarnation: number;
  /**
   * A transient party without a state file (the operator's `minder command`): every datagram's
   * incarnation is its clock, never less than the one before. Two sessions speaking as the same
   * command party (a prompt left open, a one-shot run beside it) are then ordered by when each
   * request was sent, not by when each process started: the receiver's replay guard would
   * otherwise drop everything the older session says after the newer one has spoken.
   */
  clockIncarnation?: boolean;
  /** Where each long-lived party of the site config lives; undefined for anyone else. */
  directory: (id: PartyId) => Address | undefined;
  ackTimeoutMs: number;
  ackRandomFactor?: number;
  staleAfterMs: number;
  maxClockSkewMs: number;
  logger: LogSink;
  /** Drop log lines per reason at most this often (ms). */
  dropLogIntervalMs?: number;
}

export interface Inbound<V extends Verb = Verb> {
  from: PartyId;
  verb: V;
  body: BodyOf<V>;
  envelope: Envelope;
  address: Address;
}

export interface PostOfficeStats {
  accepted: number;
  sent: number;
  resent: number;
  drops: Record<DropReason, number>;
  /**
   * Accepted datagrams whose handling failed inside this party (a bug, or a failed effect the
   * RoleHost did not catch): never counted as the sender's fault (drops), always logged.
   */
  roleErrors: number;
  /** Accepted datagrams by verb (acks included), and datagrams sent by verb (resends included). */
  receivedByVerb: Record<string, number>;
  sentByVerb: Record<string, number>;
}

/** One peer as the post office hears it (for metrics and status; no effect on the protocol). */
export interface PeerHearing {
  peer: PartyId;
  lastHeardAt: number;
  /** Flagged silent (staleAfter without a word) and not heard since. */
  silent: boolean;
  /** A long-lived party of the site config (transient ones, e.g. the operator, are false). */
  listed: boolean;
}

const MAX_TRANSIENT_PEERS = 1024;

function normalise(a: Address): Address {
  return a.address.startsWith('::ffff:') ? { address: a.address.slice(7), port: a.port } : a;
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/**
 * A party's door to the network: the receive path validates every datagram at the edge
 * (authenticity, site, receiver, sender, address, verb rights, freshness, replay, body schema),
 * drops and counts what fails, acks what needs it, and hands the rest to the role. The send
 * path goes through one Correspondent per peer.
 */
export class PostOffice {
  private readonly peers = new Map<PartyId, Correspondent>();
  /** Transient parties (hook, operator) are answered where they last wrote from. */
  private readonly transientAddr = new Map<PartyId, Address>();
  private nextId = 1;
  private lastClockInc = 0;
  private messageHandler: (m: Inbound) => void = () => {};
  private silentHandler: (peer: PartyId, silentMs: number) => void = () => {};
  private heardHandler: (peer: PartyId) => void = () => {};
  private readonly counters: PostOfficeStats;
  private readonly lastDropLog = new Map<DropReason, { at: number; suppressed: number }>();
  private silenceTimer: TimerHandle | null = null;
  private closed = false;
  private readonly selfType: PartyType;

  /** Silence and resend pacing are durations: measured on the monotonic clock. */
  private readonly monoClock: Clock;

  constructor(private readonly o: PostOfficeOptions) {
    this.monoClock = { now: () => monotonicOf(o.clock), setTimer: (ms, fn) => o.clock.setTimer(ms, fn) };
    const drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
    this.counters = { accepted: 0, sent: 0, resent: 0, drops, roleErrors: 0, receivedByVerb: {}, sentByVerb: {} };
    const me = parsePartyId(o.self);
    if (!me) throw new Error(`a post office for ${o.self}: not a party name`);
    this.selfType = me.type;
    o.transport.onReceive((buf, from) => this.receive(buf, from));
    this.armSilenceCheck();
  }

  get self(): PartyId {
    return this.o.self;
  }

  get incarnation(): number {
    return this.o.incarnation;
  }

  onMessage(handler: (m: Inbound) => void): void {
    this.messageHandler = handler;
  }

  onSilent(handler: (peer: PartyId, silentMs: number) => void): void {
    this.silentHandler = handler;
  }

  /**
   * A peer flagged silent is heard again (any authenticated datagram, an ack included: an ack
   * reaches no role otherwise). Beside `onSilent`, so that no role polls `lastHeardAt`.
   */
  onHeard(handler: (peer: PartyId) => void): void {
    this.heardHandler = handler;
  }

  /** States the current state of `verb` to `to`; acked verbs are resent until acked. */
  publish<V extends Verb>(to: PartyId, verb: V, body: BodyOf<V>): void {
    if (this.closed) return;
    this.correspondent(to).publish(verb, body, VERBS[verb].acked);
  }

  /** Starts watching these peers for silence even before anything was exchanged with them. */
  watch(peers: readonly PartyId[]): void {
    for (const p of peers) this.correspondent(p);
  }

  /** Whether the newest state of `verb` towards `to` has been acked (true if nothing pending). */
  isAcked(to: PartyId, verb: Verb): boolean {
    return this.peers.get(to)?.isAcked(verb) ?? true;
  }

  lastHeardAt(peer: PartyId): number | undefined {
    return this.peers.get(peer)?.lastHeardAt;
  }

  stats(): PostOfficeStats {
    return { ...this.counters, drops: { ...this.counters.drops }, receivedByVerb: { ...this.counters.receivedByVerb }, sentByVerb: { ...this.counters.sentByVerb } };
  }

  /** Every peer met or watched, with when it was last heard. */
  hearing(): PeerHearing[] {
    const out: PeerHearing[] = [];
    for (const [peer, c] of this.peers) out.push({ peer, lastHeardAt: c.lastHeardAt, silent: c.silentFlagged, listed: this.o.directory(peer) !== undefined });
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.silenceTimer?.cancel();
    for (const c of this.peers.values()) c.stop();
    await this.o.transport.close();
  }

  private correspondent(peer: PartyId): Correspondent {
    let c = this.peers.get(peer);
    if (!c) {
      c = new Correspondent(peer, {
        clock: this.monoClock,
        rng: this.o.rng,
        ackTimeoutMs: this.o.ackTimeoutMs,
        ackRandomFactor: this.o.ackRandomFactor ?? DEFAULT_ACK_RANDOM_FACTOR,
        transmit: (verb, body) => this.transmit(peer, verb, body),
        onResend: () => void this.counters.resent++,
      });
      this.peers.set(peer, c);
    }
    return c;
  }

  private addressOf(peer: PartyId): Address | undefined {
    return this.o.directory(peer) ?? this.transientAddr.get(peer);
  }

  private transmit(to: PartyId, verb: Verb, body: unknown): { inc: number; id: number } {
    const id = this.nextId++;
    const inc = this.o.clockIncarnation ? (this.lastClockInc = Math.max(this.lastClockInc, this.o.incarnation, Math.floor(this.o.clock.now()))) : this.o.incarnation;
    const addr = this.addressOf(to);
    if (!addr || this.closed) return { inc, id };
    const env: Envelope = { site: this.o.site, from: this.o.self, to, verb, inc, id, at: Math.floor(this.o.clock.now()), body };
    this.o.transport.send(encodeDatagram(env, this.o.keyring), addr);
    this.counters.sent++;
    this.counters.sentByVerb[verb] = (this.counters.sentByVerb[verb] ?? 0) + 1;
    return { inc, id };
  }

  private receive(buf: Buffer, rawFrom: Address): void {
    if (this.closed) return;
    let inbound: Inbound | null;
    try {
      inbound = this.accept(buf, normalise(rawFrom));
    } catch (err) {
      if (err instanceof ProtocolError) this.drop(err.reason, err.message, rawFrom);
      // Nothing a peer sends may take the daemon down; an unexpected error is a malformed input.
      else this.drop('malformed', `unexpected: ${(err as Error).message}`, rawFrom);
      return;
    }
    // The role's handling is outside the edge's try: what fails there is this party's fault,
    // never the peer's (a failed persist counted as a malformed datagram hid it, issue 11 path 7).
    if (inbound) this.deliver(inbound);
  }

  private deliver(m: Inbound): void {
    try {
      this.messageHandler(m);
    } catch (err) {
      this.counters.roleErrors++;
      this.o.logger.error(
        { event: 'role_error', verb: m.verb, from: m.from, err: (err as Error).message, stack: (err as Error).stack },
        `handling ${m.verb} from ${m.from} failed inside this party (not the sender's fault): ${(err as Error).message}`,
      );
    }
  }

  /** Checks a datagram at the edge: the message for the role, null when it was only an ack. */
  private accept(buf: Buffer, from: Address): Inbound | null {
    const { envelope: env } = decodeDatagram(buf, this.o.keyring);
    if (env.site !== this.o.site) throw new ProtocolError('wrong_site', `site ${env.site}`);
    if (env.to !== this.o.self) throw new ProtocolError('wrong_receiver', `addressed to ${env.to}`);
    const party = parsePartyId(env.from);
    if (!party) throw new ProtocolError('unknown_sender', `sender ${env.from} is not a party name`);
    const sender = env.from as PartyId;
    const senderType = party.type;
    const listed = this.checkAddress(sender, senderType, from);
    if (!isVerb(env.verb)) throw new ProtocolError('verb_not_allowed', `unknown verb ${env.verb}`);
    const spec = VERBS[env.verb];
    const selfType = this.selfType;
    if (!(spec.from as readonly PartyType[]).includes(senderType) || !(spec.to as readonly PartyType[]).includes(selfType)) {
      throw new ProtocolError('verb_not_allowed', `${senderType} may not send ${env.verb} to ${selfType}`);
    }
    const wall = this.o.clock.now();
    if (Math.abs(wall - env.at) > this.o.maxClockSkewMs) {
      throw new ProtocolError('stale_timestamp', `sent-at is ${Math.round((wall - env.at) / 1000)} s off this clock`);
    }
    const now = monotonicOf(this.o.clock);
    const parsed = checkBody(env.verb, env.body);
    if (!parsed.ok) throw new ProtocolError('bad_body', `${env.verb}: ${parsed.issue}`);
    if (!listed) this.rememberTransient(sender, from);
    const c = this.correspondent(sender);
    const wasSilent = c.silentFlagged;
    c.heard(now);
    if (wasSilent) this.heardHandler(sender);
    if (env.verb === 'ack') {
      const a = parsed.data as BodyOf<'ack'>;
      c.ackReceived(a.verb, a.inc, a.id);
      this.counters.accepted++;
      this.countReceived('ack');
      return null;
    }
    const judgement = c.judge(env.verb, env.inc, env.id, true);
    if (spec.acked) this.sendAck(sender, env);
    if (judgement !== 'new') throw new ProtocolError('replay', `${judgement} ${env.verb} (${env.inc}, ${env.id}) from ${sender}`);
    this.counters.accepted++;
    this.countReceived(env.verb);
    return { from: sender, verb: env.verb, body: parsed.data, envelope: env, address: from } as Inbound;
  }

  /** Whether the sender is a listed (long-lived) party; throws when it may not write from there. */
  private checkAddress(sender: PartyId, type: PartyType, from: Address): boolean {
    const listed = this.o.directory(sender);
    if (listed) {
      if (listed.address !== from.address || listed.port !== from.port) {
        throw new ProtocolError('wrong_address', `${sender} wrote from ${from.address}:${from.port}, config says ${listed.address}:${listed.port}`);
      }
      return true;
    }
    if (type === 'command') return false;
    // The hook runs beside its dbserver, so it can only be local.
    if (type === 'wsrep_notify_cmd' && isLoopback(from.address)) return false;
    throw new ProtocolError('unknown_sender', `${sender} is not in the site config`);
  }

  private rememberTransient(peer: PartyId, from: Address): void {
    this.transientAddr.delete(peer);
    this.transientAddr.set(peer, from);
    if (this.transientAddr.size > MAX_TRANSIENT_PEERS) {
      const oldest = this.transientAddr.keys().next().value as PartyId;
      this.transientAddr.delete(oldest);
      this.peers.get(oldest)?.stop();
      this.peers.delete(oldest);
    }
  }

  private countReceived(verb: Verb): void {
    this.counters.receivedByVerb[verb] = (this.counters.receivedByVerb[verb] ?? 0) + 1;
  }

  private sendAck(to: PartyId, env: Envelope): void {
    this.correspondent(to).publish('ack', { verb: env.verb, inc: env.inc, id: env.id }, false);
  }

  private drop(reason: DropReason, detail: string, from: Address): void {
    this.counters.drops[reason]++;
    const now = monotonicOf(this.o.clock);
    const interval = this.o.dropLogIntervalMs ?? 10_000;
    const last = this.lastDropLog.get(reason);
    if (last && now - last.at < interval) {
      last.suppressed++;
      return;
    }
    this.lastDropLog.set(reason, { at: now, suppressed: 0 });
    this.o.logger.warn({ event: 'datagram_dropped', reason, detail, from: `${from.address}:${from.port}`, suppressedSinceLast: last?.suppressed ?? 0 }, `dropped a datagram: ${reason}`);
  }

  private armSilenceCheck(): void {
    const period = Math.max(100, Math.min(1000, this.o.staleAfterMs / 4));
    this.silenceTimer = this.o.clock.setTimer(period, () => {
      if (this.closed) return;
      const now = monotonicOf(this.o.clock);
      for (const [peer, c] of this.peers) {
        if (!this.o.directory(peer)) continue;
        const silent = now - c.lastHeardAt;
        if (silent >= this.o.staleAfterMs && !c.silentFlagged) {
          c.silentFlagged = true;
          this.silentHandler(peer, silent);
        }
      }
      this.armSilenceCheck();
    });
  }
}
