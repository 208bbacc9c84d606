import type { PartyId } from '../../protocol/party.js';
import type { ClientStatusReport, DbStatusReport, WsrepStatus } from '../../protocol/verbs.js';
import type { CommonEffect } from '../core.js';
import { ageWhenSent } from '../reading-age.js';
import { isFresh } from './observations.js';
import { decisionKeyOf } from './candidates.js';
import { type DecisionRecord, INCARNATION_FLOOR_KEY, type LastPrimaryRecord, MAX_UUIDS_PER_PARTY, type NodeSighting, type NodesRecord, RECORD_KEYS } from './records.js';
import { dbserverByNodeName, dbserverInfo } from './settings.js';
import { type ArbitratorState, journal, type ArbitratorStep } from './state.js';
import { adoptHeldDirectives } from './directives.js';

/** A stored report and whether it needs an evaluation now (see `applyDbReport`). */
export type ReportStep = ArbitratorStep & { material: boolean };

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
  // While relearning, the first word of each dbserver since it began is material (it may end it).
  // Only a dbserver that keeps the decisions it carried out counts (one older than the `carried`
  // field cannot tell).
  const relearnNew = state.records.memory.relearning && body.carried !== undefined && !Object.hasOwn(state.relearnHeard, from);
  if (relearnNew) state.relearnHeard[from] = body.wsrep?.nodeUuid ?? null;
  if (prev && sameMaterialReport(prev.body, body)) {
    const material = isNew || relearnNew || !isFresh(state, prev.takenAt, now) || !isFresh(state, takenAt, now) || state.writerDownSince !== null || state.evaluation === null;
    return { state, effects: [], material };
  }
  let s: ArbitratorState = state;
  const effects: CommonEffect[] = [];
  for (const step of [
    learnUuids,
    trackLastPrimary,
    recordOutcome,
    adoptCarried,
    noteArbiters,
    (x: ArbitratorState, f: PartyId, b: DbStatusReport, t: number) => adoptHeldDirectives(x, f, b.held, t),
  ]) {
    const r = step(s, from, body, now);
    s = r.state;
    effects.push(...r.effects);
  }
  return { state: s, effects, material: true };
}

export function applyClientReport(state: ArbitratorState, from: PartyId, body: ClientStatusReport, now: number): ArbitratorStep {
  if (!state.settings.dbclients.includes(from)) return { state, effects: [] };
  state.clients[from] = { body, receivedAt: now };
  heard(state, from);
  return adoptHeldDirectives(state, from, body.held, now);
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
  if (!sameEvidence(a, b)) return false;
  // The datadir of a stopped node: a process that appears or goes, an SST, a new state or
  // position (the cold-start rule and rejoin.ts read them; an SST's growing size is not material).
  const x = a.datadir;
  const y = b.datadir;
  if ((x === undefined) !== (y === undefined)) return false;
  if (
    x &&
    y &&
    (x.state !== y.state ||
      (x.process ?? null) !== (y.process ?? null) ||
      (x.sst?.inProgress ?? false) !== (y.sst?.inProgress ?? false) ||
      x.recovered?.seqno !== y.recovered?.seqno ||
      x.recoverNote !== y.recoverNote)
  )
    return false;
  const d = a.decision;
  const e = b.decision;
  if (d === null || e === null) return d === e;
  return d.id === e.id && d.outcome === e.outcome && d.reason === e.reason && d.at === e.at;
}

/** The decisions carried out and the arbitrators heard: they change rarely, and matter when they do. */
function sameEvidence(a: DbStatusReport, b: DbStatusReport): boolean {
  const c = a.carried ?? [];
  const d = b.carried ?? [];
  if (c.length !== d.length) return false;
  for (let i = 0; i < c.length; i++) if (c[i]?.id !== d[i]?.id || c[i]?.outcome !== d[i]?.outcome) return false;
  const x = a.arbiters ?? [];
  const y = b.arbiters ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i]?.instance !== y[i]?.instance || x[i]?.incarnation !== y[i]?.incarnation) return false;
  return (
    a.newestArbiter?.instance === b.newestArbiter?.instance &&
    a.newestArbiter?.incarnation === b.newestArbiter?.incarnation &&
    a.newestArbiter?.generation === b.newestArbiter?.generation &&
    a.held?.epoch === b.held?.epoch
  );
}

/**
 * A decision a dbserver reports having acted on that these records do not hold (they were lost,
 * restored from an old copy, or another arbitrator process made it) is adopted, loudly: it spends
 * its last primary component here as it does on the site (docs/safety.md, path 1). Only the
 * node that acted on it is believed, as for outcomes.
 */
