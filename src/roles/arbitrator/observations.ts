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
