import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../correspondents/clock.js';
import type { PostOffice } from '../correspondents/post-office.js';
import type { CommonEffect, CommonEvent, RoleCore } from './core.js';

/** Where `persist` effects go: the party's SQLite file in the daemon, a map in the simulator. */
export interface Durable {
  put(key: string, value: unknown, now?: number): void;
}

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
}

/**
 * Runs a decision core: events are handled one at a time, in arrival order, never re-entered;
 * effects are carried out in the order the core returned them, so "persist, then send" holds.
 */
export class RoleHost<S, E, F extends { kind: string }> {
  private state: S;
  private readonly queue: Array<CommonEvent | E> = [];
  private running = false;
  private readonly timers = new Map<string, TimerHandle>();
  private stopped = false;

  constructor(private readonly o: RoleHostOptions<S, E, F>) {
    this.state = o.initial;
    o.post.onMessage((msg) => this.dispatch({ kind: 'message', msg }));
    o.post.onSilent((peer, silentMs) => this.dispatch({ kind: 'silent', peer, silentMs }));
  }

  get current(): S {
    return this.state;
  }

  start(): void {
    this.dispatch({ kind: 'start' });
  }

  dispatch(event: CommonEvent | E): void {
    if (this.stopped) return;
    this.queue.push(event);
    if (this.running) return;
    this.running = true;
    try {
      for (let ev = this.queue.shift(); ev !== undefined; ev = this.queue.shift()) this.handle(ev);
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    this.queue.length = 0;
  }

  private handle(event: CommonEvent | E): void {
    const { state, effects } = this.o.core.step(this.state, event, this.o.clock.now());
    this.state = state;
    for (const eff of effects) {
      if (this.stopped) return;
      this.carryOut(eff);
    }
    this.o.observe?.(this.state, event);
  }

  private carryOut(eff: CommonEffect | F): void {
    const e = eff as CommonEffect;
    switch (e.kind) {
      case 'publish':
        this.o.post.publish(e.to, e.verb, e.body as never);
        return;
      case 'persist':
        this.o.durable.put(e.key, e.value, this.o.clock.now());
        return;
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
