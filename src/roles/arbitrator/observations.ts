import type { PartyId } from '../../protocol/party.js';
import type { DbStatusReport, WsrepStatus } from '../../protocol/verbs.js';
import type { DbserverInfo } from './settings.js';
import type { ArbitratorState } from './state.js';

/** A dbserver whose newest report is fresh by the arbitrator's clock and shows a running mariadbd. */
export interface FreshNode {
  info: DbserverInfo;
  report: DbStatusReport;
  wsrep: WsrepStatus;
  /** When its reading was taken, on the arbitrator's clock (HeardReport.takenAt). */
  takenAt: number;
}

/** Fresh = taken (a report: its reading) at most staleAfter ago, on the arbitrator's monotonic clock. */
export function isFresh(state: ArbitratorState, takenAt: number, now: number): boolean {
  return now - takenAt <= state.settings.timings.staleAfterMs;
}

/** Fresh reports with wsrep status, in serial order. */
export function freshNodes(state: ArbitratorState, now: number): FreshNode[] {
  const out: FreshNode[] = [];
  for (const info of state.settings.dbservers) {
    const h = state.reports[info.id];
    if (!h || !isFresh(state, h.takenAt, now)) continue;
    if (h.body.mariadb !== 'up' || h.body.wsrep === null) continue;
    out.push({ info, report: h.body, wsrep: h.body.wsrep, takenAt: h.takenAt });
  }
  return out;
}

/** Serving = may take client traffic: fresh, Primary, Synced, ready, not drained. */
export function isServing(state: ArbitratorState, id: PartyId, now: number): boolean {
  const h = state.reports[id];
  if (!h || !isFresh(state, h.takenAt, now)) return false;
  const w = h.body.wsrep;
  if (h.body.mariadb !== 'up' || !w) return false;
  return w.clusterStatus === 'Primary' && w.localState === 'Synced' && w.ready && !state.records.directives.drained.includes(id);
}

export function servingNodes(state: ArbitratorState, now: number): DbserverInfo[] {
  return state.settings.dbservers.filter((d) => isServing(state, d.id, now));
}

/** Which dbserver a Galera node uuid belongs to: a fresh report of its own, else what was learned. */
export function partyOfUuid(state: ArbitratorState, uuid: string, fresh: readonly FreshNode[]): DbserverInfo | undefined {
  const own = fresh.find((n) => n.wsrep.nodeUuid === uuid);
  if (own) return own.info;
  const learned = state.records.nodes[uuid];
  return learned ? state.settings.dbservers.find((d) => d.id === learned.party) : undefined;
}

/** "dbserver:3+dbserver:4" — how a view is named in reasons and logs. */
export function labelOf(parties: readonly string[]): string {
  return parties.length ? [...parties].join('+') : '(empty)';
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A member's weight as Galera counts it (issue 11 path 2): the real pc.weight its dbserver
 * reported — in its fresh report, else remembered with its uuid from before — never only the
 * config's. `problem` when promoting on it would be unsafe: the weight could not be read, or it is
 * not the config's (then the config's weights, which the operator reasons with, are wrong).
 * A dbserver that reports no weight at all (one from before the field) is weighed by the config.
 */
export interface Weighed {
  weight: number | null;
  problem: { code: 'unknown_weight' | 'weight_mismatch'; text: string } | null;
}

export function weighNode(state: ArbitratorState, info: DbserverInfo, uuid: string, fresh: readonly FreshNode[]): Weighed {
  const own = fresh.find((n) => n.wsrep.nodeUuid === uuid);
  const reported = own ? own.wsrep.pcWeight : state.records.nodes[uuid]?.weight;
  // Not reported (a dbserver older than pcWeight, or a node known only from another's view):
  // Galera's real weight is not known, and rule 3 needs it (issue 11 path 2).
  if (reported === undefined)
    return { weight: null, problem: { code: 'unknown_weight', text: `${info.id} has not reported its pc.weight${own ? ' (a dbserver older than the pcWeight field?)' : ''}` } };
  if (reported === null) return { weight: null, problem: { code: 'unknown_weight', text: `${info.id}'s pc.weight could not be read${own ? '' : ' (when it last reported)'}` } };
  if (reported !== info.weight) {
    return { weight: reported, problem: { code: 'weight_mismatch', text: `${info.id} runs with pc.weight=${reported}, the site config says weight ${info.weight}` } };
  }
  return { weight: reported, problem: null };
}
