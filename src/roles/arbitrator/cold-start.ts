import type { PartyId } from '../../protocol/party.js';
import type { StartMariadb } from '../../protocol/verbs.js';
import { type CommonEffect, publish } from '../core.js';
import { changeDirectives } from './directives.js';
import { isFresh, labelOf } from './observations.js';
import { type DecisionRecord, RECORD_KEYS } from './records.js';
import type { DbserverInfo } from './settings.js';
import { type ArbitratorState, journal, type ArbitratorStep } from './state.js';
import { pruned } from './decisions.js';
import { nextGeneration } from './memory.js';

/**
 * The cold-start rule (docs/cold-start.md): when every mariadbd of the site is down, bring it
 * back once, from the most advanced node, never from an empty one. Pure: the core calls
 * `coldStartStep` after the promotion rule found nothing to do, and `operatorBootstrap` for
 * `minder command bootstrap`. Every order is a decision record, persisted before it is sent.
 *
 * Plans, in order of preference:
 *  - `recover_all`: every node crashed with gvwstate.dat intact and naming the same last primary
 *    view, with every member of it a node of the site: start them all normally and let Galera's own
 *    pc.recovery re-form that component (Galera's rule, and the fastest way back);
 *  - `bootstrap`: otherwise, once every node has reported, the node with the highest seqno of the
 *    history (ties: DC priority, then serial) bootstraps; an empty datadir, one of another cluster,
 *    or one that cannot be read is never chosen;
 *  - `join`: once the bootstrapped node is Primary and Synced, every other node is started once
 *    and joins by IST/SST.
 */
export type ColdStartPolicy = 'auto' | 'confirm' | 'off';

export interface ColdStartSettings {
  policy: ColdStartPolicy;
  maxAutomatic: number;
  windowMs: number;
}

export const DEFAULT_COLD_START: ColdStartSettings = { policy: 'auto', maxAutomatic: 3, windowMs: 3_600_000 };

export interface ColdStartNode {
  party: PartyId;
  dc: string;
  /** unheard: no fresh report; up: mariadbd runs; down: it does not. */
  status: 'unheard' | 'up' | 'down';
  seqno: number | null;
  /** Why there is no seqno, or why this node can never be chosen. */
  why: string | null;
  safeToBootstrap: boolean | null;
  stateUuid: string | null;
  viable: boolean;
  lastViewId: string | null;
}

export type ColdStartPlanKind = 'none' | 'wait' | 'recover_all' | 'bootstrap' | 'join' | 'in_progress';

export interface ColdStartPlan {
  kind: ColdStartPlanKind;
  /** For people: what the arbitrator will do next, and why. */
  text: string;
  targets: PartyId[];
  stateUuid: string | null;
  seqno: number | null;
  /** One bootstrap (or one pc.recovery round) per history: the decision key. */
  key: string | null;
  missing: PartyId[];
}

export interface ColdStartView {
  active: boolean;
  policy: ColdStartPolicy;
  plan: ColdStartPlan;
  nodes: ColdStartNode[];
}

export function coldStartSettings(state: ArbitratorState): ColdStartSettings {
  return state.settings.coldStart ?? DEFAULT_COLD_START;
}

function nodeOf(state: ArbitratorState, info: DbserverInfo, now: number): ColdStartNode {
  const h = state.reports[info.id];
  const base = { party: info.id, dc: info.dc, seqno: null, safeToBootstrap: null, stateUuid: null, viable: false, lastViewId: null };
  if (!h || !isFresh(state, h.receivedAt, now)) return { ...base, status: 'unheard', why: h ? 'no fresh report' : 'never reported since the arbitrator started' };
  const b = h.body;
  if (b.mariadb === 'up') return { ...base, status: 'up', seqno: b.wsrep?.lastCommitted ?? null, why: b.wsrep ? `mariadbd runs (${b.wsrep.clusterStatus}/${b.wsrep.localState})` : 'mariadbd runs' };
  const g = b.recovered;
  const dd = b.datadir;
  if (dd?.process) return { ...base, status: 'up', why: `a mariadbd process runs but does not answer SQL yet (${dd.process})` };
  const common = { ...base, status: 'down' as const, safeToBootstrap: g?.safeToBootstrap ?? null, stateUuid: g?.uuid ?? null, lastViewId: dd?.lastView?.viewId ?? null };
  if (!dd) return { ...common, why: g ? 'its dbserver does not report the datadir (an older version): never chosen automatically' : (b.error ?? 'no grastate.dat') };
  if (dd.state !== 'ok' || !g) return { ...common, why: `datadir ${dd.state}${dd.detail ? `: ${dd.detail}` : ''}: never chosen` };
  if (g.seqno >= 0) return { ...common, seqno: g.seqno, viable: true, why: null };
  if (dd.recovered && dd.recovered.uuid === g.uuid) return { ...common, seqno: dd.recovered.seqno, viable: true, why: null };
  return { ...common, viable: true, why: `grastate seqno -1 (crash); ${dd.recoverNote ?? 'no recovered position yet'}` };
}

