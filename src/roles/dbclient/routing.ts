import type { PartyId } from '../../protocol/party.js';
import type { DbStatusReport } from '../../protocol/verbs.js';
import type { AdminState, DesiredLb, DesiredServer } from './lb/types.js';

/**
 * The routing rule (issue 5), as pure functions of what the dbclient knows: the dbservers' own
 * reports (with the local time each observation first arrived), the arbitrator's drain set and
 * writer, and the time. No I/O and no clock: the core calls these, the tests call them directly.
 */

/** One dbserver as the site config describes it, with what the rule needs. */
export interface ServerSpec {
  id: PartyId;
  serial: number;
  dc: string;
  /** Lower is preferred: the primary DC has priority 1 (site config `dataCentres.<dc>.priority`). */
  dcPriority: number;
  /** A Donor may serve reads at this server (site config `allowDonorReads`). */
  allowDonorReads: boolean;
  /** Galera's `wsrep_node_name` and the config's weight: members not heard from are weighed by them. */
  nodeName?: string;
  weight?: number;
}

/** A report and the local time its observation was first received (never the sender's clock). */
export interface HeldReport {
  report: DbStatusReport;
  receivedAt: number;
  /**
   * When its reading was taken, on this client's clock: arrival minus how old the reading was
   * when sent (src/roles/reading-age.ts). Freshness is judged by it; absent = receivedAt.
   */
  takenAt?: number;
}

/**
 * How a server may be used, from its own report:
 * - `serve`: fresh, mariadb up, Primary, ready, Synced (or Donor where allowed: reads only);
 * - `soft_out`: Primary and answering, but not in a state to take new work (Joined, Donor not
 *   allowed…): no new connections, existing ones left alone since Galera still serves them;
 * - `hard_out`: down, non-Primary, not ready, or no fresh report: out at once and its sessions
 *   shut, since Galera refuses their queries anyway (or we cannot know that it does not).
 */
export type HealthKind = 'serve' | 'soft_out' | 'hard_out';

export interface Health {
  kind: HealthKind;
  /** Whether this server may be the writer (Synced, never Donor). */
  writable: boolean;
  /** Human reason, e.g. "non-Primary (component of 1)". */
  reason: string;
}

export function isDonorState(localState: string): boolean {
  // Galera reads "Donor/Desynced" for wsrep_local_state_comment; reports may carry either form.
  return /^donor/i.test(localState);
}

export function healthOf(spec: ServerSpec, held: HeldReport | undefined, now: number, staleAfterMs: number): Health {
  const out = (kind: Exclude<HealthKind, 'serve'>, reason: string): Health => ({ kind, writable: false, reason });
  if (held === undefined) return out('hard_out', 'no report received yet');
  const age = now - (held.takenAt ?? held.receivedAt);
  if (age > staleAfterMs) return out('hard_out', `silent: last report ${Math.round(age / 100) / 10} s ago (limit ${staleAfterMs / 1000} s)`);
  const r = held.report;
  if (r.mariadb !== 'up') return out('hard_out', r.error ? `mariadb down (${r.error})` : 'mariadb down');
  const w = r.wsrep;
  if (w === null) return out('hard_out', r.error ? `no wsrep status (${r.error})` : 'no wsrep status');
  if (w.clusterStatus !== 'Primary') return out('hard_out', `${w.clusterStatus} (component of ${w.clusterSize})`);
  if (!w.ready) return out('hard_out', `wsrep not ready (${w.localState})`);
  if (w.localState === 'Synced') return { kind: 'serve', writable: true, reason: 'Primary, Synced, ready' };
  if (isDonorState(w.localState)) {
    return spec.allowDonorReads
      ? { kind: 'serve', writable: false, reason: `${w.localState}: reads allowed at this server, never the writer` }
      : out('soft_out', `${w.localState}: this server does not allow Donor reads`);
  }
  return out('soft_out', `${w.localState}, not Synced`);
}

function takenAt(h: HeldReport): number {
  return h.takenAt ?? h.receivedAt;
}

