import type { PartyId } from '../../protocol/party.js';
import type { PrimaryView } from '../../protocol/verbs.js';
import { type CommonEffect, publish } from '../core.js';
import { type Candidate, decisionKeyOf } from './candidates.js';
import { type DecisionRecord, DECISIONS_PRUNED_ABOVE, RECORD_KEYS } from './records.js';
import { startOrderOf } from './cold-start.js';
import { announceGeneration, nextGeneration } from './memory.js';
import { type ArbitratorState, journal, stampOf } from './state.js';

/**
 * The decision log: one promotion per last primary component, written with `persist` before the
 * `make_primary` that carries it leaves (the RoleHost runs effects in order; SQLite is
 * synchronous=FULL), so a restart can only finish a decision, never make a second one.
 */

/**
 * A decision spends its key unless its target has reported it `refused`: a dbserver persists a
 * refusal and never acts on that decision id again, so a refused decision can never take
 * effect and the key may be decided anew (docs/safety.md, rule 4).
 */
export function spendingDecision(state: ArbitratorState, key: string): DecisionRecord | undefined {
  return state.records.decisions.find((d) => (d.key === key || d.alsoSpends.includes(key)) && spends(d));
}

/**
 * Whether a decision may have taken effect, so that its key stays spent: every decision but a
 * refused one, and a failed one whose target has since shown that pc.bootstrap never took effect
 * (path 9: non-Primary, last primary component still the decision's, nothing pending).
 */
export function spends(d: DecisionRecord): boolean {
  if (d.outcome === 'refused') return false;
  if (d.outcome === 'failed' && d.noEffectAt !== null) return false;
  return true;
}

/**
 * Until when a decision could still take effect somewhere: a dbserver acts on it only until
 * decidedAt + validForMs by its own clock, which may be maxClockSkew behind this one.
 */
export function liveUntil(state: ArbitratorState, d: DecisionRecord): number {
  return d.decidedAt + d.validForMs + state.settings.timings.maxClockSkewMs;
}

/** Until when the arbitrator keeps sending it: its validity by this clock. */
export function sendUntil(d: DecisionRecord): number {
  return d.decidedAt + d.validForMs;
}

/** A decision still being carried out (no outcome yet, young enough to be acted on, not overtaken). */
export function decisionInFlight(state: ArbitratorState, now: number): DecisionRecord | undefined {
  return state.records.decisions.find((d) => d.outcome === 'pending' && d.withdrawn === null && now < liveUntil(state, d) && !overtaken(state, d));
}

/**
 * A pending decision whose target node has since been seen in a Primary component (the newest
 * one any report showed, first seen after the decision) is over: that node's last primary
 * component has moved on, so its view can never again be the decided one and make_primary can
 * only be refused. Waiting out its validity would block the next split (docs/simulator.md,
 * finding 3). It still spends its key (rule 4): only the target's own `refused` frees that.
 */
function overtaken(state: ArbitratorState, d: DecisionRecord): boolean {
  const p = state.records.lastPrimary;
  if (!p || p.seenAt <= d.decidedAt) return false;
  return p.members.some((m) => d.view.members.includes(m.uuid) && state.records.nodes[m.uuid]?.party === d.target);
}

export interface DecideOptions {
  forced: boolean;
  operator: string | null;
  requestId: string | null;
  reason: string;
  alsoSpends?: string[];
  confirmedLost?: PartyId[];
}

function nextDecisionId(state: ArbitratorState, now: number): string {
  return `dec-${now.toString(36)}-${state.records.decisions.length + 1}`;
}