function plan(kind: ColdStartPlanKind, text: string, o: Partial<ColdStartPlan> = {}): ColdStartPlan {
  return { kind, text, targets: [], stateUuid: null, seqno: null, key: null, missing: [], ...o };
}

function dcRank(state: ArbitratorState, dc: string): number {
  const i = state.settings.dcOrder.indexOf(dc);
  return i < 0 ? state.settings.dcOrder.length : i;
}

function serialOf(id: string): number {
  return Number(id.slice(id.indexOf(':') + 1));
}

/** Highest seqno first, then DC priority, then the lowest serial. */
export function compareForBootstrap(state: ArbitratorState, a: ColdStartNode, b: ColdStartNode): number {
  return (b.seqno ?? -2) - (a.seqno ?? -2) || dcRank(state, a.dc) - dcRank(state, b.dc) || serialOf(a.party) - serialOf(b.party);
}

function historyEpoch(state: ArbitratorState): number {
  return state.records.lastPrimary?.seenAt ?? 0;
}

function coldDecisions(state: ArbitratorState): DecisionRecord[] {
  return state.records.decisions.filter((d) => d.kind === 'bootstrap' || d.kind === 'start');
}

/** The newest bootstrap that was not refused. */
function latestBootstrap(state: ArbitratorState): DecisionRecord | undefined {
  return [...state.records.decisions].reverse().find((d) => d.kind === 'bootstrap' && d.outcome !== 'refused');
}

/** The bootstrap of the current history: none once a primary component was seen after it. */
function currentBootstrap(state: ArbitratorState): DecisionRecord | undefined {
  const b = latestBootstrap(state);
  return b && b.decidedAt >= historyEpoch(state) ? b : undefined;
}

/**
 * A start order that failed is sent again, at most this many more times, this long after its
 * failure: a start is always safe (a normal start joins, and pc.recovery re-forms a component only
 * with every member of it), while one member that never starts keeps a pc.recovery round, or a
 * join, waiting for good.
 */
export const START_RETRIES = 2;
export const START_RETRY_AFTER_MS = 10_000;

interface StartRetries {
  /** Failed starts due again now. */
  due: PartyId[];
  /** For people: the failed starts waiting for their retry, and those past their retries. */
  waiting: string[];
  exhausted: string[];
}

/** Of these start orders (one round, or one join phase), the failed ones to send again. */
function startRetries(starts: readonly DecisionRecord[], nodes: readonly ColdStartNode[], now: number): StartRetries {
  const out: StartRetries = { due: [], waiting: [], exhausted: [] };
  for (const target of [...new Set(starts.map((d) => d.target))]) {
    const mine = starts.filter((d) => d.target === target);
    const last = mine.at(-1) as DecisionRecord;
    if ((last.outcome !== 'failed' && last.outcome !== 'refused') || nodes.find((n) => n.party === target)?.status !== 'down') continue;
    const why = `${last.outcome}: ${last.outcomeReason ?? 'no reason given'}`;
    if (mine.length > START_RETRIES) out.exhausted.push(`${target} (${mine.length} start orders, the last ${why})`);
    // No countdown in the text: the plan's text is logged each time it changes.
    else if (now - (last.outcomeAt ?? last.decidedAt) < START_RETRY_AFTER_MS) out.waiting.push(`${target} again ${START_RETRY_AFTER_MS / 1000} s after its failure (${why})`);
    else out.due.push(target as PartyId);
  }
  return out;
}

