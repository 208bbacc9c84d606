import type { HookHealthReport } from '../../protocol/verbs.js';
import type { Reading } from './reading.js';

/**
 * Whether mariadbd's wsrep_notify_cmd hook reaches this dbserver (pure; part of the core's
 * state). mariadbd runs the hook on every Galera state change, so a change the dbserver sees in
 * its own readings with no push around it means the hook is not arriving: a wrong path in
 * my.cnf, a socket the mysql user cannot reach, an old hook without its key. That must be loud
 * (log and `status`), never silent: readings then only follow the status file and the interval.
 */

export interface HookHealth {
  /** mariadbd's wsrep_notify_cmd: null until read, '' when none is set. */
  configured: string | null;
  /** On the core's clock (monotonic, anchored near the wall clock at start). */
  lastPushAt: number | null;
  pushes: number;
  /** When a reading first showed a state change that no push has covered yet. */
  unheardSince: number | null;
  /** What changed then (for the log and `status`). */
  unheardChange: string | null;
  missing: boolean;
}

export const HOOK_GRACE_MS = 3000;

export function initialHookHealth(): HookHealth {
  return { configured: null, lastPushAt: null, pushes: 0, unheardSince: null, unheardChange: null, missing: false };
}

/** The part of a reading that a Galera state change moves (and so a hook run announces). */
export function stateWord(r: Reading | null): string | null {
  if (r?.mariadb !== 'up' || !r.wsrep) return null;
  const w = r.wsrep;
  return `${w.clusterStatus}/${w.localState}/size ${w.clusterSize}/conf ${w.confId ?? '-'}`;
}

export function onPush(h: HookHealth, now: number): HookHealth {
  return { ...h, lastPushAt: now, pushes: h.pushes + 1, unheardSince: null, unheardChange: null, missing: false };
}

/**
 * A new reading: if it shows a state change (both readings up) that no push within the grace
 * period before it explains, the hook is now awaited (the caller arms a timer of `graceMs`).
 */
export function onReading(h: HookHealth, before: Reading | null, after: Reading, graceMs: number, now: number): { health: HookHealth; await: boolean } {
  const a = stateWord(before);
  const b = stateWord(after);
  if (a === null || b === null || a === b || !h.configured || h.unheardSince !== null) return { health: h, await: false };
  // Both on the core's (monotonic) clock: a reading's observedAt is wall time, for other processes.
  if (h.lastPushAt !== null && now - h.lastPushAt <= graceMs) return { health: h, await: false };
  return { health: { ...h, unheardSince: now, unheardChange: `${a} → ${b}` }, await: true };
}

/** The grace period after an unheard change ended: missing if still no push. */
export function onGraceOver(h: HookHealth): HookHealth {
  return h.unheardSince === null ? h : { ...h, missing: true };
}

export function hookReport(h: HookHealth): HookHealthReport {
  const base = { lastPushAt: h.lastPushAt, pushes: h.pushes };
  if (h.configured === null) return { state: 'unknown', ...base, text: "mariadbd's wsrep_notify_cmd not read yet" };
  if (h.configured === '') return { state: 'none', ...base, text: 'no wsrep_notify_cmd set in mariadbd: state changes come from the status file and the interval' };
  if (h.missing) {
    return {
      state: 'missing',
      ...base,
      text: `HOOK NOT ARRIVING: ${h.unheardChange ?? 'a state change'} seen without a push (wsrep_notify_cmd ${clip(h.configured, 60)}; check its socket and mariadbd's error log)`,
    };
  }
  if (h.lastPushAt === null) return { state: 'waiting', ...base, text: 'wsrep_notify_cmd set; no state change since start, nothing heard yet' };
  return { state: 'heard', ...base, text: `last push ${new Date(h.lastPushAt).toISOString()}` };
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