/**
 * Why the half of a Primary server may be about to lose quorum (issue 11 10b), or null. Galera
 * keeps a component Primary only with more than half the weight of its last primary component.
 * A server still reading Primary in view V (its members) while members of V report, in readings
 * taken after its own, that they are not with it (non-Primary, down, or Primary without it) is
 * in a view that is breaking up: what is left of V is at most V minus those members, and when
 * that is not more than half of V's weight, its half goes non-Primary within moments (at a 2|2
 * cut, dc2 still read Primary in the old 4-node view a second after dc1 went non-Primary). Its
 * members' weights: their own reported pc.weight, else the config's, else 1. Without a member
 * list (no wsrep_info plugin) nothing is judged.
 */
export function quorumDoubt(id: PartyId, reports: Readonly<Record<string, HeldReport>>, servers: readonly ServerSpec[], now: number, staleAfterMs: number): string | null {
  const me = reports[id];
  const w = me?.report.wsrep;
  if (!me || !w || me.report.mariadb !== 'up' || w.clusterStatus !== 'Primary' || w.members.length === 0) return null;
  const fresh = (h: HeldReport | undefined): h is HeldReport => h !== undefined && now - takenAt(h) <= staleAfterMs;
  const inView = new Set(w.members.map((m) => m.uuid));
  const weight = new Map<string, number>();
  const lost = new Set<string>();
  const gone: string[] = [];
  for (const m of w.members) {
    const heard = servers.map((s) => ({ s, h: reports[s.id] })).find((x) => fresh(x.h) && x.h.report.wsrep?.nodeUuid === m.uuid);
    const spec = heard?.s ?? servers.find((s) => s.nodeName !== undefined && s.nodeName === m.name);
    weight.set(m.uuid, heard?.h?.report.wsrep?.pcWeight ?? spec?.weight ?? 1);
    // Only readings newer than this server's own say anything about its view now.
    if (!heard?.h || heard.s.id === id || takenAt(heard.h) <= takenAt(me)) continue;
    const r = heard.h.report;
    const rw = r.mariadb === 'up' ? r.wsrep : null;
    if (rw?.clusterStatus === 'non-Primary' && rw.members.some((x) => x.uuid === w.nodeUuid)) {
      return `${heard.s.id}'s newer reading has it in a non-Primary view of ${rw.members.length}: its own Primary reading is out of date`;
    }
    if (rw?.clusterStatus === 'Primary' && rw.members.some((x) => x.uuid === w.nodeUuid)) continue;
    // Not with it: that member, and every member of its newer view, is in another component.
    gone.push(`${heard.s.id} (${r.mariadb !== 'up' ? 'down' : (rw?.clusterStatus ?? 'no wsrep status')})`);
    lost.add(m.uuid);
    for (const x of rw?.members ?? []) if (inView.has(x.uuid) && x.uuid !== w.nodeUuid) lost.add(x.uuid);
  }
  if (lost.size === 0) return null;
  let total = 0;
  let left = 0;
  for (const [u, wt] of weight) {
    total += wt;
    if (!lost.has(u)) left += wt;
  }
  if (left * 2 > total) return null;
  return `its view (conf ${w.confId ?? '?'}, ${w.members.length} members) is breaking up: ${gone.join(', ')}${lost.size > gone.length ? ` and ${lost.size - gone.length} member(s) of their views` : ''} no longer with it; the rest holds weight ${left} of ${total}, not more than half: it loses quorum`;
}

/** Best first: the primary DC (lowest priority number), then the lowest serial. */
export function byPreference(a: ServerSpec, b: ServerSpec): number {
  return a.dcPriority - b.dcPriority || a.serial - b.serial;
}

export interface WriterInputs {
  servers: readonly ServerSpec[];
  health: ReadonlyMap<PartyId, Health>;
  drained: ReadonlySet<PartyId>;
  /** The arbitrator's chosen writer while its directives are fresh; null otherwise or if it chose none. */
  directed: PartyId | null;
  /** The writer now (stickiness). */
  current: PartyId | null;
}

export interface WriterChoice {
  writer: PartyId | null;
  /** Why this writer (or none), for the log and the operator. */
  reason: string;
}

function canWrite(id: PartyId, i: WriterInputs): boolean {
  return (i.health.get(id)?.writable ?? false) && !i.drained.has(id);
}

