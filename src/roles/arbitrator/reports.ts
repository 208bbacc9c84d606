import type { PartyId } from '../../protocol/party.js';
import type { ClientStatusReport, DbStatusReport, WsrepStatus } from '../../protocol/verbs.js';
import type { CommonEffect } from '../core.js';
import { ageWhenSent } from '../reading-age.js';
import { isFresh } from './observations.js';
import { type LastPrimaryRecord, MAX_UUIDS_PER_PARTY, type NodeSighting, type NodesRecord, RECORD_KEYS } from './records.js';
import { dbserverByNodeName, dbserverInfo } from './settings.js';
import { type ArbitratorState, journal } from './state.js';

type Step = { state: ArbitratorState; effects: CommonEffect[] };

/** A stored report and whether it needs an evaluation now (see `applyDbReport`). */
export type ReportStep = Step & { material: boolean };

/**
 * Marks a party heard since this start, in place (the per-party maps belong to the state being
 * stepped, see ArbitratorState). Returns whether it was new: the first word of a party since a
 * start can end the warm-up, so it is material.
 */
function heard(state: ArbitratorState, from: PartyId): boolean {
  if (state.heardSinceStart[from]) return false;
  state.heardSinceStart[from] = true;
  if (dbserverInfo(state.settings, from)) state.dbserversHeard++;
  return true;
}

/**
 * Stores a dbserver's report and learns from it: node uuids, the last primary component, decision
 * outcomes. `material` says whether the promotion rule and the writer must be looked at again now.
 *
 * Nearly every report of a quiet site repeats its party's previous one with a newer time (and,
 * while Primary, a newer seqno). Such a report only refreshes the stored report in place: no
 * record is copied or persisted, nothing is learned anew, and no evaluation runs — the periodic
 * evaluate timer (at most EVALUATE_EVERY_MS apart) sees the refreshed time, which is all that
 * changed. Anything else is material and evaluated at once, so failover latency is unchanged: a
 * change of Primary/non-Primary, state, view, last primary component, seqno while non-Primary,
 * mariadbd up/down or a decision outcome; a party heard for the first time since the start, or
 * again after its report had gone stale; and any report while the writer is down (the
 * replacement must have spoken since the fall, so every report can make one eligible).
 */
export function applyDbReport(state: ArbitratorState, from: PartyId, body: DbStatusReport, now: number, sentAt: number = body.observedAt): ReportStep {
  if (!dbserverInfo(state.settings, from)) return { state, effects: [], material: false };
  const prev = state.reports[from];
  const takenAt = now - ageWhenSent(body.observedAt, sentAt);
  state.reports[from] = { body, receivedAt: now, takenAt };
  const isNew = heard(state, from);
  if (prev && sameMaterialReport(prev.body, body)) {
    const material = isNew || !isFresh(state, prev.takenAt, now) || !isFresh(state, takenAt, now) || state.writerDownSince !== null || state.evaluation === null;
    return { state, effects: [], material };
  }
  let s: ArbitratorState = state;
  const effects: CommonEffect[] = [];
  for (const step of [learnUuids, trackLastPrimary, recordOutcome]) {
    const r = step(s, from, body, now);
    s = r.state;
    effects.push(...r.effects);
  }
  return { state: s, effects, material: true };
}

