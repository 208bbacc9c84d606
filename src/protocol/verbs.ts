import { z } from 'zod';
import type { PartyType } from './party.js';

/**
 * Every verb: who may send it to whom, whether it is acknowledged, and the schema of its body.
 * A body that does not fit is dropped at the edge (`bad_body`) and never reaches a role.
 * Bodies state the whole current state, never a change (docs/protocol.md, Stateful streams and acks).
 */

const shortText = z.string().max(200);
const name = z.string().min(1).max(64);
const partyName = z.string().regex(/^[a-z_]+:[1-9][0-9]{0,5}$/);
const ms = z.number().int().nonnegative();
const seqno = z.number().int().min(-1);

export const member = z.object({ uuid: name, name: z.string().max(64), address: z.string().max(64) });
export type Member = z.infer<typeof member>;

/** A node's last primary component as Galera itself keeps it (gvwstate.dat). */
export const primaryView = z.object({ viewId: z.string().max(100), members: z.array(name).max(64) });
export type PrimaryView = z.infer<typeof primaryView>;

export const wsrepStatus = z.object({
  clusterStatus: z.enum(['Primary', 'non-Primary', 'Disconnected']),
  localState: z.string().max(32),
  ready: z.boolean(),
  connected: z.boolean(),
  clusterSize: z.number().int().min(0).max(1000),
  stateUuid: z.string().max(64),
  /** null while non-Primary: Galera then reads 18446744073709551615. */
  confId: z.number().int().nonnegative().nullable(),
  lastCommitted: seqno,
  nodeUuid: z.string().max(64),
  members: z.array(member).max(64),
  lastPrimary: primaryView.nullable(),
  /**
   * The node's real Galera weight (`pc.weight` in wsrep_provider_options): what Galera's quorum
   * counts, whatever the site config says. null = could not be read; absent = a dbserver from
   * before this field (both: the arbitrator cannot weigh the node and refuses to promote on it).
   */
  pcWeight: z.number().int().min(0).max(255).nullable().optional(),
});
export type WsrepStatus = z.infer<typeof wsrepStatus>;

export const recoveredPosition = z.object({ uuid: z.string().max(64), seqno, safeToBootstrap: z.boolean() });
export type RecoveredPosition = z.infer<typeof recoveredPosition>;

/**
 * Why a dbserver concluded a decision as it did: a closed list, so the arbitrator, `status` and
 * alerts match on a code while `reason` explains it to a person (docs/operations.md).
 */
export const OUTCOME_CODES = [
  'bootstrapped',
  'started',
  'fenced',
  'busy',
  'expired',
  'withdrawn',
  'unreadable',
  'already_primary',
  'members_unread',
  'view_differs',
  'view_changed',
  'still_non_primary',
  'restarted',
  'mariadbd_running',
  'start_refused',
  'start_failed',
  'paused',
] as const;
export type OutcomeCode = (typeof OUTCOME_CODES)[number];

export const decisionOutcome = z.object({
  id: name,
  outcome: z.enum(['pending', 'carried_out', 'refused', 'failed']),
  /** Absent while pending, and from a dbserver older than the field. */
  code: z.enum(OUTCOME_CODES).optional(),
  reason: shortText,
  at: ms,
});
export type DecisionOutcome = z.infer<typeof decisionOutcome>;

/** Whether mariadbd's wsrep_notify_cmd hook reaches the dbserver (src/roles/dbserver/hook-health.ts). */
export const hookHealthReport = z.object({
  state: z.enum(['unknown', 'none', 'waiting', 'heard', 'missing']),
  lastPushAt: ms.nullable(),
  pushes: z.number().int().nonnegative(),
  text: shortText,
});
export type HookHealthReport = z.infer<typeof hookHealthReport>;
/**
 * What the datadir says while mariadbd is down (docs/cold-start.md): whether it can ever be
 * bootstrapped from, gvwstate.dat's own uuid and last view (pc.recovery's input), and the position
 * `mariadbd --wsrep-recover` found when grastate.dat's seqno is -1 (a crash).
 */
