import { leaderText } from './standby.js';
import { isFresh, isServing } from './observations.js';
import { rejoinSummary } from './rejoin.js';
import type { ArbitratorState } from './state.js';
import type { DecisionSummary, PartySummary, StatusSummary } from './summary-doc.js';

export const SUMMARY_DECISIONS = 10;
export const SUMMARY_JOURNAL = 25;

/** The whole picture at `now`, as the arbitrator sees it (a pure function of its state). */
export function buildSummary(state: ArbitratorState, now: number): StatusSummary {
  const r = state.records;
  const d = r.directives;
  const sessions = new Map<string, number>();
  for (const h of Object.values(state.clients)) {
    for (const srv of h.body.servers) sessions.set(srv.server, (sessions.get(srv.server) ?? 0) + srv.sessions);
  }
  const parties: PartySummary[] = [];
  for (const info of state.settings.dbservers) {
    const h = state.reports[info.id];
    const w = h?.body.wsrep ?? null;
    parties.push({
      party: info.id,
      type: 'dbserver',
      dc: info.dc,
      // The age of the reading (taken, not received): what freshness is judged by.
      reportAgeMs: h ? now - h.takenAt : null,
      fresh: h ? isFresh(state, h.takenAt, now) : false,
      db: {
        nodeName: info.nodeName,
        weight: info.weight,
        mariadb: h?.body.mariadb ?? null,
        cluster: w?.clusterStatus ?? null,
        localState: w?.localState ?? null,
        ready: w?.ready ?? null,
        clusterSize: w?.clusterSize ?? null,
        confId: w?.confId ?? null,
        seqno: w?.lastCommitted ?? null,
        recoveredSeqno: h?.body.recovered?.seqno ?? null,
        nodeUuid: w?.nodeUuid ?? null,
        lastPrimaryViewId: w?.lastPrimary?.viewId ?? null,
        drained: d.drained.includes(info.id),
        writer: d.writer === info.id,
        serving: isServing(state, info.id, now),
        sessions: sessions.has(info.id) ? (sessions.get(info.id) as number) : null,
        decision: h?.body.decision ? { id: h.body.decision.id, outcome: h.body.decision.outcome, reason: h.body.decision.reason } : null,
        error: h?.body.error ?? null,
        hook: h?.body.hook ? { state: h.body.hook.state, lastPushAt: h.body.hook.lastPushAt, text: h.body.hook.text } : null,
      },
      client: null,
    });
  }
  for (const id of state.settings.dbclients) {
    const h = state.clients[id];
    parties.push({
      party: id,
      type: 'dbclient',
      dc: null,
      reportAgeMs: h ? now - h.receivedAt : null,
      fresh: h ? isFresh(state, h.receivedAt, now) : false,
      db: null,
      client: h
        ? {
            lbKind: h.body.lb.kind,
            lbReachable: h.body.lb.reachable,
            lbError: h.body.lb.error,
            epochApplied: h.body.epochApplied,
            writer: h.body.writer,
            sessions: h.body.servers.reduce((n, s) => n + s.sessions, 0),
          }
        : null,
    });
  }
  const decisions: DecisionSummary[] = r.decisions
    .slice(-SUMMARY_DECISIONS)
    .reverse()
    .map((x) => ({
      id: x.id,
      kind: x.kind,
      lastPrimary: x.key,
      target: x.target,
      members: [...x.members],
      forced: x.forced,
      operator: x.operator,
      reason: x.reason,
      decidedAt: x.decidedAt,
      outcome: x.outcome,
      outcomeReason: x.outcomeReason,
      outcomeCode: x.outcomeCode,
      outcomeAt: x.outcomeAt,
    }));
  const ev = state.evaluation;
  const cs = state.coldStart ?? null;
  const coldStart = cs?.active ?? false;
  const coldStartPlan = cs ? { policy: cs.policy, active: cs.active, plan: cs.plan.kind, text: cs.note, missing: [...cs.plan.missing], nodes: cs.nodes.map((n) => ({ ...n })) } : null;
  const t = state.settings.timings;
  return {
    format: 1,
    site: state.settings.site,
    generatedAt: now,
    arbitrator: {
      party: state.settings.self,
      dc: state.settings.selfDc,
      incarnation: state.incarnation,
      startedAt: state.startedAt,
      configSource: state.settings.configSource,
      paused: d.paused,
      pausedBy: d.pausedBy,
      pausedReason: d.pausedReason,
      pausedAt: d.pausedAt,
      epoch: d.epoch,
      writer: d.writer,
      drained: [...d.drained],
      dcOrder: [...state.settings.dcOrder],
      timings: { failoverPeriodMs: t.failoverPeriodMs, staleAfterMs: t.staleAfterMs, ackTimeoutMs: t.ackTimeoutMs, reportIntervalMs: t.reportIntervalMs },
      lastPrimary: r.lastPrimary ? { ...r.lastPrimary, members: r.lastPrimary.members.map((m) => ({ ...m })), ageMs: now - r.lastPrimary.seenAt } : null,
      evaluation: ev ? { at: ev.at, decided: ev.decided, reasons: ev.reasons.map((x) => ({ code: x.code, view: x.view, text: x.text })) } : null,
      decisions,
      journal: state.journal
        .slice(-SUMMARY_JOURNAL)
        .reverse()
        .map((j) => ({ ...j })),
      coldStart,
      datagrams: state.datagrams ? { ...state.datagrams, drops: { ...state.datagrams.drops } } : null,
      coldStartPlan,
      rejoin: rejoinSummary(state),
      memory: { relearning: r.memory.relearning, why: r.memory.why, since: r.memory.since, relearnedAt: r.memory.relearnedAt, relearnedBy: r.memory.relearnedBy },
      store: state.store
        ? {
            kind: 'etcd',
            leading: state.store.leading,
            token: state.store.token,
            leader: state.store.leading ? state.settings.self : (state.store.leader?.party ?? null),
            problem: state.store.problem,
            text: leaderText(state.store),
          }
        : null,
    },
    parties,
  };
}
