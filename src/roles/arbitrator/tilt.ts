import { seconds } from './observations.js';
import { type ArbitratorState, journal, type Reason, type ArbitratorStep } from './state.js';

/**
 * TILT (after Redis Sentinel's mode of that name): the arbitrator measures durations on its
 * monotonic clock, but compares its wall clock with the senders' (a reading's observed-at, a
 * datagram's sent-at). When the two of its own clocks move apart by more than
 * `timings.clockJump` between two steps, the wall clock was stepped (an operator's `date -s`, an
 * NTP step, a VM resumed): what it judged against the wall around that moment may be wrong, so
 * it promotes nothing for `timings.tiltPeriod` (at least staleAfter, so every report judged on
 * the jumped clock has aged out by the end), and says so in `status` and the log.
 */
export interface ClockWatch {
  /** wall − monotonic at the last step; null before the first step of this process. */
  offset: number | null;
  /** Monotonic time the TILT ends; null when not in one. */
  tiltUntil: number | null;
  /** The last jump seen: its size (ms, + forwards) and when (monotonic). */
  lastJump: { ms: number; at: number } | null;
}

export const CALM_CLOCK: ClockWatch = { offset: null, tiltUntil: null, lastJump: null };

/** Compares the two clocks at every step; a jump starts (or extends) a TILT. */
export function watchClock(state: ArbitratorState, now: number, wall: number): ArbitratorStep {
  const c = state.clock;
  const offset = wall - now;
  const t = state.settings.timings;
  if (c.offset === null || Math.abs(offset - c.offset) <= t.clockJumpMs) {
    // Slewing (NTP's gentle correction) moves the offset by well under a millisecond a second.
    if (c.offset === offset && (c.tiltUntil === null || now < c.tiltUntil)) return { state, effects: [] };
    if (c.tiltUntil !== null && now >= c.tiltUntil) {
      const text = `TILT over: the clocks agreed for ${seconds(t.tiltPeriodMs)} since the jump; deciding again`;
      const s = journal({ ...state, clock: { ...c, offset, tiltUntil: null } }, now, 'tilt_over', text);
      return { state: s, effects: [{ kind: 'log', level: 'warn', event: 'tilt_over', msg: text }] };
    }
    return { state: { ...state, clock: { ...c, offset } }, effects: [] };
  }
  const jump = offset - c.offset;
  const tiltUntil = now + t.tiltPeriodMs;
  const text = `the wall clock jumped ${jump > 0 ? 'forwards' : 'backwards'} by ${seconds(Math.abs(jump))} against the monotonic clock: TILT, no promotion for ${seconds(t.tiltPeriodMs)} (readings judged against the wall clock around the jump may be wrong)`;
  const s = journal({ ...state, clock: { offset, tiltUntil, lastJump: { ms: jump, at: now } } }, now, 'clock_jump', text);
  return {
    state: s,
    effects: [{ kind: 'log', level: 'warn', event: 'clock_jump', msg: text, data: { jumpMs: jump, tiltMs: t.tiltPeriodMs, wall, monotonic: now } }],
  };
}

/** The reason no promotion happens while in TILT, or null. */
export function tiltReason(state: ArbitratorState, now: number): Reason | null {
  const c = state.clock;
  if (c.tiltUntil === null || now >= c.tiltUntil) return null;
  const j = c.lastJump;
  const what = j ? `the wall clock jumped ${j.ms > 0 ? 'forwards' : 'backwards'} by ${seconds(Math.abs(j.ms))} ${seconds(now - j.at)} ago` : 'the wall clock jumped';
  return { code: 'clock_jump', view: null, text: `TILT: ${what}; no promotion for ${seconds(c.tiltUntil - now)} more` };
}
