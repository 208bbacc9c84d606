import type { LogEvent } from '../log-events.js';
import type { Inbound } from '../correspondents/post-office.js';
import type { PartyId } from '../protocol/party.js';
import type { BodyOf, Verb } from '../protocol/verbs.js';

/**
 * Every role's decision core is a pure function (state, event, now) → (state, effects), in the
 * manner of etcd-io/raft: no I/O, no clock, no randomness inside. The same core runs in the
 * daemon (RoleHost with dgram, mysql2, HAProxy, SQLite) and in the simulator (memory network,
 * simulated Galera), which is what makes thousands of seeded fault schedules possible.
 */

export type CommonEvent =
  | { kind: 'start' }
  | { kind: 'message'; msg: Inbound }
  | { kind: 'silent'; peer: PartyId; silentMs: number }
  /** A peer flagged silent is heard again (PostOffice.onHeard). */
  | { kind: 'heard'; peer: PartyId }
  | { kind: 'timer'; name: string };

export type PublishEffect = { [V in Verb]: { kind: 'publish'; to: PartyId; verb: V; body: BodyOf<V> } }[Verb];

export type CommonEffect =
  | PublishEffect
  /** Durable before any later effect of the same step is carried out. */
  | { kind: 'persist'; key: string; value: unknown }
  /** (Re)arms the named timer; a timer of the same name is replaced. */
  | { kind: 'timer'; name: string; afterMs: number }
  | { kind: 'cancel_timer'; name: string }
  /** A decision or a refusal, with its reason, for the structured log. */
  | { kind: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; event: LogEvent; msg: string; data?: Record<string, unknown> };

export interface StepResult<S, F> {
  state: S;
  effects: Array<CommonEffect | F>;
}

/**
 * `now` is the party's monotonic clock (ms, anchored near the wall clock at process start):
 * every duration, timer and freshness inside the process is measured on it. `wall` is the wall
 * clock, only for what crosses processes (a sender's observed-at or sent-at, a persisted or sent
 * time) and for detecting a wall-clock jump; absent, it is `now` (a test driving one clock).
 */
export interface RoleCore<S, E, F> {
  step(state: S, event: CommonEvent | E, now: number, wall?: number): StepResult<S, F>;
}

export function publish<V extends Verb>(to: PartyId, verb: V, body: BodyOf<V>): PublishEffect {
  return { kind: 'publish', to, verb, body } as PublishEffect;
}