export const datadirReport = z.object({
  /** ok: grastate.dat readable; empty: no data at all; no_grastate: data but never joined; unreadable/malformed: say why in detail. */
  state: z.enum(['ok', 'empty', 'no_grastate', 'unreadable', 'malformed']),
  detail: shortText.nullable(),
  /** gvwstate.dat: this node's uuid and the last primary view it saw; null when the file is absent (clean stop). */
  myUuid: z.string().max(64).nullable(),
  lastView: primaryView.nullable(),
  /** From --wsrep-recover, for the datadir as it is now (cached until it changes). */
  recovered: z.object({ uuid: z.string().max(64), seqno }).nullable(),
  /** Why there is no recovered position yet (running, failed, refused: mariadbd still running). */
  recoverNote: shortText.nullable(),
  /**
   * A mariadbd process runs on this datadir although it does not answer SQL (starting up, taking
   * an SST, waiting in pc.recovery for its component): why the dbserver thinks so. Such a node is
   * not down for the cold-start rule. Optional: absent from older dbservers.
   */
  process: shortText.nullable().optional(),
  /**
   * An SST into this datadir: MariaDB's wsrep_sst scripts keep `sst_in_progress` there while one
   * runs (left behind when it was interrupted), and the datadir's size so far. null: no marker.
   * Optional: absent from older dbservers (issue 12 step 4, rejoin progress).
   */
  sst: z.object({ inProgress: z.boolean(), bytes: z.number().int().nonnegative().nullable() }).nullable().optional(),
});
export type DatadirReport = z.infer<typeof datadirReport>;

/** The exact view a decision applies to; a dbserver acts only when its own view equals it. */
export const viewRef = z.object({
  stateUuid: z.string().max(64),
  members: z.array(name).max(64),
  lastPrimaryViewId: z.string().max(100).nullable(),
});
export type ViewRef = z.infer<typeof viewRef>;

/**
 * Which arbitrator process sent something: its incarnation (grown at every start, from its
 * state file) and an instance id drawn at random at every process start. Two processes with the
 * same identity (a VIP on two hosts, a cloned VM) differ in the instance even when their state
 * files, and so their incarnations, are the same (docs/safety.md, "Two arbitrators at once").
 */
export const arbiterStamp = z.object({
  incarnation: ms,
  instance: z.string().min(1).max(32),
  /**
   * How many decisions the sender's records have ever held (grown, and persisted, before each
   * decision is sent). A dbserver keeps the highest it heard: an arbitrator whose records are
   * behind it runs on an old copy of its state (docs/safety.md, "A restored old copy").
   */
  generation: z.number().int().nonnegative().optional(),
  /**
   * Which arbitrator party the dbserver heard it from (set by the dbserver when it echoes the
   * stamp): with several arbitrators on a leader store (docs/arbitrator-ha.md) each compares
   * only its own party's processes. Absent from an older dbserver: every stamp counts.
   */
  party: partyName.optional(),
});
export type ArbiterStamp = z.infer<typeof arbiterStamp>;

/**
 * A decision this dbserver acted on (ran pc.bootstrap for), kept durably and reported in every
 * report: the evidence an arbitrator that lost its memory re-learns the site's history from
 * (docs/safety.md, "The arbitrator loses its memory").
 */
export const carriedDecision = z.object({
  id: name,
  /** The last primary component the decision spent (its view's), null for a forced one without. */
  lastPrimaryViewId: z.string().max(100).nullable(),
  view: viewRef,
  /** The arbitrator's clock when it decided, null from an arbitrator older than this field. */
  decidedAt: ms.nullable(),
  /** pending: pc.bootstrap was sent and the outcome is not known yet. */
  outcome: z.enum(['pending', 'carried_out', 'failed']),
  at: ms,
});
export type CarriedDecision = z.infer<typeof carriedDecision>;

/** Directives as a receiver holds them, reported back: the operator's pause and drains survive an arbitrator's lost or old state. */
export const heldDirectives = z.object({ epoch: z.number().int().nonnegative(), drained: z.array(partyName).max(64), paused: z.boolean(), writer: partyName.nullable() });
export type HeldDirectivesReport = z.infer<typeof heldDirectives>;

export const dbStatusReport = z.object({
  observedAt: ms,
  dc: name,
  mariadb: z.enum(['up', 'down']),
  wsrep: wsrepStatus.nullable(),
  recovered: recoveredPosition.nullable(),
  decision: decisionOutcome.nullable(),
  error: shortText.nullable(),
  /** Newest last. These optional fields are absent from parties older than them. */
  carried: z.array(carriedDecision).max(8).optional(),
  /** The directives this dbserver holds (see clientStatusReport.held). */
  held: heldDirectives.optional(),
  /** The arbitrator processes heard lately (the dbserver's last 30 s), lowest incarnation first. */
  arbiters: z.array(arbiterStamp).max(4).optional(),
  /** The newest arbitrator process this dbserver ever heard (persisted across its restarts). */
  newestArbiter: arbiterStamp.optional(),
  /** Optional: dbservers before issue 16 do not send it. */
  hook: hookHealthReport.optional(),
  /** Only while mariadbd is down; absent from older dbservers. */
  datadir: datadirReport.optional(),
});
export type DbStatusReport = z.infer<typeof dbStatusReport>;