function adoptCarried(state: ArbitratorState, from: PartyId, body: DbStatusReport, now: number): ArbitratorStep {
  const carried = body.carried ?? [];
  const unknown = carried.filter((c) => !state.records.decisions.some((d) => d.id === c.id));
  const known = carried.filter((c) => c.outcome !== 'pending' && state.records.decisions.some((d) => d.id === c.id && d.target === from && d.outcome === 'pending'));
  if (unknown.length === 0 && known.length === 0) return { state, effects: [] };
  let decisions = state.records.decisions;
  const effects: CommonEffect[] = [];
  let s = state;
  for (const c of unknown) {
    const record: DecisionRecord = {
      id: c.id,
      kind: 'make_primary',
      key: c.lastPrimaryViewId ?? decisionKeyOf(null, c.view),
      lastPrimary: null,
      view: c.view,
      members: [from],
      target: from,
      forced: false,
      operator: null,
      requestId: null,
      reason: `adopted from ${from}'s report: not in these records`,
      decidedAt: c.decidedAt ?? c.at,
      validForMs: 0,
      outcome: c.outcome,
      outcomeReason: c.outcome === 'pending' ? null : `as ${from} reports it`,
      outcomeAt: c.outcome === 'pending' ? null : now,
      outcomeCode: null,
      withdrawn: null,
      decidedAtWall: c.decidedAt,
      expiredAt: null,
      adopted: true,
      noEffectAt: null,
      alsoSpends: [],
      confirmedLost: [],
    };
    decisions = [...decisions, record];
    const text = `${from} reports having acted on ${c.id} (${c.outcome.replace('_', ' ')}, last primary component ${c.lastPrimaryViewId ?? 'none'}), which these records do not hold: adopted — this arbitrator's records were lost or replaced, or another arbitrator made it`;
    s = journal(s, now, 'decision_adopted', text);
    effects.push({ kind: 'log', level: 'error', event: 'decision_adopted', msg: text, data: { decisionId: c.id, from, outcome: c.outcome, lastPrimary: record.key } });
  }
  // The outcome of one of ours that the `decision` field missed (the report carrying it was lost).
  for (const c of known)
    decisions = decisions.map((d) => (d.id === c.id ? { ...d, outcome: c.outcome as DecisionRecord['outcome'], outcomeReason: `as ${from}'s carried list shows`, outcomeAt: now } : d));
  s = { ...s, records: { ...s.records, decisions } };
  return { state: s, effects: [{ kind: 'persist', key: RECORD_KEYS.decisions, value: decisions }, ...effects] };
}

/**
 * Arbitrator processes the dbserver heard, other than this one (docs/safety.md, paths 1 and 4):
 * an incarnation newer than this one's means this state is older than what the site has seen (a
 * restored copy, or a second process): relearn, and outgrow it at the next start. A process of
 * the same or a newer incarnation heard lately is a second arbitrator alive: noted, and nothing
 * is promoted while one is (evaluate.ts).
 */
function noteArbiters(state: ArbitratorState, from: PartyId, body: DbStatusReport, now: number): ArbitratorStep {
  const effects: CommonEffect[] = [];
  let s = state;
  // Only this party's processes: the other arbitrators of a leader-store site are no duplicates (docs/arbitrator-ha.md).
  const mine = (a: { party?: string | undefined }): boolean => a.party === undefined || a.party === state.settings.self;
  for (const a of body.arbiters ?? []) {
    if (a.instance === state.instance || !mine(a)) continue;
    const prev = s.foreignArbiters[a.instance];
    s = { ...s, foreignArbiters: { ...s.foreignArbiters, [a.instance]: { incarnation: a.incarnation, instance: a.instance, lastSeenAt: now, reportedBy: from } } };
    if (!prev && a.incarnation >= state.incarnation) {
      const text = `${from} hears another arbitrator process as ${state.settings.self}: incarnation ${a.incarnation} instance ${a.instance} (I am ${state.incarnation}/${state.instance})`;
      s = journal(s, now, 'duplicate_arbitrator', text);
      effects.push({ kind: 'log', level: 'error', event: 'duplicate_arbitrator', msg: `${text}: promoting nothing while it speaks`, data: { from, incarnation: a.incarnation, instance: a.instance } });
    }
  }
  const newest = [body.newestArbiter, ...(body.arbiters ?? [])].filter((a) => a !== undefined && mine(a)).reduce<number>((m, a) => Math.max(m, a?.incarnation ?? 0), 0);
  if (newest > state.incarnation) {
    if (newest > s.incarnationFloor) {
      s = { ...s, incarnationFloor: newest };
      effects.push({ kind: 'persist', key: INCARNATION_FLOOR_KEY, value: newest });
    }
    if (!s.records.memory.relearning) {
      const why = `${from} has heard arbitrator incarnation ${newest}, newer than mine (${state.incarnation}): this state file is older than what the site has seen (restored from a copy?), or another arbitrator runs`;
      s = startRelearning(s, now, why);
      effects.push(
        { kind: 'persist', key: RECORD_KEYS.memory, value: s.records.memory },
        {
          kind: 'log',
          level: 'error',
          event: 'memory_lost',
          msg: `${why}: relearning, nothing is promoted until every member of the last primary component has reported (or \`relearned --force\`); restart me to take an incarnation above ${newest}`,
          data: { from, newest, mine: state.incarnation },
        },
      );
    }
  }
  return behindTheSite(s, from, body, now, effects);
}

