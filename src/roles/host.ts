import type { Logger } from 'pino';
import { type Clock, monotonicOf, type TimerHandle } from '../correspondents/clock.js';
import type { PostOffice } from '../correspondents/post-office.js';
import { EXIT } from '../errors.js';
import type { CommonEffect, CommonEvent, RoleCore } from './core.js';

/** Where `persist` effects go: the party's SQLite file in the daemon, a map in the simulator. */
export interface Durable {
  put(key: string, value: unknown, now?: number): void;
}

/**
 * One step as the host saw it: the event, the state after it, the effects in order, when, and
 * how long the core took. For metrics, the API and its event stream (src/http/, src/metrics/):
 * they learn what the core decided from what it returned, so the core stays pure.
 */
export interface StepRecord {
  event: { kind: string } & Record<string, unknown>;
  state: unknown;
  effects: ReadonlyArray<{ kind: string } & Record<string, unknown>>;
  /** The core's now (monotonic: the clock its durations are on), and the wall clock beside it. */
  now: number;
  wall: number;
  elapsedMs: number;
}
export type StepTap = (step: StepRecord) => void;

/** Carries out a role's own effects (SQL, load balancer…); may feed events back through `dispatch`. */
export type EffectExecutor<F> = (effect: F, dispatch: (event: unknown) => void) => void;

export interface RoleHostOptions<S, E, F> {
  core: RoleCore<S, E, F>;
  initial: S;
  post: PostOffice;
  clock: Clock;
  durable: Durable;
  logger: Logger;
  execute: EffectExecutor<F>;
  /** Called after every step with the new state (metrics, status, the simulator's checks). */
  observe?: (state: S, event: CommonEvent | E) => void;
  /**
   * Called once when an effect fails (see RoleHost): the host has stopped, and the party must
   * stop too with `exitCode` (the daemon exits; systemd restarts it).
   */
  onFatal?: (failure: RoleFailure) => void;
  /** Called after every step with what it returned (src/metrics/); must not throw. */
  tap?: StepTap;
  /**
   * Checks a record before it is persisted (the schema it is read back with): a problem fails
   * the persist like a disk error, so no record is written that the next start would refuse.
   */
  check?: (key: string, value: unknown) => string | null;
}

/**
 * Events waiting while one is handled (an effect's executor may dispatch synchronously). The
 * queue drains between datagrams, so it holds a handful; a core or executor that loops through
 * dispatch would grow it without end: past this many, new events are dropped, counted and logged.
 */
export const MAX_QUEUED_EVENTS = 10_000;

/** An effect that could not be carried out: the party stops rather than run on a state it did not keep. */
export interface RoleFailure {
  /** EXIT.STATE for a failed persist (the state file), EXIT.FAILURE for any other effect. */
  exitCode: number;
  effect: string;
  message: string;
}

/** Counted in `errors()`: what went wrong inside this party, never a peer's fault. */
export interface RoleErrors {
  /** Steps whose core threw (a bug): the event was dropped, the state kept as it was. */
  coreThrew: number;
  /** The effect failure that stopped the host, if one did. */
  fatal: RoleFailure | null;
  /** Events dropped because MAX_QUEUED_EVENTS were waiting (a loop through dispatch: a bug). */
  queueDropped: number;
}

/**
 * Runs a decision core: events are handled one at a time, in arrival order, never re-entered;
 * effects are carried out in the order the core returned them, so "persist, then send" holds.
 *
 * When an effect fails (docs/safety.md, "Failures inside a party"): nothing after it in that
 * step is carried out — a later effect may depend on it, as a make_primary depends on the
 * persist of its decision — and the host stops for good and calls `onFatal`: a failed persist
 * stops the party with the state exit code, so a decision it holds only in memory can never be
 * sent. A core that throws (a bug) loses that one event: nothing of it is carried out, the state
 * stays as it was, and it is logged at error level. Neither is ever a peer's fault.
 */
export class RoleHost<S, E, F extends { kind: string }> {
  private state: S;
  private readonly queue: Array<CommonEvent | E> = [];
  private running = false;
  private readonly timers = new Map<string, TimerHandle>();
  private stopped = false;
  private readonly errs: RoleErrors = { coreThrew: 0, fatal: null, queueDropped: 0 };

  constructor(private readonly o: RoleHostOptions<S, E, F>) {
    this.state = o.initial;
    o.post.onMessage((msg) => this.dispatch({ kind: 'message', msg }));
    o.post.onSilent((peer, silentMs) => this.dispatch({ kind: 'silent', peer, silentMs }));
    o.post.onHeard((peer) => this.dispatch({ kind: 'heard', peer }));
  }

