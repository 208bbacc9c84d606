import type { LogEvent } from '../../log-events.js';
import { checkFence, LEADER_FENCE_KEY } from '../fence.js';
import type { PartyId } from '../../protocol/party.js';
import { sameView, viewKey, viewOf } from '../../protocol/view.js';
import type { ArbiterStamp, CarriedDecision, DecisionOutcome, Directives, MakePrimary, OutcomeCode, StartMariadb, WsrepNotify } from '../../protocol/verbs.js';
import { type CommonEffect, type CommonEvent, publish, type RoleCore, type StepResult } from '../core.js';
import { HOOK_GRACE_MS, type HookHealth, hookReport, initialHookHealth, onGraceOver, onPush, onReading } from './hook-health.js';
import { type Push, type Reading, reportKey, reportOf } from './reading.js';
import { type BootstrapDone, judgeStartOrder, onStartDone, onStartMariadb, type PendingStart, startOrderAtStart } from './start-orders.js';

/**
 * The dbserver's decision core: pure (state, event, now) → (state, effects).
 *
 * Reports: every reading is reported at once when it differs from the last report sent, and
 * every reading taken for the interval or for a request_status is reported regardless.
 * A hook push asks for a reading at once, then follow-up readings until the server agrees with
 * the push (mariadbd may run the hook before its status variables show the new view).
 *
 * make_primary (docs/safety.md, rule 8 and the window between check and pc.bootstrap): carried out only on a reading taken after the decision
 * arrived, showing this node non-Primary in exactly the decision's view; pc.bootstrap is retried
 * (it is ignored outside non-Primary and can fail with EAGAIN) until Primary or the decision's
 * validity ends. A decision id is acted on once: its outcome is persisted before it is reported,
 * and a decision found pending at start-up is concluded as failed, never resumed.
 */

export interface DbserverSettings {
  self: PartyId;
  dc: string;
  /** The arbitrator and every dbclient of the site. */
  recipients: readonly PartyId[];
  reportIntervalMs: number;
  /** Pause between pc.bootstrap attempts of one decision. */
  bootstrapRetryMs: number;
  /** Pause between follow-up readings after a hook push, and how many at most. */
  followUpMs: number;
  followUpMax: number;
  /** Readings after a status-file ring that shows nothing new yet (followUpMs apart). */
  ringFollowUps: number;
  /** How many concluded decision ids are remembered (and persisted). */
  decisionsKept: number;
  /**
   * The site's bound on clock differences (timings.maxClockSkew): a start order is void past
   * decidedAt + validFor + this, and a decision decided further in the future of this clock is
   * refused (the clocks cannot be trusted to expire it).
   */
  maxClockSkewMs: number;
  /** The site's arbitrators run on etcd: make_primary and directives must carry a fencing token (src/roles/fence.ts). */
  fenced?: boolean;
}

/** How long an arbitrator process counts as heard lately (reported in `arbiters`). */
export const ARBITER_ECHO_MS = 30_000;
/** Decisions acted on, kept durably (the newest CARRIED_REPORTED of them go in every report). */
export const CARRIED_KEPT = 64;
export const CARRIED_REPORTED = 8;

export const DEFAULT_TUNING = { bootstrapRetryMs: 500, followUpMs: 50, followUpMax: 40, ringFollowUps: 10, decisionsKept: 256, maxClockSkewMs: 60_000 } as const;

export type Phase = 'checking' | 'bootstrapping' | 'verifying' | 'backoff';

export interface PendingDecision {
  decision: MakePrimary;
  from: PartyId;
  receivedAt: number;
  deadline: number;
  phase: Phase;
  /** Readings with seq below this were begun before the phase began: not fresh enough. */
  minSeq: number;
  attempts: number;
  lastError: string | null;
  /** Readings taken again because one was taken mid-change (at most MID_CHANGE_READS). */
  midChangeReads: number;
}

/** A decision waits this many re-readings at most for a view change to finish before refusing. */
export const MID_CHANGE_READS = 10;

export interface DbserverState {
  reading: Reading | null;
  nextSeq: number;
  inFlight: number | null;
  /** Another reading is wanted as soon as the one in flight returns. */
  queued: boolean;
  /** The next reading is reported even if nothing changed (interval, request_status). */
  reportDue: boolean;
  lastReportKey: string | null;
  push: Push | null;
  followUpsLeft: number;
  /**
   * Readings left after a wsrep_status_file ring until one shows something new: mariadbd writes
   * the file at the change, possibly a moment before its status variables move.
   */
  ringsLeft: number;
  /** Concluded decisions, oldest first, bounded; persisted under DECISIONS_KEY. */
  decisions: DecisionOutcome[];
  /** Persisted under PENDING_KEY. */
  pending: PendingDecision | null;
  directives: Directives | null;
  /** Whether mariadbd's wsrep_notify_cmd hook reaches us (hook-health.ts); reported. */
  hook: HookHealth;
  /** A cold-start order being carried out (start-orders.ts); persisted under START_KEY. */
  pendingStart: PendingStart | null;
  /** Every bootstrap this node ran (or began to run); persisted under BOOTSTRAPS_KEY. */
  bootstraps: BootstrapDone[];
  /**
   * Decisions this node ran pc.bootstrap for, oldest first, persisted under CARRIED_KEY before
   * the first SET GLOBAL: what an arbitrator that lost its records re-learns (docs/safety.md).
   */
  carried: CarriedDecision[];
  /** Arbitrator processes heard, with this clock's time of the last word (ARBITER_ECHO_MS). */
  arbiters: Array<ArbiterStamp & { at: number }>;
  /** The newest arbitrator process ever heard, persisted under ARBITER_KEY. */
  newestArbiter: ArbiterStamp | null;
  /** Per arbitrator party, the highest incarnation and generation heard (FENCE_KEY): older make_primary is refused. */
  fences: ArbiterFences;
  /** The highest leader fencing token seen (etcd store; persisted under LEADER_FENCE_KEY), 0 if none. */
  fence?: number;
  /** make_primary and directives refused for an older token, since start. */
  fencedRefusals?: number;
}