export const makePrimary = z.object({
  decisionId: name,
  view: viewRef,
  forced: z.boolean(),
  reason: shortText,
  validForMs: ms,
  /**
   * The arbitrator's wall clock when it decided: the decision is valid until decidedAt +
   * validForMs by the dbserver's clock, never longer, however late it arrives (absent from an
   * older arbitrator: then from receipt, as before).
   */
  decidedAt: ms.optional(),
  /** The arbitrator withdrew this decision: whoever has not acted on it yet never will. */
  withdrawn: z.boolean().optional(),
  arbiter: arbiterStamp.optional(),
  /**
   * The sending leader's fencing token (etcd store: the leader key's create_revision). A
   * receiver refuses a token older than the highest it has seen. Absent from a local-store
   * arbitrator (nothing to fence).
   */
  fence: z.number().int().positive().optional(),
  /**
   * The directives epoch the sender held when it sent this: a dbserver that holds the operator's
   * pause from a later epoch refuses an automatic make_primary from a sender that has not seen it
   * (a twin, an old copy of the state file). Absent from an older arbitrator: refused while paused.
   */
  epoch: z.number().int().nonnegative().optional(),
});
export type MakePrimary = z.infer<typeof makePrimary>;

/**
 * A cold-start order (docs/cold-start.md): start mariadbd normally (`start`: join, or let
 * pc.recovery re-form the last primary component) or bootstrap a new primary component from this
 * node's datadir (`bootstrap`), which the dbserver does only while mariadbd is down and its
 * datadir still holds exactly the position the decision was made on.
 */
export const startMariadb = z.object({
  decisionId: name,
  mode: z.enum(['start', 'bootstrap']),
  stateUuid: z.string().max(64),
  /** The position the decision chose this node for; -1 for `start`. */
  seqno,
  forced: z.boolean(),
  reason: shortText,
  /** Wall clock of the arbitrator at the decision; the order is void past decidedAt + validForMs (+ the skew bound). */
  decidedAt: ms,
  validForMs: ms,
  /** As in make_primary: a bootstrap order from an old leader is refused by its token. */
  fence: z.number().int().positive().optional(),
});
export type StartMariadb = z.infer<typeof startMariadb>;

export const directives = z.object({
  epoch: z.number().int().nonnegative(),
  drained: z.array(partyName).max(64),
  paused: z.boolean(),
  writer: partyName.nullable(),
  arbiter: arbiterStamp.optional(),
  /** As in make_primary. */
  fence: z.number().int().positive().optional(),
});
export type Directives = z.infer<typeof directives>;

export const lbServer = z.object({
  server: partyName,
  backend: z.enum(['write', 'read']),
  state: z.enum(['ready', 'drain', 'maint', 'unknown']),
  operational: z.boolean(),
  weight: z.number().int().min(0).max(256),
  sessions: z.number().int().nonnegative(),
});
export type LbServer = z.infer<typeof lbServer>;

export const clientStatusReport = z.object({
  observedAt: ms,
  epochApplied: z.number().int().nonnegative(),
  /** The directives it follows (absent before any, or from a dbclient older than the field): an arbitrator behind them adopts them. */
  held: heldDirectives.optional(),
  lb: z.object({ kind: z.enum(['haproxy', 'glb']), reachable: z.boolean(), error: shortText.nullable() }),
  writer: partyName.nullable(),
  servers: z.array(lbServer).max(128),
});
export type ClientStatusReport = z.infer<typeof clientStatusReport>;

export const wsrepNotify = z.object({
  status: z.string().max(32),
  uuid: z.string().max(64).nullable(),
  primary: z.boolean().nullable(),
  index: z.number().int().min(-1).nullable(),
  members: z.array(member).max(64).nullable(),
  argv: z.array(z.string().max(4096)).max(32),
});
export type WsrepNotify = z.infer<typeof wsrepNotify>;