function retryText(r: StartRetries, what: string): string {
  const parts = [];
  if (r.waiting.length) parts.push(`starting ${r.waiting.join(', ')}`);
  if (r.exhausted.length)
    parts.push(
      `${r.exhausted.join(', ')} could not be started: ${what} waits for it; fix it and start its mariadbd by hand, or stop every mariadbd and \`minder command bootstrap NODE --force --reason "…"\``,
    );
  return parts.join('; ');
}

function pendingCold(state: ArbitratorState, now: number): DecisionRecord | undefined {
  const t = state.settings.timings;
  return coldDecisions(state).find((d) => d.outcome === 'pending' && now - d.decidedAt < d.validForMs + t.staleAfterMs);
}

/** What a cold start would do now, judged from the fresh reports alone. */
export function coldStartView(state: ArbitratorState, now: number): ColdStartView {
  const cs = coldStartSettings(state);
  const nodes = state.settings.dbservers.map((d) => nodeOf(state, d, now));
  const view = (p: ColdStartPlan, active: boolean): ColdStartView => ({ active, policy: cs.policy, plan: p, nodes });
  const up = nodes.filter((n) => n.status === 'up');
  const primary = state.settings.dbservers.filter((d) => {
    const h = state.reports[d.id];
    return h && isFresh(state, h.receivedAt, now) && h.body.wsrep?.clusterStatus === 'Primary';
  });

  const last = latestBootstrap(state);
  // The join phase of a bootstrap lasts one window: a node stopped by hand long after is not ours to start.
  if (last && last.outcome === 'carried_out' && now - last.decidedAt < cs.windowMs) {
    const boot = last;
    const h = state.reports[boot.target];
    const w = h && isFresh(state, h.receivedAt, now) ? h.body.wsrep : null;
    const starts = coldDecisions(state).filter((d) => d.kind === 'start' && d.decidedAt >= boot.decidedAt);
    const started = new Set(starts.map((d) => d.target));
    const retries = startRetries(starts, nodes, now);
    const toStart = [...(boot.members.filter((p) => p !== boot.target && !started.has(p as PartyId) && nodes.find((n) => n.party === p)?.status === 'down') as PartyId[]), ...retries.due];
    if (toStart.length === 0 && (retries.waiting.length || retries.exhausted.length))
      return view(plan('in_progress', `${boot.id}: ${boot.target} bootstrapped; ${retryText(retries, 'the site')}`), true);
    if (toStart.length > 0 && (!w || w.clusterStatus !== 'Primary' || w.localState !== 'Synced')) {
      return view(
        plan(
          'in_progress',
          `${boot.id}: ${boot.target} bootstrapped; waiting for it to be Primary and Synced (${w ? `${w.clusterStatus}/${w.localState}` : 'no fresh report'}) before starting ${labelOf(toStart)}`,
        ),
        true,
      );
    }
    if (toStart.length > 0)
      return view(
        plan('join', `${boot.target} is Primary and Synced after ${boot.id}: start ${labelOf(toStart)}, which join by IST/SST`, {
          targets: toStart,
          stateUuid: boot.view.stateUuid,
          key: `join:${boot.id}`,
        }),
        true,
      );
  }
  if (primary.length) return view(plan('none', `a primary component exists (${labelOf(primary.map((d) => d.id))})`), false);
  const boot = currentBootstrap(state);
  const inFlight = pendingCold(state, now);
  if (inFlight) return view(plan('in_progress', `${inFlight.id} (${inFlight.kind} to ${inFlight.target}) is being carried out`), true);
  if (boot) {
    return view(
      plan(
        'wait',
        `${boot.id} bootstrapped ${boot.target} for this history (${boot.outcome}${boot.outcomeReason ? `: ${boot.outcomeReason}` : ''}) and no primary component was seen since: one bootstrap per history; the operator decides (minder command bootstrap NODE --force --reason "…" after checking every node by hand)`,
      ),
      true,
    );
  }
  const down = nodes.filter((n) => n.status === 'down');
  if (down.length === 0) return view(plan('none', 'no mariadbd is reported down'), false);
  // A pc.recovery round under way with a member whose start failed: the others wait for it.
  const round = recoveryRound(state, now);
  if (round && up.length) {
    const retries = startRetries(round.starts, nodes, now);
    if (retries.due.length)
      return view(
        plan('join', `pc.recovery round ${round.key}: start ${labelOf(retries.due)} again, which the round's other members wait for`, {
          targets: retries.due,
          stateUuid: round.starts[0]?.view.stateUuid ?? null,
          key: round.key,
        }),
        true,
      );
    if (retries.waiting.length || retries.exhausted.length) return view(plan('wait', `pc.recovery round ${round.key}: ${retryText(retries, 'the round')}`), true);
  }
  if (up.length) return view(plan('none', `mariadbd runs on ${labelOf(up.map((n) => n.party))}: not a cold start (the promotion rule judges running nodes)`), false);

  const missing = nodes.filter((n) => n.status === 'unheard').map((n) => n.party);
  if (missing.length) {
    return view(
      plan(
        'wait',
        `waiting for ${labelOf(missing)} (no fresh report): every node must report its position before a cold start. If it is gone for good: minder command bootstrap NODE --force --reason "…"`,
        { missing },
      ),
      true,
    );
  }
  const recorded = state.records.lastPrimary?.stateUuid ?? null;
  const uuids = [...new Set(down.filter((n) => n.viable && n.stateUuid).map((n) => n.stateUuid as string))];
  const stateUuid = recorded ?? (uuids.length === 1 ? (uuids[0] as string) : null);
  if (stateUuid === null)
    return view(
      plan(
        'wait',
        uuids.length
          ? `the datadirs belong to ${uuids.length} different clusters (${uuids.join(', ')}) and no primary component was ever seen: the operator decides`
          : 'no datadir can be bootstrapped from: the operator must restore one',
      ),
      true,
    );
  for (const n of nodes) {
    if (n.viable && n.stateUuid !== stateUuid) {
      n.viable = false;
      n.why = `datadir of another cluster (${n.stateUuid ?? '?'}, the site's is ${stateUuid}): never chosen`;
    }
  }
  const viable = nodes.filter((n) => n.viable);
  if (viable.length === 0) return view(plan('wait', 'no datadir can be bootstrapped from (every one is empty, of another cluster or unreadable): the operator must restore one'), true);

  const views = new Set(viable.map((n) => n.lastViewId));
  const viewId = viable[0]?.lastViewId ?? null;
  const everyNodeInOneView = viable.length === nodes.length && views.size === 1 && viewId !== null && pcRecoveryFits(state, nodes);
  const recoverKey = `recover:${stateUuid}:${viewId}:${historyEpoch(state)}`;
  // One pc.recovery round per history: if it did not bring the component back, bootstrap.
  const triedRecovery = state.records.decisions.some((d) => d.key === recoverKey);
  if (everyNodeInOneView && !triedRecovery) {
    return view(
      plan('recover_all', `every node crashed with gvwstate.dat naming the same last primary view (${viewId}): start them all and let Galera's pc.recovery re-form it`, {
        targets: nodes.map((n) => n.party),
        stateUuid,
        key: recoverKey,
      }),
      true,
    );
  }
  const unknown = viable.filter((n) => n.seqno === null);
  if (unknown.length) return view(plan('wait', `the position of ${labelOf(unknown.map((n) => n.party))} is not known yet (${unknown.map((n) => n.why).join('; ')})`), true);
  const best = [...viable].sort((a, b) => compareForBootstrap(state, a, b))[0] as ColdStartNode;
  const others = nodes.filter((n) => n.party !== best.party);
  const text = `bootstrap ${best.party} (seqno ${best.seqno}, the highest of ${viable.length} datadir(s) of ${stateUuid.slice(0, 8)}; ties: DC priority, then serial), then start ${labelOf(others.map((n) => n.party))} once it is Primary and Synced`;
  return view(plan('bootstrap', text, { targets: [best.party], stateUuid, seqno: best.seqno, key: `coldstart:${stateUuid}:${historyEpoch(state)}` }), true);
}