export const DECISIONS_KEY = 'dbserver.decisions';
export const PENDING_KEY = 'dbserver.pending';
export const START_KEY = 'dbserver.pendingStart';
export const BOOTSTRAPS_KEY = 'dbserver.bootstraps';
export const CARRIED_KEY = 'dbserver.carried';
export const ARBITER_KEY = 'dbserver.newestArbiter';
export const FENCE_KEY = 'dbserver.arbiterFences';

/**
 * What each arbitrator party has been heard at: a make_primary stamped below it comes from an
 * older process of that arbitrator (a twin, a zombie) or from an older copy of its records, and
 * is refused (docs/safety.md, "Fencing old arbitrator processes").
 */
export type ArbiterFences = Record<string, { incarnation: number; generation: number }>;

export interface DurableExtras {
  carried?: CarriedDecision[];
  newestArbiter?: ArbiterStamp | null;
  fences?: ArbiterFences;
  pendingStart?: PendingStart | null;
  bootstraps?: BootstrapDone[];
}

export type DbserverEvent =
  | { kind: 'observed'; reading: Reading }
  | { kind: 'bootstrap_done'; decisionId: string; attempt: number; ok: boolean; error: string | null }
  /** Something the down report carries changed (a --wsrep-recover finished): read and report. */
  | { kind: 'datadir_changed' }
  /** The start or bootstrap command of a cold-start order returned. */
  | { kind: 'start_done'; decisionId: string; ok: boolean; error: string | null }
  /** The executor's connection to mariadbd dropped between readings: mariadbd may be gone. */
  | { kind: 'connection_lost' }
  /** mariadbd rewrote its wsrep_status_file: it does so on every state change (docs/dbserver.md). */
  | { kind: 'status_file_changed' }
  /** A line from the shell hook on the dbserver's unix socket, checked (hook-socket.ts). */
  | { kind: 'hook_line'; notify: WsrepNotify }
  /** mariadbd's wsrep_notify_cmd as read on a new connection ('' when unset). */
  | { kind: 'notify_cmd'; cmd: string }
  /**
   * A newer site config is in force (recipients, interval): the daemon runs a new core with the
   * carried state, whose timers the old host cancelled.
   */
  | { kind: 'reconfigured'; changes: string[] };

export type DbserverEffect =
  | { kind: 'read_status'; seq: number; reason: string }
  | { kind: 'bootstrap'; decisionId: string; attempt: number }
  | { kind: 'start_mariadb'; decisionId: string; mode: StartMariadb['mode'] };

type Effect = CommonEffect | DbserverEffect;
type Event = CommonEvent | DbserverEvent;

export function initialState(decisions: DecisionOutcome[] = [], pending: PendingDecision | null = null, extras: DurableExtras = {}): DbserverState {
  return {
    reading: null,
    nextSeq: 1,
    inFlight: null,
    queued: false,
    reportDue: false,
    lastReportKey: null,
    push: null,
    followUpsLeft: 0,
    ringsLeft: 0,
    decisions,
    pending,
    directives: null,
    hook: initialHookHealth(),
    pendingStart: extras.pendingStart ?? null,
    bootstraps: extras.bootstraps ?? [],
    carried: extras.carried ?? [],
    arbiters: [],
    newestArbiter: extras.newestArbiter ?? null,
    fences: extras.fences ?? {},
  };
}

/** Which arbitrator is newer: by incarnation, then by instance (any fixed order will do). */
function newerArbiter(a: ArbiterStamp, b: ArbiterStamp | null): boolean {
  if (!b) return true;
  return a.incarnation > b.incarnation || (a.incarnation === b.incarnation && a.instance > b.instance);
}

const T_REPORT = 'report';
const T_RING = 'status_file_follow_up';
const T_FOLLOW_UP = 'follow_up';
const T_RETRY = 'bootstrap_retry';
const T_DEADLINE = 'decision_deadline';
const T_HOOK = 'hook_grace';
const T_RECHECK = 'decision_recheck';

export class DbserverStep {
  readonly effects: Effect[] = [];
  private reported = false;
  constructor(
    public s: DbserverState,
    readonly now: number,
    readonly cfg: DbserverSettings,
    /** The wall clock: only for what crosses processes (a decision's decided-at). */
    readonly wall: number = now,
  ) {}

  log(level: 'debug' | 'info' | 'warn' | 'error', event: LogEvent, msg: string, data?: Record<string, unknown>): void {
    this.effects.push({ kind: 'log', level, event, msg, ...(data ? { data } : {}) });
  }

  /** Asks for a reading; at most one is in flight, and requests meanwhile collapse into one. */
  read(reason: string): void {
    if (this.s.inFlight !== null) {
      this.s = { ...this.s, queued: true };
      return;
    }
    const seq = this.s.nextSeq;
    this.s = { ...this.s, inFlight: seq, nextSeq: seq + 1, queued: false };
    this.effects.push({ kind: 'read_status', seq, reason });
  }