const operatorRequest = { requestId: name, operator: z.string().max(64), reason: shortText };
export const statusSummaryRequest = z.object({ requestId: name, pages: z.array(z.number().int().nonnegative()).max(256).nullable() });
export const statusSummaryPage = z.object({
  requestId: name,
  page: z.number().int().nonnegative(),
  pages: z.number().int().min(1).max(256),
  chunk: z.instanceof(Uint8Array),
});
export const drainRequest = z.object({ ...operatorRequest, node: partyName });
export const pauseRequest = z.object({ ...operatorRequest });
export const promoteRequest = z.object({
  ...operatorRequest,
  target: name,
  force: z.boolean(),
  /** The nodes outside the target the operator confirms are not a live primary (path 5). */
  confirmLost: z.array(partyName).max(64).optional(),
});
export const bootstrapRequest = z.object({ ...operatorRequest, target: z.string().max(64), force: z.boolean(), confirm: z.boolean() });
export const withdrawRequest = z.object({ ...operatorRequest, decisionId: name });
export const relearnedRequest = z.object({ ...operatorRequest, force: z.boolean() });
export const commandReply = z.object({ requestId: name, ok: z.boolean(), message: z.string().max(800) });
export const ack = z.object({ verb: name, inc: ms, id: ms });
export const empty = z.object({}).strict();
export const requestStatus = z.object({ arbiter: arbiterStamp.optional() }).strict();

interface VerbSpec {
  from: readonly PartyType[];
  to: readonly PartyType[];
  /** Acked verbs are resent every ack timeout until acked, always with the newest state. */
  acked: boolean;
  schema: z.ZodType;
}

export const VERBS = {
  ack: { from: ['arbitrator', 'dbserver', 'dbclient', 'wsrep_notify_cmd', 'command'], to: ['arbitrator', 'dbserver', 'dbclient', 'wsrep_notify_cmd', 'command'], acked: false, schema: ack },
  db_status_report: { from: ['dbserver'], to: ['arbitrator', 'dbclient'], acked: true, schema: dbStatusReport },
  request_status: { from: ['arbitrator'], to: ['dbserver'], acked: false, schema: requestStatus },
  make_primary: { from: ['arbitrator'], to: ['dbserver'], acked: true, schema: makePrimary },
  start_mariadb: { from: ['arbitrator'], to: ['dbserver'], acked: true, schema: startMariadb },
  directives: { from: ['arbitrator'], to: ['dbclient', 'dbserver'], acked: true, schema: directives },
  client_status_report: { from: ['dbclient'], to: ['arbitrator'], acked: true, schema: clientStatusReport },
  wsrep_notify: { from: ['wsrep_notify_cmd'], to: ['dbserver'], acked: true, schema: wsrepNotify },
  status_summary: { from: ['command'], to: ['arbitrator'], acked: false, schema: statusSummaryRequest },
  status_summary_page: { from: ['arbitrator'], to: ['command'], acked: false, schema: statusSummaryPage },
  drain: { from: ['command'], to: ['arbitrator'], acked: false, schema: drainRequest },
  undrain: { from: ['command'], to: ['arbitrator'], acked: false, schema: drainRequest },
  pause: { from: ['command'], to: ['arbitrator'], acked: false, schema: pauseRequest },
  resume: { from: ['command'], to: ['arbitrator'], acked: false, schema: pauseRequest },
  promote: { from: ['command'], to: ['arbitrator'], acked: false, schema: promoteRequest },
  bootstrap: { from: ['command'], to: ['arbitrator'], acked: false, schema: bootstrapRequest },
  withdraw: { from: ['command'], to: ['arbitrator'], acked: false, schema: withdrawRequest },
  relearned: { from: ['command'], to: ['arbitrator'], acked: false, schema: relearnedRequest },
  command_reply: { from: ['arbitrator'], to: ['command'], acked: false, schema: commandReply },
} as const satisfies Record<string, VerbSpec>;

export type Verb = keyof typeof VERBS;
export type BodyOf<V extends Verb> = z.infer<(typeof VERBS)[V]['schema']>;

export function isVerb(s: string): s is Verb {
  return Object.hasOwn(VERBS, s);
}

export function verbSpec(v: Verb): VerbSpec {
  return VERBS[v];
}

export type BodyCheck<V extends Verb> = { ok: true; data: BodyOf<V> } | { ok: false; issue: string };

/**
 * Validates a received body against its verb's schema: the one check the receive path applies
 * (`bad_body` when it fails, with the schema's first issue as the detail). One validator at the
 * trust boundary: hand-written checks beside zod saved 0.3-2.9 µs of a datagram that costs
 * ~110-250 µs with Node's dgram (bench/results/body-check/), not worth a second definition of
 * every body to keep equal.
 */
export function checkBody<V extends Verb>(verb: V, body: unknown): BodyCheck<V> {
  const parsed = VERBS[verb].schema.safeParse(body);
  if (parsed.success) return { ok: true, data: parsed.data as BodyOf<V> };
  const issue = parsed.error.issues[0];
  return { ok: false, issue: issue ? `${issue.path.join('.')} ${issue.message}` : 'invalid' };
}
