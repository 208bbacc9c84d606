/** Time is injected so that decisions can run under a simulated clock. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * A party's two clocks (docs/safety.md, "Two clocks"). `now()` is the wall clock: for what
 * crosses processes (a datagram's sent-at, a reading's observed-at, a persisted time) and for
 * people. `monotonic()` never steps: every duration inside one process (freshness, failover
 * period, validity, silence) is measured on it, so a wall clock stepped backwards cannot make a
 * stale report look fresh. It counts in the same unit, anchored to the wall clock when the
 * process started, so its values still read as times near now.
 */
export interface Clock {
  /** Milliseconds since the epoch (wall clock for real, simulated time in tests); may step. */
  now(): number;
  /** Whole milliseconds that never go back or jump; absent = same as now() (a test clock). */
  monotonic?(): number;
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

/** The clock durations are measured on: the monotonic one where the clock has it. */
export function monotonicOf(clock: Clock): number {
  return clock.monotonic ? clock.monotonic() : clock.now();
}

export const realClock: Clock = {
  now: () => Date.now(),
  // performance.now() is CLOCK_MONOTONIC based; timeOrigin is the wall clock at process start.
  monotonic: () => Math.floor(performance.timeOrigin + performance.now()),
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
  /** How far the simulated wall clock has been stepped away from the monotonic one. */
  private wallOffset = 0;

  constructor(startMs = 1_700_000_000_000) {
    this.t = startMs;
  }

  now(): number {
    return this.t + this.wallOffset;
  }

  monotonic(): number {
    return this.t;
  }

  /** Steps the wall clock (an operator's `date -s`, an NTP step): timers and monotonic() do not move. */
  stepWall(ms: number): void {
    this.wallOffset += ms;
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