  latestDecision(): DecisionOutcome | null {
    const ps = this.s.pendingStart;
    if (ps) return { id: ps.order.decisionId, outcome: 'pending', reason: ps.phase === 'starting' ? `${ps.order.mode} command running` : 'awaiting a fresh reading', at: ps.receivedAt };
    const p = this.s.pending;
    if (p) {
      const reason = p.attempts > 0 ? `pc.bootstrap attempt ${p.attempts}${p.lastError ? ` (${p.lastError})` : ''}` : 'awaiting a fresh reading';
      return { id: p.decision.decisionId, outcome: 'pending', reason, at: p.receivedAt };
    }
    return this.s.decisions.at(-1) ?? null;
  }

  /** Sends the report of the current reading to everyone if it changed, or if one is due. */
  report(force: boolean): void {
    const r = this.s.reading;
    if (!r) return;
    const rep = { ...reportOf(r, this.s.push, this.cfg.dc, this.latestDecision()), hook: hookReport(this.s.hook) };
    rep.carried = this.s.carried.slice(-CARRIED_REPORTED);
    rep.arbiters = this.recentArbiters();
    const d = this.s.directives;
    if (d) rep.held = { epoch: d.epoch, drained: [...d.drained], paused: d.paused, writer: d.writer };
    if (this.s.newestArbiter) rep.newestArbiter = this.s.newestArbiter;
    const key = reportKey(rep);
    const changed = key !== this.s.lastReportKey;
    // One report per step at most: the outcome of a decision and the reading that led to it go together.
    if (!changed && (!force || this.reported)) return;
    this.reported = true;
    this.s = { ...this.s, lastReportKey: key };
    for (const to of this.cfg.recipients) this.effects.push(publish(to, 'db_status_report', rep));
    this.log(changed ? 'info' : 'debug', 'report_sent', changed ? 'reported a changed state' : 'reported (interval or request)', {
      changed,
      mariadb: rep.mariadb,
      clusterStatus: rep.wsrep?.clusterStatus ?? null,
      localState: rep.wsrep?.localState ?? null,
      size: rep.wsrep?.clusterSize ?? null,
      observedAt: rep.observedAt,
    });
  }

  recentArbiters(): ArbiterStamp[] {
    return this.s.arbiters
      .filter((a) => this.now - a.at < ARBITER_ECHO_MS)
      .sort((a, b) => a.incarnation - b.incarnation || (a.instance < b.instance ? -1 : 1))
      .slice(-4)
      .map((a) => ({ incarnation: a.incarnation, instance: a.instance, ...(a.party !== undefined ? { party: a.party } : {}) }));
  }

  /**
   * Why a make_primary from this arbitrator process must be refused: the party has since been
   * heard at a newer incarnation (this process is older than one that spoke since) or a higher
   * generation (its records lack a decision it announced). Null: not fenced.
   */
  fencedOut(from: PartyId, stamp: ArbiterStamp | undefined): string | null {
    const f = this.s.fences[from];
    if (!stamp || !f) return null;
    if (stamp.incarnation < f.incarnation)
      return `fenced: sent by ${from} incarnation ${stamp.incarnation}, older than incarnation ${f.incarnation} heard since (a second or stale arbitrator process)`;
    if ((stamp.generation ?? 0) < f.generation)
      return `fenced: sent by ${from} at records generation ${stamp.generation ?? 0}, behind generation ${f.generation} heard since (an old copy of its state file)`;
    return null;
  }

  /** Notes which arbitrator process spoke (in memory; the newest ever, durably). */
  heardArbiter(stamp: ArbiterStamp | undefined, from?: PartyId): void {
    if (!stamp) return;
    if (from !== undefined) {
      const f = this.s.fences[from];
      const next = { incarnation: Math.max(f?.incarnation ?? 0, stamp.incarnation), generation: Math.max(f?.generation ?? 0, stamp.generation ?? 0) };
      if (!f || next.incarnation !== f.incarnation || next.generation !== f.generation) {
        this.s = { ...this.s, fences: { ...this.s.fences, [from]: next } };
        this.effects.push({ kind: 'persist', key: FENCE_KEY, value: this.s.fences });
      }
    }
    // Tagged with the party it came from: several arbitrators of one site (a leader store) are not duplicates of each other.
    const tagged: ArbiterStamp = from !== undefined ? { ...stamp, party: from } : stamp;
    const others = this.s.arbiters.filter((a) => a.instance !== stamp.instance && this.now - a.at < ARBITER_ECHO_MS);
    const rivals = others.filter((a) => a.party === undefined || tagged.party === undefined || a.party === tagged.party);
    if (rivals.length && !this.s.arbiters.some((a) => a.instance === stamp.instance)) {
      this.log(
        'warn',
        'arbiter_heard',
        `a second arbitrator process speaks: incarnation ${stamp.incarnation} instance ${stamp.instance}, besides ${rivals.map((a) => `${a.incarnation}/${a.instance}`).join(', ')}`,
        { stamp, others: rivals.map((a) => ({ incarnation: a.incarnation, instance: a.instance })) },
      );
    }
    this.s = { ...this.s, arbiters: [...others, { ...tagged, at: this.now }].slice(-8) };
    const prev = this.s.newestArbiter;
    // The highest generation ever heard is kept whoever sent it: an arbitrator behind it runs on
    // an old copy of its records (docs/safety.md, "A restored old copy").
    const generation = Math.max(prev?.generation ?? 0, stamp.generation ?? 0);
    const newer = newerArbiter(stamp, prev);
    if (newer || generation > (prev?.generation ?? 0)) {
      const who = newer ? tagged : (prev as ArbiterStamp);
      this.s = {
        ...this.s,
        newestArbiter: { incarnation: who.incarnation, instance: who.instance, ...(who.party !== undefined ? { party: who.party } : {}), ...(generation > 0 ? { generation } : {}) },
      };
      this.effects.push({ kind: 'persist', key: ARBITER_KEY, value: this.s.newestArbiter });
    }
  }