function whyNot(id: PartyId, i: WriterInputs): string {
  if (i.drained.has(id)) return `${id} is drained`;
  const h = i.health.get(id);
  if (h === undefined) return `${id} is not a dbserver of this site`;
  return `${id} cannot write: ${h.reason}`;
}

/**
 * One writer for the whole site. The arbitrator's choice while its directives are fresh (and the
 * server can write); otherwise the current writer while it can write (stickiness: a recovered
 * node does not take the role back by itself); otherwise the best by DC priority, then serial,
 * so every dbclient that sees the same reports picks the same writer.
 */
export function chooseWriter(i: WriterInputs): WriterChoice {
  const notes: string[] = [];
  if (i.directed !== null) {
    if (canWrite(i.directed, i)) return { writer: i.directed, reason: `the arbitrator's choice` };
    notes.push(`the arbitrator chose ${i.directed} but ${whyNot(i.directed, i)}`);
  }
  if (i.current !== null && i.current !== i.directed) {
    if (canWrite(i.current, i)) return { writer: i.current, reason: [...notes, 'sticky: still the writer'].join('; ') };
    notes.push(whyNot(i.current, i));
  }
  const best = [...i.servers].sort(byPreference).find((s) => canWrite(s.id, i));
  if (best === undefined) return { writer: null, reason: [...notes, 'no server can write'].join('; ') };
  return { writer: best.id, reason: [...notes, `first by DC priority then serial (${best.dc})`].join('; ') };
}

export interface RouteInputs {
  servers: readonly ServerSpec[];
  health: ReadonlyMap<PartyId, Health>;
  drained: ReadonlySet<PartyId>;
  writer: PartyId | null;
  /** Former writers whose write sessions are still finishing (hand-over). */
  retiring: ReadonlySet<PartyId>;
  weight: number;
}

/** One server's desired state in one backend, with the reason a log line can name. */
export interface Route extends DesiredServer {
  reason: string;
}

export interface Routes {
  write: Route[];
  read: Route[];
}

function route(server: PartyId, state: AdminState, weight: number, shutdownSessions: boolean, reason: string): Route {
  return { server, state, weight, shutdownSessions, reason };
}

export function readRoute(id: PartyId, h: Health, drained: boolean, weight: number): Route {
  if (h.kind === 'hard_out') return route(id, 'maint', weight, true, h.reason);
  if (h.kind === 'soft_out') return route(id, 'maint', weight, false, h.reason);
  if (drained) return route(id, 'drain', weight, false, 'drained by the operator');
  return route(id, 'ready', weight, false, h.reason);
}

export function writeRoute(id: PartyId, h: Health, i: RouteInputs): Route {
  if (id === i.writer) return route(id, 'ready', i.weight, false, 'the writer');
  if (h.kind === 'hard_out') return route(id, 'maint', i.weight, true, h.reason);
  if (i.retiring.has(id)) return route(id, 'drain', i.weight, false, `former writer: its sessions finish (writer is ${i.writer ?? 'none'})`);
  return route(id, 'maint', i.weight, false, `not the writer (${i.writer ?? 'none'})`);
}

const ORDER: Record<AdminState, number> = { ready: 0, drain: 1, maint: 2 };

/**
 * The whole desired load-balancer state. Within a backend, servers entering service come first
 * and servers leaving it last: the adapter applies in list order, so the new writer is ready
 * before the old one drains (move the leader first) and a read backend never has a moment with
 * fewer servers than it needs.
 */
export function routes(i: RouteInputs): Routes {
  const write: Route[] = [];
  const read: Route[] = [];
  for (const s of [...i.servers].sort(byPreference)) {
    const h = i.health.get(s.id) ?? { kind: 'hard_out', writable: false, reason: 'unknown' };
    write.push(writeRoute(s.id, h, i));
    read.push(readRoute(s.id, h, i.drained.has(s.id), i.weight));
  }
  const order = (a: Route, b: Route) => ORDER[a.state] - ORDER[b.state];
  return { write: write.sort(order), read: read.sort(order) };
}

/** What the adapter takes: the routes without their reasons. */
export function desiredOf(r: Routes): DesiredLb {
  const strip = ({ server, state, weight, shutdownSessions }: Route): DesiredServer => ({ server, state, weight, shutdownSessions });
  return { write: r.write.map(strip), read: r.read.map(strip) };
}
