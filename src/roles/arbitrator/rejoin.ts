import type { PartyId } from '../../protocol/party.js';
import type { DbStatusReport } from '../../protocol/verbs.js';
import type { CommonEffect } from '../core.js';
import { isFresh } from './observations.js';
import { type ArbitratorState, journal } from './state.js';

/**
 * Rejoin progress (issue 12 step 4, docs/cold-start.md "Rejoining"): while a primary component
 * exists, every node that is not a Synced member of it is watched: a node taking IST or SST is
 * shown with its progress, and one that cannot rejoin is said so, loudly (an error log line and
 * the journal once, and in `status` for as long as it lasts), never silently. Pure: the core calls
 * `rejoinStep` after every evaluation. Minder never starts or promotes a node for this: it reports.
 *
 * A node cannot rejoin when:
 *  - it runs a primary component of another history (another state uuid: bootstrapped outside
 *    minder, or a datadir restored from elsewhere): it will never merge by itself;
 *  - its mariadbd stopped while it was rejoining (an SST or IST that failed, a donor that went);
 *  - an SST was interrupted and left its datadir partial (`sst_in_progress` with no mariadbd);
 *  - its datadir cannot be read;
 *  - the start order of a cold start failed on it.
 * A node that joins but makes no progress for `REJOIN_STALL_MS` (no donor answers) is `stalled`:
 * said as loudly, though it may still finish.
 */
export type RejoinPhase = 'joining' | 'state_transfer' | 'stalled' | 'cannot_rejoin';

export interface RejoinNode {
  party: PartyId;
  phase: RejoinPhase;
  /** For people: where it is, or why it cannot go on and what the operator does. */
  text: string;
  /** Since when the node is in this rejoin (its first sighting not Synced). */
  since: number;
  /** Seqnos still to apply (the component's newest commit minus its own); null when unknown. */
  behind: number | null;
}

export interface RejoinTrack {
  party: PartyId;
  phase: RejoinPhase;
  since: number;
  /** The node's own last committed seqno, or the bytes of an SST so far: the progress mark. */
  mark: number | null;
  /** When the mark last moved. */
  movedAt: number;
  text: string;
  behind: number | null;
}

/** No progress for this long while joining: stalled (a donor that never answers, a full disk). */
export const REJOIN_STALL_MS = 5 * 60_000;

const MIB = 1024 * 1024;

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

interface Component {
  stateUuid: string;
  /** The newest commit of its Synced members. */
  top: number;
  members: PartyId[];
}

/** The site's primary component, from the Synced Primary nodes of the freshest history. */
function primaryComponent(state: ArbitratorState, now: number): Component | null {
  const byUuid = new Map<string, Component>();
  for (const d of state.settings.dbservers) {
    const h = state.reports[d.id];
    const w = h && isFresh(state, h.receivedAt, now) ? h.body.wsrep : null;
    if (!w || w.clusterStatus !== 'Primary' || w.localState !== 'Synced') continue;
    const c = byUuid.get(w.stateUuid) ?? { stateUuid: w.stateUuid, top: -1, members: [] };
    c.top = Math.max(c.top, w.lastCommitted);
    c.members.push(d.id);
    byUuid.set(w.stateUuid, c);
  }
  // The largest; a tie goes to the recorded history, else none is the site's (the promotion rule's business).
  const recorded = state.records.lastPrimary?.stateUuid;
  const all = [...byUuid.values()].sort((a, b) => b.members.length - a.members.length || (a.stateUuid === recorded ? -1 : b.stateUuid === recorded ? 1 : 0));
  const [first, second] = all;
  if (!first || (second && second.members.length === first.members.length && first.stateUuid !== recorded)) return null;
  return first;
}

/** The newest cold-start start/bootstrap order to this node that failed, after `since`. */
function failedStart(state: ArbitratorState, party: PartyId, since: number): string | null {
  const d = [...state.records.decisions].reverse().find((x) => x.target === party && (x.kind === 'start' || x.kind === 'bootstrap') && x.decidedAt >= since);
  return d && d.outcome === 'failed' ? `${d.id} (${d.kind}) failed: ${d.outcomeReason ?? 'no reason given'}` : null;
}

type Seen =
  | { kind: 'synced' }
  | { kind: 'ignore' }
  | { kind: 'joining'; mark: number | null; text: string; behind: number | null }
  | { kind: 'transfer'; mark: number | null; text: string }
  | { kind: 'down'; body: DbStatusReport }
  | { kind: 'cannot'; text: string };

function look(state: ArbitratorState, party: PartyId, c: Component, now: number): Seen {
  const h = state.reports[party];
  if (!h || !isFresh(state, h.receivedAt, now)) return { kind: 'ignore' };
  const b = h.body;
  const w = b.wsrep;
  if (b.mariadb === 'up' && w) {
    if (w.clusterStatus === 'Primary' && w.stateUuid !== c.stateUuid) {
      return {
        kind: 'cannot',
        text: `runs a primary component of another history (state uuid ${w.stateUuid.slice(0, 8)}, the site's is ${c.stateUuid.slice(0, 8)}; bootstrapped outside minder?): it never merges by itself. Stop its mariadbd, move its grastate.dat aside so that it takes an SST, and start it (its own writes since are lost)`,
      };
    }
    if (w.clusterStatus !== 'Primary') return { kind: 'ignore' };
    if (w.localState === 'Synced' || /donor|desync/i.test(w.localState)) return { kind: 'synced' };
    const behind = w.lastCommitted >= 0 && c.top >= 0 ? Math.max(0, c.top - w.lastCommitted) : null;
    const at = w.lastCommitted >= 0 ? `at seqno ${w.lastCommitted} of ${c.top}${behind !== null ? ` (${behind} behind)` : ''}` : 'no position yet';
    return { kind: 'joining', mark: w.lastCommitted, behind, text: `${w.localState}: ${at}` };
  }
  const dd = b.datadir;
  if (dd?.process) {
    const sst = dd.sst ?? null;
    if (sst?.inProgress) return { kind: 'transfer', mark: sst.bytes, text: `SST under way: ${sst.bytes !== null ? `${mib(sst.bytes)} in the datadir so far` : 'size not known'}` };
    return { kind: 'transfer', mark: null, text: `mariadbd starts (${dd.process}); no SQL yet` };
  }
  return { kind: 'down', body: b };
}