  /** The decision as carried out so far, durably, before anything that depends on it. */
  carry(d: MakePrimary, outcome: CarriedDecision['outcome']): void {
    const entry: CarriedDecision = { id: d.decisionId, lastPrimaryViewId: d.view.lastPrimaryViewId, view: d.view, decidedAt: d.decidedAt ?? null, outcome, at: this.wall };
    const carried = [...this.s.carried.filter((c) => c.id !== d.decisionId), entry].slice(-CARRIED_KEPT);
    this.s = { ...this.s, carried };
    this.effects.push({ kind: 'persist', key: CARRIED_KEY, value: carried });
  }

  persistDecisions(): void {
    this.effects.push({ kind: 'persist', key: DECISIONS_KEY, value: this.s.decisions });
    this.effects.push({ kind: 'persist', key: PENDING_KEY, value: this.s.pending });
  }

  /** The cold-start order's records (start-orders.ts), durable before any effect that needs them. */
  persistStart(): void {
    this.effects.push({ kind: 'persist', key: START_KEY, value: this.s.pendingStart });
    this.effects.push({ kind: 'persist', key: BOOTSTRAPS_KEY, value: this.s.bootstraps });
  }

  /** Records the outcome durably (before the report that carries it), then reports it. */
  conclude(
    outcome: 'carried_out' | 'refused' | 'failed',
    code: OutcomeCode,
    reason: string,
    decisionId: string,
    data: Record<string, unknown> = {},
    verb: 'make_primary' | 'start_mariadb' = 'make_primary',
  ): void {
    const entry: DecisionOutcome = { id: decisionId, outcome, code, reason: reason.slice(0, 200), at: this.now };
    const kept = [...this.s.decisions.filter((d) => d.id !== decisionId), entry].slice(-this.cfg.decisionsKept);
    const wasPending = this.s.pending?.decision.decisionId === decisionId;
    const wasStart = this.s.pendingStart?.order.decisionId === decisionId;
    const p = this.s.pending;
    if (wasPending && p && p.attempts > 0 && outcome !== 'refused') this.carry(p.decision, outcome);
    this.s = { ...this.s, decisions: kept, pending: wasPending ? null : this.s.pending, pendingStart: wasStart ? null : this.s.pendingStart };
    if (wasPending) {
      this.effects.push({ kind: 'cancel_timer', name: T_RETRY });
      this.effects.push({ kind: 'cancel_timer', name: T_DEADLINE });
    }
    this.persistDecisions();
    if (wasStart) this.persistStart();
    const level = outcome === 'carried_out' ? 'info' : 'warn';
    this.log(level, `${verb}_${outcome}`, `${verb} ${decisionId} ${outcome.replace('_', ' ')} (${code}): ${reason}`, { decisionId, outcome, code, reason, ...data });
    this.report(false);
  }

  setPending(p: PendingDecision | null): void {
    this.s = { ...this.s, pending: p };
  }
}

export function known(s: DbserverState, id: string): DecisionOutcome | 'pending' | undefined {
  if (s.pending?.decision.decisionId === id || s.pendingStart?.order.decisionId === id) return 'pending';
  return s.decisions.find((d) => d.id === id);
}

function onStart(st: DbserverStep): void {
  const p = st.s.pending;
  if (p) {
    // The SET GLOBAL may or may not have run before the restart; a fresh decision from the
    // arbitrator is the only safe way on, never a resumed one.
    st.conclude('failed', 'restarted', `the dbserver restarted while carrying it out (phase ${p.phase}, ${p.attempts} attempts); not resumed`, p.decision.decisionId);
  }
  startOrderAtStart(st);
  st.read('start');
  st.s = { ...st.s, reportDue: true };
  st.effects.push({ kind: 'timer', name: T_REPORT, afterMs: st.cfg.reportIntervalMs });
}

/**
 * The fence: an arbitrator whose token is older than one already seen lost its lead (etcd
 * store) and may not act. Refused before anything else: nothing is recorded for the decision
 * id, so the same decision resent by the new leader, with its token, is judged as usual.
 */
function fenced(st: DbserverStep, from: PartyId, verb: 'make_primary' | 'start_mariadb' | 'directives', fence: number | undefined, what: string): boolean {
  const v = checkFence(st.s.fence ?? 0, fence, st.cfg.fenced === true);
  if (!v.ok) {
    const n = (st.s.fencedRefusals ?? 0) + 1;
    st.s = { ...st.s, fencedRefusals: n };
    st.log('warn', `${verb}_fenced`, `${what} from ${from} refused: ${v.reason} (${n} refused since start)`, { from, fence: fence ?? null, highest: st.s.fence ?? 0, refused: n });
    return true;
  }
  if (v.raised) {
    st.s = { ...st.s, fence: v.highest };
    st.effects.push({ kind: 'persist', key: LEADER_FENCE_KEY, value: v.highest });
  }
  return false;
}