export function applyClientReport(state: ArbitratorState, from: PartyId, body: ClientStatusReport, now: number): ArbitratorState {
  if (!state.settings.dbclients.includes(from)) return state;
  state.clients[from] = { body, receivedAt: now };
  heard(state, from);
  return state;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameWsrep(a: WsrepStatus, b: WsrepStatus): boolean {
  if (
    a.clusterStatus !== b.clusterStatus ||
    a.localState !== b.localState ||
    a.ready !== b.ready ||
    a.connected !== b.connected ||
    a.clusterSize !== b.clusterSize ||
    a.stateUuid !== b.stateUuid ||
    a.confId !== b.confId ||
    a.nodeUuid !== b.nodeUuid ||
    a.pcWeight !== b.pcWeight ||
    a.members.length !== b.members.length
  ) {
    return false;
  }
  // The seqno ranks non-Primary candidates (rule 7, and which member gets make_primary); while
  // Primary (or Disconnected) it only moves with the writes and nothing here reads it.
  if (a.clusterStatus === 'non-Primary' && a.lastCommitted !== b.lastCommitted) return false;
  for (let i = 0; i < a.members.length; i++) {
    const x = a.members[i];
    const y = b.members[i];
    if (!x || !y || x.uuid !== y.uuid || x.name !== y.name || x.address !== y.address) return false;
  }
  const p = a.lastPrimary;
  const q = b.lastPrimary;
  if (p === null || q === null) return p === q;
  return p.viewId === q.viewId && sameStrings(p.members, q.members);
}

/**
 * Whether two reports of one party say the same thing to the arbitrator: equal in every field
 * but the time it was observed (and the seqno while Primary). Exported for its unit test.
 */
export function sameMaterialReport(a: DbStatusReport, b: DbStatusReport): boolean {
  if (a.dc !== b.dc || a.mariadb !== b.mariadb || a.error !== b.error) return false;
  if (a.wsrep === null || b.wsrep === null) {
    if (a.wsrep !== b.wsrep) return false;
  } else if (!sameWsrep(a.wsrep, b.wsrep)) {
    return false;
  }
  const r = a.recovered;
  const t = b.recovered;
  if (r === null || t === null) {
    if (r !== t) return false;
  } else if (r.uuid !== t.uuid || r.seqno !== t.seqno || r.safeToBootstrap !== t.safeToBootstrap) {
    return false;
  }
  const d = a.decision;
  const e = b.decision;
  if (d === null || e === null) return d === e;
  return d.id === e.id && d.outcome === e.outcome && d.reason === e.reason && d.at === e.at;
}

/**
 * Galera names members by node uuid, which changes with every mariadbd start; the weights of
 * the members of a last primary component that cannot report now (the far side of a cut) come
 * from what their reports said before, so that mapping is kept durably.
 */
function learnUuids(state: ArbitratorState, from: PartyId, body: DbStatusReport, now: number): Step {
  const w = body.wsrep;
  if (!w) return { state, effects: [] };
  const found = new Map<string, PartyId>();
  if (w.nodeUuid) found.set(w.nodeUuid, from);
  for (const m of w.members) {
    const d = dbserverByNodeName(state.settings, m.name);
    if (d && m.uuid && !found.has(m.uuid)) found.set(m.uuid, d.id);
  }
  // Nearly every report only confirms what is known: copy the record (one entry per node uuid
  // of the site) only when something is new, or 1,000 dbservers cost a million copies a second.
  const known = state.records.nodes;
  // The reporter's own real pc.weight, remembered with its uuid: when it is cut off later, its
  // weight still counts as Galera counts it (issue 11 path 2).
  const ownWeight = w.nodeUuid && w.pcWeight !== undefined ? { uuid: w.nodeUuid, weight: w.pcWeight } : null;
  const weightKnown = ownWeight === null || known[ownWeight.uuid]?.weight === ownWeight.weight;
  if (weightKnown && [...found].every(([uuid, party]) => known[uuid]?.party === party)) return { state, effects: [] };
  const nodes: NodesRecord = { ...known };
  let changed = false;
  if (ownWeight && !weightKnown && known[ownWeight.uuid]?.party === from) {
    nodes[ownWeight.uuid] = { ...(known[ownWeight.uuid] as NodeSighting), weight: ownWeight.weight };
    changed = true;
  }
  for (const [uuid, party] of found) {
    if (nodes[uuid]?.party === party) continue;
    nodes[uuid] = ownWeight?.uuid === uuid ? { party, seenAt: now, weight: ownWeight.weight } : { party, seenAt: now };
    changed = true;
    const mine = Object.entries(nodes)
      .filter(([, v]) => v.party === party)
      .sort((a, b) => a[1].seenAt - b[1].seenAt);
    for (const [old] of mine.slice(0, Math.max(0, mine.length - MAX_UUIDS_PER_PARTY))) delete nodes[old];
  }
  if (!changed) return { state, effects: [] };
  return {
    state: { ...state, records: { ...state.records, nodes } },
    effects: [{ kind: 'persist', key: RECORD_KEYS.nodes, value: nodes }],
  };
}

/** The newest primary component any report shows (docs/safety.md, rule 3's LastPC), kept for status and logs. */
function trackLastPrimary(state: ArbitratorState, from: PartyId, body: DbStatusReport, now: number): Step {
  const w = body.wsrep;
  if (!w || w.clusterStatus !== 'Primary') return { state, effects: [] };
  // A reading taken in the middle of a view change (the dbserver reads on mariadbd's status-file
  // ring, before every variable has moved) may lack the conf id or the members: not a component.
  if (w.confId === null || w.members.length === 0) return { state, effects: [] };
  const cur = state.records.lastPrimary;
  const memberKey = (ms: readonly { uuid: string }[]) =>
    ms
      .map((m) => m.uuid)
      .sort()
      .join(',');
  if (cur && cur.stateUuid === w.stateUuid && cur.confId === w.confId && memberKey(cur.members) === memberKey(w.members)) {
    return { state, effects: [] };
  }
  // A late report of an older configuration of the same history must not move it backwards.
  if (cur && cur.stateUuid === w.stateUuid && cur.confId !== null && w.confId !== null && w.confId < cur.confId) return { state, effects: [] };
  const record: LastPrimaryRecord = {
    stateUuid: w.stateUuid,
    confId: w.confId,
    members: w.members.map((m) => ({
      uuid: m.uuid,
      name: m.name,
      party: state.settings.dbservers.find((d) => d.nodeName === m.name)?.id ?? (m.uuid === w.nodeUuid ? from : null),
    })),
    seenAt: now,
  };
  const names = record.members.map((m) => m.party ?? m.name).join(', ');
  const s = journal({ ...state, records: { ...state.records, lastPrimary: record } }, now, 'primary_component', `primary component conf ${w.confId ?? '?'}: ${names} (reported by ${from})`);
  return {
    state: s,
    effects: [
      { kind: 'persist', key: RECORD_KEYS.lastPrimary, value: record },
      {
        kind: 'log',
        level: 'info',
        event: 'primary_component_seen',
        msg: `primary component conf ${w.confId ?? '?'} of ${record.members.length}: ${names}`,
        data: { confId: w.confId, stateUuid: w.stateUuid, members: record.members.map((m) => m.party ?? m.uuid), from },
      },
    ],
  };
}

/** A target's report of what became of a decision settles it (once; a settled one never changes). */
function recordOutcome(state: ArbitratorState, from: PartyId, body: DbStatusReport, now: number): Step {
  const o = body.decision;
  if (!o || o.outcome === 'pending') return { state, effects: [] };
  const i = state.records.decisions.findIndex((d) => d.id === o.id && d.target === from);
  const d = state.records.decisions[i];
  if (!d || d.outcome !== 'pending') return { state, effects: [] };
  const settled = { ...d, outcome: o.outcome, outcomeReason: o.reason.slice(0, 200), outcomeAt: now };
  const decisions = state.records.decisions.map((x, j) => (j === i ? settled : x));
  const words = { carried_out: 'carried out', refused: 'refused', failed: 'failed' }[o.outcome];
  const text = `${d.id} ${words} by ${from}${o.reason ? `: ${o.reason}` : ''}`;
  const s = journal({ ...state, records: { ...state.records, decisions } }, now, `decision_${o.outcome}`, text);
  return {
    state: s,
    effects: [
      { kind: 'persist', key: RECORD_KEYS.decisions, value: decisions },
      { kind: 'log', level: o.outcome === 'carried_out' ? 'info' : 'warn', event: `decision_${o.outcome}`, msg: text, data: { decisionId: d.id, target: from, reason: o.reason } },
    ],
  };
}
