import type { PartyId } from '../../protocol/party.js';
import type { BodyOf } from '../../protocol/verbs.js';
import { type CommonEffect, type CommonEvent, publish, type RoleCore, type StepResult } from '../core.js';
import { coldStartStep } from './cold-start.js';
import { rejoinStep } from './rejoin.js';
import { evaluate } from './evaluate.js';
import { republishPending } from './decisions.js';
import { publishDirectives, refreshWriter } from './directives.js';
import { isFresh } from './observations.js';
import { handleOperator, isOperatorVerb } from './operator.js';
import { confirmPauses } from './pause-confirm.js';
import { RECORD_KEYS } from './records.js';
import { applyClientReport, applyDbReport } from './reports.js';
import { type ArbitratorSettings, dbserverInfo, EVALUATE_EVERY_MS } from './settings.js';
import { acting, applyStore, refuseOnStandby, type StoreEvent } from './standby.js';
import { type ArbitratorState, type DatagramCounts, journal, stampOf } from './state.js';
import { watchClock } from './tilt.js';

/**
 * The arbitrator's decision core: step(state, event, now) → (state, effects), pure. The daemon
 * runs it in a RoleHost over UDP and SQLite; the simulator runs the same function over a memory
 * network. Timers: `evaluate` (at most a second apart, sooner when a failover period ends) and
 * `poll` (request_status to dbservers that have gone quiet).
 */
/**
 * The daemon's post office counters, handed in now and then so that `status` can show them (the
 * core never reads them itself: they are an input like any other).
 */
export type ArbitratorEvent =
  | { kind: 'datagram_stats'; stats: DatagramCounts }
  /** The site config changed while running (a party added or removed, a timing): the daemon's live config. */
  | { kind: 'reconfigured'; settings: ArbitratorSettings; changes: string[] }
  | StoreEvent;
export type ArbitratorEffect = never;
type Result = StepResult<ArbitratorState, ArbitratorEffect>;

export const TIMER_EVALUATE = 'evaluate';
export const TIMER_POLL = 'poll';

export const arbitratorCore: RoleCore<ArbitratorState, ArbitratorEvent, ArbitratorEffect> = {
  step(state0, event, now, wall = now) {
    const watched = watchClock(state0, now, wall);
    if (watched.effects.length === 0) return stepOn(watched.state, event, now, wall);
    const r = stepOn(watched.state, event, now, wall);
    return { state: r.state, effects: [...watched.effects, ...r.effects] };
  },
};

function stepOn(state: ArbitratorState, event: Parameters<typeof arbitratorCore.step>[1], now: number, wall: number): Result {
  switch (event.kind) {
    case 'start':
      return onStart(state, now);
    case 'message':
      return onMessage(state, event, now, wall);
    case 'silent':
      return onSilent(state, event.peer, event.silentMs, now);
    case 'datagram_stats':
      return { state: { ...state, datagrams: event.stats }, effects: [] };
    case 'store':
      return onStore(state, event, now);
    case 'reconfigured':
      return onReconfigured(state, event.settings, event.changes, now);
    case 'timer':
      if (event.name === TIMER_EVALUATE) return reevaluate(state, [], now, true);
      if (event.name === TIMER_POLL) return onPoll(state, now);
      return { state, effects: [] };
    default:
      return { state, effects: [] };
  }
}

function requestStatus(state: ArbitratorState, to: PartyId): CommonEffect {
  return publish(to, 'request_status', { arbiter: stampOf(state) });
}

function onStart(state: ArbitratorState, now: number): Result {
  const memory = state.records.memory.relearning ? { ...state.records.memory, since: state.records.memory.since ?? now } : state.records.memory;
  const s: ArbitratorState = { ...state, startedAt: now, heardSinceStart: {}, dbserversHeard: 0, watched: {}, evaluation: null, relearnHeard: {}, records: { ...state.records, memory } };
  const d = s.records.directives;
  const pending = s.records.decisions.filter((x) => x.outcome === 'pending').length;
  const m = s.records.memory;
  const text = `epoch ${d.epoch}, writer ${d.writer ?? 'none'}, drained ${d.drained.join(', ') || 'none'}, ${s.records.decisions.length} decision(s) on record (${pending} pending)${d.paused ? ', PAUSED' : ''}${m.relearning ? ', RELEARNING' : ''}`;
  // The memory record is written at every start, so that a file this arbitrator has run on is never
  // mistaken for a blank one (records.ts, loadArbitratorRecords).
  const relearn: CommonEffect[] = [{ kind: 'persist', key: RECORD_KEYS.memory, value: m }];
  if (m.relearning)
    relearn.push({
      kind: 'log',
      level: 'error',
      event: 'memory_lost',
      msg: `RELEARNING: ${m.why ?? 'records not trusted'}; nothing is promoted until every member of the last primary component has reported what it carried out, or \`minder command relearned --force --reason\``,
      data: { why: m.why },
    });
  const effects: CommonEffect[] = [
    ...relearn,
    {
      kind: 'log',
      level: d.paused ? 'warn' : 'info',
      event: 'arbitrator_ready',
      msg: `arbitrator ready: ${text}`,
      data: { epoch: d.epoch, paused: d.paused, decisions: s.records.decisions.length, pending },
    },
    // A crash may have come between the persist of a decision and its send: finish it.
    // Receivers that restarted meanwhile get the standing directives again (same epoch: no change).
    // A standby does neither: the leader does (onStore, when this one takes the lead).
    ...(acting(s) ? [...republishPending(s, now), ...publishDirectives(s)] : []),
    ...s.settings.dbservers.map((x) => requestStatus(s, x.id)),
    { kind: 'timer', name: TIMER_POLL, afterMs: s.settings.timings.reportIntervalMs },
  ];
  return reevaluate(journal(s, now, 'started', text), effects, now, true);
}