function onMakePrimary(st: DbserverStep, from: PartyId, d: MakePrimary): void {
  if (fenced(st, from, 'make_primary', d.fence, `make_primary ${d.decisionId}`)) return;
  const fence = st.fencedOut(from, d.arbiter);
  st.heardArbiter(d.arbiter, from);
  const seen = known(st.s, d.decisionId);
  if (d.withdrawn) {
    onWithdrawn(st, d, seen);
    return;
  }
  if (fence && seen === undefined) {
    st.conclude('refused', 'fenced', fence, d.decisionId, { from, arbiter: d.arbiter });
    return;
  }
  if (seen !== undefined) {
    const outcome = seen === 'pending' ? 'pending' : seen.outcome;
    st.log('info', 'make_primary_ignored', `make_primary ${d.decisionId} ignored: already ${outcome}`, { decisionId: d.decisionId, reason: `already ${outcome}` });
    return;
  }
  // The operator's pause, as this dbserver holds it, stops an automatic make_primary from a sender
  // that has not seen it: a twin of the arbitrator or an old copy of its state file that the
  // operator never reached (all-faults campaign seed 103). A forced one is the operator's own.
  const held = st.s.directives;
  if (!d.forced && held?.paused && (d.epoch === undefined || d.epoch < held.epoch)) {
    st.conclude(
      'refused',
      'paused',
      `automatic, from a sender at directives epoch ${d.epoch ?? 'unknown'}, while this dbserver holds the operator's pause (epoch ${held.epoch}): the sender has not seen it`,
      d.decisionId,
      { from, epoch: d.epoch ?? null, heldEpoch: held.epoch },
    );
    return;
  }
  const busy = st.s.pending?.decision.decisionId ?? st.s.pendingStart?.order.decisionId;
  if (busy !== undefined) {
    st.conclude('refused', 'busy', `busy with decision ${busy}`, d.decisionId, { from });
    return;
  }
  const out = outOfTime(st, d);
  if (out) {
    st.conclude('refused', 'expired', out, d.decisionId, { from, decidedAt: d.decidedAt });
    return;
  }
  st.setPending({
    decision: d,
    from,
    receivedAt: st.now,
    deadline: deadlineOf(st, d),
    phase: 'checking',
    minSeq: st.s.nextSeq,
    attempts: 0,
    lastError: null,
    midChangeReads: 0,
  });
  st.persistDecisions();
  st.log('info', 'make_primary_received', `make_primary ${d.decisionId} received from ${from}; checking the view on a fresh reading`, {
    decisionId: d.decisionId,
    from,
    forced: d.forced,
    view: viewKey(d.view),
    validForMs: d.validForMs,
    arbitratorReason: d.reason,
  });
  st.effects.push({ kind: 'timer', name: T_DEADLINE, afterMs: Math.max(0, deadlineOf(st, d) - st.now) });
  st.read('make_primary');
}

/**
 * A decision is valid until decidedAt + validForMs by this clock, however late it arrives
 * (docs/safety.md, "A decision outlives its moment"); one from an arbitrator that does not say
 * when it decided counts from its receipt, as before.
 */
function deadlineOf(st: DbserverStep, d: MakePrimary): number {
  // On the monotonic clock, as every deadline here: what is left of it by the wall clock, now.
  return d.decidedAt === undefined ? st.now + d.validForMs : st.now + (d.decidedAt + d.validForMs - st.wall);
}

function outOfTime(st: DbserverStep, d: MakePrimary): string | null {
  if (d.decidedAt === undefined) return null;
  const skew = st.cfg.maxClockSkewMs;
  const ahead = d.decidedAt - st.wall;
  if (ahead > skew)
    return `decided ${(ahead / 1000).toFixed(1)} s in the future of my clock, more than the maximum clock skew (${(skew / 1000).toFixed(0)} s): the clocks cannot be trusted to expire it`;
  const age = st.wall - d.decidedAt;
  if (age >= d.validForMs) return `expired: decided ${(age / 1000).toFixed(1)} s ago by my clock, valid for ${(d.validForMs / 1000).toFixed(1)} s`;
  return null;
}

/**
 * The arbitrator withdrew a decision (the operator's `withdraw`, a forced promote superseding it,
 * or its validity ended). Not acted on yet: refused, and the id is remembered, so a late copy of
 * the original is ignored. Already acted on: nothing can undo a pc.bootstrap; the outcome is
 * reported as it comes.
 */
function onWithdrawn(st: DbserverStep, d: MakePrimary, seen: DecisionOutcome | 'pending' | undefined): void {
  const p = st.s.pending;
  if (seen === 'pending' && p) {
    if (p.attempts === 0 && p.phase === 'checking') {
      st.conclude('refused', 'withdrawn', 'withdrawn by the arbitrator before pc.bootstrap', d.decisionId);
      return;
    }
    st.log('warn', 'make_primary_withdrawal_late', `make_primary ${d.decisionId} withdrawn after pc.bootstrap attempt ${p.attempts}: it cannot be undone; the outcome follows`, {
      decisionId: d.decisionId,
      attempts: p.attempts,
    });
    return;
  }
  if (seen !== undefined) {
    st.log('info', 'make_primary_withdrawal_ignored', `withdrawal of ${d.decisionId} ignored: already ${seen === 'pending' ? 'pending' : seen.outcome}`, { decisionId: d.decisionId });
    return;
  }
  st.conclude('refused', 'withdrawn', 'withdrawn by the arbitrator before it arrived', d.decisionId);
}