function trimmed(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 3)}...` : s;
}

export function describeWeights(c: Candidate): string {
  if (c.weightInLast === null || c.weightOfLast === null) return 'weights unknown';
  return `holds weight ${c.weightInLast} of ${c.weightOfLast} of the last primary component`;
}

/** Records the decision and returns, in order: persist, make_primary, log. */
export function recordDecision(state: ArbitratorState, c: Candidate, now: number, o: DecideOptions): { state: ArbitratorState; effects: CommonEffect[]; decision: DecisionRecord } {
  const lastPrimary: PrimaryView | null = c.lastPrimary;
  const record: DecisionRecord = {
    id: nextDecisionId(state, now),
    kind: 'make_primary',
    key: decisionKeyOf(lastPrimary, c.view),
    lastPrimary,
    view: c.view,
    members: c.nodes.map((n) => n.info.id),
    target: c.target.info.id,
    forced: o.forced,
    operator: o.operator,
    requestId: o.requestId,
    reason: trimmed(o.reason, 400),
    decidedAt: now,
    validForMs: state.settings.timings.makePrimaryValidForMs,
    outcome: 'pending',
    outcomeReason: null,
    outcomeAt: null,
    outcomeCode: null,
    withdrawn: null,
    decidedAtWall: state.clock.offset === null ? now : now + state.clock.offset,
    expiredAt: null,
    adopted: false,
    noEffectAt: null,
    alsoSpends: o.alsoSpends ?? [],
    confirmedLost: o.confirmedLost ?? [],
  };
  const decisions = pruned([...state.records.decisions, record]);
  const grown = nextGeneration({ ...state, records: { ...state.records, decisions } });
  let next: ArbitratorState = grown.state;
  const text = `${record.id}: make_primary to ${record.target} for view ${c.label}${o.forced ? ' (FORCED by the operator)' : ''}: ${record.reason}`;
  next = journal(next, now, o.forced ? 'forced_promotion' : 'promotion', text);
  const effects: CommonEffect[] = [
    { kind: 'persist', key: RECORD_KEYS.decisions, value: decisions },
    grown.effect,
    publish(record.target, 'make_primary', makePrimaryBody(next, record)),
    ...announceGeneration(next, [record.target]),
    {
      kind: 'log',
      level: o.forced ? 'warn' : 'info',
      event: o.forced ? 'forced_promotion' : 'promotion',
      msg: text,
      data: { decisionId: record.id, target: record.target, members: record.members, lastPrimary: record.key, forced: o.forced, operator: o.operator, reason: record.reason },
    },
  ];
  return { state: next, effects, decision: record };
}

export function makePrimaryBody(state: ArbitratorState, d: DecisionRecord, withdrawn = false) {
  return {
    decisionId: d.id,
    view: d.view,
    forced: d.forced,
    reason: trimmed(d.reason, 200),
    validForMs: d.validForMs,
    decidedAt: d.decidedAtWall ?? d.decidedAt,
    withdrawn,
    arbiter: stampOf(state),
    epoch: state.records.directives.epoch,
  };
}

function replaced(state: ArbitratorState, d: DecisionRecord): ArbitratorState {
  const decisions = state.records.decisions.map((x) => (x.id === d.id ? d : x));
  return { ...state, records: { ...state.records, decisions } };
}

/**
 * Withdraws a pending decision: recorded durably, then a withdrawal replaces the make_primary in
 * the stream to its target (the post office resends the newest state until acked, and the
 * target's replay guard drops any older copy that arrives after it). A withdrawal that is lost
 * is backed by the absolute validity: no dbserver acts after decidedAt + validForMs.
 */
export function withdrawDecision(state: ArbitratorState, d: DecisionRecord, now: number, by: string, why: string): { state: ArbitratorState; effects: CommonEffect[] } {
  const w: DecisionRecord = { ...d, withdrawn: { at: now, by: trimmed(by, 64), why: trimmed(why, 200) } };
  const s = journal(replaced(state, w), now, 'decision_withdrawn', `${d.id} (make_primary to ${d.target}) withdrawn by ${by}: ${why}`);
  return {
    state: s,
    effects: [
      { kind: 'persist', key: RECORD_KEYS.decisions, value: s.records.decisions },
      publish(d.target, 'make_primary', makePrimaryBody(s, w, true)),
      { kind: 'log', level: 'warn', event: 'decision_withdrawn', msg: `${d.id}: make_primary to ${d.target} withdrawn by ${by}: ${why}`, data: { decisionId: d.id, target: d.target, by, why } },
    ],
  };
}

/**
 * A pending decision whose validity has ended is no longer sent: a withdrawal replaces it in the
 * stream to its target, so the post office stops resending the old one (path 3). It still spends
 * its key until its target reports: it may have been carried out unseen.
 */
export function expireDecisions(state: ArbitratorState, now: number, _fresh?: unknown): { state: ArbitratorState; effects: CommonEffect[]; wakeInMs: number } {
  let s = state;
  const effects: CommonEffect[] = [];
  let wakeInMs = Number.POSITIVE_INFINITY;
  for (const d of state.records.decisions) {
    if (d.outcome !== 'pending' || d.expiredAt !== null || d.withdrawn !== null) continue;
    const left = sendUntil(d) - now;
    if (left > 0) {
      wakeInMs = Math.min(wakeInMs, left);
      continue;
    }
    const e: DecisionRecord = { ...d, expiredAt: now };
    s = journal(replaced(s, e), now, 'decision_expired', `${d.id} (make_primary to ${d.target}) expired unanswered; no longer sent`);
    effects.push({ kind: 'persist', key: RECORD_KEYS.decisions, value: s.records.decisions }, publish(d.target, 'make_primary', makePrimaryBody(s, e, true)), {
      kind: 'log',
      level: 'warn',
      event: 'decision_expired',
      msg: `${d.id}: make_primary to ${d.target} expired unanswered (decided ${new Date(d.decidedAt).toISOString()}, valid ${Math.round(d.validForMs / 1000)} s); no longer sent, and it still spends its last primary component until ${d.target} reports`,
      data: { decisionId: d.id, target: d.target },
    });
  }
  return { state: s, effects, wakeInMs };
}

/**
 * Only refused decisions are ever dropped (oldest first). Every other decision spends its last
 * primary component's key for good: forgetting one would let the other half of that component
 * be promoted later — a split brain. They are one per primary component, so they stay few.
 */
export function pruned(ds: DecisionRecord[]): DecisionRecord[] {
  if (ds.length <= DECISIONS_PRUNED_ABOVE) return ds;
  const out = [...ds];
  while (out.length > DECISIONS_PRUNED_ABOVE) {
    const i = out.findIndex((d) => !spends(d));
    if (i < 0) break;
    out.splice(i, 1);
  }
  return out;
}

/**
 * The newest refusal for this key (or failure shown to have had no effect): a new decision for
 * it waits a failover period after it.
 */
export function latestRefusal(state: ArbitratorState, key: string): DecisionRecord | undefined {
  let latest: DecisionRecord | undefined;
  for (const d of state.records.decisions) if (d.key === key && !spends(d) && (!latest || d.decidedAt > latest.decidedAt)) latest = d;
  return latest;
}

/**
 * Pending decisions still valid are published again at start: the send may have been lost with
 * the process. An expired or withdrawn one never is (path 3).
 */
export function republishPending(state: ArbitratorState, now: number): CommonEffect[] {
  const effects: CommonEffect[] = [];
  for (const d of state.records.decisions) {
    if (d.outcome !== 'pending' || d.withdrawn !== null || d.expiredAt !== null || now >= sendUntil(d)) continue;
    effects.push(d.kind === 'make_primary' ? publish(d.target, 'make_primary', makePrimaryBody(state, d)) : publish(d.target, 'start_mariadb', startOrderOf(d)));
    effects.push({
      kind: 'log',
      level: 'info',
      event: 'promotion_resent',
      msg: `${d.id}: make_primary to ${d.target} sent again after a restart (decided ${new Date(d.decidedAt).toISOString()})`,
      data: { decisionId: d.id, target: d.target },
    });
  }
  return effects;
}