/** The start orders of this history's pc.recovery round, while its window lasts. */
function recoveryRound(state: ArbitratorState, now: number): { key: string; starts: DecisionRecord[] } | null {
  const epoch = historyEpoch(state);
  const last = [...state.records.decisions].reverse().find((d) => d.kind === 'start' && d.key.startsWith('recover:') && d.decidedAt >= epoch);
  if (!last || now - last.decidedAt > coldStartSettings(state).windowMs) return null;
  return { key: last.key, starts: state.records.decisions.filter((d) => d.kind === 'start' && d.key === last.key) };
}

/** pc.recovery re-forms a component only when every member of the saved view comes back. */
function pcRecoveryFits(state: ArbitratorState, nodes: ColdStartNode[]): boolean {
  const members = new Set<string>();
  const owners = new Set<string>();
  for (const info of state.settings.dbservers) {
    const dd = state.reports[info.id]?.body.datadir;
    if (!dd?.lastView || !dd.myUuid) return false;
    for (const m of dd.lastView.members) members.add(m);
    owners.add(dd.myUuid);
  }
  return nodes.length > 0 && members.size === owners.size && [...members].every((m) => owners.has(m));
}

function startBody(d: DecisionRecord, seqno: number): StartMariadb {
  return {
    decisionId: d.id,
    mode: d.kind === 'bootstrap' ? 'bootstrap' : 'start',
    stateUuid: d.view.stateUuid,
    seqno,
    forced: d.forced,
    reason: d.reason.slice(0, 200),
    // The dbserver judges it by its wall clock: the wall time of the decision, as for make_primary.
    decidedAt: d.decidedAtWall ?? d.decidedAt,
    validForMs: d.validForMs,
  };
}