/** Judges the pending decision against a reading begun after its current phase began. */
function judgeDecision(st: DbserverStep, r: Reading): void {
  const p = st.s.pending;
  if (!p || r.seq < p.minSeq || p.phase === 'bootstrapping') return;
  const id = p.decision.decisionId;
  const tried = p.attempts > 0;
  const w = r.wsrep;
  if (r.mariadb === 'down' || !w) {
    st.conclude(tried ? 'failed' : 'refused', 'unreadable', `cannot read wsrep status (${r.mariadb === 'down' ? 'mariadbd is down' : (r.error ?? 'no wsrep status')})`, id);
    return;
  }
  if (w.clusterStatus === 'Primary') {
    if (tried) st.conclude('carried_out', 'bootstrapped', `Primary after ${p.attempts} pc.bootstrap attempt(s)`, id, { size: w.clusterSize, confId: w.confId });
    else st.conclude('refused', 'already_primary', 'already Primary', id);
    return;
  }
  // A hook push may lag the view by the hook's start-up time, so only the server's own list of
  // members is good enough to act on.
  if (r.membersFrom !== 'server') {
    const missing = r.membersMissing ?? null;
    // Taken in the middle of a view change: not a reason to refuse yet. Read again shortly (the
    // deadline still bounds it); the next reading shows the view the change ends in.
    if (missing?.kind === 'view_changing' && p.phase === 'checking' && st.now < p.deadline && p.midChangeReads < MID_CHANGE_READS) {
      st.setPending({ ...p, minSeq: st.s.nextSeq, midChangeReads: p.midChangeReads + 1 });
      st.log('info', 'make_primary_reread', `make_primary ${id}: my reading was taken while the view was changing (${missing.detail}); reading again`, { decisionId: id, detail: missing.detail });
      st.effects.push({ kind: 'timer', name: T_RECHECK, afterMs: st.cfg.followUpMs });
      return;
    }
    st.conclude(tried ? 'failed' : 'refused', 'members_unread', `the members of my view were not read from the server: ${membersProblem(missing)}`, id, { membersMissing: missing?.kind ?? 'unknown' });
    return;
  }
  const mine = viewOf(w);
  if (!sameView(mine, p.decision.view)) {
    // Right after pc.bootstrap Galera writes the new primary view to gvwstate.dat a moment before
    // its status says Primary: a changed view is then the bootstrap under way, judged again after
    // the pause. Never a reason to bootstrap again, though.
    if (p.phase === 'verifying') {
      st.setPending({ ...p, phase: 'backoff' });
      st.effects.push({ kind: 'timer', name: T_RETRY, afterMs: st.cfg.bootstrapRetryMs });
      return;
    }
    if (p.phase === 'backoff') return;
    const why = tried ? 'my view changed after pc.bootstrap' : "my view differs from the decision's";
    st.conclude(tried ? 'failed' : 'refused', tried ? 'view_changed' : 'view_differs', `${why}: mine ${viewKey(mine)}`, id, { mine: viewKey(mine), decision: viewKey(p.decision.view) });
    return;
  }
  const expired = st.now >= p.deadline;
  if (p.phase === 'checking') {
    if (expired) {
      st.conclude(
        tried ? 'failed' : 'refused',
        tried ? 'still_non_primary' : 'expired',
        tried ? `still non-Primary when its validity ended, after ${p.attempts} attempt(s)` : 'its validity ended before a fresh reading',
        id,
      );
      return;
    }
    const attempt = p.attempts + 1;
    st.setPending({ ...p, phase: 'bootstrapping', attempts: attempt });
    if (attempt === 1) st.carry(p.decision, 'pending');
    st.persistDecisions();
    st.log('info', 'pc_bootstrap', `pc.bootstrap for ${id}, attempt ${attempt}: non-Primary in exactly the decision's view`, {
      decisionId: id,
      attempt,
      view: viewKey(mine),
    });
    st.effects.push({ kind: 'bootstrap', decisionId: id, attempt });
    return;
  }
  if (p.phase === 'verifying') {
    if (expired) {
      st.conclude('failed', 'still_non_primary', `still non-Primary when its validity ended, after ${p.attempts} attempt(s)${p.lastError ? ` (last: ${p.lastError})` : ''}`, id);
      return;
    }
    st.setPending({ ...p, phase: 'backoff' });
    st.effects.push({ kind: 'timer', name: T_RETRY, afterMs: st.cfg.bootstrapRetryMs });
  }
}

/** What to tell the arbitrator (and the log) when a reading has no members from the server. */
function membersProblem(missing: Reading['membersMissing']): string {
  if (!missing) return 'not known why (no membership table, or the view was changing)';
  if (missing.kind === 'view_changing') return `my view kept changing while it was read (${missing.detail})`;
  return missing.detail;
}

/** Hook status words whose wsrep_local_state_comment is known (others say nothing about it). */
const STATE_WORDS = ['synced', 'donor', 'joined', 'initialized'];

/**
 * Whether a reading already shows what the push announced. mariadbd runs the hook before its
 * status variables change (seen on the lab: a `synced` push read back as Donor/Desynced), so a
 * reading right after a push may still show the old state.
 */
export function pushAgrees(push: WsrepNotify, r: Reading): boolean {
  const w = r.wsrep;
  if (push.primary === false && (r.mariadb === 'down' || !w || w.clusterStatus !== 'Primary')) return true;
  if (!w) return false;
  if (push.primary !== null && push.primary !== (w.clusterStatus === 'Primary')) return false;
  if (push.members && push.members.length !== w.clusterSize) return false;
  if (STATE_WORDS.includes(push.status) && !w.localState.toLowerCase().startsWith(push.status.slice(0, 5))) return false;
  return true;
}

