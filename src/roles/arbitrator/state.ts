import type { PartyId } from '../../protocol/party.js';
import type { CommonEffect } from '../core.js';
import type { ClientStatusReport, DbStatusReport } from '../../protocol/verbs.js';
import type { ColdStartView } from './cold-start.js';
import type { ArbitratorRecords } from './records.js';
import type { RejoinTrack } from './rejoin.js';
import type { ArbitratorSettings } from './settings.js';
import type { StoreView } from './standby.js';
import type { StatusSummary } from './summary-doc.js';
import { CALM_CLOCK, type ClockWatch } from './tilt.js';

export interface Heard<T> {
  body: T;
  /** The arbitrator's own (monotonic) clock at receipt. */
  receivedAt: number;
}

/**
 * A dbserver's report: fresh by when its reading was taken, not when it arrived (issue 11 path
 * 6): `takenAt` = receipt minus how old the reading was when sent (`ageWhenSent`), on the
 * arbitrator's own clock.
 */
export interface HeardReport extends Heard<DbStatusReport> {
  takenAt: number;
}

/** Why a candidate was not promoted (or that one was): a stable code and a sentence for people. */
export interface Reason {
  code: ReasonCode;
  /** The candidate view it is about (parties), when it is about one. */
  view: string | null;
  text: string;
}

export type ReasonCode =
  | 'decided'
  | 'primary_exists'
  | 'no_reports'
  | 'cold_start'
  | 'unheard_member'
  | 'inconsistent_report'
  | 'waiting'
  | 'no_last_primary'
  | 'last_primary_differs'
  | 'unknown_weight'
  | 'below_half'
  | 'already_decided'
  | 'decision_in_flight'
  | 'paused'
  | 'not_chosen'
  | 'tie_wait'
  | 'warming_up'
  | 'clock_jump'
  | 'weight_mismatch'
  | 'relearning'
  | 'duplicate_arbitrator'
  | 'standby'
  | 'store_unavailable';

export interface Evaluation {
  at: number;
  decided: string | null;
  reasons: Reason[];
  /** Codes and views only: a change of it is logged, the ticking seconds in the texts are not. */
  signature: string;
}

export interface JournalEntry {
  at: number;
  event: string;
  text: string;
}

/** The arbitrator's own post office counters, as last handed in by the daemon. */
export interface DatagramCounts {
  accepted: number;
  sent: number;
  resent: number;
  drops: Record<string, number>;
}

export interface CachedSummary {
  for: PartyId;
  requestId: string;
  at: number;
  doc: StatusSummary;
}

export interface CachedReply {
  for: PartyId;
  requestId: string;
  at: number;
  ok: boolean;
  message: string;
}

/**
 * A pause the operator was not yet told about: its reply waits until a dbserver or dbclient holds
 * the directives that carry it (docs/safety.md, "A pause is confirmed once the site holds it").
 */
export interface PendingPause {
  for: PartyId;
  requestId: string;
  at: number;
  /** The directives epoch that carries the pause. */
  epoch: number;
  operator: string;
  message: string;
}

/**
 * The arbitrator's whole state: plain data (JSON-able), so the simulator can copy, compare and
 * replay it. `records` is the durable part; everything else is rebuilt from reports after a
 * restart.
 *
 * Ownership: a state handed to `step` belongs to it, and the caller keeps only the state it gets
 * back (as the RoleHost, the simulator and the test drivers do). The per-party maps `reports`,
 * `clients` and `heardSinceStart` are updated in place: with 1,000 dbservers each reporting once a
 * second, copying a 1,000-entry map for every report was most of the arbitrator's CPU. Everything
 * else (records, directives, journal, evaluation) is replaced, never mutated, so a state kept from
 * before a step still shows its records as they were. The core stays deterministic: the same
 * events on the same state give the same result.
 */
/** Another arbitrator process of this identity, as the dbservers' reports echo it. */
export interface ForeignArbiter {
  incarnation: number;
  instance: string;
  /** This arbitrator's clock when a report last mentioned it as heard lately. */
  lastSeenAt: number;
  reportedBy: PartyId;
}