export function startOrderOf(d: DecisionRecord): StartMariadb {
  return startBody(d, d.seqno ?? -1);
}

interface OrderOptions {
  kind: 'bootstrap' | 'start';
  target: PartyId;
  key: string;
  stateUuid: string;
  seqno: number;
  members: PartyId[];
  forced: boolean;
  operator: string | null;
  requestId: string | null;
  reason: string;
}

/** Records the orders (one persist, before any is sent), then sends them. */
function order(state: ArbitratorState, now: number, orders: OrderOptions[]): ArbitratorStep & { records: DecisionRecord[] } {
  const records: DecisionRecord[] = orders.map((o, i) => ({
    id: `cs-${now.toString(36)}-${state.records.decisions.length + i + 1}`,
    kind: o.kind,
    key: o.key,
    lastPrimary: null,
    view: { stateUuid: o.stateUuid, members: [], lastPrimaryViewId: null },
    members: o.members,
    target: o.target,
    forced: o.forced,
    operator: o.operator,
    requestId: o.requestId,
    reason: o.reason.slice(0, 400),
    decidedAt: now,
    validForMs: state.settings.timings.makePrimaryValidForMs,
    seqno: o.seqno,
    outcome: 'pending',
    outcomeReason: null,
    outcomeAt: null,
    outcomeCode: null,
    withdrawn: null,
    decidedAtWall: state.clock.offset === null ? now : now + state.clock.offset,
    expiredAt: null,
    adopted: false,
    noEffectAt: null,
    alsoSpends: [],
    confirmedLost: [],
  }));
  const decisions = pruned([...state.records.decisions, ...records]);
  // A bootstrap spends history as a promotion does: the generation grows before it is sent.
  const grown = nextGeneration({ ...state, records: { ...state.records, decisions } });
  let s: ArbitratorState = grown.state;
  const effects: CommonEffect[] = [{ kind: 'persist', key: RECORD_KEYS.decisions, value: decisions }, grown.effect];
  for (const r of records) {
    const text = `${r.id}: ${r.kind === 'bootstrap' ? 'BOOTSTRAP' : 'start'} ${r.target}${r.forced ? ' (FORCED by the operator)' : ''}: ${r.reason}`;
    s = journal(s, now, r.kind === 'bootstrap' ? 'cold_start_bootstrap' : 'cold_start_start', text);
    effects.push(publish(r.target, 'start_mariadb', startOrderOf(r)));
    effects.push({
      kind: 'log',
      level: 'warn',
      event: r.kind === 'bootstrap' ? 'cold_start_bootstrap' : 'cold_start_start',
      msg: text,
      data: { decisionId: r.id, target: r.target, key: r.key, seqno: r.seqno, forced: r.forced, operator: r.operator },
    });
  }
  return { state: s, effects, records };
}

/** Automatic promotions and bootstraps in the window (a pc.recovery round counts once). */
export function automaticInWindow(state: ArbitratorState, now: number): number {
  const w = coldStartSettings(state).windowMs;
  const keys = new Set<string>();
  for (const d of state.records.decisions) {
    if (d.operator !== null || d.forced || now - d.decidedAt > w) continue;
    if (d.kind === 'start' && !d.key.startsWith('recover:')) continue;
    keys.add(d.kind === 'make_primary' ? d.id : d.key);
  }
  return keys.size;
}