  get current(): S {
    return this.state;
  }

  start(): void {
    this.dispatch({ kind: 'start' });
  }

  dispatch(event: CommonEvent | E): void {
    if (this.stopped) return;
    if (this.queue.length >= MAX_QUEUED_EVENTS) {
      this.errs.queueDropped++;
      const kind = (event as { kind?: string }).kind ?? '?';
      // Once per power of two: loud without flooding the log from inside the loop that fills it.
      if ((this.errs.queueDropped & (this.errs.queueDropped - 1)) === 0)
        this.o.logger.error(
          { event: 'role_error', dropped: this.errs.queueDropped, on: kind },
          `${MAX_QUEUED_EVENTS} events wait to be handled (a loop through dispatch: a bug): this ${kind} event is dropped (${this.errs.queueDropped} so far)`,
        );
      return;
    }
    this.queue.push(event);
    if (this.running) return;
    this.running = true;
    try {
      for (let ev = this.queue.shift(); ev !== undefined; ev = this.queue.shift()) this.handle(ev);
    } finally {
      this.running = false;
    }
  }

  errors(): RoleErrors {
    return { ...this.errs };
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    this.queue.length = 0;
  }

  private handle(event: CommonEvent | E): void {
    // The cores measure durations on the monotonic clock (docs/safety.md, "Two clocks").
    const now = monotonicOf(this.o.clock);
    const wall = this.o.clock.now();
    const t0 = this.o.tap ? performance.now() : 0;
    let result: ReturnType<RoleCore<S, E, F>['step']>;
    try {
      result = this.o.core.step(this.state, event, now, wall);
    } catch (err) {
      this.errs.coreThrew++;
      const kind = (event as { kind?: string }).kind ?? '?';
      this.o.logger.error(
        { event: 'core_threw', on: kind, err: (err as Error).message, stack: (err as Error).stack },
        `the decision core failed on a ${kind} event (a bug): the event is dropped, nothing of it was carried out`,
      );
      return;
    }
    this.state = result.state;
    if (this.o.tap) {
      const elapsedMs = performance.now() - t0;
      try {
        this.o.tap({ event: event as StepRecord['event'], state: result.state, effects: result.effects as StepRecord['effects'], now, wall, elapsedMs });
      } catch {
        // Seeing the daemon must never stop it deciding.
      }
    }
    for (const eff of result.effects) {
      if (this.stopped) return;
      try {
        this.carryOut(eff);
      } catch (err) {
        this.fail(eff, err);
        return;
      }
    }
    this.o.observe?.(this.state, event);
  }

  private fail(eff: CommonEffect | F, err: unknown): void {
    const e = eff as CommonEffect;
    const what = e.kind === 'persist' ? `persist of ${e.key}` : e.kind === 'publish' ? `publish of ${e.verb} to ${e.to}` : e.kind;
    const failure: RoleFailure = {
      exitCode: e.kind === 'persist' ? EXIT.STATE : EXIT.FAILURE,
      effect: what,
      message: `${what} failed: ${(err as Error).message ?? String(err)}`,
    };
    this.errs.fatal = failure;
    this.stop();
    this.o.logger.fatal(
      { event: 'effect_failed', effect: what, exitCode: failure.exitCode, err: (err as Error).message, stack: (err as Error).stack },
      `${failure.message}; stopping this party before anything that depends on it is sent (exit ${failure.exitCode}, to be restarted)`,
    );
    this.o.onFatal?.(failure);
  }

  private carryOut(eff: CommonEffect | F): void {
    const e = eff as CommonEffect;
    switch (e.kind) {
      case 'publish':
        this.o.post.publish(e.to, e.verb, e.body as never);
        return;
      case 'persist': {
        const problem = this.o.check?.(e.key, e.value);
        if (problem) throw new Error(`the record would not load again (${problem}); not written`);
        this.o.durable.put(e.key, e.value, this.o.clock.now());
        return;
      }
      case 'timer': {
        this.timers.get(e.name)?.cancel();
        const name = e.name;
        this.timers.set(
          name,
          this.o.clock.setTimer(e.afterMs, () => {
            this.timers.delete(name);
            this.dispatch({ kind: 'timer', name });
          }),
        );
        return;
      }
      case 'cancel_timer':
        this.timers.get(e.name)?.cancel();
        this.timers.delete(e.name);
        return;
      case 'log':
        this.o.logger[e.level]({ event: e.event, ...e.data }, e.msg);
        return;
      default:
        this.o.execute(eff as F, (ev) => this.dispatch(ev as E));
    }
  }
}