export interface ArbitratorState {
  settings: ArbitratorSettings;
  incarnation: number;
  /** Drawn at random by the daemon at every process start (tests and the simulator name it). */
  instance: string;
  foreignArbiters: Record<string, ForeignArbiter>;
  /** While relearning: the dbservers heard since it began, with their node uuid then. */
  relearnHeard: Record<string, string | null>;
  /** The highest incarnation the site was heard to know, written for the next start to outgrow. */
  incarnationFloor: number;
  startedAt: number | null;
  records: ArbitratorRecords;
  /** Leadership with `arbitrator.store: etcd` (standby.ts); absent with the local store: always acting. */
  store?: StoreView;
  reports: Record<string, HeardReport>;
  clients: Record<string, Heard<ClientStatusReport>>;
  /** Parties heard from since this start (the writer is not moved before all have spoken, or staleAfter). */
  heardSinceStart: Record<string, true>;
  /** How many of `heardSinceStart` are dbservers of the site config (the warm-up ends at all of them). */
  dbserversHeard: number;
  /** viewKey → since when that view has been a complete non-Primary candidate, continuously. */
  watched: Record<string, number>;
  evaluation: Evaluation | null;
  /** When the evaluate timer is due (so a report re-arms it only to make it sooner). */
  nextEvaluateAt: number | null;
  /** Since when the writer is known not to serve (its replacement must have spoken since). */
  writerDownSince: number | null;
  journal: JournalEntry[];
  /** The newest cold-start judgement (cold-start.ts) and what it said, for status and the log. */
  coldStart?: (ColdStartView & { note: string }) | null;
  /** Nodes outside the primary component: rejoining (IST/SST progress), stalled, or unable to (rejoin.ts). */
  rejoin?: RejoinTrack[];
  summaries: CachedSummary[];
  replies: CachedReply[];
  pendingPauses: PendingPause[];
  /** The wall clock against the monotonic one, and a TILT after a jump (tilt.ts). */
  clock: ClockWatch;
  /** null until the daemon hands them in (the simulator never does). */
  datagrams: DatagramCounts | null;
}

/** What most of the arbitrator's pure helpers return: the next state and the effects, in order. */
export type ArbitratorStep = { state: ArbitratorState; effects: CommonEffect[] };

export const MAX_JOURNAL = 50;
export const MAX_CACHED_SUMMARIES = 8;
export const SUMMARY_CACHE_MS = 60_000;
export const MAX_CACHED_REPLIES = 64;
export const REPLY_CACHE_MS = 10 * 60_000;
export const MAX_PENDING_PAUSES = 16;

export interface InitialOptions {
  incarnation: number;
  /** Defaults to `i<incarnation>` (deterministic for tests and the simulator). */
  instance?: string;
  /** Given with the etcd store: the arbitrator starts as a standby until it holds the lease. */
  store?: StoreView;
}

/** The state a (re)started arbitrator begins from: the config and what it persisted, nothing else. */
export function initialArbitratorState(settings: ArbitratorSettings, records: ArbitratorRecords, opts: InitialOptions): ArbitratorState {
  return {
    settings,
    incarnation: opts.incarnation,
    instance: opts.instance ?? `i${opts.incarnation}`,
    foreignArbiters: {},
    relearnHeard: {},
    incarnationFloor: 0,
    startedAt: null,
    records,
    ...(opts.store ? { store: opts.store } : {}),
    reports: {},
    clients: {},
    heardSinceStart: {},
    dbserversHeard: 0,
    watched: {},
    evaluation: null,
    nextEvaluateAt: null,
    writerDownSince: null,
    journal: [],
    summaries: [],
    replies: [],
    pendingPauses: [],
    clock: { ...CALM_CLOCK },
    datagrams: null,
  };
}

export function stampOf(state: ArbitratorState): { incarnation: number; instance: string; generation: number } {
  return { incarnation: state.incarnation, instance: state.instance, generation: state.records.memory.generation };
}

export function journal(state: ArbitratorState, at: number, event: string, text: string): ArbitratorState {
  const entry = { at, event, text: text.length > 400 ? `${text.slice(0, 397)}...` : text };
  return { ...state, journal: [...state.journal, entry].slice(-MAX_JOURNAL) };
}
