import type { PrimaryView } from '../../protocol/verbs.js';
import { type CommonEffect, publish } from '../core.js';
import { type Candidate, decisionKeyOf } from './candidates.js';
import { type DecisionRecord, MAX_DECISIONS, RECORD_KEYS } from './records.js';
import { startOrderOf } from './cold-start.js';
import { type ArbitratorState, journal } from './state.js';

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
  return state.records.decisions.find((d) => d.key === key && d.outcome !== 'refused');
}

/** A decision still being carried out (no outcome yet, young enough to be acted on, not overtaken). */
export function decisionInFlight(state: ArbitratorState, now: number): DecisionRecord | undefined {
  const t = state.settings.timings;
  return state.records.decisions.find((d) => d.outcome === 'pending' && now - d.decidedAt < d.validForMs + t.staleAfterMs && !overtaken(state, d));
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
export function decide(state: ArbitratorState, c: Candidate, now: number, o: DecideOptions): { state: ArbitratorState; effects: CommonEffect[]; decision: DecisionRecord } {
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
  };
  const decisions = pruned([...state.records.decisions, record]);
  let next: ArbitratorState = { ...state, records: { ...state.records, decisions } };
  const text = `${record.id}: make_primary to ${record.target} for view ${c.label}${o.forced ? ' (FORCED by the operator)' : ''}: ${record.reason}`;
  next = journal(next, now, o.forced ? 'forced_promotion' : 'promotion', text);
  const effects: CommonEffect[] = [
    { kind: 'persist', key: RECORD_KEYS.decisions, value: decisions },
    publish(record.target, 'make_primary', makePrimaryBody(record)),
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

export function makePrimaryBody(d: DecisionRecord) {
  return { decisionId: d.id, view: d.view, forced: d.forced, reason: trimmed(d.reason, 200), validForMs: d.validForMs };
}

/**
 * Only refused decisions are ever dropped (oldest first). Every other decision spends its last
 * primary component's key for good: forgetting one would let the other half of that component
 * be promoted later — a split brain. They are one per primary component, so they stay few.
 */
export function pruned(ds: DecisionRecord[]): DecisionRecord[] {
  if (ds.length <= MAX_DECISIONS) return ds;
  const out = [...ds];
  while (out.length > MAX_DECISIONS) {
    const i = out.findIndex((d) => d.outcome === 'refused');
    if (i < 0) break;
    out.splice(i, 1);
  }
  return out;
}

/** The newest refusal for this key: a new decision for it waits a failover period after it. */
export function latestRefusal(state: ArbitratorState, key: string): DecisionRecord | undefined {
  let latest: DecisionRecord | undefined;
  for (const d of state.records.decisions) if (d.key === key && d.outcome === 'refused' && (!latest || d.decidedAt > latest.decidedAt)) latest = d;
  return latest;
}

/** Pending decisions are published again at start: the send may have been lost with the process. */
export function republishPending(state: ArbitratorState): CommonEffect[] {
  const effects: CommonEffect[] = [];
  for (const d of state.records.decisions) {
    if (d.outcome !== 'pending') continue;
    effects.push(d.kind === 'make_primary' ? publish(d.target, 'make_primary', makePrimaryBody(d)) : publish(d.target, 'start_mariadb', startOrderOf(d)));
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