/**
 * New settings from a changed site config. Reports already held stay (a dbserver removed from the
 * config simply stops counting: every rule reads `settings.dbservers`); a dbserver added is asked
 * for its status at once, so that its first report does not wait for its interval. The promotion
 * rule is evaluated again on the new settings (a new weight or a new member changes the halves),
 * and every failover period starts again: a wait judged on the old config must not count for
 * the new one (a delay is always safe; a promotion early on a half that changed is not).
 */
function onReconfigured(state: ArbitratorState, settings: ArbitratorSettings, changes: string[], now: number): Result {
  const known = new Set(state.settings.dbservers.map((d) => d.id));
  const added = settings.dbservers.filter((d) => !known.has(d.id));
  const heard = Object.keys(state.heardSinceStart).filter((id) => settings.dbservers.some((d) => d.id === id)).length;
  const s: ArbitratorState = { ...state, settings, dbserversHeard: heard, watched: {} };
  const text = `site config changed (${changes.join('; ') || 'no details'}): ${settings.dbservers.length} dbservers, ${settings.dbclients.length} dbclients, failover period ${settings.timings.failoverPeriodMs} ms`;
  const effects: CommonEffect[] = [
    { kind: 'log', level: 'info', event: 'reconfigured', msg: text, data: { changes, dbservers: settings.dbservers.map((d) => d.id), dbclients: settings.dbclients } },
    ...added.map((d) => requestStatus(s, d.id)),
  ];
  return reevaluate(journal(s, now, 'reconfigured', text), effects, now, true);
}

/**
 * Leadership changed (etcd store). Taking the lead is a start without forgetting the hot view:
 * the decisions pending in the store are sent again (the previous leader may have died between
 * its write and its send) and the directives are published under the new fencing token.
 */
function onStore(state: ArbitratorState, event: StoreEvent, now: number): Result {
  const r = applyStore(state, event, now);
  const effects: CommonEffect[] = [...r.effects];
  if (r.tookLead) effects.push(...republishPending(r.state, now), ...publishDirectives(r.state));
  return reevaluate(r.state, effects, now, false);
}

function onMessage(state: ArbitratorState, event: Extract<CommonEvent, { kind: 'message' }>, now: number, _wall: number): Result {
  const m = event.msg;
  switch (m.verb) {
    case 'db_status_report': {
      const r = applyDbReport(state, m.from, m.body as BodyOf<'db_status_report'>, now, m.envelope.at);
      const c = confirmPauses(r.state, now);
      const effects = [...r.effects, ...c.effects];
      // A report that changed nothing but its time waits for the evaluate timer (reports.ts).
      return r.material ? reevaluate(c.state, effects, now, false) : { state: c.state, effects };
    }
    case 'client_status_report': {
      const r = applyClientReport(state, m.from, m.body as BodyOf<'client_status_report'>, now);
      const c = confirmPauses(r.state, now);
      // Adopted directives (a pause) change what may be promoted: evaluate again.
      return r.effects.length ? reevaluate(c.state, [...r.effects, ...c.effects], now, false) : { state: c.state, effects: c.effects };
    }
    default:
      if (isOperatorVerb(m.verb)) {
        const refused = m.verb === 'status_summary' ? null : refuseOnStandby(state, m);
        if (refused) return { state, effects: refused };
        const r = handleOperator(state, m, now);
        return m.verb === 'status_summary' ? r : reevaluate(r.state, r.effects, now, false);
      }
      return { state, effects: [] };
  }
}

function onSilent(state: ArbitratorState, peer: PartyId, silentMs: number, now: number): Result {
  const text = `${peer} silent for ${(silentMs / 1000).toFixed(1)} s: its report is stale`;
  const effects: CommonEffect[] = [{ kind: 'log', level: 'warn', event: 'party_stale', msg: text, data: { peer, silentMs } }];
  if (dbserverInfo(state.settings, peer)) effects.push(requestStatus(state, peer));
  return reevaluate(journal(state, now, 'party_stale', text), effects, now, false);
}

function onPoll(state: ArbitratorState, now: number): Result {
  const t = state.settings.timings;
  const effects: CommonEffect[] = [];
  for (const d of state.settings.dbservers) {
    const h = state.reports[d.id];
    if (!h || now - h.receivedAt >= t.reportIntervalMs || !isFresh(state, h.takenAt, now)) effects.push(requestStatus(state, d.id));
  }
  effects.push({ kind: 'timer', name: TIMER_POLL, afterMs: t.reportIntervalMs });
  return { state, effects };
}

/** Evaluates promotion and the writer; re-arms the evaluate timer when it must fire sooner. */
function reevaluate(state: ArbitratorState, before: CommonEffect[], now: number, fromTimer: boolean): Result {
  const ev = evaluate(state, now);
  // The cold-start rule acts only where the promotion rule found nothing to do (cold-start.ts).
  const cs = ev.state.evaluation?.decided ? { state: ev.state, effects: [] } : coldStartStep(ev.state, now);
  const rj = rejoinStep(cs.state, now);
  const w = refreshWriter(rj.state, now);
  const effects = [...before, ...ev.effects, ...cs.effects, ...rj.effects, ...w.effects];
  const due = now + Math.min(ev.wakeInMs, EVALUATE_EVERY_MS);
  let s = w.state;
  if (fromTimer || s.nextEvaluateAt === null || due < s.nextEvaluateAt) {
    effects.push({ kind: 'timer', name: TIMER_EVALUATE, afterMs: due - now });
    s = { ...s, nextEvaluateAt: due };
  }
  return { state: s, effects };
}
