import type { PartyId } from '../protocol/party.js';
import type { Verb } from '../protocol/verbs.js';
import type { Rng } from '../util/rng.js';
import type { Clock, TimerHandle } from './clock.js';

/** CoAP's ACK_RANDOM_FACTOR idea: resends spread upward so peers do not retry in lockstep. */
export const DEFAULT_ACK_RANDOM_FACTOR = 1.25;

export interface CorrespondentDeps {
  clock: Clock;
  rng: Rng;
  ackTimeoutMs: number;
  ackRandomFactor: number;
  /** Puts one datagram on the wire with a fresh id and timestamp; returns (incarnation, id). */
  transmit(verb: Verb, body: unknown): { inc: number; id: number };
  onResend?(verb: Verb): void;
}

interface OutStream {
  body: unknown;
  /** First datagram id that carried the current body: an ack at or above it acks this state. */
  sinceId: number;
  inc: number;
  acked: boolean;
  timer: TimerHandle | null;
}

export type Judgement = 'new' | 'duplicate' | 'stale';

/**
 * One peer, seen from one party (the original design's "parent class for the various corresponding
 * modules"): keeps the newest state per verb towards the peer and resends it until acked;
 * keeps the highest (incarnation, id) applied from the peer per verb, so a duplicate or an
 * older datagram never overwrites a newer state.
 */
export class Correspondent {
  private readonly out = new Map<Verb, OutStream>();
  private readonly applied = new Map<string, { inc: number; id: number }>();
  lastHeardAt: number;
  silentFlagged = false;

  constructor(
    readonly peer: PartyId,
    private readonly deps: CorrespondentDeps,
  ) {
    this.lastHeardAt = deps.clock.now();
  }

  /** States the whole current state of `verb` to the peer; replaces any unacked older state. */
  publish(verb: Verb, body: unknown, acked: boolean): void {
    const prev = this.out.get(verb);
    prev?.timer?.cancel();
    const { inc, id } = this.deps.transmit(verb, body);
    if (!acked) {
      this.out.delete(verb);
      return;
    }
    const s: OutStream = { body, sinceId: id, inc, acked: false, timer: null };
    this.out.set(verb, s);
    this.armResend(verb, s);
  }

  /** The body most recently published for `verb`, acked or not. */
  current(verb: Verb): unknown {
    return this.out.get(verb)?.body;
  }

  isAcked(verb: Verb): boolean {
    return this.out.get(verb)?.acked ?? true;
  }

  ackReceived(verb: string, inc: number, id: number): void {
    const s = this.out.get(verb as Verb);
    if (!s || s.acked || inc !== s.inc || id < s.sinceId) return;
    s.acked = true;
    s.timer?.cancel();
    s.timer = null;
  }

  /** Orders an incoming datagram against what was applied already; moves the mark only for 'new'. */
  judge(verb: string, inc: number, id: number, commit: boolean): Judgement {
    const hw = this.applied.get(verb);
    let j: Judgement = 'new';
    if (hw) {
      if (inc < hw.inc || (inc === hw.inc && id < hw.id)) j = 'stale';
      else if (inc === hw.inc && id === hw.id) j = 'duplicate';
    }
    if (j === 'new' && commit) this.applied.set(verb, { inc, id });
    return j;
  }

  heard(now: number): void {
    this.lastHeardAt = now;
    this.silentFlagged = false;
  }

  stop(): void {
    for (const s of this.out.values()) s.timer?.cancel();
    this.out.clear();
  }

  private armResend(verb: Verb, s: OutStream): void {
    const { ackTimeoutMs, ackRandomFactor, rng, clock } = this.deps;
    const delay = ackTimeoutMs * (1 + rng.next() * (ackRandomFactor - 1));
    s.timer = clock.setTimer(delay, () => {
      if (s.acked || this.out.get(verb) !== s) return;
      // Always the newest state, with a fresh id and timestamp, never a stale copy.
      const { inc, id } = this.deps.transmit(verb, s.body);
      if (inc !== s.inc) {
        s.inc = inc;
        s.sinceId = id;
      }
      this.deps.onResend?.(verb);
      this.armResend(verb, s);
    });
  }
}
