import type { PartyId } from '../../protocol/party.js';
import { isDonorState } from '../dbclient/routing.js';
import type { DbserverState } from './core.js';

/**
 * The dbserver's clustercheck-compatible answers (GET /read, /write, /; docs/observability.md):
 * a pure function of what the dbserver already knows, its latest reading of mariadbd and the
 * arbitrator's directives, so a load balancer's plain `option httpchk` can follow minder without
 * a dbclient. 200 = yes, 503 = no; the reason is one line either way.
 */
export interface HealthInputs {
  self: PartyId;
  /** wsrep_node_name → dbserver party, for the members of this node's view. */
  partyOfNode: ReadonlyMap<string, PartyId>;
  /** dbserver party → preference (DC priority, then serial): lower is preferred. */
  preference: ReadonlyMap<PartyId, readonly [number, number]>;
  allowDonorReads: boolean;
  staleAfterMs: number;
  /** How long ago the arbitrator was last heard (any datagram, on the monotonic clock); undefined: never. */
  arbitratorHeardAgoMs: number | undefined;
}

export interface HealthAnswer {
  ok: boolean;
  reason: string;
}

export interface Health {
  read: HealthAnswer;
  write: HealthAnswer;
  /** Whose answer /write follows: the arbitrator's directives, or this node's own rule. */
  writerFrom: 'arbitrator' | 'local_rule' | 'none';
  writer: PartyId | null;
}

const secs = (ms: number): string => `${(Math.round(ms / 100) / 10).toFixed(1)} s`;

function readAnswer(s: DbserverState, i: HealthInputs, now: number): HealthAnswer & { synced: boolean } {
  const no = (reason: string) => ({ ok: false, reason, synced: false });
  const r = s.reading;
  if (r === null) return no('no reading of mariadbd yet');
  const age = now - r.at;
  if (age > i.staleAfterMs) return no(`no reading of mariadbd for ${secs(age)} (limit ${secs(i.staleAfterMs)})`);
  if (r.mariadb !== 'up') return no(r.error ? `mariadb down (${r.error})` : 'mariadb down');
  const w = r.wsrep;
  if (w === null) return no(r.error ? `no wsrep status (${r.error})` : 'no wsrep status');
  if (w.clusterStatus !== 'Primary') return no(`${w.clusterStatus} (component of ${w.clusterSize})`);
  if (!w.ready) return no(`wsrep not ready (${w.localState})`);
  const drained = s.directives?.drained.includes(i.self) ?? false;
  if (drained) return no('drained by the operator');
  if (w.localState === 'Synced') return { ok: true, reason: 'Primary, Synced, ready', synced: true };
  if (isDonorState(w.localState)) return i.allowDonorReads ? { ok: true, reason: `${w.localState}: reads allowed here`, synced: false } : no(`${w.localState}: this node does not allow Donor reads`);
  return no(`${w.localState}, not Synced`);
}

/**
 * The writer without a fresh word from the arbitrator: its last named writer while that node is
 * in this node's primary component and not drained (sticky), else the first member of the
 * component by DC priority then serial that is not drained. Every member of one primary
 * component sees the same members and (once acked) the same directives, so they agree; a
 * non-Primary node never answers yes. Unlike a dbclient, a dbserver does not hear the other
 * nodes' reports, so it cannot tell that the chosen member is not Synced: that node's own /write
 * then says no, and no other node says yes (docs/observability.md).
 */
function localWriter(s: DbserverState, i: HealthInputs): PartyId | null {
  const members = s.reading?.wsrep?.members ?? [];
  const drained = new Set<string>(s.directives?.drained ?? []);
  const inView = members.map((m) => i.partyOfNode.get(m.name)).filter((p): p is PartyId => p !== undefined && !drained.has(p));
  const last = (s.directives?.writer ?? null) as PartyId | null;
  if (last !== null && inView.includes(last)) return last;
  const pref = (p: PartyId) => i.preference.get(p) ?? [99, Number.MAX_SAFE_INTEGER];
  return [...inView].sort((a, b) => pref(a)[0] - pref(b)[0] || pref(a)[1] - pref(b)[1])[0] ?? null;
}

/** `now` is the wall clock: a reading's `at` is (the daemon stamps it with clock.now()). */
export function dbserverHealth(s: DbserverState, i: HealthInputs, now: number): Health {
  const read = readAnswer(s, i, now);
  const heard = i.arbitratorHeardAgoMs !== undefined && i.arbitratorHeardAgoMs <= i.staleAfterMs && s.directives !== null;
  // A named writer outside this node's primary component cannot be writing in it: the
  // arbitrator will move the role; meanwhile the component's members agree by the local rule.
  const named = (s.directives?.writer ?? null) as PartyId | null;
  const inMyView = named !== null && (s.reading?.wsrep?.members ?? []).some((m) => i.partyOfNode.get(m.name) === named);
  const fresh = heard && (named === null || inMyView || !read.ok);
  const writer = fresh ? named : read.ok ? localWriter(s, i) : null;
  const writerFrom: Health['writerFrom'] = fresh ? 'arbitrator' : read.ok ? 'local_rule' : 'none';
  let write: HealthAnswer;
  if (!read.ok) write = { ok: false, reason: read.reason };
  else if (!read.synced) write = { ok: false, reason: `${s.reading?.wsrep?.localState ?? '?'}: never the writer` };
  else if (writer === null) write = { ok: false, reason: fresh ? 'the arbitrator names no writer' : 'no writer by the local rule' };
  else if (writer !== i.self) write = { ok: false, reason: `the writer is ${writer} (${fresh ? "the arbitrator's directives" : 'local rule: the arbitrator not heard'})` };
  else write = { ok: true, reason: fresh ? "the writer (the arbitrator's directives)" : 'the writer (local rule: the arbitrator not heard)' };
  return { read: { ok: read.ok, reason: read.reason }, write, writerFrom, writer };
}
