import { type CommonEffect, publish } from '../core.js';
import { type DecisionRecord, RECORD_KEYS } from './records.js';
import type { FreshNode } from './observations.js';
import { type ArbitratorState, journal, stampOf } from './state.js';

/**
 * What the arbitrator knows about its own records and about other processes of its identity
 * (docs/safety.md, paths 1, 4 and 9). Pure helpers of `evaluate`.
 */
type Housekeeping = { state: ArbitratorState; effects: CommonEffect[]; wakeInMs: number };

/** How long a second arbitrator process, once echoed by a dbserver, keeps this one from promoting. */
export function duplicateHoldMs(state: ArbitratorState): number {
  // The dbservers echo a process for 30 s after its last word (ARBITER_ECHO_MS), and their
  // reports may be up to staleAfter old.
  return 30_000 + state.settings.timings.staleAfterMs;
}

/**
 * A second arbitrator process alive with this identity: a dbserver heard, lately, an instance
 * other than this one's, with the same or a newer incarnation; or with an older one still
 * speaking well after this one started (then it is no predecessor that has stopped).
 */
export function duplicateNote(state: ArbitratorState, now: number): string | null {
  const hold = duplicateHoldMs(state);
  const started = state.startedAt ?? now;
  const live = Object.values(state.foreignArbiters).filter((a) => now - a.lastSeenAt < hold && (a.incarnation >= state.incarnation || a.lastSeenAt - started > hold));
  if (!live.length) return null;
  const who = live.map((a) => `incarnation ${a.incarnation} instance ${a.instance} (echoed by ${a.reportedBy} ${Math.round((now - a.lastSeenAt) / 1000)} s ago)`).join(', ');
  return `TWO ARBITRATORS: another process runs as ${state.settings.self} — ${who}; I am incarnation ${state.incarnation} instance ${state.instance}. Nothing is promoted until only one is heard for ${Math.round(hold / 1000)} s: stop the one that should not run (a VIP held twice, a cloned VM)`;
}

/**
 * A failed decision (pc.bootstrap was tried, the outcome unknown) frees its key once its target
 * shows that the bootstrap never took effect: a report received at least an ack timeout after the
 * failure, non-Primary, nothing pending, and its last primary component still the decision's (a
 * bootstrap that took effect writes a new primary view to every member's gvwstate.dat).
 */
export function clearFailed(state: ArbitratorState, now: number): Housekeeping {
  const t = state.settings.timings;
  let decisions: DecisionRecord[] | null = null;
  const effects: CommonEffect[] = [];
  let s = state;
  for (const d of state.records.decisions) {
    if (d.outcome !== 'failed' || d.noEffectAt !== null || d.outcomeAt === null) continue;
    const h = state.reports[d.target];
    if (!h || h.receivedAt < d.outcomeAt + t.ackTimeoutMs || now - h.receivedAt > t.staleAfterMs) continue;
    const w = h.body.wsrep;
    if (h.body.mariadb !== 'up' || !w || w.clusterStatus !== 'non-Primary') continue;
    if (h.body.decision?.outcome === 'pending' || w.lastPrimary?.viewId !== d.key) continue;
    decisions = (decisions ?? state.records.decisions).map((x) => (x.id === d.id ? { ...x, noEffectAt: now } : x));
    const text = `${d.id} failed without effect: ${d.target} is still non-Primary with the decision's last primary component; the key is free again (after a failover period)`;
    s = journal(s, now, 'decision_no_effect', text);
    effects.push({ kind: 'log', level: 'warn', event: 'decision_no_effect', msg: text, data: { decisionId: d.id, target: d.target } });
  }
  if (!decisions) return { state, effects: [], wakeInMs: Number.POSITIVE_INFINITY };
  s = { ...s, records: { ...s.records, decisions } };
  return { state: s, effects: [{ kind: 'persist', key: RECORD_KEYS.decisions, value: decisions }, ...effects], wakeInMs: Number.POSITIVE_INFINITY };
}

/** Node uuids of the dbservers heard since relearning began. */
function heardUuids(state: ArbitratorState): Set<string> {
  const out = new Set<string>();
  for (const [party, uuid] of Object.entries(state.relearnHeard)) {
    if (uuid) out.add(uuid);
    const now = state.reports[party]?.body.wsrep?.nodeUuid;
    if (now) out.add(now);
  }
  return out;
}

