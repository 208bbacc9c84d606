import type { Inbound } from '../../src/correspondents/post-office.js';
import type { PartyId } from '../../src/protocol/party.js';
import type { BodyOf, DbStatusReport, Directives, Verb, WsrepStatus } from '../../src/protocol/verbs.js';
import type { DbclientConfig } from '../../src/roles/dbclient/core.js';
import type { ObservedServer } from '../../src/roles/dbclient/lb/types.js';
import type { ServerSpec } from '../../src/roles/dbclient/routing.js';

/** A 2+2 site: dbserver:1,2 in the primary DC (priority 1), dbserver:3,4 in the other. */
export const SERVERS: ServerSpec[] = [
  { id: 'dbserver:1', serial: 1, dc: 'east', dcPriority: 1, allowDonorReads: false },
  { id: 'dbserver:2', serial: 2, dc: 'east', dcPriority: 1, allowDonorReads: false },
  { id: 'dbserver:3', serial: 3, dc: 'west', dcPriority: 2, allowDonorReads: true },
  { id: 'dbserver:4', serial: 4, dc: 'west', dcPriority: 2, allowDonorReads: false },
];

export const ARB: PartyId = 'arbitrator:1';

export const CFG: DbclientConfig = {
  self: 'dbclient:1',
  arbitrator: ARB,
  servers: SERVERS,
  lbKind: 'haproxy',
  staleAfterMs: 15_000,
  reportIntervalMs: 5_000,
  lbPollMs: 1_000,
  weight: 1,
};

export function wsrep(over: Partial<WsrepStatus> = {}): WsrepStatus {
  return {
    clusterStatus: 'Primary',
    localState: 'Synced',
    ready: true,
    connected: true,
    clusterSize: 4,
    stateUuid: 'c5f0a2e4-0000-11f1-8000-000000000001',
    confId: 7,
    lastCommitted: 100,
    nodeUuid: 'n',
    members: [],
    lastPrimary: null,
    ...over,
  };
}

export function report(observedAt: number, over: Partial<WsrepStatus> | null = {}, extra: Partial<DbStatusReport> = {}): DbStatusReport {
  return {
    observedAt,
    dc: 'east',
    mariadb: 'up',
    wsrep: over === null ? null : wsrep(over),
    recovered: null,
    decision: null,
    error: null,
    ...extra,
  };
}

export const NON_PRIMARY: Partial<WsrepStatus> = { clusterStatus: 'non-Primary', localState: 'Initialized', ready: false, clusterSize: 1, confId: null };

export function msg<V extends Verb>(from: PartyId, verb: V, body: BodyOf<V>): { kind: 'message'; msg: Inbound } {
  return {
    kind: 'message',
    msg: {
      from,
      verb,
      body,
      envelope: { site: 's', from, to: 'dbclient:1', verb, inc: 1, id: 1, at: 0, body },
      address: { address: '127.0.0.1', port: 1 },
    } as Inbound,
  };
}

export function directives(over: Partial<Directives> = {}): Directives {
  return { epoch: 1, drained: [], paused: false, writer: null, ...over };
}

/** What a load balancer that did exactly as told would show, with these session counts. */
export function observedFrom(
  desired: { write: Array<{ server: string; state: 'ready' | 'drain' | 'maint'; weight: number }>; read: Array<{ server: string; state: 'ready' | 'drain' | 'maint'; weight: number }> },
  sessions: Record<string, number> = {},
): ObservedServer[] {
  const out: ObservedServer[] = [];
  for (const backend of ['write', 'read'] as const) {
    for (const d of desired[backend]) {
      out.push({ backend, server: d.server, state: d.state, operational: true, weight: d.weight, sessions: sessions[`${backend}/${d.server}`] ?? 0 });
    }
  }
  return out;
}