/** Past the cap the arbitrator pauses itself, loudly: something keeps failing and a human must look. */
export function capReached(state: ArbitratorState, now: number, what: string): ArbitratorStep | null {
  const cs = coldStartSettings(state);
  const n = automaticInWindow(state, now);
  if (n < cs.maxAutomatic || state.records.directives.paused) return null;
  const why = `${n} automatic promotions/bootstraps within ${Math.round(cs.windowMs / 60_000)} min (the cap is ${cs.maxAutomatic}); not doing "${what}"`;
  const r = changeDirectives(
    state,
    now,
    { paused: true, pausedBy: 'arbitrator (cap)', pausedReason: why.slice(0, 200), pausedAt: now },
    'paused_by_cap',
    `automatic actions PAUSED by the arbitrator itself: ${why}; 'resume' after looking at what keeps failing`,
  );
  return { state: r.state, effects: [...r.effects, { kind: 'log', level: 'error', event: 'automatic_cap_reached', msg: `PAUSED: ${why}`, data: { count: n, cap: cs.maxAutomatic } }] };
}

/**
 * Runs after the promotion rule, when it decided nothing: acts on the plan per the policy
 * (auto: at once; confirm: waits for the operator; off: reports only).
 */
export function coldStartStep(state: ArbitratorState, now: number): ArbitratorStep & { view: ColdStartView } {
  const v = coldStartView(state, now);
  let s: ArbitratorState = state;
  const effects: CommonEffect[] = [];
  const p = v.plan;
  const cs = coldStartSettings(state);
  const act = p.kind === 'join' || p.kind === 'recover_all' || p.kind === 'bootstrap';
  let note = p.text;
  if (act && p.kind !== 'join' && cs.policy !== 'auto') {
    note =
      cs.policy === 'confirm'
        ? `PROPOSED (coldStart: confirm): ${p.text}; type \`minder command bootstrap confirm\` to carry it out`
        : `coldStart: off, nothing is started: ${p.text} (by hand, or \`minder command bootstrap NODE --force --reason "…"\`)`;
  } else if (act && p.kind !== 'join' && state.records.directives.paused) {
    note = `automatic actions are paused: ${p.text}`;
  } else if (act) {
    const cap = p.kind === 'join' ? null : capReached(s, now, p.text);
    if (cap) {
      s = cap.state;
      effects.push(...cap.effects);
      note = `automatic actions paused by the cap: ${p.text}`;
    } else {
      const r = carryOut(s, now, p, { forced: false, operator: null, requestId: null, reason: p.text });
      s = r.state;
      effects.push(...r.effects);
    }
  }
  const changed = s.coldStart?.note !== note;
  s = { ...s, coldStart: { ...v, note } };
  if (changed && v.active && !act) {
    s = journal(s, now, 'cold_start', note);
    effects.push({ kind: 'log', level: 'warn', event: 'cold_start_waiting', msg: `cold start: ${note}`, data: { plan: p.kind, missing: p.missing } });
  }
  return { state: s, effects, view: v };
}

function carryOut(state: ArbitratorState, now: number, p: ColdStartPlan, o: { forced: boolean; operator: string | null; requestId: string | null; reason: string }): ArbitratorStep {
  const stateUuid = p.stateUuid ?? '';
  const key = p.key ?? `coldstart:${stateUuid}`;
  const all = state.settings.dbservers.map((d) => d.id);
  if (p.kind === 'bootstrap') {
    const target = p.targets[0] as PartyId;
    return order(state, now, [{ kind: 'bootstrap', target, key, stateUuid, seqno: p.seqno ?? -1, members: all, ...o }]);
  }
  return order(
    state,
    now,
    p.targets.map((target) => ({ kind: 'start' as const, target, key, stateUuid, seqno: -1, members: all, ...o })),
  );
}

export interface BootstrapRequest {
  target: string;
  force: boolean;
  confirm: boolean;
  operator: string;
  reason: string;
  requestId: string;
}

/**
 * `minder command bootstrap confirm` carries out the rule's own proposal; `bootstrap NODE --force
 * --reason "…"` bootstraps NODE although nodes are missing or positions unknown — the operator
 * vouches that the missing nodes are gone. Never from an empty datadir, one of another cluster,
 * or while any mariadbd runs; never a second bootstrap of one history.
 */
