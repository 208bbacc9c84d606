/**
 * The status summary document (`minder command status --json`): format 1. Keys are always
 * present (null when not applicable) and in a fixed order, arrays are sorted, so scripts can
 * rely on its shape. Additions get new keys; a change of meaning gets a new format number.
 */
export interface StatusSummary {
  format: 1;
  site: string;
  generatedAt: number;
  arbitrator: ArbitratorSummary;
  parties: PartySummary[];
}

export interface ArbitratorSummary {
  party: string;
  dc: string | null;
  incarnation: number;
  startedAt: number | null;
  configSource: string;
  paused: boolean;
  pausedBy: string | null;
  pausedReason: string | null;
  pausedAt: number | null;
  epoch: number;
  writer: string | null;
  drained: string[];
  dcOrder: string[];
  timings: { failoverPeriodMs: number; staleAfterMs: number; ackTimeoutMs: number; reportIntervalMs: number };
  lastPrimary: {
    stateUuid: string;
    confId: number | null;
    members: Array<{ uuid: string; name: string; party: string | null }>;
    seenAt: number;
    ageMs: number;
  } | null;
  /** The newest evaluation: why nothing was promoted, or what was. */
  evaluation: { at: number; decided: string | null; reasons: Array<{ code: string; view: string | null; text: string }> } | null;
  /** Newest first. */
  decisions: DecisionSummary[];
  /** Newest first: decisions, refusals, operator actions, writer changes. */
  journal: Array<{ at: number; event: string; text: string }>;
  coldStart: boolean;
  /** The arbitrator's post office: datagrams accepted, sent, resent, dropped by reason; null if not known. */
  datagrams: { accepted: number; sent: number; resent: number; drops: Record<string, number> } | null;
  /** The cold-start rule's view (docs/cold-start.md): every down node's position and the plan; null before the first judgement. */
  coldStartPlan: ColdStartSummary | null;
  /**
   * Nodes outside the primary component (docs/cold-start.md, Rejoining): joining (IST, with how far
   * behind), state_transfer (SST, bytes so far), stalled (no progress), cannot_rejoin (why, and what
   * the operator does). Serial order; empty when every node is a Synced member. Added after format 1
   * was fixed: absent from older arbitrators.
   */
  rejoin?: Array<{ party: string; phase: 'joining' | 'state_transfer' | 'stalled' | 'cannot_rejoin'; text: string; since: number; behind: number | null }>;
  /**
   * Whether this arbitrator may have forgotten decisions (docs/safety.md, path 1): relearning since
   * when and why, or how it last relearned. Added after format 1 was fixed: absent from older ones.
   */
  memory?: { relearning: boolean; why: string | null; since: number | null; relearnedAt: number | null; relearnedBy: string | null };
  /** With `arbitrator.store: etcd`: who leads, this one's fencing token, or why nobody can lead from here; null with the local store. */
  store?: { kind: 'etcd'; leading: boolean; token: number | null; leader: string | null; problem: string | null; text: string } | null;
}

export interface ColdStartSummary {
  policy: 'auto' | 'confirm' | 'off';
  active: boolean;
  plan: 'none' | 'wait' | 'recover_all' | 'bootstrap' | 'join' | 'in_progress';
  /** What the arbitrator does next and why (with the policy's word on it). */
  text: string;
  missing: string[];
  nodes: Array<{
    party: string;
    status: 'unheard' | 'up' | 'down';
    seqno: number | null;
    why: string | null;
    safeToBootstrap: boolean | null;
    stateUuid: string | null;
    viable: boolean;
    lastViewId: string | null;
  }>;
}

export interface DecisionSummary {
  id: string;
  kind: 'make_primary' | 'bootstrap' | 'start';
  lastPrimary: string;
  target: string;
  members: string[];
  forced: boolean;
  operator: string | null;
  reason: string;
  decidedAt: number;
  outcome: 'pending' | 'carried_out' | 'refused' | 'failed';
  outcomeReason: string | null;
  /** verbs.ts OUTCOME_CODES; null while pending (added in format 1 without a bump: a new field only). */
  outcomeCode: string | null;
  outcomeAt: number | null;
}

export interface PartySummary {
  party: string;
  type: 'dbserver' | 'dbclient';
  dc: string | null;
  /** null: never heard since the arbitrator started. */
  reportAgeMs: number | null;
  fresh: boolean;
  db: DbSummary | null;
  client: ClientSummary | null;
}

export interface DbSummary {
  nodeName: string;
  weight: number;
  mariadb: 'up' | 'down' | null;
  cluster: 'Primary' | 'non-Primary' | 'Disconnected' | null;
  localState: string | null;
  ready: boolean | null;
  clusterSize: number | null;
  confId: number | null;
  seqno: number | null;
  recoveredSeqno: number | null;
  nodeUuid: string | null;
  lastPrimaryViewId: string | null;
  drained: boolean;
  writer: boolean;
  serving: boolean;
  /** Current LB sessions to this server, summed over every dbclient's report; null if none reported. */
  sessions: number | null;
  decision: { id: string; outcome: string; reason: string } | null;
  error: string | null;
  /** Whether mariadbd's wsrep_notify_cmd hook reaches the dbserver; null from dbservers that do not say. */
  hook: { state: 'unknown' | 'none' | 'waiting' | 'heard' | 'missing'; lastPushAt: number | null; text: string } | null;
}

export interface ClientSummary {
  lbKind: 'haproxy' | 'glb';
  lbReachable: boolean;
  lbError: string | null;
  epochApplied: number;
  writer: string | null;
  sessions: number;
}

export function isStatusSummary(x: unknown): x is StatusSummary {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return o.format === 1 && typeof o.site === 'string' && typeof o.arbitrator === 'object' && o.arbitrator !== null && Array.isArray(o.parties);
}
