import type { DatadirReport, DbStatusReport, DecisionOutcome, Member, RecoveredPosition, WsrepNotify, WsrepStatus } from '../../protocol/verbs.js';

/**
 * One reading of the local node, exactly as observed: what the executor hands the decision core
 * after a `read_status` effect. Never completed from memory: a field that was not read is null.
 */
export interface Reading {
  /** The `read_status` effect this answers; readings are fresh for a decision by this number. */
  seq: number;
  /** When the read began (ms since epoch): the state is at least this recent. */
  at: number;
  mariadb: 'up' | 'down';
  /** Whose members `wsrep.members` are: the server's own membership table, or nobody's yet. */
  membersFrom: 'server' | 'none';
  /**
   * Why the server's members are not in this reading (membersFrom 'none' with mariadbd up), so a
   * refusal says what was wrong: `no_plugin` (no WSREP_MEMBERSHIP table: the wsrep_info plugin is
   * not loaded), `view_changing` (the view moved between the snapshots around the membership
   * read, every attempt: a reading taken mid-change), `error` (the query failed: privileges, a
   * broken plugin). Absent when not known.
   */
  membersMissing?: { kind: 'no_plugin' | 'view_changing' | 'error'; detail: string } | null;
  wsrep: WsrepStatus | null;
  recovered: RecoveredPosition | null;
  error: string | null;
  /** Only while down: what the datadir says (datadir.ts), for the cold-start rule. */
  datadir?: DatadirReport;
}

/** A hook push the dbserver keeps, to fill in members when the server cannot list them. */
export interface Push {
  at: number;
  notify: WsrepNotify;
}

/**
 * The members of the reading's view. The server's list (information_schema.WSREP_MEMBERSHIP,
 * read between two identical status snapshots) is used when present; otherwise the latest hook
 * push, but only if it describes the very same view: same state uuid, same primary flag, as
 * many members as wsrep_cluster_size, and this node among them. Anything else is "unknown".
 */
export function membersOf(r: Reading, push: Push | null): { members: Member[]; known: boolean } {
  const w = r.wsrep;
  if (!w) return { members: [], known: false };
  if (r.membersFrom === 'server') return { members: w.members, known: true };
  const n = push?.notify;
  if (
    n?.members &&
    n.uuid === w.stateUuid &&
    n.primary === (w.clusterStatus === 'Primary') &&
    n.members.length === w.clusterSize &&
    w.nodeUuid !== '' &&
    n.members.some((m) => m.uuid === w.nodeUuid)
  ) {
    return { members: n.members, known: true };
  }
  return { members: [], known: false };
}

function clip(s: string | null, n: number): string | null {
  if (s === null) return null;
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/**
 * A report of 32 members with their last primary view encodes to ~4.4 KB; 64 would pass the
 * 8 KiB datagram limit. Beyond this the lists are left out (and said so) rather than sent in part.
 */
export const MAX_REPORTED_MEMBERS = 32;

/** The report for a reading: what was observed, when, and the last decision's outcome. */
export function reportOf(r: Reading, push: Push | null, dc: string, decision: DecisionOutcome | null): DbStatusReport {
  let { members, known } = membersOf(r, push);
  let error = r.error;
  let lastPrimary = r.wsrep?.lastPrimary ?? null;
  if (members.length > MAX_REPORTED_MEMBERS || (lastPrimary?.members.length ?? 0) > MAX_REPORTED_MEMBERS) {
    error = [error, `more than ${MAX_REPORTED_MEMBERS} members: lists left out of the report`].filter(Boolean).join('; ');
    members = [];
    lastPrimary = null;
    known = true;
  }
  if (r.wsrep && !known) error = [error, 'members unknown: no membership table and no matching hook push yet'].filter(Boolean).join('; ');
  return {
    observedAt: r.at,
    dc,
    mariadb: r.mariadb,
    wsrep: r.wsrep ? { ...r.wsrep, members, lastPrimary } : null,
    recovered: r.recovered,
    decision: decision ? { ...decision, reason: clip(decision.reason, 200) as string } : null,
    error: clip(error, 200),
    ...(r.mariadb === 'down' && r.datadir ? { datadir: r.datadir } : {}),
  };
}

/** What "changed" means for sending at once: anything but the times, the commit counter and the hook's push count. */
export function reportKey(rep: DbStatusReport): string {
  const { observedAt: _at, wsrep, hook, ...rest } = rep;
  const w = wsrep ? { ...wsrep, lastCommitted: 0 } : null;
  // The hook's state counts as a change (missing is news); its last push time does not.
  return JSON.stringify({ ...rest, wsrep: w, hook: hook?.state ?? null });
}