/**
 * Whether a relearning arbitrator now knows every decision that could matter: every decision for
 * a last primary component P was carried out by a member of P, which persisted it before its
 * pc.bootstrap and reports it. So once every member of the last primary component in question
 * has reported since relearning began, every decision for it is known here (adopted), and any
 * make_primary from before has expired (decidedAt + validFor + maxClockSkew) when a dbserver
 * says another arbitrator process spoke to it before.
 */
function relearnedBy(state: ArbitratorState, now: number, fresh: readonly FreshNode[]): string | null {
  const m = state.records.memory;
  const t = state.settings.timings;
  // A make_primary of a forgotten arbitrator may still be under way: wait out its validity, unless
  // no dbserver heard has ever heard an arbitrator process but this one (a new site).
  const others = Object.keys(state.relearnHeard).some((p) => {
    const n = state.reports[p]?.body.newestArbiter;
    return n !== undefined && n.instance !== state.instance;
  });
  if (others && m.since !== null && now < m.since + t.makePrimaryValidForMs + t.maxClockSkewMs) return null;
  const heard = heardUuids(state);
  const lp = state.records.lastPrimary;
  const primary = fresh.filter((n) => n.wsrep.clusterStatus === 'Primary');
  if (primary.length && lp && m.since !== null && lp.seenAt >= m.since && lp.members.every((x) => heard.has(x.uuid))) {
    return `every member of the primary component (conf ${lp.confId ?? '?'}) has reported since`;
  }
  const nonPrimary = fresh.filter((n) => n.wsrep.clusterStatus === 'non-Primary');
  if (!primary.length && nonPrimary.length && nonPrimary.every((n) => n.wsrep.lastPrimary?.members.every((u) => heard.has(u)))) {
    const ids = [...new Set(nonPrimary.map((n) => n.wsrep.lastPrimary?.viewId))].join(', ');
    return `every member of the last primary component (${ids}) has reported since`;
  }
  return null;
}

/**
 * Grows the records' generation for a decision about to be sent, with its persist (to go before
 * the send): a copy of this state file restored later is behind what the dbservers heard.
 */
export function nextGeneration(state: ArbitratorState): { state: ArbitratorState; effect: CommonEffect } {
  const memory = { ...state.records.memory, generation: state.records.memory.generation + 1 };
  return { state: { ...state, records: { ...state.records, memory } }, effect: { kind: 'persist', key: RECORD_KEYS.memory, value: memory } };
}

/**
 * Tells every dbserver but the target the new generation at once (a request_status carries the
 * stamp): the more dbservers have heard it, the fewer halves a restored old copy can promote.
 */
export function announceGeneration(state: ArbitratorState, except: readonly string[]): CommonEffect[] {
  return state.settings.dbservers.filter((d) => !except.includes(d.id)).map((d) => publish(d.id, 'request_status', { arbiter: stampOf(state) }));
}

export function relearnStep(state: ArbitratorState, now: number, fresh: readonly FreshNode[]): Housekeeping {
  if (!state.records.memory.relearning) return { state, effects: [], wakeInMs: Number.POSITIVE_INFINITY };
  const how = relearnedBy(state, now, fresh);
  if (!how) return { state, effects: [], wakeInMs: Number.POSITIVE_INFINITY };
  return endRelearning(state, now, how);
}

export function endRelearning(state: ArbitratorState, now: number, how: string): Housekeeping {
  const m = state.records.memory;
  // What the site has heard is now known here too (its decisions adopted or vouched for).
  const generation = Math.max(m.generation, m.siteGeneration);
  const memory = { relearning: false, since: null, why: null, relearnedAt: now, relearnedBy: how.slice(0, 300), generation, siteGeneration: m.siteGeneration };
  const text = `relearned: ${how}; promoting again on what the records now hold (${state.records.decisions.length} decision(s))`;
  const s = journal({ ...state, relearnHeard: {}, records: { ...state.records, memory } }, now, 'relearned', text);
  return {
    state: s,
    effects: [
      { kind: 'persist', key: RECORD_KEYS.memory, value: memory },
      { kind: 'log', level: 'warn', event: 'relearned', msg: text, data: { how } },
    ],
    wakeInMs: Number.POSITIVE_INFINITY,
  };
}