function downVerdict(state: ArbitratorState, party: PartyId, body: DbStatusReport, prev: RejoinTrack | undefined, now: number): string | null {
  const dd = body.datadir;
  if (dd?.sst?.inProgress)
    return 'an SST was interrupted and left its datadir partial (sst_in_progress, no mariadbd runs): start mariadbd again for a fresh SST (with a Synced donor up), or restore the datadir';
  if (dd && (dd.state === 'unreadable' || dd.state === 'malformed')) return `its datadir is ${dd.state}${dd.detail ? ` (${dd.detail})` : ''}: fix it, or empty it so that it takes an SST`;
  const failed = failedStart(state, party, prev?.since ?? now - state.settings.timings.staleAfterMs);
  if (failed) return `${failed}: see its mariadbd error log; it joins by itself once started again`;
  if (prev && prev.phase !== 'cannot_rejoin') return `mariadbd stopped during its rejoin (last: ${prev.text}): an SST/IST failed or its donor went; see its error log, then start it again`;
  return null;
}

/** Where every node outside the primary component stands; changes are logged and journaled. */
export function rejoinStep(state: ArbitratorState, now: number): { state: ArbitratorState; effects: CommonEffect[] } {
  const c = primaryComponent(state, now);
  const before = state.rejoin ?? [];
  // No primary component (a cold start, a cut): nothing to rejoin yet; what was tracked stays.
  if (!c) return { state, effects: [] };
  const effects: CommonEffect[] = [];
  const tracks: RejoinTrack[] = [];
  let s = state;
  for (const d of state.settings.dbservers) {
    if (c.members.includes(d.id)) {
      const prev = before.find((t) => t.party === d.id);
      if (prev) {
        const text = `${d.id} rejoined the primary component (Synced) after ${Math.round((now - prev.since) / 1000)} s`;
        s = journal(s, now, 'rejoined', text);
        effects.push({ kind: 'log', level: 'info', event: 'rejoined', msg: text, data: { party: d.id, ms: now - prev.since } });
      }
      continue;
    }
    const prev = before.find((t) => t.party === d.id);
    const seen = look(state, d.id, c, now);
    let next: RejoinTrack | null = null;
    if (seen.kind === 'joining' || seen.kind === 'transfer') {
      const moved = !prev || prev.mark !== seen.mark || prev.phase === 'cannot_rejoin';
      const movedAt = moved ? now : prev.movedAt;
      const since = prev && prev.phase !== 'cannot_rejoin' ? prev.since : now;
      const stalled = now - movedAt >= REJOIN_STALL_MS;
      const phase: RejoinPhase = stalled ? 'stalled' : seen.kind === 'joining' ? 'joining' : 'state_transfer';
      const text = stalled ? `${seen.text}; NO PROGRESS for ${Math.round((now - movedAt) / 60_000)} min: is a Synced donor reachable (IST/SST ports), is its disk full? See its error log` : seen.text;
      next = { party: d.id, phase, since, mark: seen.mark, movedAt, text, behind: seen.kind === 'joining' ? seen.behind : null };
    } else if (seen.kind === 'cannot') {
      next = { party: d.id, phase: 'cannot_rejoin', since: prev?.phase === 'cannot_rejoin' ? prev.since : now, mark: null, movedAt: now, text: seen.text, behind: null };
    } else if (seen.kind === 'down') {
      const why = prev?.phase === 'cannot_rejoin' ? prev.text : downVerdict(state, d.id, seen.body, prev, now);
      if (why) next = { party: d.id, phase: 'cannot_rejoin', since: prev?.phase === 'cannot_rejoin' ? prev.since : now, mark: null, movedAt: now, text: why, behind: null };
    } else if (seen.kind === 'ignore' && prev) {
      // No fresh report (or a cut, the promotion rule's business): keep what we knew.
      next = prev;
    }
    if (!next) continue;
    tracks.push(next);
    if (prev?.phase === next.phase && (next.phase === 'joining' || next.phase === 'state_transfer' || prev.text === next.text)) continue;
    const loud = next.phase === 'cannot_rejoin' || next.phase === 'stalled';
    const text = loud ? `${d.id} ${next.phase === 'stalled' ? 'rejoin STALLED' : 'CANNOT REJOIN'}: ${next.text}` : `${d.id} rejoining: ${next.text}`;
    s = journal(s, now, loud ? (next.phase === 'stalled' ? 'rejoin_stalled' : 'cannot_rejoin') : 'rejoin_started', text);
    effects.push({
      kind: 'log',
      level: loud ? 'error' : 'info',
      event: loud ? (next.phase === 'stalled' ? 'rejoin_stalled' : 'cannot_rejoin') : 'rejoin_started',
      msg: text,
      data: { party: d.id, phase: next.phase, behind: next.behind },
    });
  }
  return { state: { ...s, rejoin: tracks }, effects };
}

/** For status: the tracked nodes, as people read them. */
export function rejoinSummary(state: ArbitratorState): RejoinNode[] {
  return (state.rejoin ?? []).map((t) => ({ party: t.party, phase: t.phase, text: t.text, since: t.since, behind: t.behind }));
}