function onObserved(st: DbserverStep, r: Reading): void {
  if (st.s.inFlight !== r.seq) {
    st.log('debug', 'reading_ignored', `reading ${r.seq} was not the one in flight`, { seq: r.seq });
    return;
  }
  const due = st.s.reportDue;
  const queued = st.s.queued;
  const keyBefore = st.s.lastReportKey;
  const h = onReading(st.s.hook, st.s.reading, r, HOOK_GRACE_MS, st.now);
  st.s = { ...st.s, reading: r, inFlight: null, queued: false, reportDue: false, hook: h.health };
  if (h.await) st.effects.push({ kind: 'timer', name: T_HOOK, afterMs: HOOK_GRACE_MS });
  judgeDecision(st, r);
  judgeStartOrder(st, r);
  st.report(due);
  if (st.s.ringsLeft > 0) {
    // Settled: something new was reported, and the view's members could be read (a reading in
    // the middle of a view change has none: WSREP_MEMBERSHIP moves after the status variables).
    const settled = st.s.lastReportKey !== keyBefore && (r.mariadb === 'down' || r.wsrep === null || r.membersFrom === 'server');
    if (settled) st.s = { ...st.s, ringsLeft: 0 };
    else if (!queued) st.effects.push({ kind: 'timer', name: T_RING, afterMs: st.cfg.followUpMs });
  }
  const push = st.s.push;
  if (push && st.s.followUpsLeft > 0) {
    if (pushAgrees(push.notify, r)) st.s = { ...st.s, followUpsLeft: 0 };
    else if (!queued) st.effects.push({ kind: 'timer', name: T_FOLLOW_UP, afterMs: st.cfg.followUpMs });
  }
  if (queued) st.read('queued');
}

function onBootstrapDone(st: DbserverStep, e: Extract<DbserverEvent, { kind: 'bootstrap_done' }>): void {
  const p = st.s.pending;
  if (!p || p.decision.decisionId !== e.decisionId || p.phase !== 'bootstrapping' || p.attempts !== e.attempt) {
    st.log('debug', 'bootstrap_result_ignored', `pc.bootstrap result for ${e.decisionId} attempt ${e.attempt} no longer awaited`);
    return;
  }
  if (!e.ok)
    st.log('warn', 'pc_bootstrap_error', `pc.bootstrap for ${e.decisionId} failed: ${e.error ?? 'unknown error'}; will verify and retry`, {
      decisionId: e.decisionId,
      attempt: e.attempt,
      error: e.error,
    });
  st.setPending({ ...p, phase: 'verifying', minSeq: st.s.nextSeq, lastError: e.ok ? null : e.error });
  st.read('verify_bootstrap');
}

function onTimer(st: DbserverStep, name: string): void {
  switch (name) {
    case T_REPORT:
      st.s = { ...st.s, reportDue: true };
      st.read('interval');
      st.effects.push({ kind: 'timer', name: T_REPORT, afterMs: st.cfg.reportIntervalMs });
      return;
    case T_RING:
      if (st.s.ringsLeft <= 0) return;
      st.s = { ...st.s, ringsLeft: st.s.ringsLeft - 1 };
      st.read('status_file_follow_up');
      return;
    case T_FOLLOW_UP:
      if (st.s.followUpsLeft <= 0) return;
      st.s = { ...st.s, followUpsLeft: st.s.followUpsLeft - 1 };
      st.read('hook_follow_up');
      return;
    case T_RETRY: {
      const p = st.s.pending;
      if (!p || p.phase !== 'backoff') return;
      st.setPending({ ...p, phase: 'checking', minSeq: st.s.nextSeq });
      st.read('retry_bootstrap');
      return;
    }
    case T_HOOK: {
      const h = st.s.hook;
      if (h.unheardSince === null || h.missing) return;
      st.s = { ...st.s, hook: onGraceOver(h) };
      st.log(
        'error',
        'hook_not_arriving',
        `the wsrep_notify_cmd hook did not arrive for a state change (${h.unheardChange}) within ${HOOK_GRACE_MS} ms: check wsrep_notify_cmd (${h.configured}), that its socket is reachable by mariadbd's user, and mariadbd's error log`,
        {
          change: h.unheardChange,
          since: h.unheardSince,
          configured: h.configured,
          lastPushAt: h.lastPushAt,
        },
      );
      st.report(false);
      return;
    }
    case T_RECHECK: {
      const p = st.s.pending;
      if (!p || p.phase !== 'checking') return;
      st.read('recheck_mid_change');
      return;
    }
    case T_DEADLINE: {
      const p = st.s.pending;
      if (!p) return;
      // A SET GLOBAL or its verifying reading is still under way: that reading concludes it.
      if (p.phase === 'backoff')
        st.conclude('failed', 'still_non_primary', `still non-Primary when its validity ended, after ${p.attempts} attempt(s)${p.lastError ? ` (last: ${p.lastError})` : ''}`, p.decision.decisionId);
      else if (p.phase === 'checking' && p.attempts === 0) st.conclude('refused', 'expired', 'its validity ended before a fresh reading', p.decision.decisionId);
      return;
    }
    default:
      st.log('debug', 'timer_ignored', `unknown timer ${name}`);
  }
}

function onReconfigured(st: DbserverStep, changes: string[]): void {
  st.log('info', 'reconfigured', `site config changed (${changes.join('; ') || 'no details'}): reporting to ${st.cfg.recipients.join(', ')} every ${st.cfg.reportIntervalMs} ms`, { changes });
  st.effects.push({ kind: 'timer', name: T_REPORT, afterMs: st.cfg.reportIntervalMs });
  const p = st.s.pending;
  if (p) {
    st.effects.push({ kind: 'timer', name: T_DEADLINE, afterMs: Math.max(0, p.deadline - st.now) });
    if (p.phase === 'backoff') st.effects.push({ kind: 'timer', name: T_RETRY, afterMs: st.cfg.bootstrapRetryMs });
  }
  if (st.s.followUpsLeft > 0) st.effects.push({ kind: 'timer', name: T_FOLLOW_UP, afterMs: st.cfg.followUpMs });
  // New recipients hear the current state at once.
  st.s = { ...st.s, reportDue: true };
  st.read('reconfigured');
}

