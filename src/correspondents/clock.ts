/** Time is injected so that decisions can run under a simulated clock. */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch (wall clock for real, simulated time in tests). */
  now(): number;
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(t) };
  },
};

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Deterministic clock: timers fire in (time, creation order). Nothing runs until the test or
 * simulator advances it, so one seed replays one run exactly.
 */
export class SimClock implements Clock {
  private t: number;
  private seq = 0;
  private queue: Pending[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const p: Pending = { at: this.t + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.insert(p);
    return { cancel: () => void (p.cancelled = true) };
  }

  /** Runs every timer due up to `now + ms`, in order, then sets the clock there. */
  advance(ms: number): void {
    this.runUntil(this.t + ms);
  }

  runUntil(targetMs: number): void {
    for (;;) {
      const next = this.queue[0];
      if (!next || next.at > targetMs) break;
      this.queue.shift();
      if (next.cancelled) continue;
      this.t = next.at;
      next.fn();
    }
    if (targetMs > this.t) this.t = targetMs;
  }

  /** Runs the next pending timer; false when none is left. */
  step(): boolean {
    for (;;) {
      const next = this.queue.shift();
      if (!next) return false;
      if (next.cancelled) continue;
      this.t = Math.max(this.t, next.at);
      next.fn();
      return true;
    }
  }

  pendingCount(): number {
    return this.queue.filter((p) => !p.cancelled).length;
  }

  private insert(p: Pending): void {
    // Binary search keeps insertion O(log n) for the simulator's thousands of timers.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const q = this.queue[mid] as Pending;
      if (q.at < p.at || (q.at === p.at && q.seq < p.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, p);
  }
}