export function operatorBootstrap(state: ArbitratorState, req: BootstrapRequest, now: number): { state: ArbitratorState; effects: CommonEffect[]; ok: boolean; message: string } {
  const refuse = (message: string) => ({ state, effects: [], ok: false, message });
  const again = state.records.decisions.find((d) => d.requestId === req.requestId && d.operator === req.operator && (d.kind === 'bootstrap' || d.kind === 'start'));
  if (again) return { state, effects: [], ok: true, message: `${again.id}: ${again.kind} ${again.target} (${again.outcome})` };
  const v = coldStartView(state, now);
  if (req.confirm) {
    const p = v.plan;
    if (p.kind !== 'bootstrap' && p.kind !== 'recover_all') return refuse(`nothing to confirm: ${p.text}`);
    const r = carryOut(state, now, p, { forced: false, operator: req.operator, requestId: req.requestId, reason: `confirmed by ${req.operator}: ${p.text}` });
    return { ...r, ok: true, message: `confirmed: ${p.text}; watch \`status\`` };
  }
  if (!req.force) return refuse('say `bootstrap confirm` to carry out the proposed plan, or `bootstrap NODE --force --reason "…"` to choose a node yourself');
  if (req.reason.trim() === '') return refuse('a forced bootstrap needs a reason (--reason "…"); it is logged with your name');
  const info = state.settings.dbservers.find((d) => d.id === req.target || d.nodeName === req.target);
  if (!info) return refuse(`${req.target} is not a dbserver of this site (${state.settings.dbservers.map((d) => d.id).join(', ')})`);
  const up = v.nodes.filter((n) => n.status === 'up');
  if (up.length) return refuse(`mariadbd runs on ${labelOf(up.map((n) => n.party))}: no bootstrap while any mariadbd runs (it may be, or become, part of a primary component)`);
  const inFlight = pendingCold(state, now);
  if (inFlight) return refuse(`${inFlight.id} (${inFlight.kind} to ${inFlight.target}) is still being carried out`);
  const boot = currentBootstrap(state);
  if (boot) return refuse(`${boot.id} already bootstrapped ${boot.target} for this history (${boot.outcome}) and no primary component was seen since: a second bootstrap could make two primaries`);
  const n = v.nodes.find((x) => x.party === info.id) as ColdStartNode;
  if (n.status !== 'down') return refuse(`${info.id}: ${n.why ?? 'no fresh report'}; a bootstrap needs its dbserver's fresh report of a stopped mariadbd`);
  const recorded = state.records.lastPrimary?.stateUuid ?? null;
  if (!n.viable) return refuse(`${info.id}: ${n.why ?? 'its datadir cannot be bootstrapped from'}`);
  if (recorded && n.stateUuid !== recorded) return refuse(`${info.id}: datadir of another cluster (${n.stateUuid}, the site's is ${recorded}): never bootstrapped from`);
  const higher = v.nodes.filter((x) => x.viable && x.seqno !== null && n.seqno !== null && x.seqno > n.seqno);
  const missing = v.nodes.filter((x) => x.status === 'unheard').map((x) => x.party);
  const notes = [
    missing.length ? `missing: ${labelOf(missing)}` : '',
    higher.length ? `BELOW ${labelOf(higher.map((x) => x.party))} (seqno ${higher.map((x) => x.seqno).join(', ')}): their newer transactions are lost` : '',
    n.seqno === null ? 'its position is unknown' : '',
  ].filter(Boolean);
  const reason = `forced bootstrap of ${info.id} (seqno ${n.seqno ?? '?'}) by ${req.operator}: ${req.reason}${notes.length ? `; ${notes.join('; ')}` : ''}`;
  const p = plan('bootstrap', reason, { targets: [info.id], stateUuid: n.stateUuid, seqno: n.seqno ?? -1, key: `coldstart:${n.stateUuid ?? ''}:${historyEpoch(state)}` });
  const r = carryOut(state, now, p, { forced: true, operator: req.operator, requestId: req.requestId, reason });
  return {
    ...r,
    ok: true,
    message: `${r.state.records.decisions.at(-1)?.id}: bootstrap ${info.id} (seqno ${n.seqno ?? '?'})${notes.length ? ` — ${notes.join('; ')}` : ''}; the others start once it is Primary and Synced; watch \`status\``,
  };
}