/** A push from the hook, over the unix socket (the shell hook) or UDP (the Node hook). */
function onHookPush(st: DbserverStep, n: WsrepNotify, via: 'socket' | 'udp'): void {
  const wasMissing = st.s.hook.missing;
  st.s = { ...st.s, push: { at: st.now, notify: n }, followUpsLeft: st.cfg.followUpMax, hook: onPush(st.s.hook, st.now) };
  st.effects.push({ kind: 'cancel_timer', name: T_HOOK });
  if (wasMissing) st.log('warn', 'hook_arriving_again', 'the wsrep_notify_cmd hook is heard again');
  st.log('info', 'hook_push', `wsrep_notify ${n.status} primary=${n.primary === null ? '?' : n.primary ? 'yes' : 'no'} members=${n.members?.length ?? '-'} (${via}); reading at once`, {
    status: n.status,
    primary: n.primary,
    index: n.index,
    members: n.members?.length ?? null,
    via,
  });
  st.read('hook');
}

function onNotifyCmd(st: DbserverStep, cmd: string): void {
  if (st.s.hook.configured === cmd) return;
  st.s = { ...st.s, hook: { ...st.s.hook, configured: cmd } };
  if (cmd === '') st.log('warn', 'hook_not_configured', "mariadbd has no wsrep_notify_cmd: state changes reach this dbserver only by the status file and the interval (docs/dbserver.md, 'The hook')");
  else st.log('info', 'hook_configured', `mariadbd's wsrep_notify_cmd is ${cmd}`, { cmd });
  st.report(false);
}

function onMessage(st: DbserverStep, e: Extract<CommonEvent, { kind: 'message' }>): void {
  const m = e.msg;
  switch (m.verb) {
    case 'request_status':
      st.heardArbiter((m.body as { arbiter?: ArbiterStamp }).arbiter, m.from);
      st.s = { ...st.s, reportDue: true };
      st.read('request_status');
      return;
    case 'make_primary':
      onMakePrimary(st, m.from, m.body as MakePrimary);
      return;
    case 'start_mariadb':
      if (fenced(st, m.from, 'start_mariadb', (m.body as StartMariadb).fence, `start_mariadb ${(m.body as StartMariadb).decisionId}`)) return;
      onStartMariadb(st, m.from, m.body as StartMariadb);
      return;
    case 'directives':
      // The directives carry the leader's token: a new leader's reach every dbserver at once.
      if (fenced(st, m.from, 'directives', (m.body as Directives).fence, `directives epoch ${(m.body as Directives).epoch}`)) return;
      // Kept for later work (start/bootstrap after a whole-cluster stop); nothing acts on it yet.
      st.heardArbiter((m.body as Directives).arbiter, m.from);
      // An older epoch (an arbitrator restarted on an old copy of its state) does not replace a
      // newer one: reported back, it is what that arbitrator adopts (docs/safety.md, path 1).
      {
        const next = m.body as Directives;
        const cur = st.s.directives;
        // At an equal epoch a held pause stays (two arbitrator processes each made that epoch; a
        // resume always makes a new one), and is reported: the arbitrator adopts it (directives.ts).
        if (!cur || next.epoch > cur.epoch || (next.epoch === cur.epoch && !(cur.paused && !next.paused))) st.s = { ...st.s, directives: next };
      }
      st.log('debug', 'directives_received', `directives epoch ${(m.body as Directives).epoch} from ${m.from}`);
      // Reported at once: the arbitrator confirms a pause to the operator only once a receiver holds it.
      st.report(false);
      return;
    case 'wsrep_notify':
      onHookPush(st, m.body as WsrepNotify, 'udp');
      return;
    default:
      st.log('debug', 'message_ignored', `${m.verb} from ${m.from} is not for a dbserver`);
  }
}

export function dbserverCore(cfg: DbserverSettings): RoleCore<DbserverState, DbserverEvent, DbserverEffect> {
  return {
    step(state: DbserverState, event: Event, now: number, wall: number = now): StepResult<DbserverState, DbserverEffect> {
      const st = new DbserverStep(state, now, cfg, wall);
      switch (event.kind) {
        case 'start':
          onStart(st);
          break;
        case 'message':
          onMessage(st, event);
          break;
        case 'silent':
          st.log('debug', 'peer_silent', `${event.peer} silent for ${event.silentMs} ms; reports keep being resent`);
          break;
        case 'timer':
          onTimer(st, event.name);
          break;
        case 'observed':
          onObserved(st, event.reading);
          break;
        case 'bootstrap_done':
          onBootstrapDone(st, event);
          break;
        case 'start_done':
          onStartDone(st, event);
          break;
        case 'datadir_changed':
          st.read('datadir_changed');
          break;
        case 'reconfigured':
          onReconfigured(st, event.changes);
          break;
        case 'status_file_changed':
          // Like a hook push, without its arguments: read at once, and again until something moved.
          st.s = { ...st.s, ringsLeft: st.cfg.ringFollowUps };
          st.log('info', 'status_file_changed', 'mariadbd rewrote its wsrep_status_file; reading at once');
          st.read('status_file');
          break;
        case 'hook_line':
          onHookPush(st, event.notify, 'socket');
          break;
        case 'notify_cmd':
          onNotifyCmd(st, event.cmd);
          break;
        case 'connection_lost':
          // mariadbd runs no hook when it dies: the dropped connection is the fastest sign.
          st.log('info', 'mariadb_connection_lost', 'the connection to mariadbd dropped; reading at once');
          st.read('connection_lost');
          break;
      }
      return { state: st.s, effects: st.effects };
    },
  };
}