/**
 * Path 1, a restored old copy: a dbserver heard this arbitrator's records at a generation they
 * no longer reach, so a decision may be missing from them (its target may be out of reach, and
 * the half heard here may be the one it was not for). Relearn, as for a lost file.
 */
function behindTheSite(state: ArbitratorState, from: PartyId, body: DbStatusReport, now: number, effects: CommonEffect[]): ArbitratorStep {
  const heard = [body.newestArbiter, ...(body.arbiters ?? [])].reduce<number>((m, a) => (a && (a.party === undefined || a.party === state.settings.self) ? Math.max(m, a.generation ?? 0) : m), 0);
  const m = state.records.memory;
  if (heard <= m.generation) return { state, effects };
  let s = state;
  if (heard > m.siteGeneration) {
    s = { ...s, records: { ...s.records, memory: { ...s.records.memory, siteGeneration: heard } } };
    effects.push({ kind: 'persist', key: RECORD_KEYS.memory, value: s.records.memory });
  }
  if (s.records.memory.relearning) return { state: s, effects };
  const why = `${from} has heard this arbitrator's records at generation ${heard}, ahead of these (${m.generation}): this state file is an older copy than what the site has seen (restored from a backup?), a decision may be missing from it`;
  s = startRelearning(s, now, why);
  effects.push(
    { kind: 'persist', key: RECORD_KEYS.memory, value: s.records.memory },
    {
      kind: 'log',
      level: 'error',
      event: 'memory_lost',
      msg: `${why}: relearning, nothing is promoted until every member of the last primary component has reported (or \`relearned --force\`)`,
      data: { from, heard, mine: m.generation },
    },
  );
  return { state: s, effects };
}

export function startRelearning(state: ArbitratorState, now: number, why: string): ArbitratorState {
  const memory = { ...state.records.memory, relearning: true, since: now, why: why.slice(0, 300) };
  return journal({ ...state, relearnHeard: {}, records: { ...state.records, memory } }, now, 'memory_lost', why);
}

/**
 * Galera names members by node uuid, which changes with every mariadbd start; the weights of
 * the members of a last primary component that cannot report now (the far side of a cut) come
 * from what their reports said before, so that mapping is kept durably.
 */
function learnUuids(state: ArbitratorState, from: PartyId, body: DbStatusReport, now: number): ArbitratorStep {
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
function trackLastPrimary(state: ArbitratorState, from: PartyId, body: DbStatusReport, now: number): ArbitratorStep {
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
function recordOutcome(state: ArbitratorState, from: PartyId, body: DbStatusReport, now: number): ArbitratorStep {
  const o = body.decision;
  if (!o || o.outcome === 'pending') return { state, effects: [] };
  const i = state.records.decisions.findIndex((d) => d.id === o.id && d.target === from);
  const d = state.records.decisions[i];
  if (!d || d.outcome !== 'pending') return { state, effects: [] };
  const settled = { ...d, outcome: o.outcome, outcomeReason: o.reason.slice(0, 200), outcomeAt: now, outcomeCode: o.code ?? null };
  const decisions = state.records.decisions.map((x, j) => (j === i ? settled : x));
  const words = { carried_out: 'carried out', refused: 'refused', failed: 'failed' }[o.outcome];
  const text = `${d.id} ${words} by ${from}${o.code ? ` (${o.code})` : ''}${o.reason ? `: ${o.reason}` : ''}`;
  const s = journal({ ...state, records: { ...state.records, decisions } }, now, `decision_${o.outcome}`, text);
  return {
    state: s,
    effects: [
      { kind: 'persist', key: RECORD_KEYS.decisions, value: decisions },
      {
        kind: 'log',
        level: o.outcome === 'carried_out' ? 'info' : 'warn',
        event: `decision_${o.outcome}`,
        msg: text,
        data: { decisionId: d.id, target: from, code: o.code ?? null, reason: o.reason },
      },
    ],
  };
}
